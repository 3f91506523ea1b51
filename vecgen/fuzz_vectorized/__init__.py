"""Vectorized fuzzing: the kernel registry and the per-field mixture applier.

:func:`fuzz_frame` corrupts the profile's fields of a frame of duplicates and
returns the corruption log (``field:kernel|field:kernel``) of what changed.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import polars as pl

from vecgen.catalog import ADDRESS_PARTS
from vecgen.fuzz_vectorized import kernels as k
from vecgen.fuzz_vectorized import text as t
from vecgen.fuzz_vectorized import values as v
from vecgen.fuzz_vectorized.events import EVENT_COLUMNS, EVENT_FUNCTIONS
from vecgen.fuzz_vectorized.kernels import (
    Kernel,
    KernelContext,
    changed_values,
    null_strings,
    present,
)
from vecgen.fuzz_vectorized.profiles import (
    DATE_KERNELS,
    KEEP,
    PROFILES,
    FieldMix,
    Profile,
    get_profile,
    selection_weights,
)
from vecgen.rng import U64, Stream, cumulative
from vecgen.vocab import Vocab

KERNELS: dict[str, Kernel] = {
    # typing
    "swap_adjacent": k.swap_adjacent,
    "fat_finger": k.fat_finger,
    "keyboard_substitution": t.keyboard_substitution,
    "insert_char": t.insert_char,
    "delete_char": t.delete_char,
    "space_insert": t.space_insert,
    "space_remove": t.space_remove,
    # reading and hearing
    "ocr": t.ocr,
    "phonetic": t.phonetic,
    # formatting
    "upper": k.upper,
    "lower": t.lower,
    "title_case": t.title_case,
    "initial": k.initial,
    "upper_first3": k.upper_first3,
    "reverse_words": k.reverse_words,
    "middle_initial": t.middle_initial,
    "name_suffix": t.name_suffix,
    "punctuation": t.punctuation,
    "abbreviate": t.abbreviate,
    # values
    "nickname": k.nickname,
    "formal_name": v.formal_name,
    "blank": k.blank,
    "placeholder": v.placeholder,
    "replace": k.replace,
    # typed
    "date_edit": k.date_edit,
    "date_year": v.date_year,
    "date_shift_days": v.date_shift_days,
    "date_swap_day_month": v.date_swap_day_month,
    "date_jan1": v.date_jan1,
    "date_1900": v.date_1900,
    "digit": v.digit,
    "new_area_code": k.new_area_code,
    "email_local_typo": v.email_local_typo,
    "free_mail_domain": k.free_mail_domain,
    "gender_flip": k.gender_flip,
    "state_form": v.state_form,
}


__all__ = [
    "DATE_KERNELS",
    "KERNELS",
    "PROFILES",
    "KernelContext",
    "Profile",
    "force_change",
    "fuzz_field",
    "fuzz_frame",
    "get_profile",
    "join_log",
    "null_strings",
]


def join_log(labels: list[pl.Series], n: int) -> pl.Series:
    """Join per-field labels (``field:kernel`` or null) into the corruption log, row by row.

    A row without a label gets ``""`` (also when there are no labels at all).

    Examples
    --------
    >>> join_log([pl.Series(["a:upper", None]), pl.Series(["b:digit", None])], 2).to_list()
    ['a:upper|b:digit', '']

    """
    frame = pl.DataFrame(labels) if labels else pl.DataFrame({"_": null_strings(n)})
    joined = frame.select(pl.concat_str(pl.all(), separator="|", ignore_nulls=True))
    return joined.to_series().alias("corruptions")


def get_kernel(name: str) -> Kernel:
    """Return the kernel called ``name``; an unknown name lists the valid ones."""
    try:
        return KERNELS[name]
    except KeyError:
        msg = f"unknown fuzz kernel '{name}'; valid kernels: {', '.join(KERNELS)}"
        raise KeyError(msg) from None


def force_change(
    values: pl.Series, labels: pl.Series, where: np.ndarray, kernel: str, ctx: KernelContext
) -> tuple[pl.Series, pl.Series]:
    """Apply ``kernel`` to ``values`` at ``where`` (rows that must change) and label them.

    Only rows the kernel really changed get ``field:kernel`` in ``labels``;
    ``ctx`` holds the rows' keys and the field's name.
    """
    before = values[where]
    forced = get_kernel(kernel)(before, ctx)
    took = where[changed_values(forced, before)]
    return values.clone().scatter(where, forced), labels.clone().scatter(
        took, f"{ctx.field}:{kernel}"
    )


def fuzz_field(
    values: pl.Series,
    mix: FieldMix,
    stream: Stream,
    rows: U64,
    vocab: Vocab,
    pool: pl.Series | None = None,
) -> tuple[pl.Series, pl.Series]:
    """Apply ``mix`` to one column: one kernel per row, run only on its rows.

    Returns the new column and, per row, ``field:kernel`` where the value
    changed (null where it did not).


    Examples
    --------
    >>> import numpy as np, polars as pl
    >>> from vecgen.fuzz_vectorized.profiles import FieldMix
    >>> from vecgen.rng import Stream
    >>> from vecgen.vocab import load
    >>> mix = FieldMix("name", (("upper", 1.0), ("keep", 1.0)))
    >>> out, log = fuzz_field(pl.Series(["ann", "bo", None, "cy"]), mix, Stream(9),
    ...                       np.arange(4, dtype=np.uint64), load())
    >>> [(o, l) for o, l in zip(out.to_list(), log.to_list())]
    [('ann', None), ('BO', 'name:upper'), (None, None), ('CY', 'name:upper')]

    """
    names = [name for name, _ in mix.kernels]
    choice = stream.child("choice").choice(rows, cumulative([w for _, w in mix.kernels]))
    # Every kernel's rows, kernel after kernel (rows in order within each), gathered
    # at once; each kernel works on its slice of them.
    kept = np.array([name == KEEP for name in names])
    idx = np.argsort(choice, kind="stable")
    idx = idx[~kept[choice[idx]]]
    counts = np.bincount(choice[idx], minlength=len(names))
    before = values[idx]  # (indexing with an array: a gather without a query)
    after, start = [], 0
    for i, name in enumerate(names):
        if kept[i] or counts[i] == 0:
            continue
        at = idx[start : start + counts[i]]
        ctx = KernelContext(stream.child(name), rows[at], vocab, pool, mix.field)
        after.append(get_kernel(name)(before.slice(start, counts[i]), ctx))
        start += counts[i]
    # Only the kernels' rows are compared, and only rows that really changed are
    # written back and labelled (one scatter, one gather).
    n_kernels = len(names)
    label_index = np.full(len(values), n_kernels, dtype=np.int64)  # n_kernels -> null label
    out = values
    if after:
        new = pl.concat(after)
        changed = changed_values(new, before)
        if changed.any():
            out = values.clone().scatter(idx[changed], new.filter(changed))
            label_index[idx[changed]] = choice[idx[changed]]
    labels = pl.Series([*(f"{mix.field}:{name}" for name in names), None], dtype=pl.String)
    label = labels[label_index]
    return out.alias(values.name), label


def address_parts(addr: pl.Series) -> tuple[pl.Series, pl.Series]:
    """Split ``"<number> <street>"`` into house number and street (null where missing).

    Examples
    --------
    >>> import polars as pl
    >>> n, s = address_parts(pl.Series(["12 Oak St", "Oak St", "12", None]))
    >>> n.to_list(), s.to_list()
    (['12', None, '12', None], ['Oak St', 'Oak St', None, None])

    """
    number = addr.str.extract(r"^(\d+\S*)(?:\s|$)", 1)
    rest = addr.str.replace(
        r"^\d+\S*(?:\s|$)", ""
    )  # one separator: extra spaces stay in the street
    street = pl.select(
        pl.when(number.is_null())
        .then(addr)
        .when(rest.str.len_chars() > 0)
        .then(rest)
        .otherwise(pl.lit(None, dtype=pl.String))
    ).to_series()
    return number.alias("addr_number"), street.alias("addr_street")


def _join_address(number: pl.Series, street: pl.Series) -> pl.Series:
    return (
        pl.select(pl.concat_str([number, street], separator=" ", ignore_nulls=True))
        .to_series()
        .alias("addr_ln_1_txt")
        .zip_with(
            number.is_not_null() | street.is_not_null(),
            null_strings(len(number)),
        )
    )


@functools.cache
def _pool() -> ThreadPoolExecutor:
    """Threads for fuzzing fields in parallel (one per core, at most 4)."""
    return ThreadPoolExecutor(
        max_workers=min(4, os.cpu_count() or 1), thread_name_prefix="vecgen-fuzz"
    )


def release_fuzz_pool() -> None:
    """Shut the fuzzing pool down if this process made one (see ``pipeline.release_threads``)."""
    if _pool.cache_info().currsize:
        _pool().shutdown(wait=False, cancel_futures=True)
        _pool.cache_clear()


def _chosen_fields(profile: Profile, stream: Stream, rows: U64) -> np.ndarray:
    """Budgeted profiles: a ``(rows, fields)`` mask of the fields each duplicate changes."""
    counts = np.array([k for k, _ in profile.fields_changed], dtype=np.int64)
    k = counts[
        stream.child("fields_changed").choice(
            rows, cumulative([w for _, w in profile.fields_changed])
        )
    ]
    k = np.minimum(k, len(profile.fields))
    log_w = np.log(selection_weights(profile))
    # Gumbel top-k: weighted sampling of k fields without replacement, one key per field.
    keys = np.stack(
        [
            log_w[i]
            - np.log(-np.log(np.maximum(stream.child(f"select/{m.field}").uniform(rows), 1e-300)))
            for i, m in enumerate(profile.fields)
        ],
        axis=1,
    )
    if len(rows) == 0:
        return keys.astype(bool)
    threshold = -np.sort(-keys, axis=1)[np.arange(len(rows)), k - 1]
    chosen: np.ndarray = keys >= threshold[:, None]
    return chosen


@dataclass(frozen=True)
class _Run:
    """What every step of one :func:`fuzz_frame` call draws from and with."""

    profile: Profile
    stream: Stream
    rows: U64
    vocab: Vocab
    pools: dict[str, pl.Series]


def fuzz_frame(
    frame: pl.DataFrame,
    profile: Profile | str,
    stream: Stream,
    rows: U64,
    vocab: Vocab,
    pools: Mapping[str, pl.Series] | None = None,
) -> tuple[pl.DataFrame, pl.Series]:
    """Corrupt ``frame`` (duplicates) with ``profile``; every row changes in at least one field.

    Returns the fuzzed frame (same columns and order) and the per-row corruption
    log, e.g. ``"name_first:nickname|city:moved|state:moved"``, naming exactly
    the fields that differ from ``frame``. With a profile that fuzzes the address
    parts, ``addr_number`` and ``addr_street`` are logged instead of
    ``addr_ln_1_txt``. The steps: record-level events, field kernels, a
    fallback for records that came out identical, the log.
    """
    profile = get_profile(profile) if isinstance(profile, str) else profile
    profile = profile.restricted(
        tuple(
            c
            for c in [*frame.columns, *ADDRESS_PARTS]
            if c in frame.columns or (c in ADDRESS_PARTS and "addr_ln_1_txt" in frame.columns)
        )
    )
    pools = dict(pools or {})
    n = frame.height
    run = _Run(profile, stream, rows, vocab, pools)
    work, event_label = _apply_events(frame, run)
    # Field kernels, on the address parts where the profile asks for them.
    split = any(m.field in ADDRESS_PARTS for m in profile.fields)
    if split:
        work = _with_address_parts(work, pools)
    work, labels = _fuzz_fields(work, run)
    if split:
        work = work.with_columns(_join_address(work["addr_number"], work["addr_street"]))
    # Without events or address parts the kernels' labels are exact (a label only where
    # the value changed), so the full re-comparison of the log is not needed.
    exact = not profile.events and not split
    work = _force_a_change(frame, work, labels, exact, split, run)
    # The log names exactly the fields that differ from the original.
    if exact:
        f_field = profile.fallback[0]
        parts = [labels[m.field].alias(m.field) for m in profile.fields if m.field in labels]
        if f_field not in {m.field for m in profile.fields} and f_field in labels:
            parts.append(labels[f_field].alias(f_field))
        return work.select(frame.columns), join_log(parts, n)
    return work.select(frame.columns), _compared_log(frame, work, labels, event_label, split)


def _apply_events(frame: pl.DataFrame, run: _Run) -> tuple[pl.DataFrame, dict[str, pl.Series]]:
    """Apply the profile's record-level events (correlated changes); return the labels too."""
    profile, stream, rows, vocab, pools = run.profile, run.stream, run.rows, run.vocab, run.pools
    n = frame.height
    work = frame
    event_label: dict[str, pl.Series] = {}
    for event, percent in profile.events:
        idx = np.flatnonzero(stream.child(f"event/{event}").bernoulli(rows, percent / 100.0))
        if len(idx) == 0:
            continue
        # Only the columns the event reads or changes (a gather of a few, not all).
        sub = work.select(c for c in EVENT_COLUMNS[event] if c in work.columns)[idx]
        changed = EVENT_FUNCTIONS[event](
            sub, stream.child(f"event/{event}/do"), rows[idx], vocab, pools
        )
        updates = []
        for column in changed.columns:
            if not changed[column].equals(sub[column]):
                updates.append(work[column].clone().scatter(idx, changed[column]))
                before = event_label.get(column, null_strings(n))
                event_label[column] = before.clone().scatter(idx, f"{column}:{event}")
        work = work.with_columns(updates)
    return work, event_label


