"""Mobile app sessions (``CustomersMobile``): 1-2 per clean customer, keyed by e-mail."""

from __future__ import annotations

import datetime as dt
from typing import ClassVar

import numpy as np
import polars as pl

from vecgen.plan import Plan
from vecgen.sources.base import Batch, SourceBatch, WriteOptions, truth_rows
from vecgen.sources.columns import hex_token, ipv4, per_person, pick, seconds_before, uuid4
from vecgen.sources.customers import clean_rows
from vecgen.vocab import Vocab
from vecgen.vocab.static import APP_PAGES

COLUMNS = (
    "email",
    "time_on_page",
    "page",
    "client_ip",
    "login_time",
    "sha",
    "device_uuid",
    "dtUpdateDate",
)
MAX_SESSIONS = 2


class Mobile:
    """App sessions of the customers; a customer keeps one device."""

    name: ClassVar[str] = "mobile"
    parents: ClassVar[tuple[str, ...]] = ("customers",)
    write_options: ClassVar[WriteOptions] = WriteOptions()

    def describe(self, plan: Plan) -> str:
        """Rows per customer."""
        return f"1..{MAX_SESSIONS} per clean customer"

    def generate(self, plan: Plan, vocab: Vocab, batch: Batch) -> SourceBatch:
        """Sessions of the batch's clean customers."""
        s = plan.streams(self.name)
        parents, keys = per_person(
            clean_rows(batch.upstream["customers"]),
            s("count"),
            1,
            MAX_SESSIONS,
            ("__person", "email", "__entity", "__household", "__block"),
        )
        person = parents["__person"].to_numpy().astype(np.uint64)
        frame = pl.DataFrame(
            {
                "email": parents["email"],
                "time_on_page": s("time_on_page").integers(keys, 5, 901),
                "page": pick(pl.Series(APP_PAGES), s("page"), keys),
                "client_ip": ipv4(s("ip"), keys),
                "login_time": seconds_before(s("login"), keys, plan.run_ts, dt.timedelta(days=1)),
                "sha": hex_token(s("sha"), keys),
                "device_uuid": uuid4(s("device"), person),
            }
        ).with_columns(pl.lit(plan.run_ts).alias("dtUpdateDate"))
        truth = truth_rows(
            self.name,
            record_id=frame["sha"],
            entity_id=parents["__entity"],
            household_id=parents["__household"],
            is_duplicate=np.zeros(len(keys), dtype=bool),
            block=parents["__block"].to_numpy(),
        )
        return SourceBatch(frame, truth)
