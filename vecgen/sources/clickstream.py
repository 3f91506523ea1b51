"""Web analytics hits (``CustomersClickstream``): 1-2 per customer plus anonymous visitors.

Known visitors carry their customer_id in ``cust_visid`` and their e-mail in
``evar11``; anonymous visitors (the rate share of each block) are people who
exist nowhere else: ``cust_visid`` 0 and an e-mail of their own. Hit times are
Unix seconds within the 24 hours before the run.
"""

from __future__ import annotations

import datetime as dt
from typing import ClassVar

import numpy as np
import polars as pl

from vecgen.catalog import SLOTS
from vecgen.plan import Plan
from vecgen.rng import U64
from vecgen.sources.base import Batch, SourceBatch, WriteOptions, truth_rows
from vecgen.sources.columns import fan_out, ipv4, pick, seconds_before, uuid4
from vecgen.sources.customers import batch_layout, clean_rows
from vecgen.sources.people import person_frame
from vecgen.vocab import Vocab
from vecgen.vocab.static import PAGES, REFERRERS, SITE, TRACKING_CAMPAIGNS

COLUMNS = (
    "cust_visid",
    "daily_visitor",
    "hit_time_gmt",
    "page_url",
    "campaign",
    "ip",
    "first_hit_time_gmt",
    "last_hit_time_gmt",
    "evar1",
    "evar11",
    "user_agent",
    "referrer",
    "product_list",
    "uuid",
    "dtUpdateDate",
)
MAX_HITS = 2


# Whole texts by look-up (a row's page is the site and a page, its product "PR" and 1..999).
_PAGE_URLS = pl.Series([SITE + page for page in PAGES], dtype=pl.String)
_PRODUCTS = pl.Series([f"PR{k}" for k in range(1, 1000)], dtype=pl.String)


class Clickstream:
    """Hits of known customers and of anonymous visitors."""

    name: ClassVar[str] = "clickstream"
    parents: ClassVar[tuple[str, ...]] = ("customers",)
    write_options: ClassVar[WriteOptions] = WriteOptions()

    def describe(self, plan: Plan) -> str:
        """Rows per customer."""
        return f"1..{MAX_HITS} per clean customer + anonymous visitors ({plan.dupe_rate:g}%)"

    def _visitors(
        self,
        plan: Plan,
        vocab: Vocab,
        kind: str,
        keys: U64,
        block: np.ndarray,
        visid: pl.Series,
        email: pl.Series,
        entity: pl.Series | None,
        household: pl.Series | None = None,
    ) -> pl.DataFrame:
        """One row per hit: 1..MAX_HITS hits per visitor, visitor fields repeated.

        ``entity`` is the real person of each visitor, ``household`` where they
        live; ``None`` for anonymous visitors, who are their own entity and
        household (their visitor id, ``evar1``).
        """
        s = plan.streams(f"{self.name}/{kind}")
        counts, row = fan_out(s("hits"), keys, 1, MAX_HITS)
        k = np.arange(len(row)) - np.repeat(np.cumsum(counts) - counts, counts)
        hit_keys = keys[row] * np.uint64(SLOTS) + k.astype(np.uint64)
        visitor_id = uuid4(s("visitor"), keys)
        visitors = pl.DataFrame(
            {
                "cust_visid": visid,
                "evar11": email,
                "evar1": visitor_id,
                "ip": ipv4(s("ip"), keys),
                "user_agent": pick(vocab.user_agent, s("agent"), keys),
                "__visitor": keys.astype(np.int64),
                "__block": np.asarray(block, dtype=np.int64),
                "__kind": np.full(len(keys), 0 if entity is not None else 1, dtype=np.int64),
                "__entity": visitor_id if entity is None else entity,
                "__household": visitor_id if household is None else household,
            }
        )[row]
        when = seconds_before(s("time"), hit_keys, plan.run_ts, dt.timedelta(days=1)).dt.epoch("s")
        # A visitor's hits are consecutive rows here: their first and last time per visitor.
        seconds = when.to_numpy()
        starts = np.cumsum(counts) - counts
        first = np.minimum.reduceat(seconds, starts)[row] if len(row) else seconds
        last = np.maximum.reduceat(seconds, starts)[row] if len(row) else seconds
        return visitors.with_columns(
            pl.Series("hit_time_gmt", when),
            pl.Series("first_hit_time_gmt", first),
            pl.Series("last_hit_time_gmt", last),
            pl.Series("daily_visitor", (seconds == first).astype(np.int64)),
            pl.Series("__hit", k),
            pick(_PAGE_URLS, s("page"), hit_keys).alias("page_url"),
            pick(pl.Series(TRACKING_CAMPAIGNS), s("campaign"), hit_keys).alias("campaign"),
            pick(pl.Series(REFERRERS), s("referrer"), hit_keys).alias("referrer"),
            _PRODUCTS[s("product").integers(hit_keys, 1, 1000) - 1].alias("product_list"),
            uuid4(s("uuid"), hit_keys).alias("uuid"),
        )

    def generate(self, plan: Plan, vocab: Vocab, batch: Batch) -> SourceBatch:
        """Hits of the batch's clean customers, then each block's anonymous visitors."""
        clean = clean_rows(batch.upstream["customers"])
        lay = batch_layout(plan, batch.start, batch.stop)
        known = self._visitors(
            plan,
            vocab,
            "known",
            clean["__person"].to_numpy().astype(np.uint64),
            clean["__block"].to_numpy(),
            clean["customer_id"],
            clean["email"],
            clean["__entity"],
            clean["__household"],
        )
        anon_keys = lay.dupes.astype(np.uint64)
        anon_people = person_frame(plan, vocab, f"{self.name}/anonymous", anon_keys)
        zeros = np.zeros(len(anon_keys), dtype=np.int64)
        anon = self._visitors(
            plan,
            vocab,
            "anonymous",
            anon_keys,
            lay.dupe_block,
            # Anonymous visitors have customer_id 0 ("0" with alpha_key), as the predecessor's.
            pl.Series([0]).cast(clean.schema["customer_id"]).gather(zeros),
            anon_people["email"],
            None,
        )
        # (block, known before anonymous, visitor, hit): the same order for any batching.
        # (The four keys are unique per hit: NumPy's sort of them, then one gather, is
        # ~2x faster than Polars' sort of the frame.)
        hits = pl.concat([known, anon], rechunk=True)
        keys = [hits[c].to_numpy() for c in ("__hit", "__visitor", "__kind", "__block")]
        hits = hits[np.lexsort(keys)]
        hits = hits.with_columns(pl.lit(plan.run_ts).alias("dtUpdateDate"))
        truth = truth_rows(
            self.name,
            record_id=hits["uuid"],
            entity_id=hits["__entity"],
            household_id=hits["__household"],
            is_duplicate=np.zeros(hits.height, dtype=bool),
            block=hits["__block"].to_numpy(),
        )
        return SourceBatch(hits.select(COLUMNS), truth)
