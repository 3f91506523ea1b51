"""Benchmark ``vecgen score`` on a large synthetic truth file (default 10,000,000 records).

Builds a truth file of N records in entities of 1-3 records, and a cluster
prediction that gets 95% of them right, then times ``score`` (median of runs).
The baseline in the same run is reading the two files with Polars.

    python benchmarks/bench_score.py [--records 10000000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import polars as pl

from vecgen.score import score


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--records", type=int, default=10_000_000)
    p.add_argument("--repeat", type=int, default=3)
    a = p.parse_args()
    rng = np.random.default_rng(0)
    n = a.records
    entity = np.cumsum(rng.random(n) < 0.6)  # about 1.7 records per entity
    ids = np.arange(1, n + 1)
    with tempfile.TemporaryDirectory() as tmp:
        truth_path, pred_path = Path(tmp) / "truth.parquet", Path(tmp) / "pred.parquet"
        first = pl.Series(ids).gather(np.searchsorted(entity, entity))
        pl.DataFrame(
            {
                "source": "customers",
                "record_id": ids.astype(str),
                "entity_id": entity.astype(str),
                "is_duplicate": first.to_numpy() != ids,
                "duplicate_of": pl.Series(first.cast(pl.String)).zip_with(
                    pl.Series(first.to_numpy() != ids),
                    pl.Series([None], dtype=pl.String).extend_constant(None, n - 1),
                ),
                "corruptions": "name_first:nickname",
            }
        ).write_parquet(truth_path)
        wrong = rng.random(n) < 0.05
        cluster = np.where(wrong, -ids, entity)
        pl.DataFrame(
            {"record_id": ids.astype(str), "cluster_id": cluster.astype(str)}
        ).write_parquet(pred_path)
        runs = []
        for _ in range(a.repeat):
            t = time.perf_counter()
            result = score(str(truth_path), str(pred_path))
            runs.append(time.perf_counter() - t)
        t = time.perf_counter()
        pl.read_parquet(truth_path), pl.read_parquet(pred_path)
        read = time.perf_counter() - t
    print(
        f"score {n:,} records: median {statistics.median(runs):.2f} s (runs: {', '.join(f'{r:.2f}' for r in runs)})"
    )
    print(f"baseline, reading both files: {read:.2f} s; ratio {statistics.median(runs) / read:.1f}")
    print(f"pairwise F1 {result['pairwise']['f1']:.4f}, B-cubed F1 {result['bcubed']['f1']:.4f}")


if __name__ == "__main__":
    main()
