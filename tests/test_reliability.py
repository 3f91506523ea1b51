"""Reliability: strict CSV, the formula guard, disk space, secrets, and fuzzed hostile inputs."""

from __future__ import annotations

import csv
import os
import string
import sys
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from tests.conftest import run_cli, small_config, tree_bytes
from vecgen.cli import COMMANDS, build_parser
from vecgen.config import SETTINGS, load_config
from vecgen.daily.extra import InputFileError
from vecgen.daily.tracer import read_tracer
from vecgen.engine import run
from vecgen.errors import ConfigError, OutputError
from vecgen.output.files import FileSink
from vecgen.sources.base import WriteOptions

CAMPAIGN = int(os.environ.get("TEST_FUZZ_EXAMPLES", "300"))  # the slow run uses 10,000


def _parser_options() -> dict[str, dict[str, tuple[bool, tuple[str, ...], str]]]:
    """Per command, its options: whether each takes a value, its choices, its setting."""
    import argparse

    parser = build_parser()
    found: dict[str, dict[str, tuple[bool, tuple[str, ...], str]]] = {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found[name] = {
                    flag: (a.nargs != 0, tuple(map(str, a.choices or ())), a.dest)
                    for a in sub._actions
                    for flag in a.option_strings
                    if flag.startswith("--") and flag not in ("--help", "--version")
                }
    return found


def _values_of(setting: str) -> st.SearchStrategy[str]:
    """Values for one option by its setting's kind: inside its bounds, on them and just past.

    Options that are not settings (a command's own) get the generic plausible values.
    """
    known = {s.name: s for s in SETTINGS}.get(setting)
    if known is None:
        return plausible_values
    kind, low, high = known.kind, known.low, known.high
    if kind == "int":
        lo = int(low) if low is not None else -(2**63)
        hi = int(high) if high is not None else 2**63 - 1
        edges = [lo, hi, lo - 1, hi + 1, 2**63, -(2**63) - 1]
        inside = st.integers(lo, min(hi, lo + 3000))
        return st.one_of(inside.map(str), st.sampled_from(edges).map(str))
    if kind == "float":
        lo_f = low if low is not None else -1e12
        hi_f = high if high is not None else 1e12
        edges_f = [lo_f, hi_f, lo_f - 0.001, hi_f + 0.001, "nan", "inf", "-inf", "1e309", "1_0"]
        return st.one_of(st.floats(lo_f, hi_f).map(repr), st.sampled_from(edges_f).map(str))
    if kind == "date":
        edges_d = ["0001-01-01", "9999-12-31", "2026-02-30", "2026-1-5", "20260115", "2026-13-01"]
        return st.one_of(st.dates().map(str), st.sampled_from(edges_d))
    if kind == "list":
        words = known.choices or ("csv", "parquet", "jsonl", "customers", "truth")
        return st.lists(st.sampled_from([*words, "", " ", "nope"]), max_size=4).map(",".join)
    return plausible_values


def test_csv_round_trips_through_a_strict_reader(tmp_path: Path) -> None:
    tricky = [
        "plain",
        'with "quotes"',
        "comma, inside",
        "new\nline",
        "cr\r\nlf",
        "",
        "ünïcødé 東京",
        " lead",
    ]
    frame = pl.DataFrame({"text": tricky, "n": list(range(len(tricky)))})
    path = tmp_path / "t.csv"
    sink = FileSink("customers", "csv", str(path), str(path), WriteOptions())
    with path.open("wb") as sink.handle:
        sink.write(frame)
    with path.open(newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f, strict=True))
    assert rows[0] == ["text", "n"]
    assert [r[0] for r in rows[1:]] == tricky and len(rows) == len(tricky) + 1


def test_generated_csv_is_valid_rfc4180(tmp_path: Path) -> None:
    result = run(small_config(tmp_path, customers=2000, fuzz_profile="hard"))
    for f in result.files:
        with open(f.path, newline="", encoding="utf-8") as fh:
            rows = list(csv.reader(fh, strict=True))
        assert len(rows) == f.rows + 1 and len({len(r) for r in rows}) == 1, f.source


