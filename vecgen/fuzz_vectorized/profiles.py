"""Fuzz profiles: per field, a weighted mix of kernels (``keep`` leaves the value as is).

``gensampledata`` is the predecessor's mix (see ``gensampledata-behaviour.md``,
section Fuzzing), its cumulative-threshold weights turned into plain weights.
"""

from __future__ import annotations

from dataclasses import dataclass

KEEP = "keep"


@dataclass(frozen=True)
class FieldMix:
    """The kernels one field may get, with relative weights."""

    field: str
    kernels: tuple[tuple[str, float], ...]


@dataclass(frozen=True)
class Profile:
    """A named set of field mixes plus the fallback that guarantees a change.

    ``fallback`` is applied to records that came out identical to their original,
    so that every duplicate differs in at least one field.
    """

    name: str
    fields: tuple[FieldMix, ...]
    fallback: tuple[str, str]  # (field, kernel); the kernel must always change a value


def _mix(field: str, **weights: float) -> FieldMix:
    return FieldMix(field, tuple(weights.items()))


GENSAMPLEDATA = Profile(
    name="gensampledata",
    fields=(
        _mix(
            "name_first", initial=6, swap_adjacent=5, upper=5, upper_first3=5, nickname=79, keep=1
        ),
        _mix("name_last", initial=11, swap_adjacent=5, upper=5, upper_first3=5, replace=70, keep=5),
        _mix("gender", gender_flip=9, keep=22),
        _mix("email", free_mail_domain=11, swap_adjacent=20, fat_finger=10, keep=10),
        _mix(
            "addr_ln_1_txt", swap_adjacent=11, fat_finger=10, replace=25, keep=15, reverse_words=20
        ),
        _mix("city", replace=51, reverse_words=10, swap_adjacent=20, initial=15, keep=5),
        _mix("state", blank=51, keep=20, replace=30),
        _mix("postal_code", blank=11, swap_adjacent=10, replace=40, fat_finger=30, keep=10),
        _mix("birth_dt", blank=3, date_edit=38, keep=5),
        _mix("phone", swap_adjacent=11, fat_finger=10, new_area_code=50, keep=20),
    ),
    fallback=("name_last", "replace"),
)

PROFILES: dict[str, Profile] = {p.name: p for p in (GENSAMPLEDATA,)}


def get_profile(name: str) -> Profile:
    """Return the profile called ``name``; an unknown name lists the valid ones."""
    try:
        return PROFILES[name]
    except KeyError:
        msg = f"unknown fuzz profile '{name}'; valid profiles: {', '.join(PROFILES)}"
        raise KeyError(msg) from None
