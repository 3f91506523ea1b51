"""How hard is each preset for real matchers? Pairwise precision, recall and F1 per preset.

For each preset it writes the customers file of N customers (default 20,000) and
its truth, runs unsupervised probabilistic matchers over it and scores their
pairs with ``vecgen score``:

- ``ecm``: recordlinkage's ECM classifier (Fellegi-Sunter, EM-trained, binary
  agreement on 8 fields);
- ``splink``: Splink with its DuckDB backend (Fellegi-Sunter with graded
  comparisons, u from random sampling, m by EM on two blocking rules);
- ``rules``: the rule-based matcher of ``examples/recordlinkage_matcher.py``
  (at least 5 of 8 fields agree).

All see the fields as vecgen writes them (corrupted, and missing where the
system did not capture them). Candidate pairs come from the same blocking keys
for every matcher. This is a benchmark of realism, not a timed test:

    pip install -e '.[realism]'        # recordlinkage, pandas, Splink, DuckDB
    python benchmarks/bench_difficulty.py [--customers 20000] [--profiles easy,medium,hard]
        [--matchers ecm,splink,rules] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pandas as pd
import polars as pl

from vecgen.score import score

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "examples"))

FIELDS = (
    "name_first",
    "name_last",
    "birth_dt",
    "email",
    "city",
    "postal_code",
    "addr_ln_1_txt",
    "phone",
)
# Compound where one field alone is too common (a ZIP code holds thousands of people).
BLOCK_KEYS: tuple[tuple[str, ...], ...] = (
    ("postal_code", "name_last"),
    ("name_last", "name_first"),
    ("birth_dt",),
    ("phone",),
    ("email",),
    ("addr_ln_1_txt",),
)
STRING_FIELDS = ("name_first", "name_last", "addr_ln_1_txt", "city")


def write_customers(
    tmp: str, customers: int, profile: str, seed: int, fuzz: dict[str, Any] | None = None
) -> tuple[pl.DataFrame, str]:
    """Generate customers + truth; return the customers frame (strings) and the truth path."""
    from recordlinkage_matcher import write_run  # examples/

    path = write_run(tmp, customers, profile, seed, fuzz)
    frame = pl.read_parquet(path["customers"]).with_columns(pl.all().cast(pl.String))
    # A blank value is as missing as a null one.
    frame = frame.with_columns(
        pl.when(pl.col(c).str.strip_chars() == "").then(None).otherwise(pl.col(c)).alias(c)
        for c in FIELDS
    )
    return frame, path["truth"]


def candidates(people: pd.DataFrame) -> pd.MultiIndex:
    """Union of the blocks on each key (records missing the key are not blocked on it)."""
    import recordlinkage

    out = None
    for key in BLOCK_KEYS:
        indexer = recordlinkage.Index()
        indexer.block(list(key))
        pairs = indexer.index(people.dropna(subset=list(key)))
        out = pairs if out is None else out.union(pairs)
    assert out is not None
    return out


def match_ecm(people: pd.DataFrame) -> list[tuple[str, str]]:
    """recordlinkage: binary agreement features, ECM (unsupervised EM) classifier."""
    import recordlinkage

    pairs = candidates(people)
    compare = recordlinkage.Compare()
    for c in STRING_FIELDS:
        compare.string(c, c, method="jarowinkler", threshold=0.88, label=c)
    for c in FIELDS:
        if c not in STRING_FIELDS:
            compare.exact(c, c, label=c)
    features = compare.compute(pairs, people)
    ecm = recordlinkage.ECMClassifier(binarize=0.5)
    found = ecm.fit_predict(features)
    return [(str(a), str(b)) for a, b in found]


def match_rules(people: pd.DataFrame) -> list[tuple[str, str]]:
    """The rule-based example matcher (at least MATCH_AT of 8 fields agree)."""
    from recordlinkage_matcher import match  # examples/

    return [(str(a), str(b)) for a, b in match(people)]


def match_splink(frame: pl.DataFrame) -> list[tuple[str, str]]:
    """Splink (DuckDB): graded comparisons, u by random sampling, m by EM; threshold 0.5."""
    import splink.comparison_library as cl
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    df = frame.select("customer_id", *FIELDS).to_pandas()
    settings = SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="customer_id",
        comparisons=[
            cl.JaroWinklerAtThresholds("name_first", [0.92, 0.8]),
            cl.JaroWinklerAtThresholds("name_last", [0.92, 0.8]),
            cl.ExactMatch("birth_dt"),
            cl.ExactMatch("email"),
            cl.JaroWinklerAtThresholds("city", [0.9]),
            cl.ExactMatch("postal_code"),
            cl.JaroWinklerAtThresholds("addr_ln_1_txt", [0.92, 0.8]),
            cl.ExactMatch("phone"),
        ],
        blocking_rules_to_generate_predictions=[block_on(*k) for k in BLOCK_KEYS],
        retain_intermediate_calculation_columns=False,
    )
    table = DuckDBAPI().register(df, table_name="customers")
    linker = Linker(table, settings)
    linker.training.estimate_probability_two_random_records_match(
        [block_on("email"), block_on("phone", "name_first")], recall=0.6
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=2e6, seed=1)
    linker.training.estimate_parameters_using_expectation_maximisation(
        block_on("postal_code", "name_last")
    )
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("name_last"))
    pred = linker.inference.predict(threshold_match_probability=0.5).as_pandas_dataframe()
    return list(
        zip(pred["customer_id_l"].astype(str), pred["customer_id_r"].astype(str), strict=True)
    )


def evaluate(pairs: list[tuple[str, str]], truth: str, tmp: str) -> dict[str, float]:
    """Pairwise precision, recall, F1 of ``pairs`` (customers only) via ``vecgen score``."""
    path = Path(tmp) / "pairs.csv"
    pl.DataFrame(
        {"record_id_l": [a for a, _ in pairs], "record_id_r": [b for _, b in pairs]},
        schema={"record_id_l": pl.String, "record_id_r": pl.String},
    ).write_csv(path)
    customers_truth = Path(tmp) / "truth_customers.parquet"
    pl.read_parquet(truth).filter(pl.col("source") == "customers").write_parquet(customers_truth)
    result = score(str(customers_truth), str(path))
    pw = result["pairwise"]
    return {k: round(float(pw[k]), 4) for k in ("precision", "recall", "f1")}


MATCHERS = {"ecm": match_ecm, "splink": match_splink, "rules": match_rules}


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--customers", type=int, default=20_000)
    p.add_argument("--profiles", default="easy,medium,hard,febrl,gensampledata")
    p.add_argument("--matchers", default="ecm,splink,rules")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--json", default="", help="also write the table as JSON here")
    p.add_argument("--fuzz", default="", help="a [fuzz] table as JSON, applied to every preset")
    a = p.parse_args()
    rows: list[dict[str, Any]] = []
    print(
        f"{'matcher':<8} {'preset':<14} {'customers':>9} {'precision':>9} {'recall':>7} {'F1':>7} {'s':>6}"
    )
    for profile in a.profiles.split(","):
        with tempfile.TemporaryDirectory() as tmp:
            fuzz = json.loads(a.fuzz) if a.fuzz else None
            frame, truth = write_customers(tmp, a.customers, profile, a.seed, fuzz)
            people = frame.to_pandas().set_index("customer_id")
            for name in a.matchers.split(","):
                t0 = time.perf_counter()
                pairs = MATCHERS[name](frame if name == "splink" else people)
                got = evaluate(pairs, truth, tmp)
                secs = time.perf_counter() - t0
                row = {"matcher": name, "preset": profile, "customers": a.customers, **got}
                rows.append(row)
                print(
                    f"{name:<8} {profile:<14} {a.customers:>9,} {got['precision']:>9.4f} "
                    f"{got['recall']:>7.4f} {got['f1']:>7.4f} {secs:>6.1f}",
                    flush=True,
                )
    if a.json:
        Path(a.json).write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()