def _with_address_parts(work: pl.DataFrame, pools: dict[str, pl.Series]) -> pl.DataFrame:
    """Add the address's number and street as columns (and their replacement pools)."""
    number, street = address_parts(work["addr_ln_1_txt"])
    pools.setdefault("addr_number", pl.Series([str(x) for x in range(100, 10_000, 7)]))
    pools.setdefault(
        "addr_street",
        address_parts(pools["addr_ln_1_txt"])[1]
        if "addr_ln_1_txt" in pools
        else pl.Series(["Main Street", "Oak Avenue"]),
    )
    return work.with_columns(number, street)


def _fuzz_fields(work: pl.DataFrame, run: _Run) -> tuple[pl.DataFrame, dict[str, pl.Series]]:
    """Run every field's kernels; return the frame and each field's labels."""
    profile, stream, rows, vocab, pools = run.profile, run.stream, run.rows, run.vocab, run.pools
    n = work.height
    chosen = _chosen_fields(profile, stream, rows) if profile.budgeted else None

    def one_field(i: int, mix: FieldMix) -> tuple[pl.Series, pl.Series]:
        values = work[mix.field]
        fstream = stream.child(mix.field)
        if chosen is None:
            return fuzz_field(values, mix, fstream, rows, vocab, pools.get(mix.field))
        idx = np.flatnonzero(chosen[:, i])
        active = FieldMix(
            mix.field, tuple(kw for kw in mix.kernels if kw[0] != KEEP) or (("replace", 1.0),)
        )
        chosen_values = values[idx]
        sub_new, sub_label = fuzz_field(
            chosen_values, active, fstream, rows[idx], vocab, pools.get(mix.field)
        )
        # A chosen field must change: its fallback kernel where the kernel left it as it was.
        stay = np.flatnonzero(~present(sub_label) & present(chosen_values))
        if len(stay) and mix.fallback:
            ctx = KernelContext(
                fstream.child("fallback"), rows[idx][stay], vocab, pools.get(mix.field), mix.field
            )
            sub_new, sub_label = force_change(sub_new, sub_label, stay, mix.fallback, ctx)
        new = values.clone().scatter(idx, sub_new) if len(idx) else values
        label = null_strings(n)
        return new, label.scatter(idx, sub_label) if len(idx) else label

    # Fields are independent: fuzz them on both cores (Polars and NumPy release the GIL);
    # results are applied in field order, so the output does not depend on scheduling.
    results = list(_pool().map(one_field, range(len(profile.fields)), profile.fields))
    work = work.with_columns(
        new.alias(mix.field) for mix, (new, _) in zip(profile.fields, results, strict=True)
    )
    labels = {mix.field: label for mix, (_, label) in zip(profile.fields, results, strict=True)}
    return work, labels


