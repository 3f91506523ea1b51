"""Location tiles (``CustomersLatLongs``): 1-3 points per clean customer near their ZIP code.

A point is drawn uniformly in a disc of :data:`RADIUS_KM` around the centre of
the customer's postal code (the predecessor's points were random).
"""

from __future__ import annotations

import datetime as dt
from typing import ClassVar

import numpy as np
import polars as pl

from vecgen.fuzz_vectorized.kernels import per_vocab
from vecgen.plan import Plan
from vecgen.sources.base import Batch, SourceBatch, WriteOptions
from vecgen.sources.columns import per_person, seconds_before
from vecgen.sources.customers import clean_rows
from vecgen.vocab import Vocab

COLUMNS = ("customer_id", "TileTimestamp", "TileType", "TileLocation")
MAX_TILES = 3
RADIUS_KM = 5.0
KM_PER_DEGREE = 111.32


@per_vocab
def _centres(vocab: Vocab) -> pl.DataFrame:
    """Return each ZIP code's point (the first, should a vocabulary list a code twice)."""
    return vocab.places.select("postal_code", "lat", "lng").unique(
        "postal_code", keep="first", maintain_order=True
    )


class Locations:
    """Where customers were seen: points near their home ZIP code."""

    name: ClassVar[str] = "locations"
    parents: ClassVar[tuple[str, ...]] = ("customers",)
    write_options: ClassVar[WriteOptions] = WriteOptions()

    def describe(self, plan: Plan) -> str:
        """Rows per customer."""
        return f"1..{MAX_TILES} per clean customer, within {RADIUS_KM:g} km of their ZIP code"

    def generate(self, plan: Plan, vocab: Vocab, batch: Batch) -> SourceBatch:
        """Tiles of the batch's clean customers."""
        s = plan.streams(self.name)
        # Each customer's ZIP code centre, looked up once per customer (not per tile).
        people = clean_rows(batch.upstream["customers"])
        people = people.select("__person", "customer_id", "postal_code").join(
            _centres(vocab),
            on="postal_code",
            how="left",
            maintain_order="left",
        )
        parents, keys = per_person(people, s("count"), 1, MAX_TILES, ("customer_id", "lat", "lng"))
        lat0, lng0 = parents["lat"].to_numpy(), parents["lng"].to_numpy()
        r = RADIUS_KM * np.sqrt(s("radius").uniform(keys)) / KM_PER_DEGREE
        theta = 2 * np.pi * s("angle").uniform(keys)
        lat = np.round(lat0 + r * np.cos(theta), 6)
        lng = np.round(lng0 + r * np.sin(theta) / np.cos(np.radians(lat0)), 6)
        frame = pl.DataFrame(
            {
                "customer_id": parents["customer_id"],
                "TileTimestamp": seconds_before(
                    s("time"), keys, plan.run_ts, dt.timedelta(days=30)
                ),
                "__lat": lat,
                "__lng": lng,
            }
        ).with_columns(
            TileType=pl.lit("Tile"),
            TileLocation=pl.format("{},{}", pl.col("__lat").round(6), pl.col("__lng").round(6)),
        )
        return SourceBatch(frame.select(COLUMNS))
