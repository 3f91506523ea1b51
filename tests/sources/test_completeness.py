"""The corruption log loses exactly the fields a system did not capture."""

from __future__ import annotations

import numpy as np
import polars as pl

from vecgen.catalog import ADDRESS_PARTS
from vecgen.sources.completeness import _trim_log

COLUMNS = ("name_first", "name_last", "city", "phone", "email", "addr_ln_1_txt")
LOGGED = ("name_first", "name_last", "city", "phone", "email", *ADDRESS_PARTS, "gender")


def reference(log: list[str | None], miss: dict[str, np.ndarray]) -> list[str | None]:
    """The rule, entry by entry in Python (``miss`` cleared where a row keeps its last column)."""
    out: list[str | None] = []
    for i, text in enumerate(log):
        if text is None:
            out.append(None)
            continue
        entries = text.split("|")

        def column(entry: str) -> str:
            field = entry.split(":")[0]
            return "addr_ln_1_txt" if field in ADDRESS_PARTS else field

        kept = [e for e in entries if not (column(e) in miss and miss[column(e)][i])]
        if not kept:
            last = column(entries[-1])
            kept = [e for e in entries if column(e) == last]
            miss[last][i] = False
        out.append("|".join(kept))
    return out


def test_trim_log_matches_the_rule_on_random_logs() -> None:
    rng = np.random.default_rng(5)
    n = 3000
    log: list[str | None] = []
    for _ in range(n):
        if rng.random() < 0.3:
            log.append(None)
            continue
        k = int(rng.integers(1, 5))
        fields = rng.choice(LOGGED, size=k)
        log.append("|".join(f"{f}:k{int(rng.integers(0, 3))}" for f in fields))
    miss = {c: rng.random(n) < rng.uniform(0.1, 0.9) for c in COLUMNS}
    before = {c: m.copy() for c, m in miss.items()}
    expected_miss = {c: m.copy() for c, m in miss.items()}
    expected = reference(log, expected_miss)
    got = _trim_log(pl.Series("corruptions", log, dtype=pl.String), miss)
    assert got.to_list() == expected
    assert got.name == "corruptions"
    for c in COLUMNS:
        assert miss[c].tolist() == expected_miss[c].tolist(), c
    # The random logs hit every case: rows trimmed, rows kept whole, rows emptied and rescued
    # (their last column no longer missing), an address kept by its parts.
    trimmed = sum(a != b for a, b in zip(log, expected, strict=True))
    rescued = sum(int((before[c] & ~expected_miss[c]).sum()) for c in COLUMNS)
    assert trimmed > 500
    assert sum(a is not None and a == b for a, b in zip(log, expected, strict=True)) > 500
    assert rescued > 100
    assert int((before["addr_ln_1_txt"] & ~expected_miss["addr_ln_1_txt"]).sum()) > 10


def test_nothing_missing_leaves_the_log_as_it_was() -> None:
    log = pl.Series(["city:moved|phone:digit", None, "email:blank"])
    miss = {"phone": np.array([False, True, False])}
    assert _trim_log(log, miss).to_list() == log.to_list()
    assert miss["phone"].tolist() == [False, True, False]
