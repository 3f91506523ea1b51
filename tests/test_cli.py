"""The command as a user runs it: exit codes, one-line errors, help, config and sources."""

from __future__ import annotations

import os
import sys
import tomllib
from pathlib import Path

import pytest

from tests.conftest import run_cli, tree_bytes
from vecgen.catalog import SOURCE_NAMES, SWITCHABLE
from vecgen.config import SETTINGS


def test_generate_writes_files_and_prints_a_summary(tmp_path: Path) -> None:
    r = run_cli("--customers", "500", "--date", "2026-11-29", "--seed", "1", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    files = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*.csv"))
    assert files == sorted(f"output/{name}/dt=2026-11-29/part-00000.csv" for name in SWITCHABLE)
    assert "(500 customers, 75 duplicates at 15.00%)" in r.stdout and "rows/s" in r.stdout
    assert r.stderr == ""  # no progress bar when not a terminal


def test_generate_subcommand_and_quiet(tmp_path: Path) -> None:
    r = run_cli("generate", "--customers", "20", "--quiet", "--format", "parquet", cwd=tmp_path)
    assert r.returncode == 0 and r.stdout == "" and r.stderr == ""
    assert len(list(tmp_path.rglob("*.parquet"))) == len(SWITCHABLE)


@pytest.mark.parametrize(
    ("args", "toml", "message"),
    [
        (["--customers", "-5"], None, "'customers' must be an integer from 0"),
        (["--dupe-rate", "140"], None, "'dupe_rate' must be a number from 0 to 100, got '140'"),
        ([], "dupe_rat = 3\n", "unknown key 'dupe_rat'"),
        (["--format", "xml"], None, "'formats' must be a list of csv, parquet, jsonl"),
        (["--disable", "transaction"], None, "did you mean 'transactions'"),
        (["--bogus"], None, "unrecognized arguments: --bogus"),
    ],
)
def test_bad_input_is_one_line_nonzero_and_writes_nothing(
    tmp_path: Path, args: list[str], toml: str | None, message: str
) -> None:
    # Earlier output must survive a bad invocation.
    assert run_cli("--customers", "30", "--quiet", cwd=tmp_path).returncode == 0
    before = tree_bytes(tmp_path / "output")
    if toml:
        (tmp_path / "vecgen.toml").write_text(toml)
    r = run_cli(*args, cwd=tmp_path)
    assert r.returncode == 2
    assert message in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr
    assert tree_bytes(tmp_path / "output") == before


def test_unwritable_output_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("x")
    r = run_cli("--customers", "10", "--out", "afile/sub", cwd=tmp_path)
    assert r.returncode == 1
    assert "cannot write to output location 'afile/sub'" in r.stderr and "Traceback" not in r.stderr
    assert (tmp_path / "afile").read_text() == "x"


def test_help_lists_every_setting(tmp_path: Path) -> None:
    r = run_cli("--help", cwd=tmp_path)
    assert r.returncode == 0 and "generate" in r.stdout and "refake" in r.stdout
    g = run_cli("generate", "--help", cwd=tmp_path)
    for s in SETTINGS:
        assert "--" + s.name.replace("_", "-") in g.stdout
    assert "VECGEN_" in g.stdout


def test_config_prints_resolved_toml_with_precedence(tmp_path: Path) -> None:
    (tmp_path / "vecgen.toml").write_text("customers = 10\nseed = 1\n")
    r = run_cli("config", "--seed", "3", cwd=tmp_path, env={"VECGEN_DUPE_RATE": "7"})
    assert r.returncode == 0, r.stderr
    data = tomllib.loads(r.stdout)
    # Only what differs from the defaults (issue 16.6): everything else follows new releases.
    assert data == {"customers": 10, "seed": 3, "dupe_rate": 7.0}


def test_sources_lists_rows_per_customer_and_paths(tmp_path: Path) -> None:
    r = run_cli(
        "sources", "--disable", "truth", "--layout", "flat", "--date", "2026-01-02", cwd=tmp_path
    )
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert [line.split()[0] for line in lines] == list(SOURCE_NAMES)
    assert lines[0].startswith("customers") and "15% duplicates" in lines[0]
    assert "2026_01_02CustomersTransactions.csv" in lines[1]
    assert lines[-1].split()[:2] == ["truth", "off"]


def test_refake_rebuilds_identical_vocabularies(tmp_path: Path) -> None:
    import json

    from vecgen.vocab import DATA_DIR

    r = run_cli("refake", "--out", str(tmp_path / "v"), cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    built = json.loads((tmp_path / "v" / "manifest.json").read_text())
    shipped = json.loads((DATA_DIR / "manifest.json").read_text())
    # Same package versions -> same bytes (the versions are recorded in the manifest).
    if built["sources"] == shipped["sources"]:
        assert built["files"] == shipped["files"]
    assert set(built["files"]) == set(shipped["files"])


def test_ctrl_c_at_any_moment_of_start_up_is_one_line(tmp_path: Path) -> None:
    """Ctrl-C (SIGINT to the process group) while Python still imports vecgen's dependencies."""
    import os
    import signal
    import subprocess
    import sys
    import time

    env = {k: v for k, v in os.environ.items() if not k.startswith("VECGEN_")}
    command = [sys.executable, "-m", "vecgen", "--customers", "3000", "--quiet", "--no-state"]
    codes = []
    for i in range(10):
        proc = subprocess.Popen(
            command, cwd=tmp_path, env=env, stderr=subprocess.PIPE, text=True,
            start_new_session=True,
        )  # fmt: skip
        time.sleep(0.05 + 0.06 * i)
        os.killpg(proc.pid, signal.SIGINT)
        _, err = proc.communicate(timeout=60)
        assert "Traceback" not in err and "KeyboardInterrupt" not in err, err
        assert proc.returncode in (0, 130), err
        codes.append(proc.returncode)
        if proc.returncode == 130:
            assert len(err.strip().splitlines()) == 1 and err.strip().startswith(
                "vecgen: interrupted"
            )
    assert 130 in codes
    assert not list(tmp_path.rglob("*vecgen-tmp*"))


def test_ctrl_c_before_vecgen_runs_writes_nothing(tmp_path: Path) -> None:
    """The first ~25 ms belong to the interpreter (site.py, runpy): a Ctrl-C there is Python's.

    vecgen cannot handle it (none of its code has run; only a ``.pth`` hook in
    site-packages could, for every Python program on the machine), so the
    guarantee there is the interpreter's: the command stops, exit status not 0,
    and nothing is written; or CPython's import machinery swallows the Ctrl-C
    ("Exception ignored") and the run goes on to a complete, normal end
    (RELIABILITY.md, "Ctrl-C"). Never a half-written output.
    """
    import os
    import shutil
    import signal
    import subprocess
    import sys
    import time

    env = {k: v for k, v in os.environ.items() if not k.startswith("VECGEN_")}
    command = [sys.executable, "-m", "vecgen", "--customers", "3000", "--quiet", "--out", "o"]
    for i in range(8):
        proc = subprocess.Popen(
            command, cwd=tmp_path, env=env, stderr=subprocess.PIPE, text=True,
            start_new_session=True,
        )  # fmt: skip
        time.sleep(0.004 * i)
        os.killpg(proc.pid, signal.SIGINT)
        _, err = proc.communicate(timeout=60)
        if proc.returncode == 0:  # the Ctrl-C was swallowed by the import machinery
            assert "Exception ignored" in err, err
            assert list((tmp_path / "o").rglob("customers/*/part-00000.csv")), err
            assert not list(tmp_path.rglob("*vecgen-tmp*")), err
            shutil.rmtree(tmp_path / "o")
            continue
        assert "internal error" not in err, err
        assert not list(tmp_path.iterdir()), (i, err)  # nothing written, not even a folder


def test_importing_vecgen_in_a_program_keeps_its_ctrl_c() -> None:
    """Only the command records Ctrl-C while it starts; a program importing vecgen is untouched."""
    import subprocess
    import sys

    code = (
        "import signal, vecgen, vecgen.config; "
        "print(signal.getsignal(signal.SIGINT) is signal.default_int_handler)"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.stdout.strip() == "True", r.stderr


def test_a_mistyped_option_or_command_gets_a_suggestion(tmp_path: Path) -> None:
    for args, hint in (
        (("--cusotmers", "10"), "did you mean '--customers'?"),
        (("genrate",), "did you mean the command 'generate'?"),
        (("score", "t.csv", "p.csv", "--levle", "household"), "did you mean '--level'?"),
    ):
        r = run_cli(*args, cwd=tmp_path)
        assert r.returncode == 2 and hint in r.stderr, (args, r.stderr)
        assert r.stderr.count("\n") == 1


def _after_the_entry_point(module: str, show: str, env: dict[str, str]) -> str:
    """What ``show`` prints after the command's entry point ran (``module`` not loaded before)."""
    import subprocess

    code = (
        "import os, sys\nimport vecgen.__main__ as m\n"
        f"assert {module!r} not in sys.modules, '{module} loaded before main()'\n"
        "sys.argv = ['vecgen', 'sources']\nm.main()\n" + show
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert out.returncode == 0 and out.stderr == "", out.stderr
    return out.stdout.strip().splitlines()[-1]


def test_the_command_tunes_polars_allocator_before_polars_loads() -> None:
    """jemalloc reads its settings when Polars loads: the entry point must set them first."""
    show = "print(os.environ['_RJEM_MALLOC_CONF'])"
    env = {k: v for k, v in os.environ.items() if k != "_RJEM_MALLOC_CONF"}
    # Polars puts its own defaults first; the later settings win (polars/__init__.py).
    assert _after_the_entry_point("polars", show, env).endswith(
        ",dirty_decay_ms:10000,muzzy_decay_ms:10000,narenas:1,oversize_threshold:0"
    )
    env["_RJEM_MALLOC_CONF"] = "narenas:2"  # the user's own setting wins
    assert _after_the_entry_point("polars", show, env).endswith(",narenas:2")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="jemalloc pool: Linux wheels")
def test_the_command_gives_pyarrow_its_jemalloc_pool_before_pyarrow_loads() -> None:
    """Arrow reads ARROW_DEFAULT_MEMORY_POOL once: the entry point sets it first, quietly."""
    show = "import pyarrow as pa\nprint(pa.default_memory_pool().backend_name)"
    env = {k: v for k, v in os.environ.items() if k != "ARROW_DEFAULT_MEMORY_POOL"}
    assert _after_the_entry_point("pyarrow", show, env) == "jemalloc"
    env["ARROW_DEFAULT_MEMORY_POOL"] = "system"  # the user's own choice wins
    assert _after_the_entry_point("pyarrow", show, env) == "system"


def test_the_progress_bar_moves_at_least_once_a_second_between_batches() -> None:
    import io
    import time

    from vecgen.progress import Progress

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    screen = Terminal()
    bar = Progress(1_000_000, screen)
    bar.update(100_000)
    before = screen.getvalue().count("\r")
    time.sleep(2.5)  # no batch finished meanwhile: the clock and time left still move
    redrawn = screen.getvalue().count("\r") - before
    bar.close()
    assert redrawn >= 2, screen.getvalue()
    last = screen.getvalue().rstrip("\n").split("\r")[-1]
    assert "100,000/1,000,000 customers" in last and "customers/s" in last and "<" in last
    assert Progress(10, io.StringIO()).enabled is False  # piped: silent


def test_help_is_grouped_with_examples_and_each_command_shows_its_own_options(
    tmp_path: Path,
) -> None:
    g = run_cli("generate", "--help", cwd=tmp_path).stdout
    for group in ("size and output:", "daily operation:", "S3 and Vault:", "scale:", "Parquet:"):
        assert f"\n{group}\n" in g, group
    assert "examples:" in g and "--overwrite" in g
    for command in ("head", "sources", "ddl"):
        h = run_cli(command, *(["customers"] if command == "head" else []), "--help", cwd=tmp_path)
        assert h.returncode == 0 and "--customers" in h.stdout
        for flag in ("--s3-endpoint-url", "--vault-token", "--workers", "--state", "--lock-wait"):
            assert flag not in h.stdout, (command, flag)
    load = run_cli("load", "--help", cwd=tmp_path).stdout
    assert "--s3-endpoint-url" in load and "--if-exists" in load and "--workers" not in load


def test_errors_echo_no_secret_and_stay_on_one_line(tmp_path: Path) -> None:
    r = run_cli("--vault-tokn", "s3cr3t-token", cwd=tmp_path)
    assert r.returncode == 2 and "s3cr3t-token" not in r.stderr and "--vault-tokn" in r.stderr
    r = run_cli("--disable", "a\nb\x1b[31m", cwd=tmp_path)
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "\x1b" not in r.stderr
    assert "a\\nb" in r.stderr
    assert run_cli("--customers", "50", "--quiet", cwd=tmp_path).returncode == 0
    r = run_cli(
        "load",
        "--dsn",
        "postgresql://me:hunter2@127.0.0.1:9/x",
        "--customers",
        "50",
        cwd=tmp_path,
    )
    assert r.returncode == 1 and "hunter2" not in r.stderr and r.stderr.count("\n") == 1
    r = run_cli(
        "--customers",
        "10",
        "--out",
        "s3://b/p",
        "--vault-addr",
        "http://u:hunter2@127.0.0.1:9",
        "--vault-token",
        "t0k",
        "--vault-secret",
        "secret/x",
        cwd=tmp_path,
    )
    assert r.returncode != 0 and "hunter2" not in r.stderr and "t0k" not in r.stderr
