"""Daily operation: ID counters across runs, truncate/append, the lock, crash safety."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import pytest

from tests.conftest import run_cli, tree_bytes
from vecgen.state import StateError, locked

CORE_OFF = "pos_customers,pos_transactions,loyalty,email_campaign,clickstream,mobile,wifi,safety_reports,locations,custom_object"


def day(cwd: Path, date: str, *args: str) -> subprocess.CompletedProcess[str]:
    r = run_cli(
        "--customers",
        "2000",
        "--date",
        date,
        "--quiet",
        "--disable",
        CORE_OFF,
        "--state",
        *args,
        cwd=cwd,
    )
    assert r.returncode == 0, r.stderr
    return r


WAIT_ARGS = ("--customers", "10", "--quiet", "--state", "--lock-wait", "30")


def written(cwd: Path) -> list[Path]:
    """The data files under ``cwd/output`` (the state folder aside)."""
    out = cwd / "output"
    return [p for p in out.rglob("*") if p.is_file() and "_vecgen" not in p.relative_to(out).parts]


def customers(cwd: Path, date: str) -> pl.DataFrame:
    parts = sorted((cwd / "output" / "customers" / f"dt={date}").glob("part-*.csv"))
    return pl.concat([pl.read_csv(p) for p in parts])


def test_three_days_of_append_then_truncate_give_continuous_ids(tmp_path: Path) -> None:
    for date in ("2026-11-27", "2026-11-28", "2026-11-29"):
        day(tmp_path, date, "--load-type", "append")
    state = json.loads((tmp_path / "output" / "_vecgen" / "state.json").read_text())
    ids = [
        customers(tmp_path, d)["customer_id"] for d in ("2026-11-27", "2026-11-28", "2026-11-29")
    ]
    joined = pl.concat(ids).to_list()
    assert joined == list(range(1_000_000_001, 1_000_000_001 + 3 * 2300))
    assert state["last_customer_id"] == joined[-1] and state["runs"] == 3
    orders = pl.concat(
        pl.read_csv(p)["orderid"]
        for p in sorted((tmp_path / "output" / "transactions").rglob("*.csv"))
    )
    assert orders.n_unique() == len(orders) and orders.max() == state["last_transaction_id"]
    before = tree_bytes(tmp_path / "output" / "customers" / "dt=2026-11-28")
    # The truncate run replaces today's data, with new IDs after the last ones.
    day(tmp_path, "2026-11-29", "--load-type", "truncate")
    today = customers(tmp_path, "2026-11-29")
    assert today["customer_id"].min() == joined[-1] + 1 and today.height == 2300
    assert len(list((tmp_path / "output" / "customers" / "dt=2026-11-29").glob("part-*"))) == 1
    assert tree_bytes(tmp_path / "output" / "customers" / "dt=2026-11-28") == before
    # Different days and different runs make different people.
    a, b = customers(tmp_path, "2026-11-27"), customers(tmp_path, "2026-11-28")
    assert (a["name_last"] != b["name_last"]).mean() > 0.9


def test_append_twice_a_day_adds_parts_or_rows_without_a_second_header(tmp_path: Path) -> None:
    lake, flat = tmp_path / "lake", tmp_path / "flat"
    lake.mkdir()
    flat.mkdir()
    for _ in range(2):
        day(lake, "2026-11-29", "--load-type", "append", "--format", "csv,parquet")
        day(
            flat,
            "2026-11-29",
            "--load-type",
            "append",
            "--layout",
            "flat",
            "--format",
            "csv,parquet,jsonl",
        )
    parts = sorted(p.name for p in (lake / "output" / "customers" / "dt=2026-11-29").iterdir())
    assert parts == ["part-00000.csv", "part-00000.parquet", "part-00001.csv", "part-00001.parquet"]
    lake_ids = customers(lake, "2026-11-29")["customer_id"]
    assert lake_ids.n_unique() == 4600
    text = (flat / "output" / "2026_11_29Customers.csv").read_text()
    assert text.count('"customer_id"') == 1 and len(text.splitlines()) == 4601
    flat_csv = pl.read_csv(flat / "output" / "2026_11_29Customers.csv")
    assert flat_csv["customer_id"].to_list() == lake_ids.to_list()  # same state, same IDs
    flat_pq = pl.read_parquet(flat / "output" / "2026_11_29Customers.parquet")
    assert flat_pq["customer_id"].to_list() == lake_ids.to_list()
    assert pl.read_ndjson(flat / "output" / "2026_11_29Customers.json").height == 4600
    truth = pl.read_csv(flat / "output" / "2026_11_29Truth.csv", infer_schema=False)
    assert truth["record_id"].n_unique() == 4600


def test_same_state_same_bytes_and_no_state_restarts_ids(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    day(a, "2026-11-29")
    day(b, "2026-11-29")
    assert tree_bytes(a / "output") == tree_bytes(b / "output")
    day(a, "2026-11-29", "--no-state", "--out", "nostate")
    assert (
        pl.read_csv(next((a / "nostate").rglob("customers/*/*.csv")))["customer_id"][0]
        == 1_000_000_001
    )


def test_state_folder_is_owner_only(tmp_path: Path) -> None:
    day(tmp_path, "2026-11-29")
    folder = tmp_path / "output" / "_vecgen"
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert stat.S_IMODE((folder / "state.json").stat().st_mode) == 0o600


def test_a_second_run_in_the_same_folder_fails_clearly_or_waits(tmp_path: Path) -> None:
    folder = tmp_path / "output" / "_vecgen"
    with locked(folder):
        r = run_cli("--customers", "10", "--quiet", "--state", cwd=tmp_path)
        assert r.returncode == 1
        assert f"another vecgen run (pid {os.getpid()}) holds the lock" in r.stderr
        assert written(tmp_path) == []
        with pytest.raises(StateError, match="holds the lock"):
            with locked(folder):
                pass
    waiter = subprocess.Popen(
        [sys.executable, "-m", "vecgen", *WAIT_ARGS],
        cwd=tmp_path,
        stderr=subprocess.PIPE,
        text=True,
    )
    with locked(folder):
        time.sleep(1.0)
        assert waiter.poll() is None  # still waiting for the lock
    assert waiter.wait(timeout=60) == 0


def test_corrupt_state_is_a_clear_error_and_nothing_is_written(tmp_path: Path) -> None:
    (tmp_path / "output" / "_vecgen").mkdir(parents=True)
    (tmp_path / "output" / "_vecgen" / "state.json").write_text("{not json")
    r = run_cli("--customers", "10", "--state", cwd=tmp_path)
    assert r.returncode == 1 and "state file" in r.stderr and "cannot be read" in r.stderr
    assert written(tmp_path) == []


def test_sigkill_halfway_leaves_files_and_counters_as_they_were(tmp_path: Path) -> None:
    day(tmp_path, "2026-11-29")
    before = tree_bytes(tmp_path / "output")
    state_before = (tmp_path / "output" / "_vecgen" / "state.json").read_bytes()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "vecgen",
            "--customers",
            "3000000",
            "--date",
            "2026-11-29",
            "--quiet",
            "--batch-size",
            "50000",
            "--state",
            "--overwrite",
        ],
        cwd=tmp_path,
    )
    # Wait until the run is writing (temporaries exist), then kill it hard.
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not list((tmp_path / "output").rglob(".*vecgen-tmp-*")):
        time.sleep(0.05)
    time.sleep(1.0)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert list((tmp_path / "output").rglob(".*vecgen-tmp-*")), "the run was killed before it wrote"
    # Temporaries and the killed holder's pid file stay until the next run; nothing else moved.
    visible = {
        k: v
        for k, v in tree_bytes(tmp_path / "output").items()
        if "vecgen-tmp" not in k and k != "_vecgen/lock.pid"
    }
    assert visible == before
    assert (tmp_path / "output" / "_vecgen" / "state.json").read_bytes() == state_before
    # The next run succeeds and cleans up what the killed one left.
    day(tmp_path, "2026-11-29", "--load-type", "append")
    assert not list((tmp_path / "output").rglob(".*vecgen-tmp-*"))
    assert customers(tmp_path, "2026-11-29")["customer_id"].n_unique() == 4600


TRACER_HEADER = (
    "name_prefix,name_first,name_last,gender,email,account_status,addr_ln_1_txt,city,state,"
    "postal_code,birth_dt,employment,job_title,phone,master_id\n"
)
TRACER_ROWS = (
    "Ms.,Quincy,Tracer,F,qa1@example.com,Active,1 QA Way,Austin,TX,78701,01/02/1980,QA Inc,Tester,512-555-0100,9999999999\n"
    "Mr.,Quentin,Tracer,M,qa2@example.com,Active,2 QA Way,Austin,TX,78701,03/04/1985,QA Inc,Tester,512-555-0101,\n"
)


def test_tracer_records_are_added_once_with_truth_and_kept(tmp_path: Path) -> None:
    (tmp_path / "tracer").mkdir()
    (tmp_path / "tracer" / "tracer.csv").write_text(TRACER_HEADER + TRACER_ROWS)
    day(tmp_path, "2026-11-29", "--tracer")
    frame = customers(tmp_path, "2026-11-29")
    qa = frame.filter(pl.col("name_last") == "Tracer")
    assert qa["name_first"].to_list() == ["Quincy", "Quentin"] and frame.height == 2302
    assert qa["customer_id"].to_list() == [
        1_000_002_301,
        1_000_002_302,
    ]  # after every generated row
    truth = pl.read_csv(next((tmp_path / "output" / "truth").rglob("*.csv")), infer_schema=False)
    rows = truth.filter(pl.col("record_id").is_in(["1000002301", "1000002302"]))
    assert rows["entity_id"].to_list() == ["9999999999", "1000002302"]
    assert not (tmp_path / "tracer" / "tracer.csv").exists()
    consumed = list((tmp_path / "tracer" / "consumed").glob("*tracer.csv"))
    assert len(consumed) == 1 and consumed[0].read_text() == TRACER_HEADER + TRACER_ROWS
    state = json.loads((tmp_path / "output" / "_vecgen" / "state.json").read_text())
    assert state["last_customer_id"] == 1_000_002_302
    # Consumed once: the next run adds no tracer records.
    day(tmp_path, "2026-11-30", "--tracer")
    assert customers(tmp_path, "2026-11-30").filter(pl.col("name_last") == "Tracer").height == 0


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            TRACER_HEADER + TRACER_ROWS.replace("01/02/1980", "13/45/1980"),
            ":2: column 'birth_dt': '13/45/1980' is not a date",
        ),
        (
            TRACER_HEADER + TRACER_ROWS.replace(",F,", ",X,"),
            ":2: column 'gender': 'X' is not F or M",
        ),
        (
            TRACER_HEADER.replace("name_first", "first_name") + TRACER_ROWS,
            ":1: column 'first_name': is not a customers column; did you mean 'name_first'",
        ),
        (TRACER_HEADER + "Ms.,Ann\n", ":2: 2 fields, the header has 15"),
        ("", "the file is empty"),
        (TRACER_HEADER, "no QA records after the header"),
        (TRACER_HEADER + 'Ms.,"unterminated,Lee,F\n', "not valid CSV"),
    ],
)
def test_a_malformed_tracer_is_rejected_with_line_and_column_and_nothing_is_written(
    tmp_path: Path, content: str, message: str
) -> None:
    (tmp_path / "tracer").mkdir()
    (tmp_path / "tracer" / "tracer.csv").write_text(content)
    r = run_cli("--customers", "100", "--tracer", "--quiet", cwd=tmp_path)
    assert r.returncode == 2 and message in r.stderr and r.stderr.count("\n") == 1, r.stderr
    assert written(tmp_path) == [] and not (tmp_path / "output" / "_vecgen" / "state.json").exists()
    assert (tmp_path / "tracer" / "tracer.csv").read_text() == content


def test_tracer_accepts_a_byte_order_mark_and_refuses_other_encodings(tmp_path: Path) -> None:
    (tmp_path / "tracer").mkdir()
    (tmp_path / "tracer" / "tracer.csv").write_bytes(
        b"\xef\xbb\xbf" + (TRACER_HEADER + TRACER_ROWS).encode()
    )
    day(tmp_path, "2026-11-29", "--tracer")
    assert customers(tmp_path, "2026-11-29").filter(pl.col("name_last") == "Tracer").height == 2
    (tmp_path / "tracer" / "tracer.csv").write_bytes((TRACER_HEADER + "Ms.,Zoë").encode("latin-1"))
    r = run_cli("--customers", "100", "--tracer", "--quiet", cwd=tmp_path)
    assert r.returncode == 2 and "not UTF-8 text" in r.stderr


def test_archival_reinjects_earlier_people_linked_to_their_entity(tmp_path: Path) -> None:
    day(tmp_path, "2026-11-28")
    earlier = customers(tmp_path, "2026-11-28")
    day(tmp_path, "2026-11-29", "--archival", "--archival-count", "3")
    today = customers(tmp_path, "2026-11-29")
    assert today.height == 2300 + 3 * 20  # three rounds of 1% of 2,000
    truth = pl.read_csv(
        next((tmp_path / "output" / "truth" / "dt=2026-11-29").glob("*.csv")), infer_schema=False
    )
    archived = truth.tail(60)
    assert (archived["is_duplicate"] == "true").all()
    old_truth = pl.read_csv(
        next((tmp_path / "output" / "truth" / "dt=2026-11-28").glob("*.csv")), infer_schema=False
    )
    entity_of = dict(zip(old_truth["record_id"], old_truth["entity_id"], strict=True))
    for entity, origin in archived.select("entity_id", "duplicate_of").iter_rows():
        assert origin in entity_of and entity == entity_of[origin]  # clusters grow across days
    # The originals come from the last tenth of the earlier file.
    tail_ids = set(earlier["customer_id"].cast(pl.String).tail(230))
    assert set(archived["duplicate_of"]) <= tail_ids
    state = json.loads((tmp_path / "output" / "_vecgen" / "state.json").read_text())
    assert state["last_customer_id"] == today["customer_id"].max()


def test_transactions_only_feeds_earlier_customers(tmp_path: Path) -> None:
    day(tmp_path, "2026-11-28")
    known = set(customers(tmp_path, "2026-11-28")["customer_id"].to_list())
    before = json.loads((tmp_path / "output" / "_vecgen" / "state.json").read_text())[
        "last_transaction_id"
    ]
    r = run_cli(
        "transactions",
        "--customers",
        "300",
        "--date",
        "2026-11-29",
        "--trans-type",
        "daily",
        "--state",
        cwd=tmp_path,
    )
    assert r.returncode == 0, r.stderr
    assert "new transactions" in r.stdout
    assert sorted(p.name for p in (tmp_path / "output").iterdir()) == [
        "_vecgen",
        "customers",
        "transactions",
        "truth",
    ]
    feed = pl.read_csv(tmp_path / "output" / "transactions" / "dt=2026-11-29" / "part-00000.csv")
    assert set(feed["customer_id"].to_list()) <= known
    assert feed["orderid"].min() == before + 1
    assert (
        json.loads((tmp_path / "output" / "_vecgen" / "state.json").read_text())[
            "last_transaction_id"
        ]
        == feed["orderid"].max()
    )
    nothing = run_cli("transactions", "--customers", "10", "--out", "empty", cwd=tmp_path)
    assert nothing.returncode == 2 and "no customer files from before" in nothing.stderr


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_sigterm_and_ctrl_c_clean_up_and_keep_files_and_counters(
    tmp_path: Path, sig: signal.Signals, code: int
) -> None:
    day(tmp_path, "2026-11-29")
    before = tree_bytes(tmp_path / "output")
    state_before = (tmp_path / "output" / "_vecgen" / "state.json").read_bytes()
    proc = subprocess.Popen(
        [
            *(sys.executable, "-m", "vecgen", "--customers", "3000000"),
            *("--date", "2026-11-29", "--quiet", "--batch-size", "50000"),
            *("--state", "--overwrite"),
        ],
        cwd=tmp_path,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not list((tmp_path / "output").rglob(".*vecgen-tmp-*")):
        time.sleep(0.05)
    time.sleep(0.5)
    assert list((tmp_path / "output").rglob(".*vecgen-tmp-*")), "the run never started writing"
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == code, err
    assert "no output file was changed" in err and "Traceback" not in err
    # Unlike SIGKILL, a handled signal leaves no temporaries behind.
    assert tree_bytes(tmp_path / "output") == before
    assert (tmp_path / "output" / "_vecgen" / "state.json").read_bytes() == state_before


def test_control_characters_from_a_tracer_file_stay_on_one_line(tmp_path: Path) -> None:
    from vecgen.daily.extra import InputFileError
    from vecgen.daily.tracer import read_tracer

    path = tmp_path / "tracer.csv"
    path.write_text('"name\nfirst",name_last\nAnn,Lee\n')
    with pytest.raises(InputFileError) as err:
        read_tracer(path)
    assert "column 'name\\nfirst'" in str(err.value) and "\n" not in str(err.value)


def test_a_corrupt_publish_journal_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "output" / "_vecgen").mkdir(parents=True)
    (tmp_path / "output" / "_vecgen" / "publish.json").write_text('{"renames": 3}')
    r = run_cli("--customers", "10", "--state", cwd=tmp_path)
    assert r.returncode == 1 and "publish journal" in r.stderr and "remove it" in r.stderr
    assert not [
        p for p in (tmp_path / "output").rglob("*") if p.is_file() and "_vecgen" not in p.parts
    ]


SMALL = ("--customers", "300", "--seed", "9", "--date", "2026-01-15", "--quiet")


def test_a_bare_run_gives_the_same_bytes_in_any_folder_any_number_of_times(tmp_path: Path) -> None:
    one, two = tmp_path / "one", tmp_path / "two"
    one.mkdir()
    two.mkdir()
    assert run_cli(*SMALL, "--out", "a", cwd=one).returncode == 0
    assert run_cli(*SMALL, "--out", "b", cwd=one).returncode == 0
    assert run_cli(*SMALL, "--out", str(tmp_path / "c"), cwd=two).returncode == 0
    a = tree_bytes(one / "a")
    assert a and a == tree_bytes(one / "b") == tree_bytes(tmp_path / "c")
    # Stateless: no counters anywhere, no state folder left in the output.
    assert not (one / ".vecgen").exists() and not (one / "a" / "_vecgen").exists()


def test_a_second_run_into_the_same_day_stops_unless_told_how(tmp_path: Path) -> None:
    assert run_cli(*SMALL, cwd=tmp_path).returncode == 0
    before = tree_bytes(tmp_path / "output")
    r = run_cli(*SMALL, "--formats", "parquet", cwd=tmp_path)
    assert r.returncode == 1 and r.stderr.count("\n") == 1, r.stderr
    assert "output/customers/dt=2026-01-15' already holds customers files of 2026-01-15" in r.stderr
    assert "--load-type truncate" in r.stderr and "--overwrite" in r.stderr and "append" in r.stderr
    assert tree_bytes(tmp_path / "output") == before  # nothing written
    # Another day is a new partition; --overwrite (or load_type in vecgen.toml) replaces today's.
    assert run_cli(*SMALL[:-3], "--date", "2026-01-16", "--quiet", cwd=tmp_path).returncode == 0
    assert run_cli(*SMALL, "--formats", "parquet", "--overwrite", cwd=tmp_path).returncode == 0
    today = sorted(p.name for p in (tmp_path / "output" / "customers" / "dt=2026-01-15").iterdir())
    assert today == ["part-00000.parquet"]
    (tmp_path / "vecgen.toml").write_text('load_type = "truncate"\n')
    assert run_cli(*SMALL, cwd=tmp_path).returncode == 0
    # The flat layout's target is today's file.
    assert (
        run_cli(*SMALL, "--layout", "flat", "--out", "flat", "--overwrite", cwd=tmp_path).returncode
        == 0
    )
    (tmp_path / "vecgen.toml").unlink()
    r = run_cli(*SMALL, "--layout", "flat", "--out", "flat", cwd=tmp_path)
    assert r.returncode == 1 and "2026_01_15Customers.csv' already holds" in r.stderr


def test_state_lives_in_the_output_so_any_folder_continues_its_ids(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    for name in ("cron", "home"):
        (tmp_path / name).mkdir()
    first = run_cli(*SMALL, "--state", "--out", str(shared), cwd=tmp_path / "cron")
    assert first.returncode == 0, first.stderr
    r = run_cli(*SMALL, "--load-type", "append", "--out", str(shared), cwd=tmp_path / "home")
    assert r.returncode == 0, r.stderr
    ids = pl.concat(
        pl.read_csv(p)["customer_id"] for p in shared.glob("customers/dt=2026-01-15/part-*.csv")
    )
    assert ids.len() == 2 * 345 and ids.n_unique() == ids.len()
    state = json.loads((shared / "_vecgen" / "state.json").read_text())
    assert state["last_customer_id"] >= ids.max()  # POS-only people take IDs too
    assert (
        not (tmp_path / "cron" / ".vecgen").exists()
        and not (tmp_path / "home" / ".vecgen").exists()
    )
    # An output that keeps counters goes on keeping them, though the next command forgot --state.
    r = run_cli(*SMALL[:-3], "--date", "2026-01-16", "--quiet", "--out", str(shared), cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    after = json.loads((shared / "_vecgen" / "state.json").read_text())
    assert after["runs"] == state["runs"] + 1
    assert after["last_customer_id"] > state["last_customer_id"]


def test_appending_to_a_stateless_day_would_repeat_ids_and_stops(tmp_path: Path) -> None:
    assert run_cli(*SMALL, cwd=tmp_path).returncode == 0
    before = tree_bytes(tmp_path / "output")
    r = run_cli(*SMALL, "--load-type", "append", cwd=tmp_path)
    assert (
        r.returncode == 1
        and "kept no ID counters" in r.stderr
        and "--overwrite --state" in r.stderr
    )
    assert tree_bytes(tmp_path / "output") == before
    r = run_cli(*SMALL, "--load-type", "append", "--no-state", cwd=tmp_path)
    assert r.returncode == 2 and "needs state (IDs would repeat)" in r.stderr


def test_lost_counters_beside_other_days_stop_the_run_and_never_restart_ids(
    tmp_path: Path,
) -> None:
    day1 = [*SMALL, "--state", "--date", "2026-01-15"]
    assert run_cli(*day1, cwd=tmp_path).returncode == 0
    counters = tmp_path / "output" / "_vecgen" / "state.json"
    saved = counters.read_text()
    counters.unlink()  # (deleted, or never copied with the output)
    before = tree_bytes(tmp_path / "output")
    r = run_cli(*SMALL, "--state", "--date", "2026-01-16", cwd=tmp_path)
    assert r.returncode == 1 and r.stderr.count("\n") == 1, r.stderr
    assert "state.json is missing" in r.stderr and "2026-01-15" in r.stderr
    assert "new --out" in r.stderr and tree_bytes(tmp_path / "output") == before
    # Today's files alone: a re-run of that day starts afresh, as its first run did.
    r = run_cli(*day1, "--overwrite", cwd=tmp_path)
    assert r.returncode == 0 and tree_bytes(tmp_path / "output") != {}, r.stderr
    # With the counters restored the next day continues after them.
    counters.write_text(saved)
    r = run_cli(*SMALL, "--state", "--date", "2026-01-16", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert (
        json.loads(counters.read_text())["last_customer_id"] > json.loads(saved)["last_customer_id"]
    )


def test_a_crafted_publish_journal_never_touches_files_outside_the_output(tmp_path: Path) -> None:
    victim = tmp_path / "precious.txt"
    victim.write_text("keep me")
    decoy = tmp_path / "output" / "customers" / "dt=2026-01-15" / ".part-00000.csv.vecgen-tmp-ab"
    control = tmp_path / "output" / "_vecgen"
    control.mkdir(parents=True)
    for renames, why in (
        ([[str(decoy), str(victim)]], "names a rename that vecgen does not make"),
        ([[str(tmp_path / ".x.vecgen-tmp-ab"), str(tmp_path / "x")]], "outside the output"),
        ([["a"]], "is damaged"),
    ):
        journal = {"out": "output", "renames": renames, "remove_other_parts": False}
        (control / "publish.json").write_text(json.dumps(journal))
        r = run_cli(*SMALL, "--state", cwd=tmp_path)
        assert r.returncode == 1 and why in r.stderr and "remove it" in r.stderr, r.stderr
        assert victim.read_text() == "keep me"
    (control / "publish.json").write_text(
        json.dumps({"out": str(tmp_path / "elsewhere"), "renames": []})
    )
    r = run_cli(*SMALL, "--state", cwd=tmp_path)
    assert r.returncode == 1 and "belongs to another output" in r.stderr


@pytest.mark.parametrize(
    ("content", "why"),
    [
        ("{}", "holds no ID counters"),
        ("[]", "holds no ID counters"),
        ('{"version": 1}', "holds no ID counters"),
        (
            '{"last_customer_id": 9223372036854775807, "last_transaction_id": 1, '
            '"last_email_event_id": 1, "last_clickstream_id": 1}',
            "'last_customer_id' = '9223372036854775807' is not a counter",
        ),
        (
            '{"last_customer_id": "12", "last_transaction_id": 1, '
            '"last_email_event_id": 1, "last_clickstream_id": 1}',
            "is not a counter",
        ),
        ("[" * 100_000 + "]" * 100_000, "cannot be read"),
        (b"\xff\xfe{}", "not UTF-8"),
        ("fifo", "not a regular file"),
    ],
)
def test_a_damaged_state_file_stops_the_run_and_never_restarts_ids(
    tmp_path: Path, content: str | bytes, why: str
) -> None:
    folder = tmp_path / "output" / "_vecgen"
    folder.mkdir(parents=True)
    if content == "fifo":
        os.mkfifo(folder / "state.json")
    elif isinstance(content, bytes):
        (folder / "state.json").write_bytes(content)
    else:
        (folder / "state.json").write_text(content)
    r = run_cli(*SMALL, "--state", cwd=tmp_path)
    assert r.returncode == 1 and r.stderr.count("\n") == 1, r.stderr
    assert "state file" in r.stderr and why in r.stderr and "Traceback" not in r.stderr
    assert written(tmp_path) == []


def test_the_tracer_is_never_lost_or_put_away_for_nothing(tmp_path: Path) -> None:
    import datetime as dt

    from vecgen.daily.tracer import consume_tracer

    tracer = tmp_path / "tracer"
    tracer.mkdir()
    # Two runs finishing in the same second keep both consumed files.
    when = dt.datetime(2026, 11, 29, 8, 0, 0)
    for rows in ("a\n", "b\n"):
        (tracer / "tracer.csv").write_text(rows)
        consume_tracer(tracer / "tracer.csv", when)
    kept = sorted(p.read_text() for p in (tracer / "consumed").iterdir())
    assert kept == ["a\n", "b\n"]
    # A 'consumed' that is a file stops the run before anything is written or counted.
    (tracer / "tracer.csv").write_text(TRACER_HEADER + TRACER_ROWS)
    (tracer / "consumed").rename(tmp_path / "saved")
    (tracer / "consumed").write_text("not a folder")
    r = run_cli(*SMALL, "--state", "--tracer", cwd=tmp_path)
    assert r.returncode == 2 and "is not a folder" in r.stderr, r.stderr
    assert written(tmp_path) == [] and (tracer / "tracer.csv").exists()
    assert not (tmp_path / "output" / "_vecgen" / "state.json").exists()
    # A run without customers leaves the tracer file for a run that uses it.
    (tracer / "consumed").unlink()
    every = CORE_OFF + ",customers,transactions,truth"
    r = run_cli(*SMALL, "--tracer", "--disable", every, cwd=tmp_path)
    assert r.returncode == 0 and (tracer / "tracer.csv").exists(), r.stderr
    assert not (tracer / "consumed").exists()


def test_a_damaged_earlier_customers_file_names_the_file_and_why(tmp_path: Path) -> None:
    day(tmp_path, "2026-11-28")
    (damaged,) = (tmp_path / "output" / "customers").glob("dt=2026-11-28/part-*.csv")
    damaged.write_text('"customer_id","name_first"\n"1","a"\n"2')  # cut mid-quote
    r = run_cli("transactions", "--date", "2026-11-29", "--state", cwd=tmp_path)
    assert r.returncode != 0 and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert str(damaged.relative_to(tmp_path)) in r.stderr and "regenerate that day" in r.stderr
    # The reader's reason, not only the class of its exception.
    assert "(ComputeError)" not in r.stderr and "could not parse" in r.stderr