def test_formula_guard_is_off_by_default_and_prefixes_when_on(tmp_path: Path) -> None:
    junk = {
        "fuzz": {
            "fields": {"city": {"rate": 100, "kernels": {"placeholder": 1}}},
            "fields_changed": {"1": 1},
        }
    }
    plain = run(small_config(tmp_path / "plain", customers=3000, fuzz_profile="febrl", **junk))
    guarded = run(
        small_config(
            tmp_path / "guarded",
            customers=3000,
            fuzz_profile="febrl",
            csv_formula_guard=True,
            **junk,
        )
    )

    def read(result: Any) -> pl.DataFrame:
        path = next(f.path for f in result.files if f.source == "customers")
        return pl.read_csv(path, infer_schema=False)

    a, b = read(plain), read(guarded)
    assert (a["city"] == "-").sum() > 0  # placeholder junk that starts with '-'
    assert (b["city"] == "'-").sum() == (a["city"] == "-").sum()
    assert not b["city"].drop_nulls().str.contains(r"^[=+\-@]").any()
    assert (b["customer_id"] == a["customer_id"]).all()  # numbers are not text: untouched


def test_a_run_that_does_not_fit_on_disk_is_refused_before_writing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shutil
    from collections import namedtuple

    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda p: usage(10**9, 10**9 - 10**6, 10**6))
    with pytest.raises(OutputError, match=r"needs about [\d.]+ MB and .* has 1.0 MB free"):
        run(small_config(tmp_path / "out", customers=100_000))
    assert not (tmp_path / "out").exists()
    run(small_config(tmp_path / "out", customers=100, disk_check=False))


def test_a_write_failing_midway_leaves_the_earlier_day_and_counters_intact(
    tmp_path: Path,
) -> None:
    """The file size limit (RLIMIT_FSIZE) makes a write fail halfway, as a full disk does."""
    import resource
    import signal
    import subprocess
    import sys

    args = ("--batch-size", "1000", "--formats", "csv,parquet", "--quiet")
    assert (
        run_cli("--customers", "1000", "--date", "2026-11-28", *args, cwd=tmp_path).returncode == 0
    )
    before = {k: v for k, v in tree_bytes(tmp_path).items() if k != ".vecgen/lock"}  # holds a pid

    def limit() -> None:  # in the child: writes past 2 MB fail with EFBIG instead of a signal
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (2_000_000, 2_000_000))

    env = {k: v for k, v in os.environ.items() if not k.startswith("VECGEN_")}
    command = [sys.executable, "-m", "vecgen", "--customers", "20000", "--date", "2026-11-29"]
    r = subprocess.run(
        [*command, *args], cwd=tmp_path, env=env, preexec_fn=limit, capture_output=True, text=True
    )
    assert r.returncode == 1
    assert "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert "dt=2026-11-29/part-00000." in r.stderr and "File too large" in r.stderr
    assert "no output file was changed" in r.stderr
    after = {k: v for k, v in tree_bytes(tmp_path).items() if k != ".vecgen/lock"}
    assert after == before  # files and counters, byte for byte
    assert not list(tmp_path.rglob("*2026-11-29*"))  # not even an empty partition folder
    assert (
        run_cli("--customers", "1000", "--date", "2026-11-30", *args, cwd=tmp_path).returncode == 0
    )


def test_secrets_never_reach_outputs_state_or_messages(tmp_path: Path) -> None:
    token = "s.VERY-SECRET-TOKEN-123"
    r = run_cli(
        "--customers", "500", "--vault-token", token, "--format", "csv,parquet,jsonl", cwd=tmp_path
    )
    assert r.returncode == 0, r.stderr
    cfg = run_cli("config", "--vault-token", token, cwd=tmp_path)
    assert token not in cfg.stdout and "# vault_token is set (not shown)" in cfg.stdout
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert token.encode() not in path.read_bytes(), path
    assert token not in r.stdout + r.stderr
    assert token not in repr(load_config({"vault_token": token}, cwd=tmp_path, environ={}))


