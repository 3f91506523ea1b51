"""Archival: people from earlier days' customer files, fuzzed and added as new customers."""

from __future__ import annotations

import numpy as np
import polars as pl

from vecgen.catalog import PERSON_COLUMNS
from vecgen.daily.earlier import (
    Output,
    earlier_files,
    read_customers_file,
    with_entities,
)
from vecgen.daily.extra import Extra
from vecgen.fuzz_vectorized import fuzz_frame
from vecgen.plan import Plan
from vecgen.sources.base import truth_rows
from vecgen.sources.customers import COLUMNS, customer_ids
from vecgen.sources.people import replacement_pools
from vecgen.vocab import Vocab

ARCHIVAL_SHARE = 0.01  # of the run's customers per round


def archival_extra(plan: Plan, vocab: Vocab, first_position: int, out: Output) -> Extra | None:
    """Re-read earlier days' people, fuzz them and add them as new customers (``archival_count`` rounds).

    ``out`` is the output read back (:func:`vecgen.daily.earlier.output_of`).
    """
    cfg = plan.config
    files = earlier_files(out, "customers", plan.run_date)
    if not files or cfg.archival_count == 0:
        return None
    per_round = max(1, round(cfg.customers * ARCHIVAL_SHARE))
    picked: list[pl.DataFrame] = []
    for r in range(cfg.archival_count):
        s = plan.streams(f"archival/{r}")
        path = files[int(s("file").integers(np.zeros(1, dtype=np.uint64), 0, len(files))[0])]
        frame = read_customers_file(path, out=out)
        if frame.height == 0:
            continue
        tail_start = frame.height - max(1, frame.height // 10)  # the file's last tenth, as before
        rows = tail_start + s("row").integers(
            np.arange(per_round, dtype=np.uint64), 0, frame.height - tail_start
        )
        picked.append(with_entities(frame[rows], path, out))
    if not picked:
        return None
    originals = pl.concat(picked)
    n = originals.height
    keys = np.arange(n, dtype=np.uint64)
    people = originals.select(PERSON_COLUMNS)
    fuzzed, log = fuzz_frame(
        people, plan.profile, plan.stream("archival", "fuzz"), keys, vocab, replacement_pools(vocab)
    )
    ids = customer_ids(
        plan, np.arange(first_position, first_position + n, dtype=np.int64), "archival"
    )
    customers = fuzzed.with_columns(ids, pl.lit(plan.run_ts).alias("dtUpdateDate")).select(COLUMNS)
    truth = truth_rows(
        "customers",
        ids.cast(pl.String),
        originals["__entity"],
        np.ones(n, dtype=bool),
        np.full(n, -1),
        duplicate_of=originals["customer_id"],
        corruptions=log,
        household_id=originals["__entity"],  # an earlier day's household is not carried over
    )
    return Extra(customers, truth.drop("__block"))
