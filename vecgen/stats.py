"""``vecgen fuzz-stats``: what the duplicates of a run look like, from its files and truth alone.

For each duplicate of a customer-like source, the record it was copied from is
looked up through ``truth.duplicate_of`` and every field is compared (the
address also as house number and street, as Febrl counts them).
"""

from __future__ import annotations

import glob
import os
from collections import Counter
from typing import Any

import polars as pl

from vecgen.catalog import ADDRESS_PARTS, FLAT_NAMES, FORMATS, PERSON_COLUMNS
from vecgen.errors import VecgenError
from vecgen.fuzz_vectorized import address_parts

COMPARED = tuple(
    part
    for column in PERSON_COLUMNS
    for part in (ADDRESS_PARTS if column == "addr_ln_1_txt" else (column,))
)
ID_COLUMN = {"customers": "customer_id", "pos_customers": "customer_id"}


class StatsError(VecgenError, ValueError):
    """The folder holds no run that fuzz-stats can read."""


def find_file(out: str, source: str) -> str:
    """Return the newest file of ``source`` under ``out`` (layout lake or flat, any format)."""
    candidates = []
    for ext in FORMATS.values():
        candidates += glob.glob(os.path.join(out, source, "dt=*", f"part-*.{ext}"))
        candidates += glob.glob(os.path.join(out, f"*{FLAT_NAMES[source]}.{ext}"))
    # Flat names of other sources end in the same stem (…CustomersPos ends in Pos, not Customers).
    candidates = [
        c
        for c in candidates
        if os.path.basename(c).split(".")[0].endswith(FLAT_NAMES[source]) or "dt=" in c
    ]
    if not candidates:
        msg = f"no '{source}' file under {out}; give the --out folder of a vecgen run"
        raise StatsError(msg)
    return max(candidates, key=lambda p: (os.path.dirname(p), os.path.basename(p)))


def read_any(path: str) -> pl.DataFrame:
    """Read a vecgen file (CSV, Parquet or JSON lines) with every column as text."""
    if path.endswith(".parquet"):
        frame = pl.read_parquet(path)
    elif path.endswith(".json"):
        frame = pl.read_ndjson(path)
    else:
        return pl.read_csv(path, infer_schema=False).with_columns(pl.all().replace("", None))
    return frame.with_columns(
        pl.col(pl.Date).dt.strftime("%m/%d/%Y"), pl.exclude(pl.Date).cast(pl.String)
    )


def _split_address(frame: pl.DataFrame) -> pl.DataFrame:
    number, street = address_parts(frame["addr_ln_1_txt"])
    return frame.with_columns(number, street)


def fuzz_stats(out: str, source: str = "customers") -> dict[str, Any]:
    """Compute the corruption statistics of ``source``'s duplicates in the run under ``out``.

    Returns per-field change rates (percent of duplicates), the histogram of
    fields changed per duplicate, cluster sizes (duplicates per duplicated
    person) and the kernel mix from the truth's corruption log.
    """
    if source not in ID_COLUMN:
        msg = f"fuzz-stats reads {', '.join(ID_COLUMN)}, not '{source}'"
        raise StatsError(msg)
    records = _split_address(read_any(find_file(out, source)))
    truth = read_any(find_file(out, "truth")).filter(pl.col("source") == source)
    dupes = truth.filter(pl.col("is_duplicate").str.to_lowercase() == "true")
    if dupes.height == 0:
        msg = f"the run under {out} has no duplicates in '{source}' (dupe_rate 0?)"
        raise StatsError(msg)
    key = ID_COLUMN[source]
    fields = [c for c in COMPARED if c in records.columns]
    left = records.select(pl.col(key).alias("record_id"), *fields)
    right = records.select(
        pl.col(key).alias("duplicate_of"), *[pl.col(c).alias(c + "__orig") for c in fields]
    )
    pairs = (
        dupes.select("record_id", "duplicate_of", "entity_id", "corruptions")
        .join(left, on="record_id")
        .join(right, on="duplicate_of")
    )
    differs = pairs.select([pl.col(c).ne_missing(pl.col(c + "__orig")).alias(c) for c in fields])
    n = pairs.height
    per_field = {c: round(100.0 * int(differs[c].sum()) / n, 2) for c in fields}
    changed = differs.select(pl.sum_horizontal(pl.all())).to_series()
    hist = changed.value_counts().sort(changed.name)
    whole = differs.select(
        pl.sum_horizontal(pl.exclude("addr_number", "addr_street"))
        + (pl.col("addr_number") | pl.col("addr_street")).cast(pl.Int64)
    ).to_series()
    clusters = dupes.group_by("entity_id").len()["len"].value_counts().sort("len")
    kernels: Counter[str] = Counter()
    for log in dupes["corruptions"].drop_nulls().to_list():
        kernels.update(item for item in log.split("|") if item)
    return {
        "source": source,
        "duplicates": n,
        "records": records.height,
        "fields_compared": len(fields),
        "field_change_percent": per_field,
        "fields_changed_histogram": {int(k): round(100.0 * v / n, 2) for k, v in hist.iter_rows()},
        "mean_fields_changed": round(int(changed.sum()) / n, 3),
        "mean_fields_changed_address_as_one": round(int(whole.sum()) / n, 3),
        "unchanged_duplicates": int((changed == 0).sum()),
        "cluster_sizes": {int(k): int(v) for k, v in clusters.iter_rows()},
        "copies_of_copies": int((dupes["duplicate_of"] != dupes["entity_id"]).sum()),
        "kernel_mix": dict(kernels.most_common()),
    }


def render(stats: dict[str, Any]) -> str:
    """Format :func:`fuzz_stats` output as text tables."""
    lines = [
        f"{stats['source']}: {stats['duplicates']:,} duplicates of {stats['records']:,} records",
        "",
        "field                % of duplicates changed",
    ]
    for f, pct in stats["field_change_percent"].items():
        lines.append(f"  {f:<18} {pct:6.2f}  {'#' * round(pct / 2.5)}")
    lines += ["", "fields changed per duplicate   % of duplicates"]
    for k, pct in stats["fields_changed_histogram"].items():
        lines.append(f"  {k:>3}                          {pct:6.2f}")
    lines.append(
        f"  mean {stats['mean_fields_changed']:.2f} of {stats['fields_compared']} fields "
        f"({stats['mean_fields_changed_address_as_one']:.2f} with the address as one field); "
        f"unchanged: {stats['unchanged_duplicates']}"
    )
    lines += ["", "duplicates per duplicated person   people"]
    for size, count in stats["cluster_sizes"].items():
        lines.append(f"  {size:>3}                              {count:,}")
    lines.append(f"  copies of copies: {stats['copies_of_copies']:,}")
    lines += ["", "kernel mix (field:kernel, count)"]
    total = sum(stats["kernel_mix"].values()) or 1
    for item, count in list(stats["kernel_mix"].items())[:40]:
        lines.append(f"  {item:<40} {count:>9,}  {100 * count / total:5.1f}%")
    if len(stats["kernel_mix"]) > 40:
        lines.append(f"  ... {len(stats['kernel_mix']) - 40} more (--json for all)")
    return "\n".join(lines) + "\n"