def test_output_files_follow_the_umask(tmp_path: Path) -> None:
    old = os.umask(0o027)
    try:
        result = run(small_config(tmp_path, customers=50))
    finally:
        os.umask(old)
    for f in result.files:
        assert (os.stat(f.path).st_mode & 0o777) == 0o640


# --- hostile inputs, fuzzed: a clear error or a valid config, never anything else -----------

KEYS = [s.name for s in SETTINGS] + ["sources", "fuzz", "dupe_rat", "Customers", "", "x" * 50]
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True),
    st.text(max_size=20),
    st.dates().map(str),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=8,
)
configs = st.dictionaries(st.sampled_from(KEYS), values, max_size=6)


@settings(max_examples=CAMPAIGN, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw=configs)
def test_fuzzed_configs_are_valid_or_clear_errors(raw: dict[str, Any]) -> None:
    try:
        load_config(raw, cwd=Path("/nonexistent-vecgen-dir"), environ={})
    except ConfigError as exc:
        assert str(exc) and "\n" not in str(exc).strip()


tracer_text = st.one_of(
    st.text(max_size=400),
    st.lists(
        st.lists(st.text(alphabet=string.printable + 'éü"', max_size=12), min_size=1, max_size=16),
        max_size=6,
    ).map(lambda rows: "\n".join(",".join(r) for r in rows)),
    st.just("name_first,name_last\n").flatmap(lambda h: st.text(max_size=200).map(lambda b: h + b)),
)


@settings(
    max_examples=CAMPAIGN,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    text=tracer_text, bom=st.booleans(), encoding=st.sampled_from(["utf-8", "latin-1", "utf-16"])
)
def test_fuzzed_tracer_files_are_read_or_refused_clearly(
    tmp_path: Path, text: str, bom: bool, encoding: str
) -> None:
    path = tmp_path / "tracer.csv"
    try:
        data = text.encode(encoding)
    except UnicodeEncodeError:
        data = text.encode("utf-8")
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + data)
    try:
        frame = read_tracer(path)
    except InputFileError as exc:
        assert str(exc).startswith(str(path)) and "\n" not in str(exc).strip()
    else:
        assert frame.height > 0 and {"name_first", "name_last"} <= set(frame.columns)


# The command line, fuzzed: any command, any options, hostile values. Commands that generate
# get a small, local, single-process run appended (argparse keeps the last value), so
# the campaign stays fast; everything else is as hostile as it comes.
CAMPAIGN_COMMANDS = [c for c in COMMANDS if c not in ("refake", "publish")] + ["", "--bogus"]
GENERATING = {"", "generate", "transactions"}
OPTIONS = _parser_options()
hostile_values = st.one_of(
    st.text(max_size=12),
    st.text(alphabet="\x00\x1b\n\r\t\u202e'\"$%{}-=~/\\", max_size=8),
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.sampled_from(["", "-", "--", "nan", "inf", "-1", "0", "1e308", "..", "/", "~", "s3://"]),
    st.sampled_from(["memory://x", "file:///nonexistent", "/dev/null", "/proc/self/mem"]),
)
# Stand-ins replaced by the test: a real run's folder, its truth file, a predictions file.
POSITIONAL = ["{RUN}", "{TRUTH}", "{PREDICTIONS}", "customers", "truth", "wifi", "{RUN}/nothing"]
plausible_values = st.one_of(
    st.integers(min_value=0, max_value=3000).map(str),
    st.floats(min_value=0, max_value=100).map(lambda f: f"{f:.2f}"),
    st.sampled_from(["2026-01-15", "all", "customers", "out", "medium", "csv,parquet", "x.toml"]),
    st.sampled_from(POSITIONAL),
)


