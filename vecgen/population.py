"""``vecgen population-stats``: the shape of a run's people, from its files and truth alone.

Reads the customers file and the truth of a run's newest day (every part of
it, as ``fuzz-stats`` does) and the other person-bearing files that are there, and
measures what the population model promises: name frequencies, where people
live, households, identifiers shared by different people, and how complete
each system's records are.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from vecgen.catalog import PERSON_FILE_COLUMNS
from vecgen.stats import StatsError, read_day
from vecgen.vocab import load

TOP = 10


def _share(part: int, whole: int) -> float:
    return round(100.0 * part / whole, 3) if whole else 0.0


def _names(values: pl.Series) -> dict[str, Any]:
    counts = values.drop_nulls().value_counts(sort=True, name="n")
    total = int(counts["n"].sum())
    top = counts.head(TOP)
    return {
        "people": total,
        "distinct": counts.height,
        "top_percent": _share(int(top["n"][0]) if counts.height else 0, total),
        "top10_percent": _share(int(counts["n"].head(10).sum()), total),
        "top": [[str(v), _share(int(n), total)] for v, n in top.iter_rows()],
    }


def _shared(clean: pl.DataFrame, columns: list[str]) -> float:
    """Percent of clean customers whose ``columns`` (all present) another person also has."""
    known = clean.drop_nulls(columns)
    people = known.group_by(columns).agg(pl.col("entity_id").n_unique().alias("people"))
    shared = known.join(people.filter(pl.col("people") > 1), on=columns, how="semi")
    return _share(shared.height, clean.height)


def population_stats(
    out: str,
    customers: pl.DataFrame | None = None,
    truth: pl.DataFrame | None = None,
    day: str | None = None,
) -> dict[str, Any]:
    """Measure the clean people of the run under ``out`` (see the module docstring).

    ``customers`` and ``truth`` are the day's files when the caller has read
    them already (:func:`~vecgen.stats.read_day`); ``day`` is ``None`` (the
    newest day), ``YYYY-MM-DD`` or ``"all"``.

    Raises
    ------
    StatsError
        When ``out`` holds no customers or truth file.

    """
    customers = read_day(out, "customers", day) if customers is None else customers
    truth = read_day(out, "truth", day) if truth is None else truth
    if "household_id" not in truth.columns:
        truth = truth.with_columns(pl.col("entity_id").alias("household_id"))
    clean_truth = truth.filter(
        (pl.col("source") == "customers") & (pl.col("is_duplicate").str.to_lowercase() == "false")
    ).select(pl.col("record_id").alias("customer_id"), "entity_id", "household_id")
    clean = customers.join(clean_truth, on="customer_id", how="inner")
    if clean.height == 0:
        msg = f"{out}: the customers file has no clean records that its truth file knows"
        raise StatsError(msg)
    n = clean.height
    homes = clean.group_by("household_id").len()
    sizes = homes["len"].value_counts(sort=False, name="households").sort("len")
    twins = (
        clean.drop_nulls(["name_last", "birth_dt", "addr_ln_1_txt"])
        .group_by("name_last", "birth_dt", "addr_ln_1_txt", "postal_code")
        .agg(pl.col("entity_id").n_unique().alias("people"))
        .filter(pl.col("people") > 1)
    )
    names = load().states  # a state written out counts as its abbreviation
    states = clean["state"].drop_nulls().replace(names["name"], names["abbr"])
    fill: dict[str, dict[str, float]] = {}
    for source, columns in PERSON_FILE_COLUMNS.items():
        try:
            frame = customers if source == "customers" else read_day(out, source, day)
        except StatsError:
            continue
        fill[source] = {
            person: _share(frame.height - frame[column].null_count(), frame.height)
            for person, column in columns.items()
            if column in frame.columns
        }
    return {
        "customers": n,
        "surnames": _names(clean["name_last"]),
        "first_names": {
            sex: _names(clean.filter(pl.col("gender") == sex)["name_first"]) for sex in ("F", "M")
        },
        "states": [
            [str(v), _share(int(c), states.len())]
            for v, c in states.value_counts(sort=True, name="n").head(TOP).iter_rows()
        ],
        "households": {
            "sizes": {str(k): int(v) for k, v in sizes.iter_rows()},
            "sharing_percent": _share(int(homes.filter(pl.col("len") > 1)["len"].sum()), n),
            "twin_pairs": twins.height,
        },
        "shared_percent": {
            "address": _shared(clean, ["addr_ln_1_txt", "postal_code"]),
            "phone": _shared(clean, ["phone"]),
            "email": _shared(clean, ["email"]),
            "full_name": _shared(clean, ["name_first", "name_last"]),
        },
        "fill_percent": fill,
    }


def render(stats: dict[str, Any]) -> str:
    """Format :func:`population_stats` as plain-text tables.

    Examples
    --------
    >>> s = {"customers": 2, "surnames": {"people": 2, "distinct": 2, "top_percent": 50.0,
    ...      "top10_percent": 100.0, "top": [["Smith", 50.0]]},
    ...      "first_names": {}, "states": [["CA", 100.0]],
    ...      "households": {"sizes": {"1": 2}, "sharing_percent": 0.0, "twin_pairs": 0},
    ...      "shared_percent": {"phone": 0.0}, "fill_percent": {"customers": {"phone": 50.0}}}
    >>> print(render(s).splitlines()[2])
    surnames                           2 distinct   top 50.00%   top ten 100.00%   Smith 50.0%

    """
    lines = [f"clean customers: {stats['customers']:,}", ""]

    def names(label: str, d: dict[str, Any]) -> str:
        top = ", ".join(f"{v} {p:.1f}%" for v, p in d["top"][:3])
        return (
            f"{label:<26} {d['distinct']:>9,} distinct   top {d['top_percent']:.2f}%   "
            f"top ten {d['top10_percent']:.2f}%   {top}"
        )

    lines.append(names("surnames", stats["surnames"]))
    for sex, d in stats["first_names"].items():
        lines.append(names(f"first names ({sex})", d))
    lines.append("")
    lines.append("states: " + ", ".join(f"{s} {p:.1f}%" for s, p in stats["states"]))
    h = stats["households"]
    sizes = ", ".join(f"{k}: {v:,}" for k, v in h["sizes"].items())
    lines.append(
        f"households by size: {sizes}; customers sharing a home {h['sharing_percent']:.1f}%; "
        f"twin pairs {h['twin_pairs']:,}"
    )
    shared = ", ".join(f"{k} {v:.1f}%" for k, v in stats["shared_percent"].items())
    lines.append(f"customers sharing with another person: {shared}")
    lines.append("")
    lines.append("fill rates (percent of records holding the column):")
    for source, rates in stats["fill_percent"].items():
        cells = ", ".join(f"{c} {p:.0f}" for c, p in rates.items() if p < 100) or "all complete"
        lines.append(f"  {source:<14} {cells}")
    return "\n".join(lines) + "\n"
