"""vecgen report: a page a person can read, rendered by headless Chromium."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import run_cli, small_config
from vecgen.engine import run
from vecgen.report import chart_files, report

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("reportrun")
    run(small_config(out, customers=10_000, fuzz_profile="medium"))
    done = report(str(out))
    return Path(done["html"])


def test_report_has_every_section_and_pngs(page: Path) -> None:
    text = page.read_text()
    for heading in (
        "Files",
        "Duplicates and corruptions",
        "Duplicate clusters (changed cells highlighted)",
        "Duplicates per duplicated person",
        "% of duplicates where the field changed",
        "Kernel mix (top 20)",
        "Customers by state (top 15)",
        "Loyalty tiers",
        "Transaction totals ($200 bins)",
    ):
        assert f">{heading}<" in text.replace("&#x27;", "'"), heading
    assert text.count("<table class='cluster'>") == 5
    assert 'class="changed"' in text
    assert "<script" not in text and "http://" not in text.replace(
        'xmlns="http://www.w3.org/2000/svg"', ""
    )
    assert len(chart_files(str(page.parent))) >= 8


def test_report_renders_in_headless_chromium(page: Path, tmp_path: Path) -> None:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if not chromium:
        why = "Chromium is needed for this test (apt-get install chromium; .ci/run installs it)"
        assert not os.environ.get("CI"), why  # CI must run it, never skip it
        pytest.skip(why)
    shot = tmp_path / "shot.png"
    r = subprocess.run(
        [
            chromium,
            *CHROMIUM_FLAGS,
            f"--user-data-dir={tmp_path / 'profile'}",
            f"--screenshot={shot}",
            "--window-size=1400,3000",
            "--enable-logging=stderr",
            "--v=0",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert shot.exists() and shot.stat().st_size > 50_000, r.stderr[-2000:]
    assert not re.search(r"CONSOLE|Uncaught|Failed to load resource", r.stderr), r.stderr[-2000:]


def test_report_cli_and_missing_run(tmp_path: Path) -> None:
    assert run_cli("--customers", "2000", "--quiet", cwd=tmp_path).returncode == 0
    r = run_cli("report", "output", cwd=tmp_path)
    assert r.returncode == 0 and "wrote output/_report/index.html and" in r.stdout
    bad = run_cli("report", "nowhere", cwd=tmp_path)
    assert bad.returncode == 2 and "no 'customers' file under nowhere" in bad.stderr


def test_tools_read_every_part_of_the_day_and_the_report_stays_out_of_the_lake(
    tmp_path: Path,
) -> None:
    import json

    import pyarrow.dataset as ds

    common = ("--date", "2026-11-29", "--quiet", "--formats", "parquet", "--fuzz-profile", "medium")
    assert run_cli("--customers", "2000", "--state", *common, cwd=tmp_path).returncode == 0
    r = run_cli("--customers", "1000", "--load-type", "append", *common, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    parts = sorted((tmp_path / "output" / "customers" / "dt=2026-11-29").glob("part-*.parquet"))
    assert len(parts) == 2
    rows = sum(pq_rows(p) for p in parts)
    stats = json.loads(run_cli("fuzz-stats", "output", "--json", cwd=tmp_path).stdout)
    assert stats["records"] == rows  # both parts, not only the newest
    population = json.loads(run_cli("population-stats", "output", "--json", cwd=tmp_path).stdout)
    assert population["customers"] == 3000
    assert run_cli("report", "output", cwd=tmp_path).returncode == 0
    assert (tmp_path / "output" / "_report" / "index.html").exists()
    # A lake reader of the whole output does not pick up the report's PNGs and HTML.
    found = ds.dataset(tmp_path / "output", format="parquet").files
    assert found and not [f for f in found if "/_report/" in f or not f.endswith(".parquet")]
    assert ds.dataset(tmp_path / "output" / "customers").to_table().num_rows == rows


def pq_rows(path: Path) -> int:
    import pyarrow.parquet as pq

    return int(pq.ParquetFile(path).metadata.num_rows)


def test_the_tools_read_the_day_asked_for_or_every_day(tmp_path: Path) -> None:
    import json

    common = ("--quiet", "--state", "--formats", "parquet", "--fuzz-profile", "medium")
    for date, n in (("2026-11-27", "1000"), ("2026-11-28", "2000")):
        assert run_cli("--customers", n, "--date", date, *common, cwd=tmp_path).returncode == 0

    def population(*date: str) -> int:
        r = run_cli("population-stats", "output", "--json", *date, cwd=tmp_path)
        assert r.returncode == 0, r.stderr
        return int(json.loads(r.stdout)["customers"])

    assert population() == 2000  # the newest day
    assert population("--date", "2026-11-27") == 1000
    assert population("--date", "all") == 3000
    older = json.loads(
        run_cli("fuzz-stats", "output", "--json", "--date", "2026-11-27", cwd=tmp_path).stdout
    )
    newest = json.loads(run_cli("fuzz-stats", "output", "--json", cwd=tmp_path).stdout)
    assert sum(older["cluster_sizes"].values()) < sum(newest["cluster_sizes"].values())
    r = run_cli("report", "output", "--date", "all", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    page = (tmp_path / "output" / "_report" / "index.html").read_text()
    assert "dt=2026-11-27" in page and "dt=2026-11-28" in page
    missing = run_cli("fuzz-stats", "output", "--date", "2026-01-01", cwd=tmp_path)
    assert missing.returncode != 0 and "days there: 2026-11-27, 2026-11-28" in missing.stderr
    bad = run_cli("population-stats", "output", "--date", "yesterday", cwd=tmp_path)
    assert bad.returncode == 2 and "--date must be a date YYYY-MM-DD or all" in bad.stderr


def test_damaged_run_files_are_one_line_errors_naming_the_file(tmp_path: Path) -> None:
    assert (
        run_cli("--customers", "300", "--quiet", "--date", "2026-01-15", cwd=tmp_path).returncode
        == 0
    )
    day = tmp_path / "output" / "customers" / "dt=2026-01-15" / "part-00000.csv"
    day.write_text(day.read_text().splitlines()[0] + "\n")  # header only
    for command in ("fuzz-stats", "report"):
        r = run_cli(command, "output", cwd=tmp_path)
        assert r.returncode == 2 and "none of the duplicates its truth file names" in r.stderr
    truth = tmp_path / "output" / "truth" / "dt=2026-01-15" / "part-00000.csv"
    truth.write_bytes(b"garbage\x00\xff\n")
    for command in ("fuzz-stats", "report", "population-stats"):
        r = run_cli(command, "output", cwd=tmp_path)
        assert r.returncode == 2 and r.stderr.count("\n") == 1, r.stderr
        assert "is not a vecgen truth file (no column 'source')" in r.stderr
    (tmp_path / "pred.csv").write_text("record_id,cluster_id\n1000000001,\n")
    r = run_cli("score", str(truth.parent.parent.parent), "pred.csv", cwd=tmp_path)
    assert r.returncode == 2 and "internal error" not in r.stderr, r.stderr
    assert (
        run_cli("--customers", "300", "--quiet", "--date", "2026-01-16", cwd=tmp_path).returncode
        == 0
    )
    r = run_cli("score", "output", "pred.csv", cwd=tmp_path)
    assert r.returncode == 2 and "cluster_id is empty for 1 records" in r.stderr


def test_a_truncated_parquet_file_in_the_report_is_one_line(tmp_path: Path) -> None:
    """Found by the damaged-outputs campaign: the report's row counts read files unguarded."""
    args = ("--customers", "300", "--quiet", "--format", "parquet", "--date", "2026-01-15")
    assert run_cli(*args, cwd=tmp_path).returncode == 0
    part = tmp_path / "output" / "pos_transactions" / "dt=2026-01-15" / "part-00000.parquet"
    part.write_bytes(part.read_bytes()[:7])
    r = run_cli("report", "output", cwd=tmp_path)
    assert r.returncode == 2 and r.stderr.count("\n") == 1, r.stderr
    assert "output/pos_transactions/dt=2026-01-15/part-00000.parquet cannot be read" in r.stderr
