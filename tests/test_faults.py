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
from typing import Any

import polars as pl
import pytest

from tests.conftest import run_cli, tree_bytes
from vecgen.catalog import SWITCHABLE

ARGS = ("--customers", "4000", "--batch-size", "1000", "--formats", "csv,parquet", "--quiet")
ARGS += ("--state",)  # a daily job: counters in output/_vecgen
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
    state_file = tmp_path / "output" / "_vecgen" / "state.json"
    state_before = state_file.read_bytes()
    full_state = (reference["full"] / "output" / "_vecgen" / "state.json").read_bytes()
    expected_day = files_of(reference["full"], "2026-11-29")
    name = point.split(":")[0]
    committed = name.startswith(COMMITTED)
    handled = sig != "KILL"

    armed = {"VECGEN_TEST_FAULTS": "1", "VECGEN_FAULT": f"{point}:{sig}"}
    assert day(tmp_path, "2026-11-29", armed) == EXIT[sig]

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


# --- The same on S3 (moto's server on 127.0.0.1): kills while parts are uploading. ---

S3_ARGS = (
    "--customers",
    "30000",
    "--batch-size",
    "10000",
    "--enable",
    "customers,clickstream,truth",
    "--disable",
    ",".join(s for s in SWITCHABLE if s not in ("customers", "clickstream", "truth")),
    "--quiet",
    "--state-dir",  # an S3 output keeps its counters in a folder named for it
    ".vecgen",
)
# 3 batches x 3 files = 9 writes; clickstream and truth are over 16 MiB, so their
# temporaries go up as multipart uploads (a part every 16 MiB) before they complete.
S3_CASES = [
    ("sink.write:4", "KILL"),
    ("s3.part:1", "KILL"),
    ("s3.part:1", "TERM"),
    ("sink.write:9", "KILL"),
    ("outputs.finished:1", "KILL"),
    ("journal.written:1", "KILL"),
    ("publish.rename:2", "KILL"),
    ("publish.rename:2", "TERM"),
]


@pytest.fixture(scope="module")
def s3_faults() -> Any:
    from tests.servers import s3_client, s3_server
    from tests.test_s3 import KEY, SECRET, STATIC_KEYS

    with s3_server() as endpoint:
        yield endpoint, s3_client(endpoint, "faults", KEY, SECRET), STATIC_KEYS


def s3_day(cwd: Path, prefix: str, date: str, s3: Any, fault: str = "") -> int:
    endpoint, _, keys = s3
    env = {**keys, **({"VECGEN_TEST_FAULTS": "1", "VECGEN_FAULT": fault} if fault else {})}
    out = ("--out", f"s3://faults/{prefix}/", "--s3-endpoint-url", endpoint)
    r = run_cli(*S3_ARGS, *out, "--date", date, cwd=cwd, env=env)
    assert "Traceback" not in r.stderr, r.stderr
    return r.returncode


def s3_objects(client: Any, prefix: str) -> dict[str, bytes]:
    """Every object under ``prefix`` (key after the prefix -> bytes)."""
    found = {}
    for page in client.get_paginator("list_objects_v2").paginate(Bucket="faults", Prefix=prefix):
        for o in page.get("Contents", []):
            body = client.get_object(Bucket="faults", Key=o["Key"])["Body"].read()
            found[o["Key"][len(prefix) :]] = body
    return found


def s3_uploads(client: Any, prefix: str) -> list[str]:
    """Multipart uploads begun under ``prefix`` and neither completed nor aborted."""
    page = client.list_multipart_uploads(Bucket="faults", Prefix=prefix)
    return [u["Key"] for u in page.get("Uploads", [])]


