"""E-mail campaign events (``CustomersEmailCampaign``): 1..3 per clean customer."""

from __future__ import annotations

import datetime as dt
from typing import ClassVar

import numpy as np
import polars as pl

from vecgen.catalog import EMAIL_COLUMNS
from vecgen.plan import Plan
from vecgen.sources.base import Batch, SourceBatch, WriteOptions
from vecgen.sources.columns import per_person, seconds_before, weighted
from vecgen.sources.customers import clean_rows
from vecgen.vocab import Vocab
from vecgen.vocab.static import CAMPAIGN_NAMES, EMAIL_FORMAT_WEIGHTS, EMAIL_FORMATS

COLUMNS = EMAIL_COLUMNS
MAX_EVENTS = 3
WINDOW = dt.timedelta(days=90)


class EmailCampaign:
    """Campaign events per customer, with unique sequential EVENT_IDs."""

    name: ClassVar[str] = "email_campaign"
    parents: ClassVar[tuple[str, ...]] = ("customers",)
    write_options: ClassVar[WriteOptions] = WriteOptions()

    def describe(self, plan: Plan) -> str:
        """Rows per customer."""
        return f"1..{MAX_EVENTS} per clean customer"

    def rows_between(self, plan: Plan, lo: int, hi: int) -> int:
        """Events of the clean customers ``lo..hi-1`` (from the plan)."""
        return plan.fan_out_total(self.name, "count", hi, 1, MAX_EVENTS, lo)

    def generate(self, plan: Plan, vocab: Vocab, batch: Batch) -> SourceBatch:
        """Events of the batch's clean customers; EVENT_IDs continue from earlier batches."""
        s = plan.streams(self.name)
        parents, keys = per_person(
            clean_rows(batch.upstream["customers"]),
            s("count"),
            1,
            MAX_EVENTS,
            ("customer_id", "email"),
        )
        n = len(keys)
        offset = batch.offsets[self.name]
        captured = seconds_before(s("captured"), keys, plan.run_ts, WINDOW)
        campaign = s("campaign").integers(keys, 0, len(CAMPAIGN_NAMES))
        frame = pl.DataFrame(
            {
                "EVENT_ID": np.arange(offset, offset + n, dtype=np.int64)
                + plan.email_event_id_start
                + 1,
                "EVENT_TYPE_ID": pl.Series(CAMPAIGN_NAMES).gather(campaign),
                "ACCOUNT_ID": s("account").integers(keys, 1, 4),
                "LIST_ID": s("list").integers(keys, 10, 31),
                "CUSTOMER_ID": parents["customer_id"],
                "EVENT_CAPTURED_DT": captured,
                "__stored_after": pl.Series(s("stored").integers(keys, 1, 301) * 1_000_000).cast(
                    pl.Duration("us")
                ),
                "CAMPAIGN_ID": campaign + 100,
                "LAUNCH_ID": s("launch").integers(keys, 100_000, 1_000_000),
                "EMAIL": parents["email"],
                "EMAIL_FORMAT": weighted(EMAIL_FORMATS, EMAIL_FORMAT_WEIGHTS, s("format"), keys),
                "MESSAGE_SIZE": s("size").integers(keys, 2_000, 150_001),
                "__launch_before": pl.Series(
                    s("launch_date").integers(keys, 0, 8) * 86_400_000_000
                ).cast(pl.Duration("us")),
            }
        ).with_columns(
            EVENT_STORED_DT=pl.col("EVENT_CAPTURED_DT") + pl.col("__stored_after"),
            LAUNCH_DATE=(pl.col("EVENT_CAPTURED_DT") - pl.col("__launch_before")).dt.date(),
            dtUpdateDate=pl.lit(plan.run_ts),
        )
        return SourceBatch(frame.select(COLUMNS))
