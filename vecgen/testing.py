"""Test helpers: a small seeded landscape in one line, and a pytest fixture.

    from vecgen.testing import landscape
    frames = landscape()                      # 500 customers, seed 1, a fixed date

or, with vecgen installed, in any pytest suite::

    def test_my_matcher(vecgen_landscape):
        customers = vecgen_landscape["customers"]

The fixture is registered as a pytest plugin (``pytest11`` entry point).
"""

from __future__ import annotations

import datetime as dt
import functools
from typing import Any

import polars as pl

TEST_DATE = dt.date(2026, 1, 1)


@functools.lru_cache(maxsize=8)
def _cached(items: tuple[tuple[str, Any], ...]) -> dict[str, pl.DataFrame]:
    import vecgen

    return vecgen.generate(**dict(items))


def landscape(customers: int = 500, seed: int = 1, **settings: Any) -> dict[str, pl.DataFrame]:
    """Return a small seeded landscape (cached per settings; do not modify the frames).

    Examples
    --------
    >>> frames = landscape(customers=100)
    >>> frames["customers"].height, frames["truth"]["source"].n_unique() > 1
    (115, True)

    """
    settings.setdefault("date", TEST_DATE)
    key = tuple(sorted({"customers": customers, "seed": seed, **settings}.items()))
    return _cached(key)


try:  # the fixture exists only where pytest does
    import pytest

    @pytest.fixture
    def vecgen_landscape() -> dict[str, pl.DataFrame]:
        """Return a 500-customer seeded landscape, every source (see :func:`landscape`)."""
        return landscape()

except ImportError:  # pragma: no cover - vecgen works without pytest
    pass
