"""Scaling past one machine: per-shard time and memory for ``--parts`` 1, 4 and 16, one Dask run.

A shard's work depends on its own size only (its IDs and offsets come from the
plan), so the cost of a run of any size is (shards x per-shard time) / workers.
This measures it and prints the arithmetic for 1 billion customers::

    python benchmarks/bench_parts.py                          # 1M customers, CSV, 3 runs
    python benchmarks/bench_parts.py --customers 1000000 --format parquet --markdown t.md

Every shard of every split is run (one at a time, so each has the machine to
itself) and timed as a user runs it (``python -m vecgen ... --parts N --part K``);
memory is the shard process's peak resident set (``ru_maxrss``). The Dask row
runs the ``--parts 4`` split as tasks on a local cluster (one process,
``--engine dask``). Medians of ``--repeat`` runs.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BILLION = 1_000_000_000


def measured(args: list[str]) -> tuple[float, float]:
    """Run vecgen in a helper process that reports only this run's peak RSS."""
    helper = (
        "import resource, subprocess, sys, time\n"
        "t = time.perf_counter()\n"
        "r = subprocess.run([sys.executable, '-m', 'vecgen', *sys.argv[1:]], capture_output=True)\n"
        "s = time.perf_counter() - t\n"
        "sys.stderr.write(r.stderr.decode())\n"
        "print(s, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)\n"
        "sys.exit(r.returncode)\n"
    )
    done = subprocess.run([sys.executable, "-c", helper, *args], capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"vecgen {' '.join(args)} failed: {done.stderr.strip()}")
    seconds, mib = done.stdout.split()
    return float(seconds), float(mib)


def main() -> None:
    """Measure the splits and print the table (and write it with --markdown)."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--customers", type=int, default=1_000_000)
    p.add_argument("--format", default="csv")
    p.add_argument("--splits", default="1,4,16", help="--parts values, comma separated")
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--no-dask", action="store_true", help="skip the Dask row")
    p.add_argument("--markdown", default=None, help="also write the table to this file")
    a = p.parse_args()
    splits = [int(x) for x in a.splits.split(",")]
    base = ["--customers", str(a.customers), "--format", a.format, "--no-state", "--quiet"]
    base += ["--date", "2026-01-15", "--seed", "7"]
    lines = [
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}",
        "command: python benchmarks/bench_parts.py " + " ".join(sys.argv[1:]),
        "",
        "| split | customers per shard | shard s (median) | all shards s | peak RSS MiB (max) |",
        "|---|---|---|---|---|",
    ]
    per_customer: dict[int, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for parts in splits:
            shard_times, totals, peaks = [], [], []
            for _ in range(a.repeat):
                total = 0.0
                for part in range(parts):
                    out = Path(tmp) / "out"
                    shutil.rmtree(out, ignore_errors=True)
                    seconds, mib = measured(
                        [*base, "--parts", str(parts), "--part", str(part), "--out", str(out)]
                    )
                    shard_times.append(seconds)
                    peaks.append(mib)
                    total += seconds
                totals.append(total)
            shard = statistics.median(shard_times)
            per_customer[parts] = shard / (a.customers / parts)
            lines.append(
                f"| --parts {parts} | {a.customers // parts:,} | {shard:.2f} | "
                f"{statistics.median(totals):.2f} | {max(peaks):,.0f} |"
            )
            print(lines[-1], flush=True)
        if not a.no_dask:
            dask_parts = 4 if 4 in splits else splits[-1]
            times, peaks = [], []
            for _ in range(a.repeat):
                out = Path(tmp) / "dask"
                shutil.rmtree(out, ignore_errors=True)
                seconds, mib = measured(
                    [*base, "--parts", str(dask_parts), "--engine", "dask", "--out", str(out)]
                )
                times.append(seconds)
                peaks.append(mib)
            lines.append(
                f"| --parts {dask_parts} --engine dask (local cluster, all shards) | "
                f"{a.customers // dask_parts:,} | | {statistics.median(times):.2f} | "
                f"{max(peaks):,.0f} (largest process) |"
            )
            print(lines[-1], flush=True)
    lines.append("")
    for parts in splits:  # the arithmetic for 1 billion customers, per shard size
        size = a.customers // parts
        seconds_each = per_customer[parts] * size
        hours = BILLION / size * seconds_each / 3600
        lines.append(
            f"1 billion customers in shards of {size:,}: {BILLION // size:,} shards of "
            f"{seconds_each:.1f} s = {hours:,.1f} machine-hours like this one; on 64 such "
            f"workers about {hours * 60 / 64:,.0f} minutes, each holding one shard's memory."
        )
    text = "\n".join(lines)
    print(text)
    if a.markdown:
        Path(a.markdown).write_text(text + "\n")


if __name__ == "__main__":
    main()
