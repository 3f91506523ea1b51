"""The presets are ordered and in their bands for real matchers (benchmarks/bench_difficulty.py).

recordlinkage's unsupervised ECM classifier and the rule-based example matcher
run over the customers file of 5,000 customers per preset (the full table, with
Splink and 20,000 customers, is in benchmarks/RESULTS.md).
"""

from __future__ import annotations

import pytest

from benchmarks.bench_difficulty import evaluate, match_ecm, match_rules, write_customers

CUSTOMERS = 5_000
BANDS = {"easy": (0.97, 1.0), "medium": (0.85, 0.95), "hard": (0.60, 0.85)}


@pytest.fixture(scope="module")
def scores(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, dict[str, float]]]:
    out: dict[str, dict[str, dict[str, float]]] = {}
    for preset in BANDS:
        tmp = str(tmp_path_factory.mktemp(preset))
        frame, truth = write_customers(tmp, CUSTOMERS, preset, seed=7)
        people = frame.to_pandas().set_index("customer_id")
        out[preset] = {
            "ecm": evaluate(match_ecm(people), truth, tmp),
            "rules": evaluate(match_rules(people), truth, tmp),
        }
    return out


def test_each_preset_is_in_its_band_for_a_fellegi_sunter_matcher(
    scores: dict[str, dict[str, dict[str, float]]],
) -> None:
    for preset, (low, high) in BANDS.items():
        f1 = scores[preset]["ecm"]["f1"]
        assert low <= f1 <= high, (preset, scores[preset])


@pytest.mark.parametrize("matcher", ["ecm", "rules"])
def test_precision_and_f1_fall_as_difficulty_rises(
    scores: dict[str, dict[str, dict[str, float]]], matcher: str
) -> None:
    for measure in ("precision", "f1") if matcher == "ecm" else ("f1",):
        easy, medium, hard = (scores[p][matcher][measure] for p in BANDS)
        assert easy > medium > hard, (matcher, measure, scores)
