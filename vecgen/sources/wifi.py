"""Guest wifi logins (``CustomersWifi``): one per customer plus fuzzed copies.

The e-mail is the key that joins wifi to customers, so copies keep it and
corrupt the name and postal code instead (a second login by the same guest).
"""

from __future__ import annotations

import datetime as dt
from typing import ClassVar

import numpy as np
import polars as pl

from vecgen.fuzz_vectorized import fuzz_frame
from vecgen.plan import Plan
from vecgen.rng import U64
from vecgen.sources.base import Batch, SourceBatch, WriteOptions, in_order, null_strings, truth_rows
from vecgen.sources.columns import hex_token, ipv4, seconds_before, uuid4
from vecgen.sources.completeness import apply_completeness
from vecgen.sources.customers import (
    batch_layout,
    block_copy_sources,
    clean_people,
    clean_rows,
    customer_ids,
)
from vecgen.sources.people import replacement_pools
from vecgen.vocab import Vocab

COLUMNS = (
    "email",
    "fname",
    "lname",
    "roomOrStoreID",
    "postal_code",
    "client_ip",
    "login_time",
    "sha",
    "device_uuid",
    "dtUpdateDate",
)
FUZZED = ("name_first", "name_last", "postal_code")


class Wifi:
    """Wifi logins of the customers, with corrupted repeat logins."""

    name: ClassVar[str] = "wifi"
    parents: ClassVar[tuple[str, ...]] = ("customers",)
    write_options: ClassVar[WriteOptions] = WriteOptions()
    fuzzed: ClassVar[tuple[str, ...]] = FUZZED  # its own field weights (pipeline.warm_up)

    def describe(self, plan: Plan) -> str:
        """Rows per customer."""
        return f"1 + {plan.dupe_rate:g}% fuzzed copies"

    def _session(self, plan: Plan, kind: str, keys: U64) -> dict[str, pl.Series]:
        s = plan.streams(f"{self.name}/{kind}")
        return {
            "roomOrStoreID": pl.Series(s("room").integers(keys, 100, 901)),
            "client_ip": ipv4(s("ip"), keys),
            "login_time": seconds_before(s("login"), keys, plan.run_ts, dt.timedelta(days=1)),
            "sha": hex_token(s("sha"), keys),
            "device_uuid": uuid4(s("device"), keys),
        }

    def generate(self, plan: Plan, vocab: Vocab, batch: Batch) -> SourceBatch:
        """Clean logins in customer order, each block's copies after the block."""
        clean = clean_rows(batch.upstream["customers"])
        lay = batch_layout(plan, batch.start, batch.stop)
        orig = block_copy_sources(plan, self.name, lay.dupes, lay.dupe_block)
        u = np.uint64
        originals = clean_people(clean, orig, ["email", *FUZZED, "__household"])
        # Only names and postal code are fuzzed: the e-mail is the join key.
        copies, log = fuzz_frame(
            originals.select(FUZZED),
            plan.profile.restricted(FUZZED),
            plan.stream(self.name, "fuzz"),
            lay.dupes.astype(u),
            vocab,
            replacement_pools(vocab),
        )
        copies = copies.with_columns(originals["email"]).select("email", *FUZZED)

        clean_keys = clean["__person"].to_numpy().astype(u)
        people = pl.concat([clean.select("email", *FUZZED), copies])
        sessions = pl.concat(
            [
                pl.DataFrame(self._session(plan, "clean", clean_keys)),
                pl.DataFrame(self._session(plan, "copy", lay.dupes.astype(u))),
            ]
        )
        positions = np.concatenate([lay.clean_pos, lay.dupe_pos])
        order = np.argsort(positions, kind="stable")
        people, full_log = apply_completeness(
            plan, self.name, people, positions.astype(u), pl.concat([null_strings(len(clean)), log])
        )
        people = people.select("email", *FUZZED)
        frame = (
            pl.concat([people, sessions], how="horizontal")
            .rename({"name_first": "fname", "name_last": "lname"})
            .with_columns(pl.lit(plan.run_ts).alias("dtUpdateDate"))
            .select(COLUMNS)
            .pipe(in_order, order)
        )
        n_clean = len(clean)
        # The same stream as the clean rows' sha (see _session): the copy links to its original.
        original_sha = hex_token(plan.streams(f"{self.name}/clean")("sha"), orig.astype(u))

        original_entity = customer_ids(plan, plan.clean_positions(orig.astype(u))).cast(pl.String)
        nulls = null_strings(n_clean)
        truth = in_order(
            truth_rows(
                self.name,
                record_id=sessions["sha"],
                entity_id=pl.concat([clean["__entity"], original_entity]),
                household_id=pl.concat([clean["__household"], originals["__household"]]),
                is_duplicate=np.arange(len(positions)) >= n_clean,
                block=np.concatenate([clean["__block"].to_numpy(), lay.dupe_block]),
                duplicate_of=pl.concat([nulls, original_sha]),
                corruptions=full_log,
            ),
            order,
        )
        return SourceBatch(frame, truth)
