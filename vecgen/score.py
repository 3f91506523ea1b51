"""``vecgen score``: how well a matcher found the same people, measured against the truth file.

Predictions are either pairs (``record_id_l``, ``record_id_r``) or clusters
(``record_id``, ``cluster_id``), CSV or Parquet; with ``source``/``source_l``/
``source_r`` columns, records are matched on (source, record_id). Records the
predictions do not mention are singletons. Pairs are turned into clusters by
connected components for the cluster metrics.

Everything is counted from group sizes with Polars joins: true pairs are never
enumerated, and predicted pairs only as given.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from vecgen.errors import VecgenError, cause


class ScoreError(VecgenError, ValueError):
    """The truth or prediction file cannot be scored (unknown ids, wrong columns, ...)."""


@dataclass(frozen=True)
class Inputs:
    """Truth and predictions as integer codes, one row per truth record."""

    entity: np.ndarray  # entity code per record
    cluster: np.ndarray  # predicted cluster code per record (singletons get their own)
    source_of_dupe: np.ndarray  # for each duplicate record: index of the record it copies
    dupe_rows: np.ndarray  # indices of duplicate records whose source is known
    corruptions: pl.Series  # per duplicate in dupe_rows
    pairs: np.ndarray | None  # predicted pairs as (m, 2) record indices, when pairs were given


def _read(path: str) -> pl.DataFrame:
    p = Path(path)
    if not p.exists():
        raise ScoreError(f"{path} does not exist")
    if p.is_dir():  # a run's --out folder: its newest day's truth (every part)
        from vecgen.stats import StatsError, day_files

        try:
            files = day_files(path, "truth")
        except StatsError as exc:
            raise ScoreError(str(exc)) from None
        frames = [_read(f) for f in files]
        return frames[0] if len(frames) == 1 else pl.concat(frames, how="diagonal_relaxed")
    try:
        if p.suffix == ".parquet":
            return pl.read_parquet(p).cast(pl.String)
        if p.suffix in JSON_SUFFIXES:  # JSON lines, as vecgen writes them
            return pl.read_ndjson(p, infer_schema_length=None).cast(pl.String)
        return pl.read_csv(p, infer_schema=False)
    except Exception as exc:  # polars raises several kinds; all mean "cannot read"
        raise ScoreError(
            f"{path} cannot be read as CSV, Parquet or JSON lines ({cause(exc)}); "
            "give a file of a vecgen run or your matcher's CSV/Parquet/JSON-lines output"
        ) from None


JSON_SUFFIXES = (".json", ".jsonl", ".ndjson")


def _key(frame: pl.DataFrame, record: str, source: str | None) -> pl.Expr:
    if source and source in frame.columns:
        return pl.concat_str([pl.col(source), pl.col(record)], separator="\x1f")
    return pl.col(record)


def _codes(values: pl.Series) -> np.ndarray:
    """Dense integer codes of a column (equal values, equal codes)."""
    codes: np.ndarray = values.rank("dense").to_numpy().astype(np.int64) - 1
    return codes


def _index(keys: pl.DataFrame, lookup: pl.DataFrame, path: str) -> np.ndarray:
    """Truth row index of every key (one string join); unknown keys are an error."""
    found = keys.with_row_index("__row").join(lookup, on="key", how="left").sort("__row")
    missing = found.filter(pl.col("idx").is_null())
    if missing.height:
        sample = ", ".join(repr(k) for k in missing["key"].unique().head(3).to_list())
        n = missing["key"].n_unique()
        msg = f"{path}: {n:,} record ids are not in the truth file (e.g. {sample}); score predictions of the same run"
        raise ScoreError(msg)
    index: np.ndarray = found["idx"].to_numpy().astype(np.int64)
    return index


LEVELS = {"entity": "entity_id", "household": "household_id"}


def load_inputs(
    truth_path: str,
    predictions_path: str,
    level: str = "entity",
    sources: tuple[str, ...] = (),
    read: tuple[pl.DataFrame, pl.DataFrame] | None = None,
) -> Inputs:
    """Read, check and encode truth and predictions.

    ``level`` is what a true match is: the same person (``entity``) or the same
    household (``household``: people who live together, and all their records).
    ``read`` holds the two files when the caller has read them already.
    """
    everyone = _read(truth_path) if read is None else read[0]
    truth = _chosen_sources(everyone, sources, truth_path)
    target = LEVELS[level]
    for column in ("record_id", target):
        if column not in truth.columns:
            raise ScoreError(
                f"{truth_path}: column '{column}' is missing; give the truth file of a vecgen run"
            )
    pred = _read(predictions_path) if read is None else read[1]
    pairs_given = {"record_id_l", "record_id_r"} <= set(pred.columns)
    if not (pairs_given or {"record_id", "cluster_id"} <= set(pred.columns)):
        msg = (
            f"{predictions_path}: need columns record_id_l, record_id_r (pairs) or record_id, cluster_id "
            f"(clusters); found {', '.join(pred.columns)}"
        )
        raise ScoreError(msg)
    by_source = "source" in pred.columns or "source_l" in pred.columns
    keys = truth.select(_key(truth, "record_id", "source" if by_source else None).alias("key"))
    if sources:  # predictions about other sources' records are not this score's business
        pred = _within(pred, everyone, keys, by_source, pairs_given)

    n = keys.height
    if keys["key"].n_unique() != n:
        dup = keys.filter(pl.col("key").is_duplicated())["key"][0]
        raise ScoreError(
            f"{truth_path}: record {dup!r} appears twice; add source columns if ids repeat across sources"
        )
    lookup = keys.with_row_index("idx")
    entity = _codes(
        truth[target].fill_null(truth["entity_id"]) if level == "household" else truth[target]
    )
    source_of_dupe, dupe_rows, corruptions = _duplicates(truth, lookup, by_source)
    if pairs_given:
        pairs = _predicted_pairs(pred, lookup, by_source, predictions_path)
        return Inputs(entity, _components(pairs, n), source_of_dupe, dupe_rows, corruptions, pairs)
    cluster = _predicted_clusters(pred, keys, lookup, by_source, predictions_path)
    return Inputs(entity, cluster, source_of_dupe, dupe_rows, corruptions, None)


def _chosen_sources(truth: pl.DataFrame, sources: tuple[str, ...], path: str) -> pl.DataFrame:
    """Keep the truth rows of ``sources`` (all when none is named); refuse an unknown source."""
    if not sources:
        return truth
    if "source" not in truth.columns:
        msg = f"{path}: column 'source' is missing; give the truth file of a vecgen run"
        raise ScoreError(msg)
    present: list[str] = sorted(set(truth["source"].unique().drop_nulls()))
    unknown = [s for s in sources if s not in present]
    if unknown:
        msg = (
            f"{path}: no records of source '{unknown[0]}'; "
            f"sources in this truth file: {', '.join(present) or 'none'}"
        )
        raise ScoreError(msg)
    return truth.filter(pl.col("source").is_in(list(sources)))


def _duplicates(
    truth: pl.DataFrame, lookup: pl.DataFrame, by_source: bool
) -> tuple[np.ndarray, np.ndarray, pl.Series]:
    """Each duplicate's row, the row of the record it copies, and its corruptions (for recall)."""
    n = truth.height
    is_dupe = (
        (truth["is_duplicate"].str.to_lowercase() == "true").fill_null(False).to_numpy()
        if "is_duplicate" in truth.columns
        else np.zeros(n, dtype=bool)
    )
    dupe_rows = np.flatnonzero(is_dupe)
    source_of_dupe = np.zeros(0, dtype=np.int64)
    corruptions = pl.Series(dtype=pl.String)
    if len(dupe_rows) and "duplicate_of" in truth.columns:
        of = (
            truth[dupe_rows]
            .select(
                (
                    pl.concat_str([pl.col("source"), pl.col("duplicate_of")], separator="\x1f")
                    if by_source
                    else pl.col("duplicate_of")
                ).alias("key"),
                pl.col("corruptions")
                if "corruptions" in truth.columns
                else pl.lit(None, dtype=pl.String).alias("corruptions"),
            )
            .with_row_index("__row")
            .join(lookup, on="key", how="left")
            .sort("__row")
        )
        known = of["idx"].is_not_null().to_numpy()
        dupe_rows = dupe_rows[known]
        source_of_dupe = of["idx"].to_numpy()[known].astype(np.int64)
        corruptions = of["corruptions"].filter(pl.Series(known))
    return source_of_dupe, dupe_rows, corruptions


