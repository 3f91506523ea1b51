"""Regenerate the settings reference in docs/configuration.md from vecgen's settings table.

    python docs/settings.py

A test (tests/test_docs.py) fails when the page and the settings table disagree.
"""

from __future__ import annotations

from pathlib import Path

from vecgen.cli import SETTINGS_BEGIN, SETTINGS_END, settings_markdown

PAGE = Path(__file__).parent / "configuration.md"


def rewrite(page: Path = PAGE) -> None:
    """Replace the generated block of ``page`` with a fresh one."""
    text = page.read_text()
    start = text.index(SETTINGS_BEGIN)
    end = text.index(SETTINGS_END) + len(SETTINGS_END) + 1
    page.write_text(text[:start] + settings_markdown() + text[end:])


if __name__ == "__main__":
    rewrite()
