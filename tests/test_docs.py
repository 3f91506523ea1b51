"""The README and docs/ say what vecgen does: their examples are rerun, their tables generated."""

from __future__ import annotations

import re
import sys
from pathlib import Path

from tests.conftest import run_cli
from vecgen.catalog import SOURCE_NAMES
from vecgen.cli import SETTINGS_BEGIN, SETTINGS_END, settings_markdown
from vecgen.config import SETTINGS

ROOT = Path(__file__).parent.parent
README = (ROOT / "README.md").read_text()


def test_the_readme_is_a_front_door_and_its_links_exist() -> None:
    assert len(README) < 12_000
    for target in re.findall(r"\]\((docs/[^)#]+)\)", README):
        assert (ROOT / target).exists(), target
    for page in ("output", "duplicates", "population", "daily", "configuration", "commands"):
        assert f"docs/{page}.md" in README


def test_the_readme_sample_run_is_what_the_command_prints(tmp_path: Path) -> None:
    sample = README[README.index("$ vecgen --customers 100000 --date 2026-11-29\n") :]
    sample = sample[: sample.index("```")].splitlines()
    r = run_cli("--customers", "100000", "--date", "2026-11-29", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    printed = r.stdout.splitlines()
    assert printed[:-1] == sample[1:-1]  # every file, row count and size
    # The last line's seconds and rate are this machine's; its counts are the run's.
    assert printed[-1].split(" in ")[0] == sample[-1].split(" in ")[0]


def test_the_readme_matcher_example_prints_what_the_readme_shows(tmp_path: Path) -> None:
    r = run_cli(
        *("--customers", "20000", "--fuzz-profile", "medium", "--date", "2026-11-29"),
        *("--out", "er", "--quiet"),
        cwd=tmp_path,
    )
    assert r.returncode == 0, r.stderr
    code = README[README.index("# match.py\n") :]
    (tmp_path / "match.py").write_text(code[: code.index("```")])
    import subprocess

    subprocess.run([sys.executable, "match.py"], cwd=tmp_path, check=True)
    scored = run_cli("score", "er", "matches.csv", cwd=tmp_path)
    assert scored.returncode == 0, scored.stderr
    shown = README[README.index("records 23,000;") :]
    shown = shown[: shown.index("```")].rstrip().splitlines()
    assert scored.stdout.splitlines()[: len(shown)] == shown


def test_the_configuration_page_is_generated_from_the_settings_table() -> None:
    page = (ROOT / "docs" / "configuration.md").read_text()
    block = page[page.index(SETTINGS_BEGIN) : page.index(SETTINGS_END) + len(SETTINGS_END)]
    assert block + "\n" == settings_markdown(), "run: python docs/settings.py"
    for s in SETTINGS:
        assert f"| `{s.name}` | `--{s.name.replace('_', '-')}" in page, s.name
        assert f"VECGEN_{s.name.upper()}" in page
    output = (ROOT / "docs" / "output.md").read_text()
    for name in SOURCE_NAMES:
        assert f"| `{name}` |" in output
