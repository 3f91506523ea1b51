"""Build a profile from a preset plus the ``[fuzz]`` table of ``vecgen.toml``.

Everything is validated here, once; errors name the key path (``fuzz.fields.
name_first.kernels.nicknam``), what was wrong and the valid choices.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from vecgen.catalog import ADDRESS_PARTS, PERSON_COLUMNS
from vecgen.fuzz_vectorized.profiles import (
    CLUSTER_KINDS,
    DATE_FIELDS,
    DATE_KERNELS,
    EVENT_FIELDS,
    KEEP,
    Clusters,
    FieldMix,
    Profile,
    get_profile,
)

FUZZABLE = (*PERSON_COLUMNS, *ADDRESS_PARTS)
TOP_KEYS = (
    "fields_changed",
    "cluster_size",
    "cluster_max",
    "dupe_of_dupe",
    "lookalikes",
    "households",
    "events",
    "fields",
)
MAX_HOUSEHOLD = 12
FIELD_KEYS = ("kernels", "rate", "fallback")
DEFAULT_CLUSTER_MAX = 10


class OverrideError(ValueError):
    """A ``[fuzz]`` entry is invalid (the config layer turns it into a ConfigError)."""


def _hint(name: str, valid: tuple[str, ...] | list[str]) -> str:
    close = difflib.get_close_matches(name, valid, n=1)
    return (f"did you mean '{close[0]}'? " if close else "") + "valid: " + ", ".join(valid)


def _number(path: str, value: Any, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
        msg = f"'{path}' must be a number from {low:g} to {high:g}, got {value!r}"
        raise OverrideError(msg)
    return float(value)


def _table(path: str, value: Any) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        msg = f"'{path}' must be a table, got {value!r}"
        raise OverrideError(msg)
    return value


def _count(key: Any) -> bool:
    """Whether a table key is a plain count (ASCII digits: '²' is a digit to str.isdigit)."""
    return re.fullmatch(r"[0-9]{1,3}", str(key)) is not None


def _fits(path: str, field: str, kernel: str) -> None:
    """Refuse a kernel that cannot change this field's type (a date kernel on text, ...)."""
    if kernel in (KEEP, "blank"):
        return
    if field in DATE_FIELDS and kernel not in DATE_KERNELS:
        msg = f"'{path}': {field} is a date; use a date kernel: {', '.join(sorted(DATE_KERNELS))}"
        raise OverrideError(msg)
    if field not in DATE_FIELDS and kernel in DATE_KERNELS:
        msg = f"'{path}': {kernel} changes dates, and {field} is text; use a text kernel"
        raise OverrideError(msg)


def _kernels(path: str, value: Any, kernel_names: tuple[str, ...]) -> tuple[tuple[str, float], ...]:
    table = _table(path, value)
    if not table:
        msg = f"'{path}' must name at least one kernel"
        raise OverrideError(msg)
    out = []
    for name, weight in table.items():
        if name not in kernel_names and name != KEEP:
            msg = f"'{path}.{name}' is not a fuzz kernel; " + _hint(name, [*kernel_names, KEEP])
            raise OverrideError(msg)
        out.append((name, _number(f"{path}.{name}", weight, 0, 1e9)))
    if sum(w for _, w in out) <= 0:
        msg = f"'{path}' weights must not all be 0"
        raise OverrideError(msg)
    return tuple(out)


def build_profile(preset: str, table: Mapping[str, Any], kernel_names: tuple[str, ...]) -> Profile:
    """Return ``preset`` with the ``[fuzz]`` overrides in ``table`` applied.

    Examples
    --------
    >>> from vecgen.fuzz_vectorized import KERNELS
    >>> p = build_profile("febrl", {"cluster_size": "zipf:2", "cluster_max": 8,
    ...                             "fields": {"state": {"rate": 10}}}, tuple(KERNELS))
    >>> p.clusters, [m.rate for m in p.fields if m.field == "state"]
    (Clusters(kind='zipf', param=2.0, max=8), [10.0])
    >>> try:
    ...     build_profile("febrl", {"feilds": {}}, tuple(KERNELS))
    ... except OverrideError as exc:
    ...     print(exc)
    unknown key 'fuzz.feilds'; did you mean 'fields'? valid: fields_changed, cluster_size, cluster_max, dupe_of_dupe, lookalikes, households, events, fields

    """
    try:
        profile = get_profile(preset)
    except KeyError as exc:
        raise OverrideError(str(exc.args[0])) from None
    for key in table:
        if key not in TOP_KEYS:
            raise OverrideError(f"unknown key 'fuzz.{key}'; " + _hint(key, TOP_KEYS))
    changes: dict[str, Any] = {}
    if "fields_changed" in table:
        changes["fields_changed"] = _fields_changed(table["fields_changed"])
    changes["clusters"] = _clusters(profile.clusters, table)
    for key in ("dupe_of_dupe", "lookalikes"):
        if key in table:
            changes[key] = _number(f"fuzz.{key}", table[key], 0, 100)
    if "households" in table:
        changes["households"] = _households(table["households"])
    if "events" in table:
        changes["events"] = _events(table["events"])
    changes["fields"] = _fields(profile, table.get("fields", {}), kernel_names)
    result = replace(profile, **changes)
    if result.budgeted and all(m.rate == 0 for m in result.fields):
        raise OverrideError(
            "a profile with 'fuzz.fields_changed' needs a 'rate' on at least one field"
        )
    return result


