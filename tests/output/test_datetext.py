"""Dates as text by table look-up: the same bytes the writers' own formatting gives."""

from __future__ import annotations

import datetime as dt
import io

import polars as pl
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from vecgen.output.datetext import as_text, fixed_decimals

FORMATS = [
    ("%Y-%m-%d", "%Y-%m-%d %H:%M:%S"),
    ("%m/%d/%Y", "%d.%m.%Y %H:%M"),
    ("%d%m%Y", "%H:%M:%S on %Y-%m-%d"),  # time first: left to the writer
    ("%Y %b", "%Y-%m-%dT%H:%M:%S%.f"),  # other directives: left to the writer
]

stamps = st.datetimes(min_value=dt.datetime(1000, 1, 1), max_value=dt.datetime(9999, 12, 31))


def _csv(frame: pl.DataFrame, date_format: str, datetime_format: str) -> bytes:
    out = io.BytesIO()
    frame.write_csv(
        out, quote_style="always", date_format=date_format, datetime_format=datetime_format
    )
    return out.getvalue()


@settings(max_examples=150, deadline=None)
@given(
    values=st.lists(st.one_of(st.none(), stamps), min_size=1, max_size=40),
    unit=st.sampled_from(["ns", "us", "ms"]),
    formats=st.sampled_from(FORMATS),
    constant=st.booleans(),
)
@example(values=[dt.datetime(1969, 12, 31, 23, 59, 59, 999_999)], unit="us",
         formats=FORMATS[0], constant=False)  # fmt: skip
@example(
    values=[dt.datetime(2026, 12, 2), dt.datetime(2026, 12, 2, 10)],
    unit="us",
    formats=FORMATS[0],
    constant=False,
)  # fmt: skip  (one day, two seconds)
def test_text_is_what_the_writer_writes(
    values: list[dt.datetime | None], unit: str, formats: tuple[str, str], constant: bool
) -> None:
    if constant:
        values = [values[0]] * len(values)
    if unit == "ns":  # nanoseconds reach 1677..2262 only
        values = [v if v is None or 1700 < v.year < 2200 else None for v in values]
    frame = pl.DataFrame(
        {
            "t": pl.Series(values, dtype=pl.Datetime(unit)),  # type: ignore[arg-type]
            "d": pl.Series([v.date() if v else None for v in values], dtype=pl.Date),
            "s": [str(v) for v in values],
        }
    )
    text = as_text(frame, *formats)
    assert _csv(text, *formats) == _csv(frame, *formats)


def test_handled_columns_become_text_and_others_stay() -> None:
    frame = pl.DataFrame(
        {
            "d": [dt.date(1961, 1, 6)],
            "t": [dt.datetime(2026, 10, 5, 3, 16, 4)],
            "z": pl.Series([dt.datetime(2026, 1, 1)]).dt.replace_time_zone("UTC"),
        }
    )
    text = as_text(frame, "%m/%d/%Y", "%Y-%m-%d %H:%M:%S")
    assert text.schema == {"d": pl.String, "t": pl.String, "z": pl.Datetime("us", "UTC")}
    assert text.row(0)[:2] == ("01/06/1961", "2026-10-05 03:16:04")
    untouched = as_text(frame, "%e %B", "%c")
    assert untouched.schema == frame.schema


@pytest.mark.parametrize("days", [0, 1])
def test_a_constant_column_is_one_value_repeated(days: int) -> None:
    stamp = dt.datetime(2026, 12, 2) + dt.timedelta(days=days)
    frame = pl.DataFrame({"t": [stamp] * 3})
    assert as_text(frame, "%Y", "%Y-%m-%d %H:%M:%S")["t"].to_list() == [str(stamp)] * 3


def test_a_span_too_wide_for_a_table_is_left_to_the_writer() -> None:
    frame = pl.DataFrame({"d": [dt.date(1, 1, 1), dt.date(9999, 1, 1)]})
    assert as_text(frame, "%Y-%m-%d", "%H").schema == frame.schema


def _fixed_csv(frame: pl.DataFrame, precision: int) -> bytes:
    out = io.BytesIO()
    frame.write_csv(out, quote_style="always", float_precision=precision)
    return out.getvalue()


amounts = st.one_of(
    st.none(),
    st.integers(-(10**12), 10**12).map(
        lambda cents: round(cents / 100, 2)
    ),  # made as the sources do
    st.floats(allow_nan=True, allow_infinity=True),  # anything else
    st.sampled_from([-0.0, 0.125, 2.675, 1e16, 0.5, -0.5, 1.005]),
)


@settings(max_examples=300, deadline=None)
@given(
    values=st.lists(amounts, min_size=1, max_size=30),
    precision=st.integers(0, 6),
    cents_only=st.booleans(),
)
def test_fixed_precision_text_is_what_the_writer_writes(
    values: list[float | None], precision: int, cents_only: bool
) -> None:
    if cents_only:  # (mostly columns the fast path takes)
        values = [
            None if v is None or v != v or abs(v) > 1e12 else round(v, precision) for v in values
        ]
    frame = pl.DataFrame({"x": pl.Series(values, dtype=pl.Float64), "n": range(len(values))})
    text = fixed_decimals(frame, precision)
    assert _fixed_csv(text, precision) == _fixed_csv(frame, precision)


def test_amounts_in_cents_become_decimals_and_others_stay() -> None:
    frame = pl.DataFrame({"cents": [0.1, 12.5, None], "half": [0.125, 1.0, 2.0], "i": [1, 2, 3]})
    fixed = fixed_decimals(frame, 2)
    assert fixed.schema == {"cents": pl.Decimal(38, 2), "half": pl.Float64, "i": pl.Int64}
    assert [str(v) for v in fixed["cents"]] == ["0.10", "12.50", "None"]
    assert fixed_decimals(frame, None) is frame
