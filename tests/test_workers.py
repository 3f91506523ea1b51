"""Local parallelism: ``--workers W`` writes the same bytes as one process, and stops cleanly."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from tests.conftest import run_cli, small_config, tree_bytes
from vecgen.engine import run
from vecgen.pipeline import batch_frames, batch_offsets
from vecgen.plan import resolve
from vecgen.vocab import load
from vecgen.workers import worker_count


@pytest.mark.parametrize(
    "extra",
    [
        {},
        {"parts": 3, "part": 1, "fuzz_profile": "medium"},
        {"layout": "flat", "alpha_key": True, "fuzz_profile": "hard"},
    ],
    ids=["whole", "shard", "flat-alpha-hard"],
)
def test_workers_write_the_same_bytes_as_one_process(tmp_path: Path, extra: dict) -> None:
    common = {"customers": 7000, "batch_size": 1000, "formats": ("csv", "parquet", "jsonl")}
    for w in (1, 2, 3):
        config = small_config(tmp_path / f"w{w}", workers=w, **common, **extra)
        assert worker_count(resolve(config)) == min(w, len(resolve(config).batches))
        run(config)
    one = tree_bytes(tmp_path / "w1")
    assert len(one) == 13 * 3
    assert tree_bytes(tmp_path / "w2") == one
    assert tree_bytes(tmp_path / "w3") == one


def test_appending_with_workers_continues_the_ids_as_one_process(tmp_path: Path) -> None:
    for w in (1, 2):
        folder = tmp_path / f"w{w}"
        folder.mkdir()
        for _ in range(2):
            args = ("--customers", "3000", "--batch-size", "1000", "--load-type", "append")
            r = run_cli(*args, "--workers", str(w), "--date", "2026-11-29", "--quiet", cwd=folder)
            assert r.returncode == 0, r.stderr
    w1, w2 = (
        {k: v for k, v in tree_bytes(tmp_path / f"w{w}").items() if k != ".vecgen/lock"}
        for w in (1, 2)
    )
    assert w1 == w2  # files and counters
    parts = sorted((tmp_path / "w2" / "output" / "customers").rglob("*.csv"))
    assert len(parts) == 2


def test_batch_offsets_from_the_plan_match_the_generated_rows() -> None:
    plan = resolve(small_config(Path("unused"), customers=5500, batch_size=1000))
    vocab = load()
    offsets = batch_offsets(plan)
    running = dict(offsets[0])
    for index, (start, stop) in enumerate(plan.batches):
        for name in ("transactions", "pos_transactions", "email_campaign"):
            assert offsets[index][name] == running[name], (index, name)
        for name, frame in batch_frames(plan, vocab, index, start, stop, offsets[index]):
            running[name] += frame.height
    # The next batch of transactions starts after every earlier order ID.
    assert offsets[-1]["transactions"] > offsets[1]["transactions"] > 0


def _processes_with(marker: str) -> list[int]:
    """PIDs whose environment holds ``marker`` (a run's parent and its workers)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if marker.encode() in (entry / "environ").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def _gone(marker: str, seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not _processes_with(marker):
            return True
        time.sleep(0.2)
    return False


@pytest.mark.parametrize("sig", ["KILL", "TERM"])
def test_a_killed_run_with_workers_leaves_no_file_and_no_orphan(tmp_path: Path, sig: str) -> None:
    marker = f"VGTEST_RUN_{uuid.uuid4().hex}=1"
    name = marker.split("=")[0]
    args = ("--customers", "6000", "--batch-size", "1000", "--workers", "2", "--quiet")
    r = run_cli(*args, "--date", "2026-11-29", cwd=tmp_path, env={name: "1"})
    assert r.returncode == 0, r.stderr
    before = tree_bytes(tmp_path / "output")
    env = {name: "1", "VECGEN_TEST_FAULTS": "1", "VECGEN_FAULT": f"batch.generated:3:{sig}"}
    r = run_cli(*args, "--date", "2026-11-30", cwd=tmp_path, env=env)
    assert r.returncode == {"KILL": -9, "TERM": 143}[sig], r.stderr
    assert "Traceback" not in r.stderr
    assert _gone(marker), "a worker outlived its parent"
    after = {k: v for k, v in tree_bytes(tmp_path / "output").items() if "vecgen-tmp" not in k}
    assert after == before
    if sig == "TERM":
        assert after == tree_bytes(tmp_path / "output")  # the abort removed its temporaries
    assert run_cli(*args, "--date", "2026-12-01", cwd=tmp_path).returncode == 0


def test_ctrl_c_in_a_terminal_stops_parent_and_workers_quietly(tmp_path: Path) -> None:
    """Ctrl-C signals the whole process group: workers must not print tracebacks."""
    marker = f"VGTEST_RUN_{uuid.uuid4().hex}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("VECGEN_")} | {marker: "1"}
    command = [sys.executable, "-m", "vecgen", "--customers", "400000", "--batch-size", "20000"]
    proc = subprocess.Popen(
        [*command, "--workers", "2", "--quiet", "--no-state"],
        cwd=tmp_path,
        env=env,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, as a shell gives a foreground job
    )
    deadline = time.monotonic() + 60
    while not list(tmp_path.rglob("*vecgen-tmp*")) and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(1.5)  # the workers are generating
    assert proc.poll() is None, "the run ended before it could be interrupted"
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err
    assert "no output file was changed" in err
    assert _gone(marker)
    assert not [p for p in tmp_path.rglob("*") if p.is_file()]
