"""A worked example: match a vecgen run with the recordlinkage toolkit, then score it.

    pip install -e '.[examples]'
    python examples/recordlinkage_matcher.py --customers 2000 --profile medium

It generates a run (customers and truth), finds candidate pairs by blocking on
several keys, compares fields (Jaro-Winkler for names and address, exact for
the rest), calls a pair a match when enough fields agree, writes the pairs as
``record_id_l,record_id_r`` and scores them with ``vecgen score``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd
import polars as pl
import recordlinkage

from vecgen.catalog import SWITCHABLE
from vecgen.config import Config
from vecgen.engine import run
from vecgen.score import render, score

BLOCK_KEYS = ("postal_code", "name_last", "birth_dt", "phone", "email")
MATCH_AT = 5  # of the 8 compared fields


def match(customers: pd.DataFrame) -> pd.MultiIndex:
    """Candidate pairs from several blocking keys, kept when at least MATCH_AT fields agree."""
    candidates = None
    for key in BLOCK_KEYS:
        indexer = recordlinkage.Index()
        indexer.block(key)
        pairs = indexer.index(customers.dropna(subset=[key]))
        candidates = pairs if candidates is None else candidates.union(pairs)
    compare = recordlinkage.Compare()
    compare.string("name_first", "name_first", method="jarowinkler", threshold=0.85, label="first")
    compare.string("name_last", "name_last", method="jarowinkler", threshold=0.85, label="last")
    compare.string(
        "addr_ln_1_txt", "addr_ln_1_txt", method="jarowinkler", threshold=0.85, label="addr"
    )
    compare.string("city", "city", method="jarowinkler", threshold=0.85, label="city")
    for column in ("birth_dt", "postal_code", "email", "phone"):
        compare.exact(column, column, label=column)
    features = compare.compute(candidates, customers)
    return features[features.sum(axis=1) >= MATCH_AT].index


def write_run(
    tmp: str, customers: int, profile: str, seed: int = 7, fuzz: dict[str, Any] | None = None
) -> dict[str, str]:
    """Write only customers and their truth (Parquet) into ``tmp``; return source -> path."""
    off = tuple((s, False) for s in SWITCHABLE if s not in ("customers", "truth"))
    result = run(
        Config(
            customers=customers,
            seed=seed,
            date=dt.date(2026, 11, 29),
            out=tmp,
            formats=("parquet",),
            fuzz_profile=profile,
            sources=off,
            state_dir="",
            fuzz=fuzz or {},
        )
    )
    return {f.source: f.path for f in result.files}


def run_example(
    customers: int, profile: str, seed: int = 7, workdir: str | None = None
) -> dict[str, Any]:
    """Generate, match and score one run; return the score."""
    with tempfile.TemporaryDirectory(dir=workdir) as tmp:
        # Only customers and their truth: the matcher reads nothing else.
        path = write_run(tmp, customers, profile, seed)
        frame = pl.read_parquet(path["customers"]).with_columns(
            pl.exclude("customer_id").cast(pl.String)
        )
        people = frame.to_pandas().set_index("customer_id")
        pairs = match(people)
        predictions = Path(tmp) / "pairs.csv"
        pl.DataFrame(
            {"record_id_l": [str(a) for a, _ in pairs], "record_id_r": [str(b) for _, b in pairs]},
            schema={"record_id_l": pl.String, "record_id_r": pl.String},
        ).write_csv(predictions)
        return score(path["truth"], str(predictions))


def main() -> None:
    """Run the example for one preset or all three."""
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--customers", type=int, default=2000)
    p.add_argument("--profile", default="all", help="a preset, or 'all' for easy, medium, hard")
    a = p.parse_args()
    profiles = ("easy", "medium", "hard") if a.profile == "all" else (a.profile,)
    for profile in profiles:
        result = run_example(a.customers, profile)
        print(
            f"== {profile}: pairwise F1 {result['pairwise']['f1']:.4f}, B-cubed F1 {result['bcubed']['f1']:.4f}"
        )
        print(render(result))


if __name__ == "__main__":
    main()
