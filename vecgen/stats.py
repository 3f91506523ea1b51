"""``vecgen fuzz-stats``: what the duplicates of a run look like, from its files and truth alone.

For each duplicate of a customer-like source, the record it was copied from is
looked up through ``truth.duplicate_of`` and every field is compared (the
address also as house number and street, as Febrl counts them).
"""

from __future__ import annotations

import contextlib
import glob
import os
import re
from collections import Counter
from collections.abc import Iterator
from typing import Any

import polars as pl

from vecgen.catalog import ADDRESS_PARTS, FLAT_NAMES, FORMATS, PERSON_COLUMNS, SOURCE_INFO
from vecgen.errors import VecgenError, cause
from vecgen.fuzz_vectorized import address_parts
from vecgen.output import tables

COMPARED = tuple(
    part
    for column in PERSON_COLUMNS
    for part in (ADDRESS_PARTS if column == "addr_ln_1_txt" else (column,))
)
ID_COLUMN = {n: i.person_id for n, i in SOURCE_INFO.items() if i.person_id}


class StatsError(VecgenError, ValueError):
    """The folder holds no run that fuzz-stats can read."""


def find_file(out: str, source: str) -> str:
    """Return the newest file of ``source`` under ``out`` (layout lake or flat, any format)."""
    candidates = []
    stem = FLAT_NAMES.get(source)  # a declared source is found in the lake layout only
    for ext in dict.fromkeys(FORMATS.values()):
        candidates += tables.lake_files(os.path.join(out, source), "dt=*", ext)
        if stem:
            candidates += glob.glob(os.path.join(out, f"*{stem}.{ext}"))
    # Flat names of other sources end in the same stem (…CustomersPos ends in Pos, not Customers).
    candidates = [
        c for c in candidates if "dt=" in c or os.path.basename(c).split(".")[0].endswith(str(stem))
    ]
    if not candidates:
        msg = f"no '{source}' file under {out}; give the --out folder of a vecgen run"
        raise StatsError(msg)
    return max(candidates, key=lambda p: (os.path.dirname(p), os.path.basename(p)))


def day_files(out: str, source: str, day: str | None = None) -> list[str]:
    """Every file of one day of ``source`` under ``out`` (appended parts included).

    ``day`` is ``None`` (the newest day), a date ``YYYY-MM-DD`` or ``"all"``
    (every day). In the lake layout a day is each ``part-*`` file of its
    ``dt=`` partition, in the format of the newest file; in the flat layout its
    file.
    """
    newest = find_file(out, source)
    folder = os.path.dirname(newest)
    ext = os.path.splitext(newest)[1]
    lake = os.path.basename(folder).startswith("dt=")
    source_folder = os.path.join(out, source)
    if day is None:
        if not lake:
            return [newest]
        return tables.lake_files(source_folder, os.path.basename(folder), ext[1:])
    if lake:
        pattern = "dt=*" if day == "all" else f"dt={day}"
        found = tables.lake_files(source_folder, pattern, ext[1:])
    else:
        # Flat names: YYYY_MM_DD<Name>.<ext> (without --date-prefix, one undated file).
        base = os.path.basename(newest)
        dated = re.match(r"\d{4}_\d{2}_\d{2}", base) is not None
        stem = base[10:] if dated else base
        prefix = ("????_??_??" if day == "all" else day.replace("-", "_")) if dated else ""
        found = sorted(glob.glob(os.path.join(os.path.dirname(newest), f"{prefix}{stem}")))
    if not found:
        days = sorted(
            os.path.basename(d)[3:]
            for d in glob.glob(os.path.join(os.path.dirname(folder), "dt=*"))
        )
        msg = (
            f"no '{source}' files of {day} under {out}; "
            f"days there: {', '.join(days) or 'see the file names'} (or --date all)"
        )
        raise StatsError(msg)
    return found


# The columns a tool needs in a file it reads back (a damaged or foreign file lacks them).
NEEDED = {
    "truth": ("source", "record_id", "entity_id", "is_duplicate"),
    "customers": ("customer_id",),
    "pos_customers": ("customer_id",),
}


@contextlib.contextmanager
def reading(path: str, source: str) -> Iterator[None]:
    """Turn any error while reading ``path`` back into one line naming it (files are untrusted)."""
    try:
        yield
    except Exception as exc:  # Polars and pyarrow raise many kinds: all mean "damaged"
        msg = f"{path} cannot be read as a vecgen {source} file ({cause(exc)}); regenerate that day"
        raise StatsError(msg) from None


def read_day(out: str, source: str, day: str | None = None) -> pl.DataFrame:
    """Read :func:`day_files` as one frame, every column as text (files read back are untrusted)."""
    frames = []
    for path in day_files(out, source, day):
        with reading(path, source):
            frame = read_any(path)
        missing = [c for c in NEEDED.get(source, ()) if c not in frame.columns]
        if missing:
            msg = f"{path} is not a vecgen {source} file (no column '{missing[0]}'); regenerate that day"
            raise StatsError(msg)
        frames.append(frame)
    return frames[0] if len(frames) == 1 else pl.concat(frames, how="diagonal_relaxed")


