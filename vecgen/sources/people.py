"""Clean person records, column at a time: the shared core of every customer-like source.

Every column is a pure function of ``(plan key, namespace, column, person index)``,
so a duplicate can recompute its original, and a second system (``namespace``)
gets its own people from the same code.
"""

from __future__ import annotations

import datetime as dt
import re

import numpy as np
import polars as pl

from vecgen.catalog import PERSON_COLUMNS
from vecgen.fuzz_vectorized.kernels import per_vocab
from vecgen.plan import Plan
from vecgen.rng import U64, cumulative
from vecgen.vocab import Vocab

ADDRESS_POOL_SIZE = 50_000
ADDRESS_FIELDS = {"number": "n", "name": "s", "suffix": "x"}  # the locale's address_format


FEMALE_SHARE = 0.54
ACCOUNT_STATUS = pl.Series(["Active", "Closed", "DNC", "Remarket"])
ACCOUNT_WEIGHTS = cumulative([5, 1, 1, 1])
EMAIL_PATTERNS = 4  # first@, firstlast@, flast123@, flast@  (all @employer.tld)
_EPOCH = dt.date(1970, 1, 1)


def _days(d: dt.date) -> int:
    return (d - _EPOCH).days


def street_addresses(plan: Plan, vocab: Vocab, namespace: str, idx: U64) -> pl.Series:
    """``<100-9999> <street name> <suffix>`` per index."""
    num = plan.stream(namespace, "addr_number").integers(idx, 100, 10_000)
    name = vocab.street_name.gather(
        plan.stream(namespace, "addr_street").integers(idx, 0, len(vocab.street_name))
    )
    sfx = vocab.street_suffix.gather(
        plan.stream(namespace, "addr_suffix").integers(idx, 0, len(vocab.street_suffix))
    )
    layout = str(vocab.manifest.get("address_format", "{number} {name} {suffix}"))
    parts = [
        pl.lit(piece) if i % 2 == 0 else pl.col(ADDRESS_FIELDS[piece])
        for i, piece in enumerate(re.split(r"\{(number|name|suffix)\}", layout))
        if piece
    ]
    return (
        pl.DataFrame({"n": num, "s": name, "x": sfx})
        .with_columns(pl.col("n").cast(pl.String))
        .select(pl.concat_str(parts))
        .to_series()
        .alias("addr_ln_1_txt")
    )


def _raw_person_frame(plan: Plan, vocab: Vocab, namespace: str, idx: U64) -> pl.DataFrame:
    """Generate clean person columns (:data:`PERSON_COLUMNS`) for person indices ``idx``.

    Examples
    --------
    >>> import datetime as dt, numpy as np
    >>> from vecgen.config import Config
    >>> from vecgen.plan import resolve
    >>> from vecgen.vocab import load
    >>> plan = resolve(Config(seed=1, date=dt.date(2026, 1, 1)))
    >>> a = _raw_person_frame(plan, load(), "customers", np.arange(4, dtype=np.uint64))
    >>> b = _raw_person_frame(plan, load(), "customers", np.arange(2, 4, dtype=np.uint64))
    >>> a.slice(2).equals(b), a.columns == list(PERSON_COLUMNS)
    (True, True)

    """
    s = plan.streams(namespace)
    n_female = len(vocab.first_female)
    female = s("gender").bernoulli(idx, FEMALE_SHARE)
    first_i = np.where(
        female,
        s("name_first").integers(idx, 0, n_female),
        n_female + s("name_first").integers(idx, 0, len(vocab.first_male)),
    )
    n_pf = len(vocab.prefix_female)
    prefix_i = np.where(
        female,
        s("name_prefix").integers(idx, 0, n_pf),
        n_pf + s("name_prefix").integers(idx, 0, len(vocab.prefix_male)),
    )
    last_i = s("name_last").integers(idx, 0, len(vocab.last_name))
    company_i = s("employment").integers(idx, 0, len(vocab.company))
    place_i = s("place").integers(idx, 0, len(vocab.places))
    places = vocab.places[place_i]
    birth = _days(plan.run_date) - s("birth_dt").integers(
        idx, round(18 * 365.25), round(90 * 365.25)
    )

    df = pl.DataFrame(
        {
            "name_prefix": vocab.prefix.gather(prefix_i),
            "name_first": vocab.first_name.gather(first_i),
            "name_last": vocab.last_name.gather(last_i),
            "gender": pl.select(
                pl.when(pl.Series(female)).then(pl.lit("F")).otherwise(pl.lit("M"))
            ).to_series(),
            "__first": vocab.first_slug.gather(first_i),
            "__last": vocab.last_slug.gather(last_i),
            "__domain": vocab.company_slug.gather(company_i),
            "__tld": vocab.tld.gather(s("email_tld").integers(idx, 0, len(vocab.tld))),
            "__pattern": s("email_pattern").integers(idx, 0, EMAIL_PATTERNS),
            "__digits": s("email_digits").integers(idx, 100, 1000),
            "account_status": ACCOUNT_STATUS.gather(
                s("account_status").choice(idx, ACCOUNT_WEIGHTS)
            ),
            "addr_ln_1_txt": street_addresses(plan, vocab, namespace, idx),
            "city": places["city"],
            "__abbr": places["state"],
            "__state_name": places["state_name"],
            "__use_abbr": s("state_form").bernoulli(idx, 0.5),
            "postal_code": places["postal_code"],
            "birth_dt": pl.Series(birth.astype(np.int32)).cast(pl.Date),
            "employment": vocab.company.gather(company_i),
            "job_title": vocab.job_title.gather(
                s("job_title").integers(idx, 0, len(vocab.job_title))
            ),
            "__area": places["area_code"],
            "__exchange": s("phone_exchange").integers(idx, 200, 1000),
            "__line": s("phone_line").integers(idx, 0, 10_000),
        }
    )
    first, last, p = pl.col("__first"), pl.col("__last"), pl.col("__pattern")
    # Patterns 0..3: first@, firstlast@, flast123@, flast@ (built as conditional pieces).
    email = pl.concat_str(
        [
            pl.when(p <= 1).then(first).otherwise(first.str.slice(0, 1)),
            pl.when(p == 0).then(pl.lit("")).otherwise(last),
            pl.when(p == 2).then(pl.col("__digits").cast(pl.String)).otherwise(pl.lit("")),
            pl.lit("@"),
            pl.col("__domain"),
            pl.lit("."),
            pl.col("__tld"),
        ]
    )
    return df.with_columns(
        email=email,
        state=pl.when(pl.col("__use_abbr"))
        .then(pl.col("__abbr"))
        .otherwise(pl.col("__state_name")),
        phone=pl.concat_str(
            [
                pl.col("__area"),
                pl.col("__exchange").cast(pl.String),
                pl.col("__line").cast(pl.String).str.zfill(4),
            ],
            separator="-",
        ),
    ).select(PERSON_COLUMNS)


