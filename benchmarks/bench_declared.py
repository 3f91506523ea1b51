"""Benchmark a declared source: rows/s of ``examples/support_tickets.toml``'s file.

Generates the landscape in memory batch by batch (as a run does) and times
each source's ``generate``: the declared ``support_tickets`` next to the
built-in sources of the same run, whose code paths it shares. Prints the
median of several runs.

    python benchmarks/bench_declared.py                  # 1,000,000 customers, 3 runs
    python benchmarks/bench_declared.py --config my.toml --source my_source
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from pathlib import Path
from typing import Any


def rates(config: Any) -> dict[str, tuple[int, float]]:
    """Rows and seconds of each source's generation for ``config`` (in memory)."""
    from vecgen.pipeline import batch_offsets
    from vecgen.plan import resolve
    from vecgen.sources import TRUTH_PREFIX, Batch, source_for
    from vecgen.vocab import load, vocab_dir

    plan = resolve(config)
    vocab = load(vocab_dir(config.locale))
    out = {name: (0, 0.0) for name in plan.sources}
    for index, ((start, stop), offsets) in enumerate(
        zip(plan.batches, batch_offsets(plan), strict=True)
    ):
        upstream: dict[str, Any] = {}
        for name in plan.sources:
            t = time.perf_counter()
            result = source_for(config, name).generate(
                plan, vocab, Batch(index, start, stop, offsets, upstream)
            )
            rows, secs = out[name]
            out[name] = (rows + result.frame.height, secs + time.perf_counter() - t)
            upstream[name] = result.frame
            if result.truth is not None:
                upstream[TRUTH_PREFIX + name] = result.truth
    return out


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    root = Path(__file__).parent.parent
    p.add_argument("--config", default=str(root / "examples" / "support_tickets.toml"))
    p.add_argument("--source", default="support_tickets")
    p.add_argument("--customers", type=int, default=1_000_000)
    p.add_argument("--repeat", type=int, default=3)
    a = p.parse_args()

    from vecgen.config import load_config

    config = load_config(
        {"customers": a.customers, "date": "2026-11-29", "state_dir": ""},
        config_path=Path(a.config),
        environ={},
    )
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}; {a.customers:,} customers, {a.config}"
    )
    runs = [rates(config) for _ in range(a.repeat)]
    for name in runs[0]:
        rows = runs[0][name][0]
        secs = statistics.median(r[name][1] for r in runs)
        mark = "  <- declared" if name == a.source else ""
        print(
            f"{name:<18} {rows:>12,} rows  median {secs:6.2f} s  {rows / secs:>12,.0f} rows/s{mark}"
        )


if __name__ == "__main__":
    main()