def read_any(path: str) -> pl.DataFrame:
    """Read a vecgen file (CSV, Parquet or JSON lines) with every column as text."""
    if path.endswith(".parquet"):
        frame = pl.read_parquet(path)
    elif path.endswith(".json"):
        # The whole file sets the types: a column null in its first rows is still text.
        frame = pl.read_ndjson(path, infer_schema_length=None)
    else:
        return pl.read_csv(path, infer_schema=False).with_columns(pl.all().replace("", None))
    return frame.with_columns(
        pl.col(pl.Date).dt.strftime("%m/%d/%Y"), pl.exclude(pl.Date).cast(pl.String)
    )


def _split_address(frame: pl.DataFrame) -> pl.DataFrame:
    number, street = address_parts(frame["addr_ln_1_txt"])
    return frame.with_columns(number, street)


def fuzz_stats(out: str, source: str = "customers", day: str | None = None) -> dict[str, Any]:
    """Compute the corruption statistics of ``source``'s duplicates in the run under ``out``.

    Returns per-field change rates (percent of duplicates), the histogram of
    fields changed per duplicate, cluster sizes (duplicates per duplicated
    person) and the kernel mix from the truth's corruption log.
    """
    # A person file is read first: a wrong folder is named by the file it lacks.
    records = _split_address(read_day(out, source, day)) if source in ID_COLUMN else None
    every = read_day(out, "truth", day)
    truth = every.filter(pl.col("source") == source)
    dupes = truth.filter(pl.col("is_duplicate").str.to_lowercase() == "true")
    if dupes.height == 0:
        with_dupes = every.filter(pl.col("is_duplicate").str.to_lowercase() == "true")
        names = ", ".join(with_dupes["source"].unique(maintain_order=True).to_list()) or "none"
        msg = (
            f"the run under {out} has no duplicates in '{source}' (dupe_rate 0, or a source "
            f"without duplicates); sources with duplicates: {names}"
        )
        raise StatsError(msg)
    if records is None:
        return _stats_from_log(source, truth, dupes)
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
    whole = differs.select(
        pl.sum_horizontal(pl.exclude("addr_number", "addr_street"))
        + (pl.col("addr_number") | pl.col("addr_street")).cast(pl.Int64)
    ).to_series()
    return _summary(source, records.height, dupes, differs, whole)


def _summary(
    source: str,
    records: int,
    dupes: pl.DataFrame,
    differs: pl.DataFrame,
    address_as_one: pl.Series | None = None,
) -> dict[str, Any]:
    """Return the statistics of a source from ``differs`` (a boolean column per field compared)."""
    n = differs.height
    if n == 0:
        msg = (
            f"the {source} file holds none of the duplicates its truth file names: the files "
            "are not of one run, or one is damaged; regenerate that day"
        )
        raise StatsError(msg)
    per_field = {c: round(100.0 * int(differs[c].sum()) / n, 2) for c in differs.columns}
    changed = (
        differs.select(pl.sum_horizontal(pl.all())).to_series()
        if differs.width
        else pl.Series("changed", [0] * n)
    )
    whole = changed if address_as_one is None else address_as_one
    hist = changed.value_counts().sort(changed.name)
    return {
        "source": source,
        "duplicates": n,
        "records": records,
        "fields_compared": differs.width,
        "field_change_percent": per_field,
        "fields_changed_histogram": {int(k): round(100.0 * v / n, 2) for k, v in hist.iter_rows()},
        "mean_fields_changed": round(int(changed.sum()) / n, 3),
        "mean_fields_changed_address_as_one": round(int(whole.sum()) / n, 3),
        "unchanged_duplicates": int((changed == 0).sum()),
        **_clusters_and_kernels(dupes),
    }


def _clusters_and_kernels(dupes: pl.DataFrame) -> dict[str, Any]:
    """Cluster sizes, copies of copies and the kernel mix of one source's duplicate truth rows."""
    clusters = dupes.group_by("entity_id").len()["len"].value_counts().sort("len")
    kernels: Counter[str] = Counter()
    for log in dupes["corruptions"].drop_nulls().to_list():
        kernels.update(item for item in log.split("|") if item)
    return {
        "cluster_sizes": {int(k): int(v) for k, v in clusters.iter_rows()},
        # A copy of a copy names another duplicate as the record it was made from.
        "copies_of_copies": int(dupes["duplicate_of"].is_in(dupes["record_id"].implode()).sum()),
        "kernel_mix": dict(kernels.most_common()),
    }


def _stats_from_log(source: str, truth: pl.DataFrame, dupes: pl.DataFrame) -> dict[str, Any]:
    """Statistics of a source without a person file layout (a declared source), from truth alone.

    Its corruption log names exactly the columns that differ from the original,
    so the change rates need no comparison of the files.
    """
    changed_fields = (
        dupes["corruptions"].fill_null("").str.split("|").list.eval(
            pl.element().str.split(":").list.first()
        ).list.unique().list.drop_nulls()
        .list.eval(pl.element().filter(pl.element() != ""))
    )  # fmt: skip
    fields = sorted({f for row in changed_fields.to_list() for f in row})
    differs = pl.DataFrame(
        [changed_fields.list.contains(f).alias(f) for f in fields], height=dupes.height
    )
    return _summary(source, truth.height, dupes, differs)


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
