"""The source registry: one module per output file, listed here in generation order."""

from __future__ import annotations

from vecgen.catalog import SOURCE_NAMES
from vecgen.sources.base import Batch, Source, SourceBatch, WriteOptions, public
from vecgen.sources.customers import Customers
from vecgen.sources.transactions import Transactions
from vecgen.sources.truth import TRUTH_PREFIX, Truth

SOURCES: dict[str, Source] = {s.name: s for s in (Customers(), Transactions(), Truth())}

if tuple(SOURCES) != SOURCE_NAMES:  # pragma: no cover - guarded by tests too
    msg = f"source registry {tuple(SOURCES)} does not match vecgen.catalog {SOURCE_NAMES}"
    raise RuntimeError(msg)

__all__ = [
    "SOURCES",
    "TRUTH_PREFIX",
    "Batch",
    "Source",
    "SourceBatch",
    "WriteOptions",
    "get_source",
    "public",
]


def get_source(name: str) -> Source:
    """Return the source called ``name``; an unknown name lists the valid ones."""
    try:
        return SOURCES[name]
    except KeyError:
        msg = f"unknown source '{name}'; valid sources: {', '.join(SOURCES)}"
        raise KeyError(msg) from None
