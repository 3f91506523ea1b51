"""The source registry: one module per output file, listed here in generation order."""

from __future__ import annotations

import functools

from vecgen.catalog import FLAT_NAMES, SOURCE_NAMES
from vecgen.config import Config
from vecgen.sources.base import Batch, Source, SourceBatch, WriteOptions, public
from vecgen.sources.clickstream import Clickstream
from vecgen.sources.custom_object import CustomObject
from vecgen.sources.customer_changes import CustomerChanges, LoyaltyChanges, PosCustomerChanges
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
from vecgen.spec import SourceSpec

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
        CustomerChanges(),
        LoyaltyChanges(),
        PosCustomerChanges(),
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
    "source_for",
]


def get_source(name: str) -> Source:
    """Return the source called ``name``; an unknown name lists the valid ones."""
    try:
        return SOURCES[name]
    except KeyError:
        msg = f"unknown source '{name}'; valid sources: {', '.join(SOURCES)}"
        raise KeyError(msg) from None


@functools.lru_cache(maxsize=16)
def _declared(specs: tuple[SourceSpec, ...]) -> dict[str, Source]:
    from vecgen.sources.declared import declared_source

    return {spec.name: declared_source(spec, source_for) for spec in specs}


def source_for(config: Config, name: str) -> Source:
    """Return the built-in or declared (``[sources.<name>]``) source called ``name``."""
    return SOURCES.get(name) or _declared(config.declared)[name]


def flat_name(config: Config, name: str) -> str:
    """Return the predecessor-style file name of a source (a declared source's ``file``)."""
    if name in FLAT_NAMES:
        return FLAT_NAMES[name]
    return next(spec.file for spec in config.declared if spec.name == name)