# Field groups a look-alike shares with another person (a different entity).
LOOKALIKE_GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("name", ("name_prefix", "name_first", "name_last", "gender")),
    ("address", ("addr_ln_1_txt", "city", "state", "postal_code")),
    ("phone", ("phone",)),
    ("email", ("email",)),
)
LOOKALIKE_REACH = 50  # a look-alike's partner is one of the next 50 people


def population(plan: Plan, namespace: str) -> int:
    """How many clean people ``namespace`` has in this run (0: no look-alikes there)."""
    if namespace == "customers":
        return plan.n_clean
    if namespace == "pos_customers":
        return plan.n_clean - int(plan.dupes_before(np.array([plan.n_clean]))[0])
    return 0


def person_frame(plan: Plan, vocab: Vocab, namespace: str, idx: U64) -> pl.DataFrame:
    """Generate clean people for indices ``idx``, with the profile's look-alikes.

    A look-alike (``lookalikes`` percent of people, hard preset) shares one field
    group (name, address, phone or e-mail) with another person of the same
    system: a different entity that a matcher should not merge. Like every
    column, it is a pure function of the person's index.

    Examples
    --------
    >>> import datetime as dt, numpy as np
    >>> from vecgen.config import Config
    >>> from vecgen.plan import resolve
    >>> from vecgen.vocab import load
    >>> plan = resolve(Config(customers=1000, fuzz_profile="hard", date=dt.date(2026, 1, 1)))
    >>> f = person_frame(plan, load(), "customers", np.arange(1000, dtype=np.uint64))
    >>> bool(f["email"].n_unique() < 1000), f.columns == list(PERSON_COLUMNS)
    (True, True)

    """
    frame = _raw_person_frame(plan, vocab, namespace, idx)
    share = plan.profile.lookalikes
    n = population(plan, namespace)
    if share <= 0 or n < 2 or len(idx) == 0:
        return frame
    s = plan.streams(f"{namespace}/lookalike")
    hit = np.flatnonzero(s("is").bernoulli(idx, share / 100.0))
    if len(hit) == 0:
        return frame
    step = 1 + s("partner").integers(idx[hit], 0, min(LOOKALIKE_REACH, n - 1))
    partner = ((idx[hit].astype(np.int64) + step) % n).astype(np.uint64)
    twin = _raw_person_frame(plan, vocab, namespace, partner)
    group = s("group").integers(idx[hit], 0, len(LOOKALIKE_GROUPS))
    updates: dict[str, pl.Series] = {}
    for g, (_, columns) in enumerate(LOOKALIKE_GROUPS):
        rows = np.flatnonzero(group == g)
        if len(rows) == 0:
            continue
        for column in columns:
            current = updates.get(column, frame[column])
            updates[column] = current.clone().scatter(hit[rows], twin[column].gather(rows))
    return frame.with_columns(list(updates.values()))


def replacement_pools(vocab: Vocab) -> dict[str, pl.Series]:
    """Per field, the values the ``replace`` kernel draws from."""
    return {
        "name_last": vocab.last_name,
        "name_first": vocab.first_name,
        "city": vocab.places["city"].unique().sort(),
        "state": pl.concat([vocab.states["abbr"], vocab.states["name"]]),
        "postal_code": vocab.places["postal_code"],
        "addr_ln_1_txt": _address_pool(vocab),
    }


@per_vocab
def _address_pool(vocab: Vocab) -> pl.Series:
    """Return a fixed pool of street addresses for "moved to another street" corruptions."""
    from vecgen.config import Config
    from vecgen.plan import resolve

    fixed = resolve(Config(customers=0, seed=0, date=dt.date(2000, 1, 1)))
    return street_addresses(
        fixed, vocab, "address_pool", np.arange(ADDRESS_POOL_SIZE, dtype=np.uint64)
    )
