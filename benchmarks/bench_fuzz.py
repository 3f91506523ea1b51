"""Benchmark fuzzing: 150,000 duplicate rows across the 10 fields of the gensampledata profile.

Prints the median of several runs of ``fuzz_frame`` and, per kernel, the time
for 30,000 rows. The baseline in the same run is the cost of generating the
150,000 clean records being fuzzed (so the ratio is machine-independent).

    python benchmarks/bench_fuzz.py [--rows 150000] [--repeat 7]
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import time

import numpy as np

from vecgen.config import Config
from vecgen.fuzz_vectorized import KERNELS, KernelContext, fuzz_frame
from vecgen.fuzz_vectorized.profiles import GENSAMPLEDATA
from vecgen.plan import resolve
from vecgen.rng import Stream
from vecgen.sources.people import person_frame, replacement_pools
from vecgen.vocab import load


def median_time(fn, repeat: int) -> float:  # type: ignore[no-untyped-def]
    fn()  # warm-up
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--rows", type=int, default=150_000)
    p.add_argument("--repeat", type=int, default=7)
    a = p.parse_args()
    plan = resolve(Config(customers=10, date=dt.date(2026, 11, 29)))
    vocab = load()
    rows = np.arange(a.rows, dtype=np.uint64)
    pools = replacement_pools(vocab)
    frame = person_frame(plan, vocab, "customers", rows)
    fields = len(GENSAMPLEDATA.fields)
    fuzz = median_time(
        lambda: fuzz_frame(frame, GENSAMPLEDATA, Stream(1), rows, vocab, pools), a.repeat
    )
    base = median_time(lambda: person_frame(plan, vocab, "customers", rows), a.repeat)
    print(
        f"fuzz_frame {a.rows:,} rows x {fields} fields: median {fuzz:.3f} s ({a.rows / fuzz:,.0f} rows/s)"
    )
    print(
        f"baseline, generating the same {a.rows:,} clean records: median {base:.3f} s; ratio {fuzz / base:.2f}"
    )
    sample = {
        "new_area_code": "phone",
        "digit": "phone",
        "free_mail_domain": "email",
        "email_local_typo": "email",
        "fat_finger": "email",
        "gender_flip": "gender",
        "state_form": "state",
    }
    for name, kernel in KERNELS.items():
        column = "birth_dt" if name.startswith("date_") else sample.get(name, "name_first")
        col = frame[column].head(30_000)
        ctx = KernelContext(Stream(2), rows[:30_000], vocab, pools["name_last"])
        t = median_time(lambda k=kernel, c=col, x=ctx: k(c, x), a.repeat)
        print(f"  {name:<18} 30,000 rows {1000 * t:7.1f} ms")


if __name__ == "__main__":
    main()