def _force_a_change(
    frame: pl.DataFrame,
    work: pl.DataFrame,
    labels: dict[str, pl.Series],
    exact: bool,
    split: bool,
    run: _Run,
) -> pl.DataFrame:
    """Give records that came out identical the profile's fallback: a duplicate must differ.

    ``labels`` gains the fallback's label (in place).
    """
    profile, stream, rows, vocab, pools = run.profile, run.stream, run.rows, run.vocab, run.pools
    n = frame.height
    if exact:
        tagged = pl.DataFrame(list(labels.values())) if labels else pl.DataFrame()
        same = tagged.select(pl.all_horizontal(pl.all().is_null())) if labels else None
    else:
        same = frame.select([pl.col(c).eq_missing(work[c]) for c in frame.columns]).select(
            pl.all_horizontal(pl.all())
        )
    idx = np.flatnonzero(same.to_series().to_numpy()) if same is not None else np.arange(n)
    f_field, f_kernel = profile.fallback
    if len(idx):
        ctx = KernelContext(stream.child("fallback"), rows[idx], vocab, pools.get(f_field), f_field)
        forced = get_kernel(f_kernel)(work[f_field][idx], ctx)
        work = work.with_columns(work[f_field].clone().scatter(idx, forced))
        base = labels.get(f_field, null_strings(n))
        labels[f_field] = base.clone().scatter(idx, f"{f_field}:{f_kernel}")
        if split and f_field in ADDRESS_PARTS:
            work = work.with_columns(_join_address(work["addr_number"], work["addr_street"]))
    return work


