"""Vectorized fuzzing: the kernel registry and the per-field mixture applier.

:func:`fuzz_frame` corrupts the profile's fields of a frame of duplicates and
returns the corruption log (``field:kernel|field:kernel``) of what changed.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import polars as pl

from vecgen.fuzz_vectorized import kernels as k
from vecgen.fuzz_vectorized import text as t
from vecgen.fuzz_vectorized import values as v
from vecgen.fuzz_vectorized.kernels import Kernel, KernelContext
from vecgen.fuzz_vectorized.profiles import KEEP, PROFILES, FieldMix, Profile, get_profile
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
# Kernels for Date columns (``blank`` works on any type); all others take text.
DATE_KERNELS = frozenset(
    {
        "date_edit",
        "date_year",
        "date_shift_days",
        "date_swap_day_month",
        "date_jan1",
        "date_1900",
        "blank",
    }
)


__all__ = [
    "DATE_KERNELS",
    "KERNELS",
    "PROFILES",
    "KernelContext",
    "Profile",
    "fuzz_field",
    "fuzz_frame",
    "get_profile",
]


def get_kernel(name: str) -> Kernel:
    """Return the kernel called ``name``; an unknown name lists the valid ones."""
    try:
        return KERNELS[name]
    except KeyError:
        msg = f"unknown fuzz kernel '{name}'; valid kernels: {', '.join(KERNELS)}"
        raise KeyError(msg) from None


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
    where, before, after = [], [], []
    for i, name in enumerate(names):
        idx = np.flatnonzero(choice == i)
        if name == KEEP or len(idx) == 0:
            continue
        group = values.gather(idx)
        ctx = KernelContext(stream.child(name), rows[idx], vocab, pool, mix.field)
        where.append(idx)
        before.append(group)
        after.append(get_kernel(name)(group, ctx))
    # Only the kernels' rows are compared, and only rows that really changed are
    # written back and labelled (one scatter, one gather).
    n_kernels = len(names)
    label_index = np.full(len(values), n_kernels, dtype=np.int64)  # n_kernels -> null label
    out = values
    if where:
        idx = np.concatenate(where)
        new = pl.concat(after)
        changed = new.ne_missing(pl.concat(before)).to_numpy()
        if changed.any():
            out = values.clone().scatter(idx[changed], new.filter(changed))
            label_index[idx[changed]] = choice[idx[changed]]
    labels = pl.Series([*(f"{mix.field}:{name}" for name in names), None], dtype=pl.String)
    label = labels.gather(label_index)
    return out.alias(values.name), label


def fuzz_frame(
    frame: pl.DataFrame,
    profile: Profile | str,
    stream: Stream,
    rows: U64,
    vocab: Vocab,
    pools: Mapping[str, pl.Series] | None = None,
) -> tuple[pl.DataFrame, pl.Series]:
    """Corrupt the profile's fields of ``frame``; every row changes in at least one field.

    Returns the fuzzed frame (same columns and order) and the per-row
    corruption log, e.g. ``"name_first:nickname|email:swap_adjacent"``.
    """
    profile = get_profile(profile) if isinstance(profile, str) else profile
    pools = pools or {}
    out = frame.clone()
    labels: list[pl.Series] = []
    for mix in profile.fields:
        if mix.field not in frame.columns:
            continue
        new, label = fuzz_field(
            frame[mix.field], mix, stream.child(mix.field), rows, vocab, pools.get(mix.field)
        )
        out = out.with_columns(new)
        labels.append(label.alias(mix.field))
    # Rows that came out identical get the fallback kernel: a duplicate must differ.
    f_field, f_kernel = profile.fallback
    if f_field not in frame.columns:
        msg = f"profile '{profile.name}': fallback field '{f_field}' is not a column of the frame"
        raise KeyError(msg)
    log_frame = pl.DataFrame(labels)
    if f_field not in log_frame.columns:
        log_frame = log_frame.with_columns(pl.Series(f_field, dtype=pl.String).clear(len(frame)))
    unchanged = log_frame.select(pl.all_horizontal(pl.all().is_null())).to_series().to_numpy()
    idx = np.flatnonzero(unchanged)
    if len(idx):
        ctx = KernelContext(stream.child("fallback"), rows[idx], vocab, pools.get(f_field), f_field)
        forced = get_kernel(f_kernel)(out[f_field].gather(idx), ctx)
        out = out.with_columns(out[f_field].clone().scatter(idx, forced))
        fallback_label = log_frame[f_field].clone().scatter(idx, f"{f_field}:{f_kernel}")
        log_frame = log_frame.with_columns(fallback_label)
    log = (
        log_frame.select(pl.concat_str(pl.all(), separator="|", ignore_nulls=True))
        .to_series()
        .alias("corruptions")
    )
    return out, log