@pytest.fixture(scope="module")
def campaign_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A real run (two days, state, CSV and Parquet) and a predictions file for the campaign."""
    root = tmp_path_factory.mktemp("campaign")
    for day in ("2026-01-14", "2026-01-15"):
        args = ("--customers", "300", "--state", "--format", "csv,parquet", "--date", day)
        r = run_cli(*args, "--out", "run", "--quiet", cwd=root)
        assert r.returncode == 0, r.stderr
    truth = root / "run" / "truth" / "dt=2026-01-15" / "part-00000.csv"
    predictions = root / "predictions.csv"
    ids = pl.read_csv(truth, infer_schema=False).filter(pl.col("source") == "customers")
    ids = ids["record_id"].head(20).to_list()
    pl.DataFrame({"record_id_l": ids[:10], "record_id_r": ids[10:]}).write_csv(predictions)
    return {"{RUN}": str(root / "run"), "{TRUTH}": str(truth), "{PREDICTIONS}": str(predictions)}


def _fill(word: str, run: dict[str, str]) -> str:
    for key, value in run.items():
        word = word.replace(key, value)
    return word


def _positional_counts() -> dict[str, int]:
    """Per command, how many positional arguments it takes."""
    import argparse

    counts: dict[str, int] = {}
    for action in build_parser()._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                counts[name] = sum(1 for a in sub._actions if not a.option_strings)
    return counts


POSITIONALS = _positional_counts()


@st.composite
def command_line(draw: st.DrawFn) -> list[str]:
    """A command and its options: flags alone, with plausible (often) or hostile values."""
    command = draw(st.sampled_from(CAMPAIGN_COMMANDS))
    options = OPTIONS.get(command or "generate", OPTIONS["generate"])
    argv = [command] if command else []
    words = st.one_of(st.sampled_from(POSITIONAL), st.sampled_from(POSITIONAL), hostile_values)
    # OUT, SOURCE, TRUTH PREDICTIONS: mostly as many as the command takes, sometimes not.
    wanted = POSITIONALS.get(command or "generate", 0)
    count = draw(st.one_of(st.just(wanted), st.just(wanted), st.just(wanted), st.integers(0, 2)))
    argv += draw(st.lists(words, min_size=count, max_size=count))
    if command == "load" and draw(st.integers(0, 3)):  # (its --dsn is required)
        argv += ["--dsn", draw(st.sampled_from(["duckdb:///run.db", "duckdb:///x.db"]))]
    # Mostly few options and good values, so that many command lines get past parsing
    # and the values reach the run (a hostile value is refused at the edge).
    for _ in range(draw(st.integers(0, 4)) if options else 0):
        flag = draw(st.sampled_from(sorted(options)))
        takes_value, choices, setting = options[flag]
        argv.append(flag)
        if takes_value:
            good = st.sampled_from(choices) if choices else _values_of(setting)
            argv.append(draw(st.one_of(good, good, good, good, hostile_values)))
    return argv


@settings(
    max_examples=max(CAMPAIGN // 3, 30), deadline=None, suppress_health_check=list(HealthCheck)
)
@given(argv=command_line())
@example(argv=["fuzz-stats", "\x00"])  # found by the campaign: an internal error before
def test_fuzzed_command_lines_end_in_a_result_or_one_clear_line(
    tmp_path_factory: pytest.TempPathFactory, campaign_run: dict[str, str], argv: list[str]
) -> None:
    argv = [_fill(word, campaign_run) for word in argv]
    import contextlib
    import io

    from vecgen.cli import main

    command = argv[0] if argv and argv[0] in COMMANDS else ""
    if command in GENERATING:
        out = str(tmp_path_factory.mktemp("fuzzed-cli") / "out")
        argv += ["--customers", "30", "--out", out, "--workers", "1", "--parts", "1"]
        argv += ["--part", "0", "--engine", "local", "--quiet", "--batch-size", "1000"]
    err = io.StringIO()
    here = os.getcwd()
    os.chdir(tmp_path_factory.mktemp("fuzzed-cwd"))  # relative paths land in a scratch folder
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
            try:
                code = main(argv)
            except SystemExit as exc:  # argparse's own exits (--help shown, usage error)
                code = exc.code if isinstance(exc.code, int) else 2
    finally:
        os.chdir(here)
    text = err.getvalue()
    event(f"{command or 'generate'} exit {code}")  # (pytest --hypothesis-show-statistics)
    if os.environ.get("SHOW_CAMPAIGN"):
        print(code, argv, text.strip()[:150], file=sys.__stdout__)
    assert "Traceback" not in text and "internal error" not in text, (argv, text)
    # (A test's own VECGEN_* variable would make every command a usage error: a campaign
    # that tests nothing. Sizes are TEST_* variables.)
    assert "unknown environment variable" not in text, text
    assert code in (0, 1, 2), (argv, code, text)
    if code:
        assert text.strip() and text.strip().count("\n") == 0, (argv, text)


@pytest.mark.slow
def test_campaigns_at_full_size() -> None:
    """Run the two campaigns with 10,000 inputs each (pytest -m slow)."""
    import subprocess
    import sys

    env = {**os.environ, "TEST_FUZZ_EXAMPLES": "10000"}
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            __file__,
            "-k",
            "fuzzed",
            "-m",
            "not slow",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=3000,
    )
    assert r.returncode == 0 and "3 passed" in r.stdout, r.stdout[-3000:]


def test_max_memory_lowers_the_batch_size_without_changing_a_byte(tmp_path: Path) -> None:
    from vecgen.plan import resolve

    capped = small_config(tmp_path / "capped", customers=40_000, max_memory=300)
    free = small_config(tmp_path / "free", customers=40_000)
    assert len(resolve(capped).batches) > len(resolve(free).batches) == 1
    run(capped)
    run(free)
    assert tree_bytes(tmp_path / "capped") == tree_bytes(tmp_path / "free")


def test_a_max_memory_below_one_batch_is_refused_before_writing(tmp_path: Path) -> None:
    r = run_cli("--customers", "100", "--max-memory", "100", "--out", "out", cwd=tmp_path)
    assert (
        r.returncode == 2 and "max_memory = 100 MiB" in r.stderr and "raise max_memory" in r.stderr
    )
    assert not (tmp_path / "out").exists()


def test_a_max_memory_that_cannot_hold_parquet_row_groups_says_how_to_fix_it(
    tmp_path: Path,
) -> None:
    args = ("--customers", "100000", "--max-memory", "450", "--out", "out")
    assert run_cli(*args, "--no-state", "--formats", "csv", cwd=tmp_path).returncode == 0
    (tmp_path / "p").mkdir()
    r = run_cli(*args, "--no-state", "--formats", "parquet", cwd=tmp_path / "p")
    assert r.returncode == 2, r.stderr
    assert "Parquet row groups" in r.stderr and "lower parquet_row_group_rows" in r.stderr
    assert not (tmp_path / "p" / "out").exists()
    smaller = ("--formats", "parquet", "--parquet-row-group-rows", "16384", "--no-state")
    assert run_cli(*args, *smaller, cwd=tmp_path / "p").returncode == 0


# The run's own peak: VmHWM belongs to the process's memory since exec. (ru_maxrss also
# counts the forked parent: after in-process tests pytest itself holds ~800 MiB.)
PEAK = """
import re, sys
from vecgen.__main__ import main  # as the command starts (its allocator settings)
sys.argv = ["vecgen", *sys.argv[1:]]
code = main()
status = open("/proc/self/status").read()
print(int(re.search(r"VmHWM:\\s+(\\d+) kB", status).group(1)) // 1024)
sys.exit(code)
"""


@pytest.mark.slow  # an estimate: once seen above the cap while another test suite ran
def test_max_memory_keeps_the_measured_peak_under_the_cap(tmp_path: Path) -> None:
    import subprocess
    import sys

    args = ["--customers", "100000", "--quiet", "--no-state"]

    # As a user's shell starts it: not with the allocator settings Polars left in this process.
    env = {k: v for k, v in os.environ.items() if k != "_RJEM_MALLOC_CONF"}

    def peak(*extra: str) -> int:
        out = ["--out", f"out{len(list(tmp_path.iterdir()))}"]  # a new one each run
        done = subprocess.run(
            [sys.executable, "-c", PEAK, *args, *out, *extra],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        return int(done.stdout.split()[-1])

    uncapped = peak()
    capped = peak("--max-memory", "450")
    assert capped <= 450 < uncapped, (capped, uncapped)
    # Parquet: the row groups being filled are part of the estimate.
    parquet = peak("--max-memory", "850", "--formats", "parquet")
    assert parquet <= 850, parquet


def test_ctrl_c_while_a_temporary_file_is_created_leaves_none_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import vecgen.output.commit as commit
    from vecgen.output.direct import open_local
    from vecgen.output.layout import TMP_MARK

    created: list[str] = []

    def interrupted_open(path: str) -> Any:
        handle = open_local(path)
        if TMP_MARK in path:
            created.append(path)
            if len(created) == 3:  # the file exists, the caller never gets its handle
                handle.close()
                raise KeyboardInterrupt
        return handle

    monkeypatch.setattr(commit, "open_local", interrupted_open)
    with pytest.raises(KeyboardInterrupt):
        run(small_config(tmp_path, customers=100))
    assert len(created) == 3
    assert not list(tmp_path.rglob(f"*{TMP_MARK}*"))


def test_ctrl_c_while_parquet_is_written_prints_one_line_only(tmp_path: Path) -> None:
    """An interrupted run's Parquet writers are not left to write to their closed files."""
    args = ("--customers", "6000", "--batch-size", "1000", "--format", "parquet", "--quiet")
    args += ("--parquet-row-group-rows", "1000")  # writers exist from the first batch on
    armed = {"VECGEN_TEST_FAULTS": "1", "VECGEN_FAULT": "sink.write:40:INT"}
    r = run_cli(*args, cwd=tmp_path, env=armed)
    assert r.returncode == 130, r.stderr
    assert r.stderr.strip().splitlines() == [
        "vecgen: interrupted; no output file was changed (temporary files removed)"
    ], r.stderr
    assert not [p for p in tmp_path.rglob("*") if p.is_file()]


# Declared sources from hostile tables: each either runs (every format encodes it) or is
# refused at configuration time with one line; nothing fails halfway through generation.
DECLARED_EXAMPLES = int(os.environ.get("TEST_DECLARED_EXAMPLES", "40"))
_HOSTILE_NUMBERS = st.one_of(
    st.integers(min_value=-(2**64), max_value=2**64),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0, 1, -1, 2**53, 2**53 + 1, 2**63, 10**30, 1e308, True]),
)
_HOSTILE_TEXT = st.one_of(
    st.text(max_size=12),
    st.sampled_from(
        [
            "{customer_id}", "{email[0:3]}-{nope}", "T-{customer_id[2:]}", "name_first || 'x'",
            "concat_ws(' ', name_first, name_last)", "nope + 1", "SELECT 1; DROP TABLE x",
            "email", "customer_id", "orderid", "\x00", "ü", "",
        ]
    ),
)  # fmt: skip
_PARAM = st.one_of(
    _HOSTILE_NUMBERS, _HOSTILE_TEXT, st.booleans(), st.lists(st.one_of(_HOSTILE_NUMBERS, _HOSTILE_TEXT), max_size=4)
)  # fmt: skip
_KINDS = [
    "copy", "choice", "int", "decimal", "triangular", "timestamp", "sequence", "uuid",
    "sha256", "pattern", "constant", "expr",
]  # fmt: skip
_PARAM_KEYS = ["field", "values", "weights", "min", "max", "mode", "places", "days", "start",
               "pattern", "value", "sql", "junk"]  # fmt: skip


