"""Crash safety: kill a run at every named point and check what it leaves behind.

Each case runs day 2026-11-29 over a folder that already holds 2026-11-28,
kills it with ``VECGEN_FAULT=POINT:N:SIGNAL`` (see :mod:`vecgen.faults`), then
checks the folder, runs 2026-11-30 and checks again:

- the earlier day's files are byte-identical;
- a run killed before it committed (before its publish journal was saved)
  left no visible file of its day; SIGTERM and Ctrl-C also leave no temporary;
- a run killed after it committed has its day completed by the next run
  (SIGKILL) or by itself (SIGTERM and Ctrl-C hold until the renames are done),
  byte-identical to an uninterrupted run;
- the counters are the earlier ones or the killed run's (a gap, never a
  reuse): every customer ID is unique across days and below the counter;
- the next run succeeds and leaves no temporary and no journal.

Two cases run by default; all of them with ``pytest -m slow`` (``.ci/run`` does).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import polars as pl
import pytest

from tests.conftest import run_cli, tree_bytes

ARGS = ("--customers", "4000", "--batch-size", "1000", "--formats", "csv,parquet", "--quiet")
# 4 batches; 13 sources x 2 formats = 26 files, so 104 sink writes and 26 renames.
POINTS = [
    "lock.acquired:1",
    "outputs.opened:1",
    "batch.generated:1",
    "batch.generated:3",
    "sink.write:1",
    "sink.write:2",
    "sink.write:30",
    "sink.write:77",
    "sink.write:104",
    "outputs.finished:1",
    "state.written:1",
    "journal.written:1",
    "publish.rename:1",
    "publish.rename:2",
    "publish.rename:14",
    "publish.rename:26",
    "publish.stale:1",
    "publish.done:1",
]
COMMITTED = ("journal.written", "publish.")  # from here on the run's files will be published
STATE_SAVED = ("state.written", *COMMITTED)
CASES = [(p, s) for s in ("KILL", "TERM") for p in POINTS] + [
    ("batch.generated:2", "INT"),
    ("publish.rename:13", "INT"),
]
EXIT = {"KILL": -9, "TERM": 143, "INT": 130}
DEFAULT = {("sink.write:30", "KILL"), ("publish.rename:14", "KILL")}


def day(cwd: Path, date: str, env: dict[str, str] | None = None) -> int:
    r = run_cli(*ARGS, "--date", date, cwd=cwd, env=env)
    assert "Traceback" not in r.stderr, r.stderr
    return r.returncode


def files_of(root: Path, date: str) -> dict[str, bytes]:
    return {k: v for k, v in tree_bytes(root / "output").items() if f"dt={date}" in k}


def leftovers(root: Path) -> list[str]:
    return [str(p) for p in root.rglob("*") if "vecgen-tmp" in p.name or p.name == "publish.json"]


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A folder after 2026-11-28 only, and one after 2026-11-28 and 2026-11-29."""
    base = tmp_path_factory.mktemp("base")
    assert day(base, "2026-11-28") == 0
    full = tmp_path_factory.mktemp("full")
    shutil.copytree(base, full, dirs_exist_ok=True)
    assert day(full, "2026-11-29") == 0
    return {"base": base, "full": full}


@pytest.mark.parametrize(
    ("point", "sig"),
    [
        pytest.param(p, s, marks=[] if (p, s) in DEFAULT else [pytest.mark.slow], id=f"{p}-{s}")
        for p, s in CASES
    ],
)
def test_a_run_killed_at_any_point_loses_nothing(
    tmp_path: Path, reference: dict[str, Path], point: str, sig: str
) -> None:
    shutil.copytree(reference["base"], tmp_path, dirs_exist_ok=True)
    earlier = files_of(tmp_path, "2026-11-28")
    state_file = tmp_path / ".vecgen" / "state.json"
    state_before = state_file.read_bytes()
    full_state = (reference["full"] / ".vecgen" / "state.json").read_bytes()
    expected_day = files_of(reference["full"], "2026-11-29")
    name = point.split(":")[0]
    committed = name.startswith(COMMITTED)
    handled = sig != "KILL"

    assert day(tmp_path, "2026-11-29", {"VECGEN_FAULT": f"{point}:{sig}"}) == EXIT[sig]

    assert files_of(tmp_path, "2026-11-28") == earlier
    today = files_of(tmp_path, "2026-11-29")
    if committed and handled:  # Ctrl-C and SIGTERM wait until the renames are done
        assert today == expected_day and not leftovers(tmp_path)
    elif not committed:
        assert not {k for k in today if "vecgen-tmp" not in k}, "a file was published"
        if handled:
            assert not leftovers(tmp_path)
    assert state_file.read_bytes() == (full_state if name.startswith(STATE_SAVED) else state_before)

    assert day(tmp_path, "2026-11-30") == 0
    assert not leftovers(tmp_path)
    assert files_of(tmp_path, "2026-11-28") == earlier
    assert files_of(tmp_path, "2026-11-29") == (expected_day if committed else {})
    ids = pl.concat(
        pl.read_parquet(p, columns=["customer_id"])
        for p in (tmp_path / "output" / "customers").rglob("*.parquet")
    )["customer_id"]
    assert ids.n_unique() == ids.len()
    assert json.loads(state_file.read_text())["last_customer_id"] >= ids.max()
