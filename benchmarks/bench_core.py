"""Benchmark the core run: ``vecgen --customers N`` as a user runs it.

Prints, per configuration, the median of several runs: seconds, rows written,
rows/s and peak memory (max RSS of the vecgen process, via ``os.wait4``).
In the same run it measures a row-by-row mimesis generator of the same
customer record (the predecessor's approach) and prints the ratio, and it can
check that peak memory does not grow with the customer count.

    python benchmarks/bench_core.py                      # 1M customers, CSV, 3 runs
    python benchmarks/bench_core.py --format parquet --repeat 5
    python benchmarks/bench_core.py --memory 200000,2000000 --batch-size 100000
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def settle() -> None:
    """Let the disk catch up before a timed run (the same for every tool measured).

    The run before left gigabytes of written pages for the kernel to flush;
    flushing them while the next run is timed took CPU and disk from that run
    (a 1M CSV landscape: 13.5 to 15.2 s in three runs in a row).
    """
    if hasattr(os, "sync"):
        os.sync()


def run_once(args: list[str], workdir: Path) -> tuple[float, int, float]:
    """Run vecgen once; return (seconds, rows written, peak RSS in MiB)."""
    out = workdir / "out"
    shutil.rmtree(out, ignore_errors=True)
    settle()
    cmd = [sys.executable, "-m", "vecgen", *args, "--out", str(out), "--date", "2026-11-29"]
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    stdout = proc.stdout.read() if proc.stdout else ""
    stderr = proc.stderr.read() if proc.stderr else ""
    if proc.returncode != 0:
        raise SystemExit(f"vecgen failed ({proc.returncode}): {stderr.strip()}")
    match = re.search(r"^([\d,]+) rows \(", stdout, re.M)
    rows = int(match.group(1).replace(",", "")) if match else 0
    return seconds, rows, usage.ru_maxrss / 1024


def bench(label: str, args: list[str], repeat: int, workdir: Path) -> dict[str, float]:
    runs = [run_once(args, workdir) for _ in range(repeat)]
    secs = statistics.median(r[0] for r in runs)
    rows = runs[0][1]
    rss = statistics.median(r[2] for r in runs)
    print(
        f"{label:<44} median {secs:7.2f} s  (runs: {', '.join(f'{r[0]:.2f}' for r in runs)})  "
        f"{rows:>12,} rows  {rows / secs:>12,.0f} rows/s  peak {rss:7.0f} MiB"
    )
    return {"seconds": secs, "rows": rows, "rows_per_s": rows / secs, "rss_mib": rss}


def mimesis_row_by_row(n: int) -> float:
    """Rows/s of a per-row mimesis customer generator (one dict per record, like the predecessor)."""
    from mimesis import Address, Datetime, Finance, Person
    from mimesis.enums import Gender
    from mimesis.locales import Locale

    person, address, finance, when = (
        Person(Locale.EN, seed=1),
        Address(Locale.EN, seed=1),
        Finance(Locale.EN, seed=1),
        Datetime(seed=1),
    )
    rnd = person.random
    start = time.perf_counter()
    rows = []
    for i in range(n):
        g = Gender.FEMALE if rnd.random() < 0.54 else Gender.MALE
        first, last, company = person.first_name(gender=g), person.last_name(), finance.company()
        rows.append(
            {
                "customer_id": 1_000_000_001 + i,
                "name_prefix": person.title(gender=g),
                "name_first": first,
                "name_last": last,
                "gender": "F" if g is Gender.FEMALE else "M",
                "email": f"{first.lower()}{last.lower()}@{company.lower().replace(' ', '')}.com",
                "account_status": rnd.choice(["Active"] * 5 + ["Closed", "DNC", "Remarket"]),
                "addr_ln_1_txt": f"{rnd.randint(100, 9999)} {address.street_name()}",
                "city": address.city(),
                "state": address.state(abbr=rnd.random() < 0.5),
                "postal_code": address.postal_code(),
                "birth_dt": when.date(1936, 2008).strftime("%m/%d/%Y"),
                "employment": company,
                "job_title": person.occupation(),
                "phone": person.telephone(),
                "dtUpdateDate": "2026-11-29 00:00:00",
            }
        )
    return n / (time.perf_counter() - start)


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--customers", type=int, default=1_000_000)
    p.add_argument("--format", default="csv")
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--batch-size", type=int, default=None)
    p.add_argument(
        "--sources", default=None, help="only these sources, comma separated (default: all)"
    )
    p.add_argument(
        "--memory", default=None, help="comma-separated customer counts to compare peak memory"
    )
    p.add_argument(
        "--baseline-rows",
        type=int,
        default=20_000,
        help="rows for the row-by-row baseline (0: skip)",
    )
    a = p.parse_args()

    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        extra = ["--batch-size", str(a.batch_size)] if a.batch_size else []
        if a.sources:
            from vecgen.catalog import SWITCHABLE

            keep = set(a.sources.split(","))
            extra += ["--disable", ",".join(s for s in SWITCHABLE if s not in keep)]
        if a.memory:
            counts = [int(c) for c in a.memory.split(",")]
            peaks = []
            for n in counts:
                r = bench(
                    f"memory: {n:,} customers",
                    ["--customers", str(n), "--format", a.format, *extra],
                    a.repeat,
                    work,
                )
                peaks.append(r["rss_mib"])
            print(
                f"peak memory ratio {counts[-1]:,} / {counts[0]:,} customers: {peaks[-1] / peaks[0]:.2f}x"
            )
            return
        label = f"vecgen --customers {a.customers:,} --format {a.format}"
        r = bench(
            label + (f" ({a.sources})" if a.sources else " (all sources)"),
            ["--customers", str(a.customers), "--format", a.format, *extra],
            a.repeat,
            work,
        )
        if a.baseline_rows:
            base = statistics.median(mimesis_row_by_row(a.baseline_rows) for _ in range(a.repeat))
            customers_rate = r["rows_per_s"]
            print(f"row-by-row mimesis customer records (median of {a.repeat}): {base:,.0f} rows/s")
            print(
                f"ratio vecgen all-files rows/s / row-by-row rows/s: {customers_rate / base:,.0f}x"
            )


if __name__ == "__main__":
    main()
