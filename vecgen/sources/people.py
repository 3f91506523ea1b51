"""Clean person records, column at a time: the shared core of every customer-like source.

Every column is a pure function of ``(plan key, namespace, column, person index)``,
so a duplicate can recompute its original, and a second system (``namespace``)
gets its own people from the same code.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import numpy as np
import polars as pl

from vecgen.catalog import PERSON_COLUMNS
from vecgen.fuzz_vectorized.kernels import per_vocab
from vecgen.plan import BLOCK, Plan
from vecgen.rng import I64, U64, cumulative
from vecgen.sources.columns import slots_in_blocks
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
    return _address_text(vocab, pl.DataFrame({"n": num, "s": name, "x": sfx}))


def _address_text(vocab: Vocab, street: pl.DataFrame) -> pl.Series:
    """Lay out house number ``n``, street name ``s`` and suffix ``x`` as the locale writes them."""
    layout = str(vocab.manifest.get("address_format", "{number} {name} {suffix}"))
    parts = [
        pl.lit(piece) if i % 2 == 0 else pl.col(ADDRESS_FIELDS[piece])
        for i, piece in enumerate(re.split(r"\{(number|name|suffix)\}", layout))
        if piece
    ]
    return (
        street.with_columns(_as_text(street["n"]))
        .select(pl.concat_str(parts))
        .to_series()
        .alias("addr_ln_1_txt")
    )


# Small numbers as text by look-up (house numbers, e-mail digits, phone exchanges and
# lines: made text per row they cost ~60 ns, zero-padded twice that).
_TEXT = pl.Series([str(i) for i in range(10_000)], dtype=pl.String)
_FOUR_DIGITS = pl.Series([f"{i:04d}" for i in range(10_000)], dtype=pl.String)


def _as_text(numbers: pl.Series | np.ndarray, table: pl.Series = _TEXT) -> pl.Series:
    """Return ``numbers`` as ``table`` writes them (by look-up when all are in ``0..9999``).

    Examples
    --------
    >>> _as_text(np.array([7, 120])).to_list(), _as_text(np.array([7]), _FOUR_DIGITS).to_list()
    (['7', '120'], ['0007'])
    >>> _as_text(pl.Series("n", [12_345])).to_list()
    ['12345']

    """
    values = numbers if isinstance(numbers, pl.Series) else pl.Series(numbers)
    low, high = values.min(), values.max()
    in_table = isinstance(low, int) and isinstance(high, int) and 0 <= low and high < len(table)
    if values.has_nulls() or not in_table:
        if table is _FOUR_DIGITS:
            return values.cast(pl.String).str.zfill(4)
        return values.cast(pl.String)
    return table[values.to_numpy()].alias(values.name)


YEAR = 365.25
MIN_AGE, MAX_AGE = 18, 90
PARENT_MIN_AGE = 40  # a first member whose household holds an adult child
PARTNER_SECOND = 0.65  # the second known member is the first's partner; else an adult child
PARTNER_OPPOSITE_SEX = 0.92  # the other partners are of the same sex
PARTNER_SHARES_SURNAME = 0.80  # the rest kept their own name
PARTNER_AGE_SPREAD = 6  # years either way
CHILD_GAP = (20, 40)  # years between the first member and a child
TWIN_SHARE = 0.10  # a child after a child is that child's twin
JUNIOR_SHARE = 0.15  # a son of a father carries his first name ...
JUNIOR_SUFFIX_SHARE = 0.30  # ... and some systems kept " Jr" on the surname
SHARED_PHONE = 0.45  # a member gives the first member's (landline) number
SHARED_EMAIL = 0.10  # a member gives the family e-mail address


@dataclass(frozen=True)
class Households:
    """Where each person lives: the first member of the household, rank, size, previous member.

    Member 0 is the household's first member, 1 a partner (or, see
    :func:`child_second`, a child), 2 and up children.
    """

    head: I64
    member: I64
    size: I64
    previous: I64  # the member ranked just before (itself for member 0)


def households(plan: Plan, namespace: str, idx: U64) -> Households:
    """Return the household of each person ``idx``, keyed by block (any batching gives the same).

    The clean people of a block of :data:`~vecgen.plan.BLOCK` are put in a keyed
    random order and cut into households whose sizes are drawn per slot from the
    profile's ``households`` weights (people a retailer knows per household).
    Only the primary customers live in households; other systems' own people,
    and profiles without household weights, live alone.

    Examples
    --------
    >>> import datetime as dt, numpy as np
    >>> from vecgen.config import Config
    >>> from vecgen.plan import resolve
    >>> plan = resolve(Config(customers=3000, fuzz_profile="medium", date=dt.date(2026, 1, 1)))
    >>> a = households(plan, "customers", np.arange(3000, dtype=np.uint64))
    >>> b = households(plan, "customers", np.arange(1000, 2000, dtype=np.uint64))
    >>> bool((a.head[1000:2000] == b.head).all()), bool((a.head // 1000 == np.arange(3000) // 1000).all())
    (True, True)

    """
    rows = idx.astype(np.int64)
    alone = Households(rows, np.zeros_like(rows), np.ones_like(rows), rows)
    weights = plan.profile.households
    n = plan.n_clean if namespace == "customers" else 0
    if not weights or n == 0 or len(rows) == 0:
        return alone
    blocks = np.unique(rows // BLOCK)
    starts = blocks * BLOCK
    sizes = np.minimum(starts + BLOCK, n) - starts
    first = np.cumsum(sizes) - sizes
    people = np.repeat(starts - first, sizes) + np.arange(int(sizes.sum()), dtype=np.int64)
    block = np.repeat(blocks, sizes)
    keys = people.astype(np.uint64)
    # Block, then a keyed random 40-bit key: one sort of packed integers.
    shuffle = plan.stream("households", "order").u64(keys) >> np.uint64(24)
    order = np.argsort((block.astype(np.uint64) << np.uint64(40)) | shuffle, kind="stable")
    ranked = people[order]
    rank = np.arange(len(people)) - np.repeat(first, sizes)
    # Household sizes drawn per slot (slot j of block b keyed by b * BLOCK + j).
    hs = 1 + plan.stream("households", "size").choice(keys, cumulative(weights))
    slot, member = slots_in_blocks(block, hs, rank)
    start_rank = rank - member
    at = np.repeat(first, sizes) + start_rank  # where the household starts in `ranked`
    size = np.minimum(hs[slot], np.repeat(sizes, sizes) - start_rank)
    head = ranked[at]
    previous = ranked[np.maximum(np.arange(len(people)) - 1, at)]
    where = np.empty(len(people), dtype=np.int64)
    where[order] = np.arange(len(people))
    pick = where[np.searchsorted(people, rows)]
    return Households(head[pick], member[pick], size[pick], previous[pick])


def child_second(plan: Plan, namespace: str, head: I64) -> np.ndarray:
    """Whether the second member of the household of ``head`` is a child, not a partner."""
    return ~plan.stream(f"{namespace}/household", "second").bernoulli(
        head.astype(np.uint64), PARTNER_SECOND
    )


def _ages(plan: Plan, namespace: str, people: I64, parent: np.ndarray) -> I64:
    """Age in days of people as first members of households (``parent``: with an adult child)."""
    u = plan.stream(namespace, "birth_dt").uniform(people.astype(np.uint64))
    low = np.where(parent, PARENT_MIN_AGE, MIN_AGE) * YEAR
    return np.round(low + u * (MAX_AGE * YEAR - low)).astype(np.int64)


def _child_age(plan: Plan, namespace: str, child: I64, head_age: I64) -> I64:
    gap = plan.stream(namespace, "child_gap").uniform(child.astype(np.uint64))
    years = CHILD_GAP[0] + gap * (CHILD_GAP[1] - CHILD_GAP[0])
    return np.maximum(head_age - np.round(years * YEAR).astype(np.int64), round(MIN_AGE * YEAR))


def _first_names(
    plan: Plan, vocab: Vocab, namespace: str, idx: U64, female: np.ndarray, birth: I64
) -> I64:
    """Index into ``vocab.first_name``: drawn by sex and birth decade (where the locale has it)."""
    u = plan.stream(namespace, "name_first").uniform(idx)
    year = np.floor(birth / YEAR + 1970).astype(np.int64)
    out = np.empty(len(idx), dtype=np.int64)
    for is_female, weights, offset in (
        (True, vocab.first_female_weights, 0),
        (False, vocab.first_male_weights, len(vocab.first_female)),
    ):
        rows = np.flatnonzero(female == is_female)
        out[rows] = offset + weights.draw(u[rows], weights.column(year[rows]))
    return out


def _draws(
    plan: Plan, vocab: Vocab, namespace: str, idx: U64, parent: np.ndarray
) -> dict[str, np.ndarray]:
    """Every random choice of a person, as first member of a household (``parent``: with a child)."""
    s = plan.streams(namespace)
    female = s("gender").bernoulli(idx, FEMALE_SHARE)
    birth = _days(plan.run_date) - _ages(plan, namespace, idx.astype(np.int64), parent)
    company = s("employment").integers(idx, 0, len(vocab.company))
    return {
        "female": female,
        "birth": birth,
        "prefix": s("name_prefix").uniform(idx),
        "last": vocab.last_name_weights.draw(s("name_last").uniform(idx)),
        "company": company,
        "domain": company.copy(),  # the e-mail address is at the employer's domain
        "place": vocab.place_weights.draw(s("place").uniform(idx)),
        "number": s("addr_number").integers(idx, 100, 10_000),
        "street": s("addr_street").integers(idx, 0, len(vocab.street_name)),
        "suffix": s("addr_suffix").integers(idx, 0, len(vocab.street_suffix)),
        "tld": s("email_tld").integers(idx, 0, len(vocab.tld)),
        "pattern": s("email_pattern").integers(idx, 0, EMAIL_PATTERNS),
        "digits": s("email_digits").integers(idx, 100, 1000),
        "status": s("account_status").choice(idx, ACCOUNT_WEIGHTS),
        "use_abbr": s("state_form").bernoulli(idx, 0.5),
        "job": s("job_title").integers(idx, 0, len(vocab.job_title)),
        "exchange": s("phone_exchange").integers(idx, 200, 1000),
        "line": s("phone_line").integers(idx, 0, 10_000),
        "junior_suffix": np.zeros(len(idx), dtype=bool),
    }


_EMAIL_PARTS = ("email_first", "email_last", "domain", "tld", "pattern", "digits")


def person_draws(
    plan: Plan, vocab: Vocab, namespace: str, idx: U64, hh: Households | None = None
) -> dict[str, np.ndarray]:
    """Every choice of each person ``idx``, household members made to agree with their first member.

    Members share the first member's address and place; a partner usually the
    surname, children always (some sons also the father's first name, and twins
    the birth date); some share the phone number or the e-mail address.
    """
    hh = hh or households(plan, namespace, idx)
    second_child = child_second(plan, namespace, hh.head)
    parent = (hh.size >= 3) | ((hh.size == 2) & second_child)
    d = _draws(plan, vocab, namespace, idx, parent)
    d["first"] = _first_names(plan, vocab, namespace, idx, d["female"], d["birth"])
    d["email_first"], d["email_last"] = d["first"].copy(), d["last"].copy()
    sub = np.flatnonzero(hh.member > 0)
    if len(sub) == 0:
        return d
    s = plan.streams(f"{namespace}/household")
    head_idx = hh.head[sub].astype(np.uint64)
    h = _draws(plan, vocab, namespace, head_idx, parent[sub])
    h["first"] = _first_names(plan, vocab, namespace, head_idx, h["female"], h["birth"])
    h["email_first"], h["email_last"] = h["first"], h["last"]
    rows = idx[sub]
    member = hh.member[sub]
    partner = (member == 1) & ~second_child[sub]
    child = ~partner
    head_age = _days(plan.run_date) - h["birth"]
    # Ages: a partner near the first member's, a child 20-40 years younger; twins share.
    spread = (s("partner_age").uniform(rows) - 0.5) * 2 * PARTNER_AGE_SPREAD * YEAR
    age = np.where(
        partner,
        np.clip(head_age + np.round(spread).astype(np.int64), MIN_AGE * YEAR, MAX_AGE * YEAR),
        _child_age(plan, namespace, rows.astype(np.int64), head_age),
    )
    after_child = (member >= 3) | ((member == 2) & second_child[sub])
    twin = child & after_child & s("twin").bernoulli(rows, TWIN_SHARE)
    prev = hh.previous[sub]
    age = np.where(twin, _child_age(plan, namespace, prev, head_age), age)
    female = np.where(
        partner & s("partner_sex").bernoulli(rows, PARTNER_OPPOSITE_SEX),
        ~h["female"],
        d["female"][sub],
    )
    d["female"][sub] = female
    d["birth"][sub] = _days(plan.run_date) - age.astype(np.int64)
    first = _first_names(plan, vocab, namespace, rows, female, d["birth"][sub])
    junior = child & ~female & ~h["female"] & s("junior").bernoulli(rows, JUNIOR_SHARE)
    d["first"][sub] = np.where(junior, h["first"], first)
    if vocab.manifest.get("locale", "en") == "en":  # " Jr" is how US systems write it
        d["junior_suffix"][sub] = junior & s("junior_suffix").bernoulli(rows, JUNIOR_SUFFIX_SHARE)
    same_name = child | (partner & s("partner_name").bernoulli(rows, PARTNER_SHARES_SURNAME))
    d["last"][sub] = np.where(same_name, h["last"], d["last"][sub])
    d["email_first"][sub], d["email_last"][sub] = d["first"][sub], d["last"][sub]
    for key in ("place", "number", "street", "suffix"):
        d[key][sub] = h[key]
    phone = s("shared_phone").bernoulli(rows, SHARED_PHONE)
    for key in ("exchange", "line"):
        d[key][sub] = np.where(phone, h[key], d[key][sub])
    email = s("shared_email").bernoulli(rows, SHARED_EMAIL)
    for key in _EMAIL_PARTS:
        d[key][sub] = np.where(email, h[key], d[key][sub])
    return d


def _email(vocab: Vocab, d: dict[str, np.ndarray]) -> pl.Series:
    """Build each person's e-mail address from their draws, by look-ups only.

    Patterns 0..3: ``first@``, ``firstlast@``, ``flast123@``, ``flast@``, then
    the company's domain and a top-level domain. Each piece is a gather from a
    table that holds its choices (an initial, an empty string, ``@company.tld``),
    so the address is one join of four columns.
    """
    t = _email_tables(vocab)
    pattern = d["pattern"]
    n_first, n_last = len(vocab.first_slug), len(vocab.last_slug)
    local = np.where(pattern <= 1, d["email_first"], n_first + d["email_first"])
    last = np.where(pattern == 0, n_last, d["email_last"])  # (n_last: "")
    digits = np.where(pattern == 2, d["digits"], len(_TEXT))  # (len(_TEXT): "")
    at = d["domain"] * len(vocab.tld) + d["tld"]
    return pl.DataFrame(
        {
            "a": t["local"][local],
            "b": t["last"][last],
            "c": t["digits"][digits],
            "d": t["at"][at],
        }
    ).select(pl.concat_str(["a", "b", "c", "d"]).alias("email"))["email"]


@per_vocab
def _email_tables(vocab: Vocab) -> dict[str, pl.Series]:
    """Return the pieces an e-mail address is made of (see :func:`_email`)."""
    first = vocab.first_slug
    domains = [
        f"@{company}.{tld}"
        for company in vocab.company_slug.to_list()
        for tld in vocab.tld.to_list()
    ]
    empty = pl.Series([""], dtype=pl.String)
    return {
        "local": pl.concat([first, first.str.slice(0, 1)], rechunk=True),
        "last": pl.concat([vocab.last_slug, empty], rechunk=True),
        "digits": pl.concat([_TEXT, empty], rechunk=True),
        "at": pl.Series(domains, dtype=pl.String),
    }


def _raw_person_frame(
    plan: Plan, vocab: Vocab, namespace: str, idx: U64, hh: Households | None = None
) -> pl.DataFrame:
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
    d = person_draws(plan, vocab, namespace, idx, hh)
    places = vocab.places[d["place"]]
    n_pf, n_pm = len(vocab.prefix_female), len(vocab.prefix_male)
    prefix = np.where(
        d["female"],
        (d["prefix"] * n_pf).astype(np.int64),
        n_pf + (d["prefix"] * n_pm).astype(np.int64),
    )
    street = pl.DataFrame(
        {
            "n": d["number"],
            "s": vocab.street_name.gather(d["street"]),
            "x": vocab.street_suffix.gather(d["suffix"]),
        }
    )
    surname = vocab.last_name.gather(d["last"])
    df = pl.DataFrame(
        {
            "name_prefix": vocab.prefix.gather(prefix),
            "name_first": vocab.first_name.gather(d["first"]),
            "name_last": surname.zip_with(pl.Series(~d["junior_suffix"]), surname + " Jr"),
            "gender": pl.select(
                pl.when(pl.Series(d["female"])).then(pl.lit("F")).otherwise(pl.lit("M"))
            ).to_series(),
            "email": _email(vocab, d),
            "account_status": ACCOUNT_STATUS.gather(d["status"]),
            "addr_ln_1_txt": _address_text(vocab, street),
            "city": places["city"],
            "__abbr": places["state"],
            "__state_name": places["state_name"],
            "__use_abbr": d["use_abbr"],
            "postal_code": places["postal_code"],
            "birth_dt": pl.Series(d["birth"].astype(np.int32)).cast(pl.Date),
            "employment": vocab.company.gather(d["company"]),
            "job_title": vocab.job_title.gather(d["job"]),
            "__area": places["area_code"],
            "__exchange": _as_text(d["exchange"]),
            "__line": _as_text(d["line"], _FOUR_DIGITS),
        }
    )
    return df.with_columns(
        state=pl.when(pl.col("__use_abbr"))
        .then(pl.col("__abbr"))
        .otherwise(pl.col("__state_name")),
        phone=pl.concat_str(
            [
                pl.col("__area"),
                pl.col("__exchange"),
                pl.col("__line"),
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


def person_frame(
    plan: Plan, vocab: Vocab, namespace: str, idx: U64, hh: Households | None = None
) -> pl.DataFrame:
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
    frame = _raw_person_frame(plan, vocab, namespace, idx, hh)
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
    """Per field, the values the ``replace`` kernel draws from (built once per vocabulary)."""
    return dict(_pools(vocab))


@per_vocab
def _pools(vocab: Vocab) -> dict[str, pl.Series]:
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