def _fields_changed(value: Any) -> tuple[tuple[int, float], ...]:
    """``fuzz.fields_changed``: weight per number of fields a duplicate changes."""
    hist = []
    for k, w in _table("fuzz.fields_changed", value).items():
        if not _count(k) or not 1 <= int(k) <= len(FUZZABLE):
            msg = f"'fuzz.fields_changed' keys must be field counts 1..{len(FUZZABLE)}, got {k!r}"
            raise OverrideError(msg)
        hist.append((int(k), _number(f"fuzz.fields_changed.{k}", w, 0, 1e9)))
    if hist and sum(w for _, w in hist) <= 0:
        raise OverrideError("'fuzz.fields_changed' weights must not all be 0")
    return tuple(sorted(hist))


def _clusters(clusters: Clusters, table: Mapping[str, Any]) -> Clusters:
    """``fuzz.cluster_size`` (KIND:NUMBER) and ``fuzz.cluster_max`` applied to ``clusters``."""
    if "cluster_size" in table:
        spec = table["cluster_size"]
        kind, _, param = str(spec).partition(":")
        if kind not in CLUSTER_KINDS or not param:
            msg = f"'fuzz.cluster_size' must be KIND:NUMBER with KIND one of {', '.join(CLUSTER_KINDS)}, got {spec!r}"
            raise OverrideError(msg)
        try:
            value = float(param)
        except ValueError:
            raise OverrideError(
                f"'fuzz.cluster_size' needs a number after ':', got {spec!r}"
            ) from None
        clusters = replace(
            clusters,
            kind=kind,
            param=_number("fuzz.cluster_size", value, 1 if kind != "zipf" else 0.1, 1000),
        )
        # Without cluster_max: fixed/uniform reach their number; open-ended kinds get 10.
        cap = int(value) if kind in ("fixed", "uniform") else DEFAULT_CLUSTER_MAX
        clusters = replace(clusters, max=max(clusters.max, cap))
    if "cluster_max" in table:
        clusters = replace(
            clusters, max=int(_number("fuzz.cluster_max", table["cluster_max"], 1, 1000))
        )
    return clusters


def _households(value: Any) -> tuple[float, ...]:
    """``fuzz.households``: weight per household size (1..MAX_HOUSEHOLD)."""
    sizes: dict[int, float] = {}
    for k, w in _table("fuzz.households", value).items():
        if not _count(k) or not 1 <= int(k) <= MAX_HOUSEHOLD:
            msg = f"'fuzz.households' keys must be household sizes 1..{MAX_HOUSEHOLD}, got {k!r}"
            raise OverrideError(msg)
        sizes[int(k)] = _number(f"fuzz.households.{k}", w, 0, 1e9)
    if sizes and sum(sizes.values()) <= 0:
        raise OverrideError("'fuzz.households' weights must not all be 0")
    top = max(sizes, default=0)
    return tuple(sizes.get(k, 0.0) for k in range(1, top + 1))


def _events(value: Any) -> tuple[tuple[str, float], ...]:
    """``fuzz.events``: percent of duplicates per record-level event."""
    events = []
    for name, pct in _table("fuzz.events", value).items():
        if name not in EVENT_FIELDS:
            raise OverrideError(
                f"unknown event 'fuzz.events.{name}'; " + _hint(name, list(EVENT_FIELDS))
            )
        events.append((name, _number(f"fuzz.events.{name}", pct, 0, 100)))
    return tuple(events)


def _fields(profile: Profile, value: Any, kernel_names: tuple[str, ...]) -> tuple[FieldMix, ...]:
    """``fuzz.fields.<field>``: kernels, rate and fallback per field, over the preset's."""
    mixes = {m.field: m for m in profile.fields}
    for field, spec in _table("fuzz.fields", value).items():
        path = f"fuzz.fields.{field}"
        if field not in FUZZABLE:
            raise OverrideError(f"'{path}' is not a customer field; " + _hint(field, FUZZABLE))
        spec = _table(path, spec)
        for key in spec:
            if key not in FIELD_KEYS:
                raise OverrideError(f"unknown key '{path}.{key}'; " + _hint(key, FIELD_KEYS))
        mix = mixes.get(field, FieldMix(field, (("replace", 1.0),), 0.0, "replace"))
        if "kernels" in spec:
            mix = replace(mix, kernels=_kernels(f"{path}.kernels", spec["kernels"], kernel_names))
            for name, _ in mix.kernels:
                _fits(f"{path}.kernels.{name}", field, name)
        if "rate" in spec:
            mix = replace(mix, rate=_number(f"{path}.rate", spec["rate"], 0, 100))
        if "fallback" in spec:
            fb = spec["fallback"]
            if fb not in kernel_names:
                raise OverrideError(
                    f"'{path}.fallback' is not a fuzz kernel; " + _hint(str(fb), kernel_names)
                )
            _fits(f"{path}.fallback", field, fb)
            mix = replace(mix, fallback=fb)
        mixes[field] = mix
    return tuple(mixes.values())
