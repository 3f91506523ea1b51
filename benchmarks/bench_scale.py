"""Benchmark vecgen at scale against the Rust TPC-H generator, Faker and mimesis.

For each customer count and format it runs the full landscape
(``vecgen --customers N --format F``) as a user does and prints the median
seconds, rows, rows/s and peak memory (max RSS of the vecgen process). In the
same run it measures ``tpchgen-cli`` at scale factor 1 (CSV and Parquet, the
reference for throughput) and prints vecgen's rows/s as a ratio of it, and it
measures row-by-row Faker and mimesis generators of one customer record. It
also times every source's generation in memory (rows/s per source).

    pip install -e '.[bench]'            # tpchgen-cli and Faker
    python benchmarks/bench_scale.py                                # 100k and 1M, 3 runs
    python benchmarks/bench_scale.py --sizes 10000000 --repeat 1    # the 10M run
    python benchmarks/bench_scale.py --markdown RESULTS-run.md      # also write a table

Every vecgen run is paired with a tpchgen-cli run made just before it (same
format); the ratio column is the median of the pairs' ratios of rows/s, so a
machine whose speed drifts during the benchmark moves both sides of a pair.
Before each timed run (either tool) the disk is let catch up (``os.sync``):
the pages the run before wrote are not flushed on the next run's time.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from bench_core import mimesis_row_by_row, run_once, settle

TPCH_SF1_ROWS = 8_661_245  # lineitem 6,001,215 + orders 1.5M + partsupp 800k + part 200k + ...


TPCH_FORMAT = {"delta": "parquet"}


def tpchgen_once(fmt: str, work: Path) -> tuple[float, int] | None:
    """Seconds and rows of one ``tpchgen-cli FMT -s 1`` run (None when it is not installed)."""
    exe = shutil.which("tpchgen-cli")
    if exe is None:
        return None
    out = work / "tpch"
    shutil.rmtree(out, ignore_errors=True)
    settle()
    start = time.perf_counter()
    subprocess.run([exe, fmt, "-s", "1", f"--output-dir={out}"], check=True)
    seconds = time.perf_counter() - start
    rows = TPCH_SF1_ROWS
    if fmt == "parquet":  # count what it wrote rather than trusting the constant
        import pyarrow.parquet as pq

        rows = sum(pq.ParquetFile(p).metadata.num_rows for p in out.rglob("*.parquet"))
    shutil.rmtree(out, ignore_errors=True)
    return seconds, rows


def faker_row_by_row(n: int) -> float:
    """Rows/s of a per-row Faker customer generator (the same record as the mimesis baseline)."""
    from faker import Faker

    fake = Faker("en_US")
    Faker.seed(1)
    rnd = fake.random
    start = time.perf_counter()
    rows = []
    for i in range(n):
        female = rnd.random() < 0.54
        first = fake.first_name_female() if female else fake.first_name_male()
        last, company = fake.last_name(), fake.company()
        rows.append(
            {
                "customer_id": 1_000_000_001 + i,
                "name_prefix": fake.prefix_female() if female else fake.prefix_male(),
                "name_first": first,
                "name_last": last,
                "gender": "F" if female else "M",
                "email": f"{first.lower()}{last.lower()}@{fake.free_email_domain()}",
                "account_status": rnd.choice(["Active"] * 5 + ["Closed", "DNC", "Remarket"]),
                "addr_ln_1_txt": fake.street_address(),
                "city": fake.city(),
                "state": fake.state_abbr(),
                "postal_code": fake.zipcode(),
                "birth_dt": fake.date_of_birth(minimum_age=18, maximum_age=90).strftime("%m/%d/%Y"),
                "employment": company,
                "job_title": fake.job(),
                "phone": fake.phone_number(),
                "dtUpdateDate": "2026-11-29 00:00:00",
            }
        )
    return n / (time.perf_counter() - start)


def per_source_rates(customers: int) -> dict[str, float]:
    """Rows/s of each source's generation (in memory, no writing), parents included once."""
    from vecgen.config import Config
    from vecgen.pipeline import batch_offsets
    from vecgen.plan import resolve
    from vecgen.sources import SOURCES, TRUTH_PREFIX, Batch
    from vecgen.vocab import load

    plan = resolve(Config(customers=customers, date=dt.date(2026, 11, 29)))
    vocab = load()
    seconds = dict.fromkeys(plan.sources, 0.0)
    rows = dict.fromkeys(plan.sources, 0)
    for index, ((start, stop), offsets) in enumerate(
        zip(plan.batches, batch_offsets(plan), strict=True)
    ):
        upstream: dict[str, Any] = {}
        for name in plan.sources:
            t = time.perf_counter()
            result = SOURCES[name].generate(
                plan, vocab, Batch(index, start, stop, offsets, upstream)
            )
            seconds[name] += time.perf_counter() - t
            rows[name] += result.frame.height
            upstream[name] = result.frame
            if result.truth is not None:
                upstream[TRUTH_PREFIX + name] = result.truth
    return {name: rows[name] / max(seconds[name], 1e-9) for name in plan.sources}


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--sizes", default="100000,1000000", help="customer counts, comma separated")
    p.add_argument("--formats", default="csv,parquet")
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--workers", type=int, default=1, help="vecgen --workers")
    p.add_argument(
        "--fuzz-profile", default="", help="vecgen --fuzz-profile (default: vecgen's default)"
    )
    p.add_argument("--baseline-rows", type=int, default=20_000, help="0: skip Faker/mimesis")
    p.add_argument("--per-source", type=int, default=200_000, help="customers; 0: skip")
    p.add_argument("--no-tpch", action="store_true", help="skip tpchgen-cli")
    p.add_argument("--markdown", default=None, help="also write the results table here")
    a = p.parse_args()

    lines = [
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC",
        f"command: python benchmarks/bench_scale.py {' '.join(sys.argv[1:])}".rstrip(),
        "",
        "| run | median s (runs) | rows | rows/s | peak MiB | vs tpchgen-cli SF1 (median of pairs) |",
        "|---|---|---|---|---|---|",
    ]
    print("\n".join(lines[:2]))
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        formats = a.formats.split(",")
        reference: dict[str, list[tuple[float, int]]] = {f: [] for f in formats}
        for n in (int(s) for s in a.sizes.split(",")):
            for fmt in formats:
                args = ["--customers", str(n), "--format", fmt, "--no-state"]
                args += ["--workers", str(a.workers)]
                if a.fuzz_profile:
                    args += ["--fuzz-profile", a.fuzz_profile]
                # Each vecgen run is paired with a tpchgen-cli run just before it, so a
                # ratio compares two runs made seconds apart (the machine's speed drifts).
                runs, ratios = [], []
                for _ in range(a.repeat):
                    # Table formats (Delta) write Parquet data files: tpchgen-cli's Parquet.
                    ref = None if a.no_tpch else tpchgen_once(TPCH_FORMAT.get(fmt, fmt), work)
                    run = run_once(args, work)
                    runs.append(run)
                    if ref is not None:
                        reference[fmt].append(ref)
                        ratios.append((run[1] / run[0]) / (ref[1] / ref[0]))
                secs = statistics.median(r[0] for r in runs)
                ratio = f"{statistics.median(ratios):.2f}" if ratios else "-"
                row = (
                    f"| vecgen {n:,} customers {fmt}{' ' + a.fuzz_profile if a.fuzz_profile else ''}"
                    f" | {secs:.2f} "
                    f"({', '.join(f'{r[0]:.2f}' for r in runs)}) | {runs[0][1]:,} | "
                    f"{runs[0][1] / secs:,.0f} | {max(r[2] for r in runs):,.0f} | {ratio} |"
                )
                print(row, flush=True)
                lines.append(row)
        if not a.no_tpch and not any(reference.values()):
            print("tpchgen-cli is not installed (pip install tpchgen-cli): no ratio")
        for fmt, refs in reference.items():
            if not refs:
                continue
            secs = statistics.median(r[0] for r in refs)
            row = (
                f"| tpchgen-cli {TPCH_FORMAT.get(fmt, fmt)} -s 1 (every run paired with "
                f"vecgen {fmt}) | {secs:.2f} "
                f"({', '.join(f'{r[0]:.2f}' for r in refs)}) | {refs[0][1]:,} | "
                f"{refs[0][1] / secs:,.0f} | | 1.00 |"
            )
            print(row)
            lines.append(row)
    if a.baseline_rows:
        mim = statistics.median(mimesis_row_by_row(a.baseline_rows) for _ in range(a.repeat))
        lines += ["", f"row-by-row mimesis customer records: {mim:,.0f} rows/s"]
        try:
            fak = statistics.median(faker_row_by_row(a.baseline_rows) for _ in range(a.repeat))
            lines.append(f"row-by-row Faker customer records: {fak:,.0f} rows/s")
        except ImportError:
            lines.append("Faker is not installed (pip install faker): no Faker baseline")
        print("\n".join(lines[-2:]))
    if a.per_source:
        rates = per_source_rates(a.per_source)
        lines += ["", f"generation rows/s per source (in memory, {a.per_source:,} customers):", ""]
        lines += [f"- {name}: {rate:,.0f}" for name, rate in rates.items()]
        print("\n".join(lines[-len(rates) - 2 :]))
    if a.markdown:
        Path(a.markdown).write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