def _predicted_pairs(
    pred: pl.DataFrame, lookup: pl.DataFrame, by_source: bool, path: str
) -> np.ndarray:
    """Return the distinct predicted pairs as ``(low row, high row)``, self-pairs dropped."""
    raw = pred.select(
        _key(pred, "record_id_l", "source_l" if by_source else None).alias("l"),
        _key(pred, "record_id_r", "source_r" if by_source else None).alias("r"),
    )
    both = _index(
        pl.concat([raw.select(pl.col("l").alias("key")), raw.select(pl.col("r").alias("key"))]),
        lookup,
        path,
    )
    left, right = both[: raw.height], both[raw.height :]
    lo, hi = np.minimum(left, right), np.maximum(left, right)
    keep = lo != hi
    pairs: np.ndarray = (
        np.unique(np.stack([lo[keep], hi[keep]], axis=1), axis=0)
        if keep.any()
        else np.zeros((0, 2), np.int64)
    )
    return pairs


def _predicted_clusters(
    pred: pl.DataFrame, keys: pl.DataFrame, lookup: pl.DataFrame, by_source: bool, path: str
) -> np.ndarray:
    """Each truth row's predicted cluster; a record the predictions leave out is a singleton."""
    n = keys.height
    rows = _index(
        pred.select(_key(pred, "record_id", "source" if by_source else None).alias("key")),
        lookup,
        path,
    )
    if len(np.unique(rows)) != len(rows):
        seen = np.bincount(rows, minlength=n)
        dup = keys["key"][int(np.flatnonzero(seen > 1)[0])]
        raise ScoreError(
            f"{path}: record {dup!r} is in more than one row; give one cluster per record"
        )
    if pred["cluster_id"].null_count():
        empty = pred.filter(pl.col("cluster_id").is_null())
        example = empty["record_id"][0] if "record_id" in empty.columns else "?"
        raise ScoreError(
            f"{path}: cluster_id is empty for {empty.height:,} records "
            f"(e.g. {example!r}); give every record a cluster"
        )
    given = _codes(pred["cluster_id"])
    cluster = np.arange(n, dtype=np.int64) + (
        int(given.max()) + 1 if len(given) else 0
    )  # singletons
    cluster[rows] = given
    return cluster


