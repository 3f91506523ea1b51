"""Compare two revisions of vecgen on one command, runs alternating (A, B, A, B, ...).

    python benchmarks/bench_ab.py HEAD~1 HEAD -- --customers 1000000 --format parquet

Each revision is checked out into a temporary git worktree and run with
``PYTHONPATH`` pointing at it (same interpreter, same installed dependencies);
runs alternate so that both see the machine's drift. Prints every run and the
medians, and the ratio B/A of the median seconds.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("a", help="first revision (e.g. HEAD~1)")
    p.add_argument("b", help="second revision (e.g. HEAD)")
    p.add_argument("--repeat", type=int, default=3)
    argv = sys.argv[1:]
    cut = argv.index("--") if "--" in argv else len(argv)
    a = p.parse_args(argv[:cut])
    args = argv[cut + 1 :]  # vecgen's arguments, after --
    repo = Path(__file__).resolve().parent.parent
    with tempfile.TemporaryDirectory() as tmp:
        trees = {}
        for name, rev in (("A", a.a), ("B", a.b)):
            tree = Path(tmp) / name
            subprocess.run(
                ["git", "-C", str(repo), "worktree", "add", "-q", "--detach", str(tree), rev],
                check=True,
            )
            trees[name] = tree
        seconds: dict[str, list[float]] = {"A": [], "B": []}
        try:
            for _ in range(a.repeat):
                for name, tree in trees.items():
                    out = Path(tmp) / "out"
                    shutil.rmtree(out, ignore_errors=True)
                    cmd = [sys.executable, "-m", "vecgen", *args, "--out", str(out), "--quiet"]
                    cmd += ["--no-state", "--date", "2026-11-29"]
                    env = {**os.environ, "PYTHONPATH": str(tree)}
                    start = time.perf_counter()
                    subprocess.run(cmd, check=True, env=env, cwd=tmp)
                    seconds[name].append(time.perf_counter() - start)
                    print(f"{name} ({a.a if name == 'A' else a.b}): {seconds[name][-1]:.2f} s")
        finally:
            for tree in trees.values():
                subprocess.run(
                    ["git", "-C", str(repo), "worktree", "remove", "--force", str(tree)],
                    check=False,
                )
    ma, mb = statistics.median(seconds["A"]), statistics.median(seconds["B"])
    print(f"median A {ma:.2f} s, B {mb:.2f} s, B/A {mb / ma:.3f}")


if __name__ == "__main__":
    main()
