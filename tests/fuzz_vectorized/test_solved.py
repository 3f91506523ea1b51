"""The built-in profiles' field weights, solved ahead, are the weights a run would solve.

``vecgen/fuzz_vectorized/solved.py`` holds them so a run does not spend 0.3 s
of CPU per profile solving them again. After changing a built-in profile's
rates or ``fields_changed`` (or a source's ``fuzzed`` fields), regenerate it::

    python tests/fuzz_vectorized/test_solved.py
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

import vecgen.fuzz_vectorized.profiles as profiles
from vecgen.fuzz_vectorized import solved
from vecgen.fuzz_vectorized.profiles import PROFILES, Profile, selection_weights, solve_key
from vecgen.sources import SOURCES

TABLE = Path(solved.__file__)
REGENERATE = "python tests/fuzz_vectorized/test_solved.py"


def wanted() -> list[Profile]:
    """Every profile a run of the built-in presets and sources solves weights for."""
    out = []
    for profile in PROFILES.values():
        if not profile.budgeted:
            continue
        out.append(profile)
        for source in SOURCES.values():
            fields = getattr(source, "fuzzed", None)
            if fields:
                out.append(profile.restricted(tuple(fields)))
    return out


def table_text() -> str:
    """The text of ``solved.py`` for :func:`wanted` (each weight as ``repr``: exact)."""
    head, _, _ = TABLE.read_text().partition("SOLVED: ")
    rows = []
    for profile in wanted():
        rates, changed = solve_key(profile)
        weights = tuple(float(w) for w in profiles._solve(profile))
        rows.append(f"    ({rates!r}, {changed!r}): {weights!r},  # {profile.name}\n")
    body = "".join(dict.fromkeys(rows))
    return f"{head}SOLVED: dict[tuple[tuple[float, ...], tuple[tuple[int, float], ...]], tuple[float, ...]] = {{\n{body}}}\n"


def test_table_holds_the_weights_each_built_in_profile_solves_to() -> None:
    """The same weights, to the last bit or two.

    NumPy picks its SIMD kernels by CPU, and their sums round differently in the
    last bit (an AMD EPYC with AVX-512 solves one ``hard`` weight 1 ulp away from
    the machine that made the table). Runs use the table, so a built-in profile
    gives the same bytes on every CPU; a profile whose rates changed solves to
    different weights, far beyond this tolerance.
    """
    expected = {solve_key(p): profiles._solve(p) for p in wanted()}
    assert set(solved.SOLVED) == set(expected), f"solved.py is out of date: run {REGENERATE}"
    for key, weights in expected.items():
        table = np.array(solved.SOLVED[key])
        assert table.shape == weights.shape, f"solved.py is out of date: run {REGENERATE}"
        np.testing.assert_allclose(table, weights, rtol=1e-12, atol=1e-15, err_msg=REGENERATE)


def test_built_in_profiles_are_not_solved_again(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(profile: Profile) -> np.ndarray:
        raise AssertionError(f"{profile.name} solved at run time: run {REGENERATE}")

    monkeypatch.setattr(profiles, "_solve", refuse)
    monkeypatch.setattr(profiles, "_SOLVED", {})
    for profile in wanted():
        weights = selection_weights(profile)
        assert weights.tolist() == list(solved.SOLVED[solve_key(profile)])


def test_an_edited_profile_is_solved_at_run_time(monkeypatch: pytest.MonkeyPatch) -> None:
    medium = PROFILES["medium"]
    edited = replace(medium, fields=(replace(medium.fields[0], rate=60.0), *medium.fields[1:]))
    assert solve_key(edited) not in solved.SOLVED
    monkeypatch.setattr(profiles, "_SOLVED", {})
    weights = selection_weights(edited)
    assert np.array_equal(weights, profiles._solve(edited))
    # The edit moves the weights: the first field is chosen more often than in medium.
    assert weights[0] / weights[1] > selection_weights(medium)[0] / selection_weights(medium)[1]


if __name__ == "__main__":
    TABLE.write_text(table_text())
    # One weight per line, as the repository's formatter lays it out.
    subprocess.run([sys.executable, "-m", "ruff", "format", "-q", str(TABLE)], check=False)
    print(f"wrote {TABLE} ({len(wanted())} profiles)", file=sys.stderr)
