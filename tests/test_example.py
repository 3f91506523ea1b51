"""The worked matcher example runs, and the presets order as they should."""

from __future__ import annotations

import importlib.util
from pathlib import Path

EXAMPLE = Path(__file__).parent.parent / "examples" / "recordlinkage_matcher.py"


def test_recordlinkage_example_orders_the_presets(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("recordlinkage_matcher", EXAMPLE)
    assert spec is not None and spec.loader is not None
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    f1 = {
        p: example.run_example(2000, p, workdir=str(tmp_path))["pairwise"]["f1"]
        for p in ("easy", "medium", "hard")
    }
    assert f1["easy"] > f1["medium"] > f1["hard"], f1
    assert f1["hard"] > 0.2  # the matcher still finds a good share of the hard duplicates