@pytest.fixture(scope="module")
def s3_reference(s3_faults: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Day 2026-11-28 under ``ref/`` (and its state folder), then 2026-11-29 uninterrupted."""
    _, client, _ = s3_faults
    folder = tmp_path_factory.mktemp("s3ref")
    assert s3_day(folder, "ref", "2026-11-28", s3_faults) == 0
    base_state = tmp_path_factory.mktemp("s3base")
    shutil.copytree(folder / ".vecgen", base_state / ".vecgen")
    earlier = s3_objects(client, "ref/")
    assert s3_day(folder, "ref", "2026-11-29", s3_faults) == 0
    today = {k: v for k, v in s3_objects(client, "ref/").items() if "dt=2026-11-29" in k}
    assert any(len(v) > 16 * 2**20 for v in today.values()), "no multipart upload"
    return {"earlier": earlier, "today": today, "state": base_state / ".vecgen"}


@pytest.mark.slow
@pytest.mark.parametrize(("point", "sig"), S3_CASES, ids=[f"{p}-{s}" for p, s in S3_CASES])
def test_an_s3_run_killed_at_any_point_loses_nothing(
    tmp_path: Path, s3_faults: Any, s3_reference: dict[str, Any], point: str, sig: str
) -> None:
    _, client, _ = s3_faults
    prefix = f"case-{point}-{sig}".replace(":", "-")
    earlier, expected_day = s3_reference["earlier"], s3_reference["today"]
    for key in earlier:  # the case starts where the reference was after 2026-11-28
        client.copy_object(
            Bucket="faults",
            Key=f"{prefix}/{key}",
            CopySource={"Bucket": "faults", "Key": f"ref/{key}"},
        )
    shutil.copytree(s3_reference["state"], tmp_path / ".vecgen")
    state_file = tmp_path / ".vecgen" / "state.json"
    state_before = state_file.read_bytes()
    name = point.split(":")[0]
    committed = name.startswith(COMMITTED)

    assert s3_day(tmp_path, prefix, "2026-11-29", s3_faults, f"{point}:{sig}") == EXIT[sig]

    after = s3_objects(client, prefix + "/")
    assert {k: v for k, v in after.items() if "dt=2026-11-28" in k} == earlier
    visible = {k: v for k, v in after.items() if "dt=2026-11-29" in k and "vecgen-tmp" not in k}
    if committed and sig != "KILL":
        assert visible == expected_day
    elif not committed:
        assert not visible, "a file was published"
        assert state_file.read_bytes() == state_before
        if sig != "KILL":  # the abort path removes temporaries and aborts open uploads
            assert after == earlier
            assert not s3_uploads(client, prefix + "/")
    if name == "s3.part" and sig == "KILL":
        assert s3_uploads(client, prefix + "/"), "the kill left no open upload to clean"

    assert s3_day(tmp_path, prefix, "2026-11-30", s3_faults) == 0
    final = s3_objects(client, prefix + "/")
    assert not [k for k in final if "vecgen-tmp" in k]
    assert not s3_uploads(client, prefix + "/")
    assert not (tmp_path / ".vecgen" / "publish.json").exists()
    assert {k: v for k, v in final.items() if "dt=2026-11-28" in k} == earlier
    assert {k: v for k, v in final.items() if "dt=2026-11-29" in k} == (
        expected_day if committed else {}
    )


# --- A disk that fills up mid-run: a real ENOSPC on a 12 MiB tmpfs. ---

ENOSPC_SCRIPT = r"""
import hashlib, json, os, subprocess, sys
from pathlib import Path

root = Path(sys.argv[1])
os.chdir(root)
args = ["--batch-size", "1000", "--quiet"]
env = {k: v for k, v in os.environ.items() if not k.startswith("VECGEN_")}

def vecgen(*a):
    return subprocess.run([sys.executable, "-m", "vecgen", *a, *args], env=env,
                          capture_output=True, text=True)

def tree():
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file() and p.name != "lock"}

report = {"day1": vecgen("--customers", "1000", "--date", "2026-11-28").returncode}
report["before"] = tree()
full = vecgen("--customers", "20000", "--date", "2026-11-29", "--no-disk-check")
report["full"] = [full.returncode, full.stderr]
report["after"] = tree()
report["left"] = [str(p) for p in root.rglob("*") if "2026-11-29" in str(p) or "tmp" in p.name]
report["day3"] = vecgen("--customers", "1000", "--date", "2026-11-30").returncode
Path(sys.argv[2]).write_text(json.dumps(report))
"""


@pytest.mark.slow
def test_a_full_disk_midway_leaves_the_earlier_day_and_counters_intact(tmp_path: Path) -> None:
    """Mount a 12 MiB tmpfs in a user namespace (``unshare -rm``) and fill it with a run."""
    import subprocess
    import sys

    (tmp_path / "disk").mkdir()
    (tmp_path / "check.py").write_text(ENOSPC_SCRIPT)
    report = tmp_path / "report.json"
    mount = f"mount -t tmpfs -o size=12m tmpfs {tmp_path}/disk"
    inner = f"{mount} && {sys.executable} {tmp_path}/check.py {tmp_path}/disk {report}"
    r = subprocess.run(["unshare", "-rm", "sh", "-c", inner], capture_output=True, text=True)
    assert r.returncode == 0, f"unshare/mount failed (needs user namespaces): {r.stderr}"
    got = json.loads(report.read_text())
    assert got["day1"] == 0
    rc, err = got["full"]
    assert rc == 1 and "No space left on device" in err and "Traceback" not in err, err
    assert "no output file was changed" in err
    assert got["after"] == got["before"]  # yesterday's files and the counters, byte for byte
    assert got["left"] == []  # no temporary, no empty partition folder
    assert got["day3"] == 0


def test_fault_injection_needs_its_test_switch_and_junk_is_one_line(tmp_path: Path) -> None:
    small = ("--customers", "200", "--quiet", "--date", "2026-11-29")
    # Without VECGEN_TEST_FAULTS a stray VECGEN_FAULT is ignored: the run completes.
    r = run_cli(*small, cwd=tmp_path, env={"VECGEN_FAULT": "outputs.opened:1:KILL"})
    assert r.returncode == 0, r.stderr
    for junk in ("outputs.opened:x", "nowhere", "sink.write:1:HUP", "sink.write:0"):
        env = {"VECGEN_TEST_FAULTS": "1", "VECGEN_FAULT": junk}
        r = run_cli(*small, "--out", "junk", cwd=tmp_path, env=env)
        assert r.returncode == 2 and r.stderr.count("\n") == 1, r.stderr  # bad input
        assert "is not POINT[:N[:SIGNAL]]" in r.stderr and "Traceback" not in r.stderr
        assert not [p for p in (tmp_path / "junk").rglob("*") if p.is_file()]
