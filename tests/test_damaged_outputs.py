"""Damaged output folders, generated: every command that reads a run ends in a result or one line.

A real run (two days, with state and change feeds, CSV and Parquet) is copied
for each example, one of its files is damaged the way disks, editors and
interrupted copies damage files (truncated, junk bytes, invalid UTF-8, a header
only, ragged rows, emptied, deleted, replaced by a folder, swapped with
another file), and a command that reads the folder runs on it: the reports,
scoring, loading into DuckDB, and the next day's run that reads earlier days
(changes, transactions). It must not print a traceback or an internal error,
it must exit 0, 1 or 2 (with one line of error), and it must write nothing
outside the sandbox. The default suite runs a few dozen; the slow test runs
2,000 (``TEST_DAMAGE_EXAMPLES``).
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from tests.conftest import run_cli

EXAMPLES = int(os.environ.get("TEST_DAMAGE_EXAMPLES", "40"))
DAMAGES = (
    "truncate",
    "junk",
    "invalid_utf8",
    "header_only",
    "ragged",
    "empty",
    "delete",
    "folder",
    "swap",
    "nul",
)
COMMANDS = (
    ["fuzz-stats", "{RUN}"],
    ["fuzz-stats", "{RUN}", "--date", "all"],
    ["report", "{RUN}"],
    ["population-stats", "{RUN}", "--json"],
    ["score", "{RUN}", "{PREDICTIONS}"],
    ["load", "--out", "{RUN}", "--date", "2026-01-15", "--dsn", "duckdb:///{SCRATCH}/db.duckdb"],
    ["load", "--out", "{RUN}", "--date", "2026-01-15", "--formats", "parquet", "--dsn",
     "duckdb:///{SCRATCH}/db.duckdb"],
    ["--out", "{RUN}", "--date", "2026-01-16", "--customers", "200", "--state", "--changes", "5",
     "--format", "csv", "--quiet"],
    ["--out", "{RUN}", "--date", "2026-01-15", "--customers", "200", "--load-type", "truncate",
     "--format", "csv,parquet", "--state", "--quiet"],
    ["transactions", "--out", "{RUN}", "--date", "2026-01-16", "--customers", "20", "--state",
     "--quiet"],
)  # fmt: skip


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    """A two-day run with state and change feeds, and every file in it (relative paths)."""
    root = tmp_path_factory.mktemp("pristine")
    for day in ("2026-01-14", "2026-01-15"):
        args = ("--customers", "300", "--state", "--changes", "5", "--format", "csv,parquet")
        r = run_cli(*args, "--date", day, "--out", "run", "--quiet", cwd=root)
        assert r.returncode == 0, r.stderr
    truth = root / "run" / "truth" / "dt=2026-01-15" / "part-00000.csv"
    ids = pl.read_csv(truth, infer_schema=False)["record_id"].head(20).to_list()
    pl.DataFrame({"record_id_l": ids[:10], "record_id_r": ids[10:]}).write_csv(
        root / "predictions.csv"
    )
    run = root / "run"
    files = sorted(str(p.relative_to(run)) for p in run.rglob("*") if p.is_file())
    return run, files


def _damage(path: Path, kind: str, at: float, other: Path, junk: bytes) -> None:
    """Damage ``path`` in place the way ``kind`` says (``at``: where, as a share of its bytes)."""
    data = path.read_bytes()
    cut = int(len(data) * at)
    match kind:
        case "truncate":
            path.write_bytes(data[:cut])
        case "junk":
            path.write_bytes(data[:cut] + junk + data[cut + len(junk) :])
        case "invalid_utf8":
            path.write_bytes(data[:cut] + b"\xff\xfe\xc3" + data[cut:])
        case "header_only":
            path.write_bytes(data.split(b"\n", 1)[0] + b"\n")
        case "ragged":
            path.write_bytes(data + b'"1","2"\n"only one\n')
        case "empty":
            path.write_bytes(b"")
        case "delete":
            path.unlink()
        case "folder":
            path.unlink()
            path.mkdir()
            (path / "inside.csv").write_text("a\n1\n")
        case "swap":
            path.write_bytes(other.read_bytes())
        case "nul":
            path.write_bytes(data[:cut] + b"\x00" * 64 + data[cut:])


def _listing(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*")}


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    which=st.integers(min_value=0),
    other=st.integers(min_value=0),
    kind=st.sampled_from(DAMAGES),
    at=st.floats(min_value=0, max_value=1),
    junk=st.binary(min_size=1, max_size=40),
    command=st.sampled_from(COMMANDS),
)
def test_a_damaged_run_is_read_or_refused_in_one_line(
    tmp_path_factory: pytest.TempPathFactory,
    pristine: tuple[Path, list[str]],
    which: int,
    other: int,
    kind: str,
    at: float,
    junk: bytes,
    command: list[str],
) -> None:
    from vecgen.cli import main

    source, files = pristine
    sandbox = tmp_path_factory.mktemp("damaged")
    run, scratch = sandbox / "run", sandbox / "scratch"
    shutil.copytree(source, run)
    scratch.mkdir()
    target, swapped = files[which % len(files)], files[other % len(files)]
    _damage(run / target, kind, at, source / swapped, junk)
    stand_ins = {
        "{RUN}": str(run),
        "{PREDICTIONS}": str(source.parent / "predictions.csv"),
        "{SCRATCH}": str(scratch),
    }
    argv = [word for word in command]
    for key, value in stand_ins.items():
        argv = [word.replace(key, value) for word in argv]
    before = _listing(sandbox.parent)
    err = io.StringIO()
    here = os.getcwd()
    os.chdir(scratch)  # relative paths land in the sandbox
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
            try:
                code = main(argv)
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else 2
    finally:
        os.chdir(here)
    text = err.getvalue()
    event(f"{command[0]} {kind}: exit {code}")
    assert "Traceback" not in text and "internal error" not in text, (target, kind, argv, text)
    # (A test's own VECGEN_* variable would make every command a usage error: a campaign
    # that tests nothing. Sizes are TEST_* variables.)
    assert "unknown environment variable" not in text, text
    assert code in (0, 1, 2), (target, kind, argv, code, text)
    if code:
        assert text.strip() and text.strip().count("\n") == 0, (target, kind, argv, text)
    # Nothing was written beside the sandbox (other examples' sandboxes are its siblings).
    outside = {p for p in _listing(sandbox.parent) - before if not p.startswith(sandbox.name)}
    assert not outside, outside
    shutil.rmtree(sandbox)


@pytest.mark.slow
def test_damaged_runs_at_full_size() -> None:
    """The campaign with 2,000 damaged runs (pytest -m slow; about 10 minutes)."""
    import subprocess
    import sys

    env = {**os.environ, "TEST_DAMAGE_EXAMPLES": "2000"}
    r = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", __file__,
         "-m", "not slow"],
        env=env,
        capture_output=True,
        text=True,
        timeout=3600,
    )  # fmt: skip
    assert r.returncode == 0 and "1 passed" in r.stdout, r.stdout[-3000:]