def _within(
    pred: pl.DataFrame, everyone: pl.DataFrame, kept: pl.DataFrame, by_source: bool, pairs: bool
) -> pl.DataFrame:
    """Drop predictions naming records of sources left out (unknown records stay: an error)."""
    source = "source" if by_source else None
    outside = (
        everyone.select(_key(everyone, "record_id", source).alias("key"))
        .join(kept, on="key", how="anti")["key"]
        .implode()  # (one list to look in: a bare Series of the same type is ambiguous)
    )
    if pairs:
        left = _key(pred, "record_id_l", "source_l" if by_source else None)
        right = _key(pred, "record_id_r", "source_r" if by_source else None)
        return pred.filter(~left.is_in(outside) & ~right.is_in(outside))
    return pred.filter(~_key(pred, "record_id", source).is_in(outside))


def _components(pairs: np.ndarray, n: int) -> np.ndarray:
    """Return the connected components of the predicted pairs (vectorized union-find)."""
    parent = np.arange(n, dtype=np.int64)
    if len(pairs) == 0:
        return parent
    a, b = pairs[:, 0], pairs[:, 1]
    while True:
        # Hook each pair's larger root under the smaller, then compress paths fully.
        ra, rb = parent[a], parent[b]
        lo, hi = np.minimum(ra, rb), np.maximum(ra, rb)
        if (lo == hi).all():
            return parent
        np.minimum.at(parent, hi, lo)
        while True:
            grand = parent[parent]
            if (grand == parent).all():
                break
            parent = grand


def _pair_count(sizes: np.ndarray) -> float:
    return float((sizes.astype(np.float64) * (sizes - 1) / 2).sum())


