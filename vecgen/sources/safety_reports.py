"""Store safety reports (``CustomersSafetyReports``): 1-2 per clean customer."""

from __future__ import annotations

import datetime as dt
from typing import ClassVar

import polars as pl

from vecgen.plan import Plan
from vecgen.sources.base import Batch, SourceBatch, WriteOptions
from vecgen.sources.columns import per_person, pick, seconds_before, weighted
from vecgen.sources.customers import clean_rows
from vecgen.vocab import Vocab
from vecgen.vocab.static import (
    INJURY_DESCRIPTIONS,
    REPORT_PRIORITIES,
    REPORT_PRIORITY_WEIGHTS,
    REPORT_TYPES,
)

COLUMNS = ("customer_id", "ReportTimestamp", "ReportType", "ReportPriority", "Description")
MAX_REPORTS = 2


class SafetyReports:
    """Incident and observation reports that involve a customer."""

    name: ClassVar[str] = "safety_reports"
    parents: ClassVar[tuple[str, ...]] = ("customers",)
    write_options: ClassVar[WriteOptions] = WriteOptions()

    def describe(self, plan: Plan) -> str:
        """Rows per customer."""
        return f"1..{MAX_REPORTS} per clean customer"

    def generate(self, plan: Plan, vocab: Vocab, batch: Batch) -> SourceBatch:
        """Write 1..MAX_REPORTS reports for each clean customer of the batch."""
        s = plan.streams(self.name)
        parents, keys = per_person(
            clean_rows(batch.upstream["customers"]), s("count"), 1, MAX_REPORTS, ("customer_id",)
        )
        frame = pl.DataFrame(
            {
                "customer_id": parents["customer_id"],
                "ReportTimestamp": seconds_before(
                    s("time"), keys, plan.run_ts, dt.timedelta(days=730)
                ),
                "ReportType": pick(pl.Series(REPORT_TYPES), s("type"), keys),
                "ReportPriority": weighted(
                    REPORT_PRIORITIES, REPORT_PRIORITY_WEIGHTS, s("priority"), keys
                ),
                "Description": pick(pl.Series(INJURY_DESCRIPTIONS), s("description"), keys),
            }
        )
        return SourceBatch(frame)