_REQUIRED = {
    "copy": ("field",), "choice": ("values",), "int": ("min", "max"), "decimal": ("min", "max"),
    "triangular": ("min", "mode", "max"), "timestamp": ("days",), "pattern": ("pattern",),
    "constant": ("value",), "expr": ("sql",),
}  # fmt: skip


def _plausible(key: str, earlier: list[str]) -> st.SearchStrategy[Any]:
    """A value a user might well write for ``key`` (the campaign mixes in hostile ones)."""
    refs = [*earlier, "customer_id", "email", "name_first", "name_last", "city"]
    return {
        "field": st.sampled_from(["email", "name_last", "customer_id", "city", "birth_dt"]),
        "values": st.one_of(
            st.lists(st.text(max_size=6), min_size=1, max_size=4),
            st.lists(st.integers(-1000, 1000), min_size=1, max_size=4),
        ),
        "weights": st.lists(st.integers(0, 5), min_size=1, max_size=4),
        "min": st.integers(-100, 100),
        "max": st.integers(100, 10**6),
        "mode": st.integers(-100, 10**6),
        "places": st.integers(0, 9),
        "days": st.integers(1, 4000),
        "start": st.integers(-(10**6), 10**6),
        "pattern": st.sampled_from(refs).map(lambda r: f"X-{{{r}}}"),
        "value": st.one_of(st.text(max_size=8), st.integers(-(10**9), 10**9), st.booleans(),
                           st.floats(-1e6, 1e6)),
        "sql": st.sampled_from([f"{r} || 'x'" for r in refs] + ["concat_ws(' ', name_first, name_last)"]),
    }.get(key, _PARAM)  # fmt: skip