def _compared_log(
    frame: pl.DataFrame,
    work: pl.DataFrame,
    labels: dict[str, pl.Series],
    event_label: dict[str, pl.Series],
    split: bool,
) -> pl.Series:
    """Build the log field by field: a label where the value differs from the original.

    One query for every field: its kernel's label, else the event's, then the
    labels joined.
    """
    n = frame.height
    if split:
        orig_number, orig_street = address_parts(frame["addr_ln_1_txt"])
        originals = {
            **{c: frame[c] for c in frame.columns},
            "addr_number": orig_number,
            "addr_street": orig_street,
        }
        fields = [c for c in frame.columns if c != "addr_ln_1_txt"] + list(ADDRESS_PARTS)
    else:
        originals = {c: frame[c] for c in frame.columns}
        fields = list(frame.columns)
    inputs: dict[str, pl.Series] = {}
    logged = []
    for f in fields:
        tags: list[pl.Expr] = []
        if f in labels:
            inputs[f"label:{f}"] = labels[f]
            tags.append(pl.col(f"label:{f}"))
        if f in event_label:
            inputs[f"event:{f}"] = event_label[f]
            tags.append(pl.col(f"event:{f}"))
        if f in ADDRESS_PARTS and "addr_ln_1_txt" in event_label:
            inputs["event:addr_ln_1_txt"] = event_label["addr_ln_1_txt"]
            tags.append(pl.col("event:addr_ln_1_txt").str.replace("^addr_ln_1_txt", f))
        if not tags:
            continue
        inputs[f"new:{f}"], inputs[f"old:{f}"] = work[f], originals[f]
        differs = pl.col(f"new:{f}").ne_missing(pl.col(f"old:{f}"))
        logged.append(pl.when(differs).then(pl.coalesce(tags)).alias(f))
    log = pl.DataFrame(inputs, height=n).select(
        pl.concat_str(logged, separator="|", ignore_nulls=True)
        if logged
        else pl.repeat("", n, dtype=pl.String)
    )
    return log.to_series().alias("corruptions")
