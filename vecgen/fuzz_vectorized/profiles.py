"""Fuzz profiles: which fields of a duplicate change, and how.

Two ways to choose fields:

- *independent* (``fields_changed`` is empty): every field draws one kernel from
  its mix, ``keep`` included, as the predecessor did;
- *budgeted*: each duplicate first draws how many fields change
  (``fields_changed``), then which ones, without replacement, with weights
  calibrated so that each field changes in about ``rate`` percent of duplicates;
  a chosen field gets one kernel of its mix, and its ``fallback`` kernel if that
  left the value as it was.

A profile also carries record-level events (correlated changes such as moving
house), the cluster-size model and the share of look-alike clean records.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass, field, replace

import numpy as np

from vecgen.fuzz_vectorized.solved import SOLVED

KEEP = "keep"
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
DATE_FIELDS = frozenset({"birth_dt"})  # the person fields that are dates

CLUSTER_KINDS = ("fixed", "uniform", "poisson", "zipf")
# Record-level events and the fields each needs.
EVENT_FIELDS: dict[str, tuple[str, ...]] = {
    "moved": ("addr_ln_1_txt", "city", "state", "postal_code"),
    "married": ("name_last",),
    "swap_names": ("name_first", "name_last"),
}


@dataclass(frozen=True)
class FieldMix:
    """The kernels one field may get (relative weights), its target rate and fallback."""

    field: str
    kernels: tuple[tuple[str, float], ...]
    rate: float = 0.0  # budgeted: percent of duplicates where the field changes
    fallback: str = ""  # budgeted: a kernel that always changes a value


@dataclass(frozen=True)
class Clusters:
    """How many duplicates a duplicated person gets: ``kind`` with ``param``, at most ``max``.

    fixed: exactly ``param``; uniform: 1..``param``; poisson: 1 + Poisson(``param`` - 1)
    (mean ``param``); zipf: Zipf with exponent ``param``.
    """

    kind: str = "fixed"
    param: float = 1.0
    max: int = 1


@dataclass(frozen=True)
class Profile:
    """A named corruption model (see the module docstring)."""

    name: str
    fields: tuple[FieldMix, ...]
    fallback: tuple[str, str]  # (field, kernel) for records that came out unchanged
    fields_changed: tuple[tuple[int, float], ...] = ()  # budgeted: (count, weight)
    events: tuple[tuple[str, float], ...] = ()  # (event, percent of duplicates)
    clusters: Clusters = field(default_factory=Clusters)
    dupe_of_dupe: float = 0.0  # percent of later cluster members copied from the first
    lookalikes: float = 0.0  # percent of clean records sharing a field group with another
    # Weights of household sizes 1, 2, ... (the members a retailer knows); () = everyone alone.
    households: tuple[float, ...] = ()
    # Per source, the percent of records holding each person column (100 if not named).
    completeness: tuple[tuple[str, tuple[tuple[str, float], ...]], ...] = ()

    @property
    def budgeted(self) -> bool:
        """Whether the number of changed fields is drawn first."""
        return bool(self.fields_changed)

    def restricted(self, fields: tuple[str, ...]) -> Profile:
        """Return the profile limited to ``fields`` (for sources that hold fewer columns)."""
        mixes = tuple(m for m in self.fields if m.field in fields)
        fb = self.fallback
        if fb[0] not in fields:  # a kernel that changes any value of the first field left
            first = mixes[0]
            kernel = "replace" if first.field in REPLACEABLE else "fat_finger"
            fb = (first.field, first.fallback or kernel)
        hist = tuple((k, w) for k, w in self.fields_changed if k <= len(mixes))
        events = tuple((e, p) for e, p in self.events if set(EVENT_FIELDS[e]) <= set(fields))
        return replace(self, fields=mixes, fallback=fb, fields_changed=hist, events=events)


# Households by size 1, 2, ... 7+ in percent (Current Population Survey 2020).
CPS_HOUSEHOLDS = (28.0, 35.0, 15.0, 13.0, 6.0, 2.0, 1.0)


def known_households(share: float, largest: int = 4) -> tuple[float, ...]:
    """Weights of household sizes 1..``largest`` as one retailer knows them.

    Each person of a :data:`CPS_HOUSEHOLDS` household is a customer with
    probability ``share``; a household the retailer knows has Binomial(size,
    ``share``) >= 1 known members, so pairs are common and families of four rare.

    Examples
    --------
    >>> known_households(0.08)
    (91.47, 8.03, 0.49, 0.02)
    >>> known_households(0.0)
    (100.0, 0.0, 0.0, 0.0)

    """
    weights = [
        sum(
            p * math.comb(n, k) * share**k * (1 - share) ** (n - k)
            for n, p in enumerate(CPS_HOUSEHOLDS, 1)
            if n >= k
        )
        if share
        else float(k == 1)
        for k in range(1, largest + 1)
    ]
    return tuple(round(100 * w / sum(weights), 2) for w in weights)


# Medium: 8% of each household are customers, so ~16% of customers share their home (mostly
# couples); hard: 10%, ~20%. In easy, and in the predecessor's gensampledata, all live alone.
HOUSEHOLDS_MEDIUM = known_households(0.08)
HOUSEHOLDS_HARD = known_households(0.10)

# Fill rates per system: the web shop needs an e-mail and a shipping address and usually has a
# birth date; the till asks for a name and a postal code; the loyalty program most fields
# (birthday rewards); the wifi portal only its form. Hard misses 1.5 times as much (or half).
COMPLETENESS_MEDIUM: tuple[tuple[str, tuple[tuple[str, float], ...]], ...] = (
    (
        "customers",
        (
            ("name_prefix", 60), ("birth_dt", 90), ("phone", 85), ("employment", 70),
            ("job_title", 60), ("gender", 90), ("addr_ln_1_txt", 95),
        ),
    ),
    (
        "pos_customers",
        (
            ("name_prefix", 30), ("email", 35), ("birth_dt", 15), ("phone", 70),
            ("addr_ln_1_txt", 60), ("city", 75), ("state", 75), ("employment", 20),
            ("job_title", 15), ("gender", 60),
        ),
    ),
    (
        "loyalty",
        (("birth_dt", 80), ("phone", 90), ("gender", 85), ("addr_ln_1_txt", 90)),
    ),
    ("wifi", (("name_last", 85), ("postal_code", 60))),
)  # fmt: skip


def _scaled(
    table: tuple[tuple[str, tuple[tuple[str, float], ...]], ...], missing: float
) -> tuple[tuple[str, tuple[tuple[str, float], ...]], ...]:
    """Return the same systems with ``missing`` times as many values missing (at most half kept)."""
    return tuple(
        (source, tuple((c, round(max(f / 2, 100 - (100 - f) * missing), 1)) for c, f in cols))
        for source, cols in table
    )


COMPLETENESS_HARD = _scaled(COMPLETENESS_MEDIUM, 1.5)

# Fields the ``replace`` kernel has a pool of values for (vecgen.sources.people.replacement_pools).
REPLACEABLE = ("name_last", "name_first", "city", "state", "postal_code", "addr_ln_1_txt")


def _mix(field: str, rate: float = 0.0, fallback: str = "", **weights: float) -> FieldMix:
    return FieldMix(field, tuple(weights.items()), rate, fallback)


# The predecessor's mix; weights are its cumulative thresholds turned into plain weights,
# tuned so that each field's change rate matches what its kernels achieved
# (realism-targets.md: name_first 58.0, name_last 94.6, gender 28.7, email 79.0,
# addr 80.0, city 86.8, state 79.8, postal_code 89.4, birth_dt 78.8, phone 51.8):
# - birth_dt and phone: `keep` raised to the measured rates (its handlers left more
#   values alone than their weights say);
# - name_first: with first names drawn by real frequency, about 55% of people's first
#   names have a nickname in the `nicknames` data set, so `nickname` and `keep` are
#   weighted to reproduce the measured 58% change rate.
GENSAMPLEDATA = Profile(
    name="gensampledata",
    fields=(
        _mix(
            "name_first",
            initial=25,
            swap_adjacent=21,
            upper=21,
            upper_first3=21,
            nickname=30,
            keep=62,
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
        _mix("birth_dt", blank=3, date_edit=38, keep=11),
        _mix("phone", swap_adjacent=11, fat_finger=10, new_area_code=50, keep=66),
    ),
    fallback=("name_last", "replace"),
)

# Calibrated to Febrl 4 (realism-targets.md): per-field rates, how fields differ
# (missing, one edit, replaced, space inserted/deleted), fields changed per pair.
# email and phone stand in for Febrl's address_2 and soc_sec_id.
FEBRL = Profile(
    name="febrl",
    fields=(
        _mix(
            "name_first",
            32.2,
            "replace",
            blank=15,
            keyboard_substitution=14,
            swap_adjacent=10,
            insert_char=9,
            delete_char=10,
            nickname=14,
            replace=15,
            phonetic=8,
            space_insert=3,
            ocr=2,
        ),
        _mix(
            "name_last",
            32.6,
            "replace",
            blank=6,
            keyboard_substitution=16,
            swap_adjacent=12,
            insert_char=10,
            delete_char=12,
            replace=22,
            phonetic=10,
            ocr=5,
            space_insert=2,
            name_suffix=5,
        ),
        _mix("addr_number", 15.5, "replace", blank=40, digit=25, swap_adjacent=10, replace=25),
        _mix(
            "addr_street",
            38.3,
            "replace",
            blank=11,
            keyboard_substitution=12,
            swap_adjacent=8,
            insert_char=6,
            delete_char=8,
            space_insert=15,
            space_remove=16,
            abbreviate=10,
            replace=10,
            ocr=4,
        ),
        _mix(
            "city",
            24.5,
            "replace",
            blank=9,
            keyboard_substitution=20,
            swap_adjacent=14,
            insert_char=10,
            delete_char=12,
            space_insert=6,
            space_remove=5,
            replace=22,
            phonetic=2,
        ),
        _mix("postal_code", 15.6, "digit", swap_adjacent=53, digit=38, replace=9),
        _mix("state", 4.9, "replace", blank=45, state_form=30, replace=25),
        _mix(
            "birth_dt",
            8.9,
            "date_year",
            blank=46,
            date_swap_day_month=15,
            date_year=15,
            date_shift_days=14,
            date_jan1=5,
            date_1900=5,
        ),
        _mix(
            "email",
            25.0,
            "free_mail_domain",
            email_local_typo=50,
            free_mail_domain=20,
            blank=15,
            placeholder=5,
            fat_finger=10,
        ),
        _mix(
            "phone", 26.0, "new_area_code", digit=40, swap_adjacent=25, new_area_code=20, blank=15
        ),
    ),
    fallback=("name_last", "replace"),
    fields_changed=((1, 29.8), (2, 33.8), (3, 23.1), (4, 9.6), (5, 3.0), (6, 0.7)),
    households=HOUSEHOLDS_MEDIUM,
)

_TYPOS = {"keyboard_substitution": 3, "swap_adjacent": 3, "insert_char": 2, "delete_char": 2}

EASY = Profile(
    name="easy",
    fields=(
        _mix("name_first", 20, "replace", **_TYPOS, upper=2, lower=1, nickname=3),
        _mix("name_last", 20, "replace", **_TYPOS, upper=2, title_case=1),
        _mix("addr_ln_1_txt", 15, "abbreviate", **_TYPOS, abbreviate=4, punctuation=2),
        _mix("city", 10, "replace", **_TYPOS, upper=2),
        _mix("postal_code", 10, "digit", swap_adjacent=3, digit=3),
        _mix("state", 5, "state_form", state_form=1),
        _mix("birth_dt", 10, "date_year", date_swap_day_month=2, date_year=1, date_shift_days=1),
        _mix("email", 25, "email_local_typo", email_local_typo=3, lower=1),
        _mix("phone", 20, "digit", digit=2, swap_adjacent=2),
    ),
    fallback=("name_last", "replace"),
    fields_changed=((1, 70), (2, 25), (3, 5)),
)

MEDIUM = Profile(
    name="medium",
    fields=(
        _mix(
            "name_first",
            32,
            "replace",
            **_TYPOS,
            nickname=4,
            initial=1,
            phonetic=2,
            blank=1,
            middle_initial=1,
        ),
        _mix(
            "name_last",
            32,
            "replace",
            **_TYPOS,
            phonetic=2,
            replace=2,
            ocr=1,
            name_suffix=1,
            blank=1,
        ),
        _mix(
            "addr_ln_1_txt",
            35,
            "abbreviate",
            **_TYPOS,
            abbreviate=4,
            punctuation=1,
            space_remove=1,
            replace=2,
            blank=1,
        ),
        _mix("city", 25, "replace", **_TYPOS, replace=2, upper=1, blank=1),
        _mix("postal_code", 16, "digit", swap_adjacent=3, digit=3, blank=1),
        _mix("state", 5, "state_form", state_form=3, blank=1, replace=1),
        _mix(
            "birth_dt",
            10,
            "date_year",
            date_swap_day_month=2,
            date_year=2,
            date_shift_days=2,
            blank=1,
            date_jan1=1,
        ),
        _mix("email", 25, "free_mail_domain", email_local_typo=3, free_mail_domain=2, blank=1),
        _mix("phone", 25, "new_area_code", digit=3, swap_adjacent=2, new_area_code=2, blank=1),
    ),
    fallback=("name_last", "replace"),
    fields_changed=((1, 45), (2, 35), (3, 15), (4, 5)),
    events=(("moved", 3.0), ("married", 3.0), ("swap_names", 2.0)),
    clusters=Clusters("poisson", 4.0, 10),
    dupe_of_dupe=20.0,
    households=HOUSEHOLDS_MEDIUM,
    completeness=COMPLETENESS_MEDIUM,
)

HARD = Profile(
    name="hard",
    fields=(
        _mix(
            "name_first",
            50,
            "replace",
            **_TYPOS,
            nickname=6,
            formal_name=2,
            initial=2,
            phonetic=3,
            blank=2,
            placeholder=1,
            middle_initial=1,
            ocr=1,
        ),
        _mix(
            "name_last",
            45,
            "replace",
            **_TYPOS,
            phonetic=3,
            replace=3,
            ocr=2,
            name_suffix=1,
            blank=2,
            space_insert=1,
        ),
        _mix(
            "addr_ln_1_txt",
            50,
            "replace",
            **_TYPOS,
            abbreviate=3,
            punctuation=2,
            space_remove=2,
            replace=3,
            blank=2,
            reverse_words=1,
            ocr=1,
        ),
        _mix("city", 40, "replace", **_TYPOS, replace=3, phonetic=2, blank=2, initial=1),
        _mix("postal_code", 30, "digit", swap_adjacent=3, digit=3, blank=2, placeholder=1),
        _mix("state", 20, "replace", state_form=3, blank=3, replace=2, placeholder=1),
        _mix(
            "birth_dt",
            30,
            "date_year",
            date_swap_day_month=3,
            date_year=3,
            date_shift_days=3,
            blank=2,
            date_jan1=2,
            date_1900=2,
        ),
        _mix(
            "email",
            50,
            "free_mail_domain",
            email_local_typo=3,
            free_mail_domain=3,
            blank=2,
            placeholder=2,
        ),
        _mix(
            "phone",
            40,
            "new_area_code",
            digit=3,
            swap_adjacent=2,
            new_area_code=3,
            blank=2,
            placeholder=1,
        ),
        _mix("gender", 10, "gender_flip", gender_flip=1),
    ),
    fallback=("name_last", "replace"),
    fields_changed=((2, 20), (3, 30), (4, 30), (5, 15), (6, 5)),
    events=(("moved", 8.0), ("married", 6.0), ("swap_names", 4.0)),
    clusters=Clusters("zipf", 2.0, 20),
    dupe_of_dupe=40.0,
    lookalikes=5.0,
    households=HOUSEHOLDS_HARD,
    completeness=COMPLETENESS_HARD,
)

PROFILES: dict[str, Profile] = {p.name: p for p in (GENSAMPLEDATA, FEBRL, EASY, MEDIUM, HARD)}


def get_profile(name: str) -> Profile:
    """Return the profile called ``name``; an unknown name lists the valid ones."""
    try:
        return PROFILES[name]
    except KeyError:
        msg = f"unknown fuzz profile '{name}'; valid profiles: {', '.join(PROFILES)}"
        raise KeyError(msg) from None


def expected_fields_changed(profile: Profile) -> float:
    """Mean number of fields a budgeted profile changes per duplicate."""
    counts = np.array([k for k, _ in profile.fields_changed], dtype=np.float64)
    weights = np.array([w for _, w in profile.fields_changed], dtype=np.float64)
    return float((counts * weights).sum() / weights.sum())


def selection_weights(profile: Profile) -> np.ndarray:
    """Field weights for choosing ``k`` fields without replacement so rates match targets.

    Solved once per profile by fixed-point iteration on a seeded simulation of the
    Gumbel top-k draw that :func:`~vecgen.fuzz_vectorized.fuzz_frame` makes.
    Rates are first scaled to sum to the expected number of changed fields.
    The built-in profiles' weights were solved ahead
    (:mod:`vecgen.fuzz_vectorized.solved`); any other profile is solved once
    per process: a thread that asks while another solves it waits for that
    answer (the run solves its profile while it opens its files:
    :func:`vecgen.pipeline.warm_up`).

    Examples
    --------
    >>> w = selection_weights(FEBRL)
    >>> w.shape, bool((w > 0).all())
    ((10,), True)

    """
    with _LOCKS_LOCK:
        lock = _LOCKS.setdefault(profile, threading.Lock())
    with lock:
        weights = _SOLVED.get(profile)
        if weights is None:
            ahead = SOLVED.get(solve_key(profile))  # a built-in profile's, solved ahead
            weights = np.array(ahead) if ahead is not None else _solve(profile)
            _SOLVED[profile] = weights
    return weights


def solve_key(profile: Profile) -> tuple[tuple[float, ...], tuple[tuple[int, float], ...]]:
    """Return what :func:`selection_weights` depends on: the rates and ``fields_changed``.

    Examples
    --------
    >>> solve_key(FEBRL)[1][:2]
    ((1, 29.8), (2, 33.8))

    """
    return tuple(m.rate for m in profile.fields), profile.fields_changed


def _solve(profile: Profile) -> np.ndarray:
    """Solve :func:`selection_weights` for ``profile``."""
    rates = np.array([m.rate for m in profile.fields], dtype=np.float64) / 100.0
    target = rates * expected_fields_changed(profile) / rates.sum()
    target = np.minimum(target, 0.999)
    rng = np.random.default_rng(20261129)
    n = 50_000
    hist = np.array([w for _, w in profile.fields_changed], dtype=np.float64)
    ks = rng.choice([k for k, _ in profile.fields_changed], size=n, p=hist / hist.sum())
    ks = np.minimum(ks, len(rates))
    gumbel = -np.log(-np.log(rng.random((n, len(rates)))))
    log_w = np.log(np.maximum(target, 1e-6))
    rows = np.arange(n)
    for _ in range(40):
        keys = log_w + gumbel
        # Chosen: the k largest keys of the row (k-th largest as threshold).
        threshold = -np.sort(-keys, axis=1)[rows, ks - 1]
        achieved = (keys >= threshold[:, None]).mean(axis=0)

        log_w += np.log(np.maximum(target, 1e-6) / np.maximum(achieved, 1e-6))
        log_w -= log_w.max()
    weights: np.ndarray = np.exp(log_w)
    return weights


_SOLVED: dict[Profile, np.ndarray] = {}
_LOCKS: dict[Profile, threading.Lock] = {}  # one per profile: others are solved meanwhile
_LOCKS_LOCK = threading.Lock()


def cluster_pmf(clusters: Clusters) -> np.ndarray:
    """Probabilities of cluster sizes 1..max (index 0 is size 1).

    Examples
    --------
    >>> cluster_pmf(Clusters("fixed", 2, 3)).tolist()
    [0.0, 1.0, 0.0]
    >>> [round(float(p), 3) for p in cluster_pmf(Clusters("zipf", 2.0, 3))]
    [0.735, 0.184, 0.082]

    """
    sizes = np.arange(1, clusters.max + 1, dtype=np.float64)
    if clusters.kind == "fixed":
        pmf = (sizes == min(round(clusters.param), clusters.max)).astype(np.float64)
    elif clusters.kind == "uniform":
        pmf = (sizes <= clusters.param).astype(np.float64)
    elif clusters.kind == "poisson":
        lam = max(clusters.param - 1.0, 1e-9)
        k = sizes - 1
        log_fact = np.cumsum(np.log(np.maximum(k, 1)))
        pmf = np.exp(-lam + k * np.log(lam) - log_fact)
    else:
        pmf = sizes ** (-clusters.param)
    result: np.ndarray = pmf / pmf.sum()
    return result
