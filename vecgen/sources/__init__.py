"""The source registry: one module per output file, listed here in generation order."""

from __future__ import annotations

from vecgen.catalog import SOURCE_NAMES
from vecgen.sources.base import Batch, Source, SourceBatch, WriteOptions, public
from vecgen.sources.clickstream import Clickstream
from vecgen.sources.custom_object import CustomObject
from vecgen.sources.customers import Customers
from vecgen.sources.email_campaign import EmailCampaign
from vecgen.sources.locations import Locations
from vecgen.sources.loyalty import Loyalty
from vecgen.sources.mobile import Mobile
from vecgen.sources.pos import PosCustomers, PosTransactions
from vecgen.sources.safety_reports import SafetyReports
from vecgen.sources.transactions import Transactions
from vecgen.sources.truth import TRUTH_PREFIX, Truth
from vecgen.sources.wifi import Wifi

SOURCES: dict[str, Source] = {
    s.name: s
    for s in (
        Customers(),
        Transactions(),
        PosCustomers(),
        PosTransactions(),
        Loyalty(),
        EmailCampaign(),
        Clickstream(),
        Mobile(),
        Wifi(),
        SafetyReports(),
        Locations(),
        CustomObject(),
        Truth(),
    )
}

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