def score(
    truth_path: str,
    predictions_path: str,
    level: str = "entity",
    sources: tuple[str, ...] = (),
    read: tuple[pl.DataFrame, pl.DataFrame] | None = None,
) -> dict[str, Any]:
    """Score predictions against a vecgen truth file (see the module docstring).

    ``level="household"`` counts two records as a true match when their
    people live together (truth's ``household_id``), for household linking.
    ``sources`` limits the truth to the records of those sources (the files
    your matcher read); by default every source's records count.
    """
    data = load_inputs(truth_path, predictions_path, level, sources, read)
    entity, cluster = data.entity, data.cluster
    n = len(entity)
    entity_sizes = np.bincount(entity)
    _, cluster_of, cluster_sizes = np.unique(cluster, return_inverse=True, return_counts=True)
    # (cluster, entity) groups as one integer key.
    both = cluster_of.astype(np.int64) * (int(entity.max()) + 1 if n else 1) + entity
    _, group_of, group_sizes = np.unique(both, return_inverse=True, return_counts=True)
    true_pairs = _pair_count(entity_sizes)
    if data.pairs is not None:
        predicted_pairs = float(len(data.pairs))
        tp = float((entity[data.pairs[:, 0]] == entity[data.pairs[:, 1]]).sum())
    else:
        predicted_pairs = _pair_count(cluster_sizes)
        tp = _pair_count(group_sizes)
    precision = tp / predicted_pairs if predicted_pairs else None
    recall = tp / true_pairs if true_pairs else None
    # B-cubed from group sizes: every record of a (cluster, entity) group scores alike.
    per_record = group_sizes[group_of].astype(np.float64)
    b3_p = float((per_record / cluster_sizes[cluster_of]).mean()) if n else 0.0
    b3_r = float((per_record / entity_sizes[entity]).mean()) if n else 0.0
    # Recall per corruption: a duplicate is found if it shares a cluster with its source record.
    found = cluster[data.dupe_rows] == cluster[data.source_of_dupe]
    kinds = (
        pl.DataFrame({"found": found, "kind": data.corruptions.str.split("|")})
        .explode("kind")
        .filter(pl.col("kind").is_not_null() & (pl.col("kind") != ""))
        .group_by("kind")
        .agg(pl.len().alias("duplicates"), pl.col("found").mean().alias("recall"))
        .sort("recall", "kind")
    )
    return {
        "records": n,
        "true_entities": int((entity_sizes > 0).sum()),
        "predicted_clusters": len(cluster_sizes),
        "true_pairs": int(true_pairs),
        "predicted_pairs": int(predicted_pairs),
        "true_positive_pairs": int(tp),
        "pairwise": {"precision": precision, "recall": recall, "f1": _f1(precision, recall)},
        "bcubed": {"precision": b3_p, "recall": b3_r, "f1": _f1(b3_p, b3_r)},
        "duplicates_found": {
            "total": len(found),
            "recall": float(found.mean()) if len(found) else None,
        },
        "recall_by_corruption": {
            k: {"duplicates": d, "recall": r}
            for k, d, r in kinds.select("kind", "duplicates", "recall").iter_rows()
        },
    }


def _f1(p: float | None, r: float | None) -> float | None:
    if p is None or r is None:
        return None
    return 0.0 if p + r == 0 else 2 * p * r / (p + r)


def score_each_source(
    truth_path: str, predictions_path: str, level: str = "entity"
) -> dict[str, dict[str, Any]]:
    """Score the predictions once per source of the truth (``vecgen score --source all``).

    Both files are read once, not once per source.
    """
    read = (_read(truth_path), _read(predictions_path))
    truth = read[0]
    sources = (
        truth["source"].drop_nulls().unique(maintain_order=True).to_list()
        if "source" in truth.columns
        else []
    )
    return {
        source: score(truth_path, predictions_path, level, (source,), read) for source in sources
    }


def render_each(results: dict[str, dict[str, Any]]) -> str:
    """Format :func:`score_each_source` output: one row per source."""

    def fmt(x: float | None) -> str:
        return "   n/a" if x is None else f"{x:6.4f}"

    lines = [
        f"{'source':<18} {'records':>10} {'true pairs':>11}  precision  recall      F1",
    ]
    for source, r in results.items():
        pw = r["pairwise"]
        lines.append(
            f"{source:<18} {r['records']:>10,} {int(r['true_pairs']):>11,}     "
            f"{fmt(pw['precision'])}  {fmt(pw['recall'])}  {fmt(pw['f1'])}"
        )
    return "\n".join(lines) + "\n"


def render(result: dict[str, Any]) -> str:
    """Format :func:`score` output as text."""

    def fmt(x: float | None) -> str:
        return "   n/a" if x is None else f"{x:6.4f}"

    pw, b3 = result["pairwise"], result["bcubed"]
    lines = [
        f"records {result['records']:,}; true entities {result['true_entities']:,}; "
        f"predicted clusters {result['predicted_clusters']:,}",
        f"pairs: true {result['true_pairs']:,}, predicted {result['predicted_pairs']:,}, "
        f"correct {result['true_positive_pairs']:,}",
        "",
        "             precision  recall      F1",
        f"pairwise        {fmt(pw['precision'])}  {fmt(pw['recall'])}  {fmt(pw['f1'])}",
        f"B-cubed         {fmt(b3['precision'])}  {fmt(b3['recall'])}  {fmt(b3['f1'])}",
    ]
    kinds = result["recall_by_corruption"]
    if kinds:
        found = result["duplicates_found"]
        lines += [
            "",
            f"duplicates found: {fmt(found['recall'])} of {found['total']:,}; weakest corruptions first:",
        ]
        for kind, v in list(kinds.items())[:25]:
            lines.append(f"  {kind:<40} {v['duplicates']:>9,}  recall {v['recall']:.3f}")
    return "\n".join(lines) + "\n"