@st.composite
def _declared_table(draw: Any) -> dict[str, Any]:
    columns: dict[str, Any] = {}
    for i in range(draw(st.integers(1, 4))):
        if draw(st.integers(0, 9)) == 0:
            kind: Any = draw(st.sampled_from(["serial", 5, ["int"]]))
        else:
            kind = draw(st.sampled_from(_KINDS))
        keys = list(_REQUIRED.get(kind, ())) if isinstance(kind, str) else []
        if draw(st.integers(0, 4)) == 0:  # a key too many, or one missing
            keys = draw(st.lists(st.sampled_from(_PARAM_KEYS), max_size=3, unique=True))
        column: dict[str, Any] = {"kind": kind}
        for k in keys:
            hostile = draw(st.integers(0, 3)) == 0
            column[k] = draw(_PARAM if hostile else _plausible(k, list(columns)))
        name = f"c{i}" if draw(st.integers(0, 9)) else draw(st.sampled_from(["Bad-Name", "c0"]))
        columns[name] = column
    table: dict[str, Any] = {"columns": columns}
    for key, strategy in (
        ("parent", st.sampled_from(["customers", "customers", "transactions", "email_campaign", "nope"])),
        ("per_parent", st.sampled_from([1, "1..3", "30%", "0..2", "abc", -1, "200%", 10**9])),
        ("key", st.sampled_from([*columns, "missing"])),
        ("duplicates", st.booleans()),
        ("truth", st.booleans()),
        ("fuzz", st.dictionaries(st.sampled_from([*columns, "x"]),
                                 st.one_of(st.sampled_from(["email", "name_last", "city", "nope"]),
                                           st.lists(st.sampled_from(["fat_finger", "upper", "replace", "zzz"]), max_size=2)),
                                 max_size=2)),
    ):  # fmt: skip
        if draw(st.integers(0, 2)) == 0:
            table[key] = draw(strategy)
    return table


@settings(max_examples=DECLARED_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
@given(table=_declared_table())
def test_declared_sources_from_hostile_tables_generate_or_are_refused(
    table: dict[str, Any],
) -> None:
    import datetime as dt

    from vecgen.config import Config
    from vecgen.output.formats import encode
    from vecgen.pipeline import batch_frames, batch_offsets
    from vecgen.plan import resolve
    from vecgen.sources import source_for
    from vecgen.vocab import load, vocab_dir

    try:
        config = Config(customers=1000, date=dt.date(2026, 1, 15), declared={"hostile": table})
    except ConfigError as exc:
        event("refused")
        assert str(exc) and "\n" not in str(exc).strip(), str(exc)
        return
    event("accepted")
    plan = resolve(config)
    start, stop = plan.batches[0]
    frames = dict(batch_frames(plan, load(vocab_dir("en")), 0, start, stop, batch_offsets(plan)[0]))
    frame = frames["hostile"]
    opts = source_for(config, "hostile").write_options
    for fmt in ("csv", "jsonl", "parquet"):
        encode(frame, fmt, opts)
