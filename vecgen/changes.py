"""The change feed: today's updates and deletes of customers known from earlier days.

With ``changes = P`` a run reads the customers of the earlier days in its
output (each earlier day's file, with the latest earlier change of each person
applied: :func:`known_customers`), picks P percent of them and changes each
one in one way (:data:`KINDS`):

- ``moved``: street, city, state and postal code, together and agreeing;
- ``married``: a new surname, and usually the e-mail address with it;
- ``phone``: a new number in the same area code;
- ``email``: an address at another mail domain;
- ``status``: another ``account_status``;
- ``deleted``: a right-to-be-forgotten request (``op`` ``D``).

Who changes and how is keyed by (seed, run date, customer number), so the rows
do not depend on batching or on the order the files are read in; the rows are
ordered by customer number. Each row is the full new record with ``op`` (U/D),
``changed_columns`` (``|``-separated) and ``change_ts``; ``dtUpdateDate`` is the
change time. Truth gets one row per change: ``record_id`` is
``<customer_id>@<date>`` (the version), ``entity_id`` the person's entity.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import polars as pl

from vecgen.catalog import CHANGE_FEED, PERSON_FILE_COLUMNS
from vecgen.daily.earlier import (
    Output,
    earlier_files,
    file_day,
    output_of,
    read_customers_file,
    read_records,
    with_entities,
)
from vecgen.daily.extra import Extra
from vecgen.fuzz_vectorized.events import EVENT_FUNCTIONS
from vecgen.fuzz_vectorized.kernels import KernelContext, free_mail_domain
from vecgen.plan import Plan
from vecgen.rng import cumulative
from vecgen.sources.base import truth_rows
from vecgen.sources.customer_changes import CHANGE_COLUMNS, COLUMNS, SYSTEM_COLUMNS, feed_columns
from vecgen.sources.customers import COLUMNS as CUSTOMER_COLUMNS
from vecgen.sources.people import ACCOUNT_STATUS, replacement_pools
from vecgen.vocab import Vocab

KINDS: tuple[tuple[str, float], ...] = (
    ("moved", 35.0),
    ("married", 15.0),
    ("phone", 15.0),
    ("email", 15.0),
    ("status", 15.0),
    ("deleted", 5.0),
)
ADDRESS = ("addr_ln_1_txt", "city", "state", "postal_code")


def _number_expr(ids: pl.Expr) -> pl.Expr:
    """Return the customer number of each id (``1000000123`` or ``1000000123-K3X9QZ2A``)."""
    return (
        ids.cast(pl.String).str.split("-").list.first().cast(pl.UInt64, strict=False).fill_null(0)
    )


def _number(ids: pl.Series) -> np.ndarray:
    """Return the customer number of each id as the row key."""
    return pl.select(_number_expr(pl.lit(ids))).to_series().to_numpy()


def known_customers(out: str | Output, before: str) -> pl.DataFrame:
    """Return the customers of the days before ``before`` as they are now (earlier changes applied).

    Text columns (``birth_dt`` a date) plus ``__entity`` and ``__household``, the
    person's entity and household in truth (the customer id where the day has no
    truth file, or for a change of a customer in no earlier file).
    """
    known = _current_records(
        output_of(out), "customers", CHANGE_FEED, dt.date.fromisoformat(before)
    )
    if known.height == 0:
        return known
    return known.with_columns(pl.col("__entity", "__household").fill_null(pl.col("customer_id")))


def changes_extra(plan: Plan, vocab: Vocab, out: Output) -> Extra | None:
    """Today's change rows (the ``customer_changes`` frame) and their truth rows."""
    known = known_customers(out, plan.run_date.isoformat())
    if known.height == 0:
        return None
    s = plan.streams(CHANGE_FEED)
    keys = _number(known["customer_id"])
    picked = np.flatnonzero(s("pick").bernoulli(keys, plan.config.changes / 100.0))
    order = picked[np.argsort(keys[picked], kind="stable")]
    old = known[order]
    rows = keys[order]
    kind = s("kind").choice(rows, cumulative([w for _, w in KINDS]))
    new = old.clone()
    pools = replacement_pools(vocab)
    for k, (name, _) in enumerate(KINDS):
        idx = np.flatnonzero(kind == k)
        if len(idx) == 0 or name == "deleted":
            continue
        sub = old[idx]
        stream = s(name)
        if name in ("moved", "married"):
            columns = ADDRESS if name == "moved" else ("name_last", "email")
            changed = EVENT_FUNCTIONS[name](sub.select(columns), stream, rows[idx], vocab, pools)
        elif name == "phone":
            exchange = stream.child("exchange").integers(rows[idx], 200, 1000)
            line = stream.child("line").integers(rows[idx], 0, 10_000)
            changed = pl.DataFrame(
                {
                    "a": sub["phone"].str.slice(0, 3),
                    "e": exchange.astype(str),
                    "l": np.char.zfill(line.astype(str), 4),
                }
            ).select(
                pl.when(pl.col("a").is_not_null())
                .then(pl.concat_str(["a", "e", "l"], separator="-"))
                .alias("phone")
            )
        elif name == "email":
            ctx = KernelContext(stream, rows[idx], vocab)
            changed = free_mail_domain(sub["email"], ctx).to_frame("email")
        else:  # status: one of the other three
            current = sub["account_status"].replace_strict(
                ACCOUNT_STATUS.to_list(), list(range(len(ACCOUNT_STATUS))), default=0
            )
            step = stream.integers(rows[idx], 1, len(ACCOUNT_STATUS))
            nxt = (current.to_numpy() + step) % len(ACCOUNT_STATUS)
            changed = ACCOUNT_STATUS.gather(nxt).to_frame("account_status")
        new = new.with_columns(new[c].scatter(idx, changed[c]) for c in changed.columns)
    deleted = kind == len(KINDS) - 1
    compared = [c for c in CUSTOMER_COLUMNS if c not in ("customer_id", "dtUpdateDate")]
    listed = pl.DataFrame(
        {**{f"new:{c}": new[c] for c in compared}, **{f"old:{c}": old[c] for c in compared}}
    ).select(
        pl.concat_str(
            [
                pl.when(pl.col(f"new:{c}").ne_missing(pl.col(f"old:{c}"))).then(pl.lit(c))
                for c in compared
            ],
            separator="|",
            ignore_nulls=True,
        )
    )
    ids = new["customer_id"]
    if not plan.config.alpha_key:
        ids = ids.cast(pl.Int64)
    frame = new.with_columns(
        ids,
        pl.Series("op", np.where(deleted, "D", "U")),
        listed.to_series().alias("changed_columns"),
        pl.lit(plan.run_ts).alias("change_ts"),
        pl.lit(plan.run_ts).alias("dtUpdateDate"),
    ).select(COLUMNS)
    truth = truth_rows(
        CHANGE_FEED,
        new["customer_id"].cast(pl.String) + f"@{plan.run_date.isoformat()}",
        old["__entity"],
        np.zeros(len(order), dtype=bool),
        np.full(len(order), -1),
        household_id=old["__household"],
    )
    # A change of a value the web shop never captured (a phone or e-mail it does not
    # hold, with the completeness of the realistic presets) changes nothing: no row.
    happened = pl.Series(deleted) | (listed.to_series() != "")
    return Extra(frame.filter(happened), truth.filter(happened).drop("__block"), CHANGE_FEED)


@dataclass(frozen=True)
class Follower:
    """How a system follows the customer changes: its feed, its copy of a person, its delay."""

    system: str
    feed: str
    columns: dict[str, str]  # customers column -> this system's column
    lag_days: tuple[int, int]  # the change reaches the system lo..hi days later (uniform)
    never: float  # share of changes the system never records (its value stays stale)


FOLLOWERS: tuple[Follower, ...] = (
    Follower("loyalty", "loyalty_changes", PERSON_FILE_COLUMNS["loyalty"], (1, 14), 0.05),
    Follower(
        "pos_customers", "pos_customer_changes", PERSON_FILE_COLUMNS["pos_customers"], (1, 45), 0.2
    ),
)
_DATES = {
    "customers": ("birth_dt",),
    "pos_customers": ("birth_dt",),
    "loyalty": ("birthdate", "created"),
}


def _earlier_changes(out: Output, today: dt.date) -> pl.DataFrame:
    """Every earlier day's customer change: the feed's text columns, ``__day``, ``__entity``, ``__household``."""
    frames = []
    for path in earlier_files(out, CHANGE_FEED, today):
        frame = read_customers_file(path, extra=CHANGE_COLUMNS, out=out).with_columns(
            pl.lit(file_day(path)).alias("__day")
        )
        version = pl.col("customer_id") + "@" + pl.col("__day")
        found = with_entities(
            frame.with_columns(version.alias("__v")), path, out, CHANGE_FEED, "__v"
        )
        frames.append(found.drop("__v"))
    return pl.concat(frames) if frames else pl.DataFrame()


def _current_records(out: Output, system: str, feed: str, before: dt.date) -> pl.DataFrame:
    """Return a system's records as they were before ``before`` (its change feed applied).

    The system's earlier files, each record's latest earlier ``feed`` row
    applied; a deleted record is gone. Adds ``__entity`` and ``__household`` (from each file's truth); they are null
    for a feed row whose record is in no earlier file.
    """
    columns = SYSTEM_COLUMNS[system]
    key, dates = columns[0], _DATES[system]
    frames = [
        with_entities(read_records(path, system, columns, dates, out=out), path, out, system, key)
        for path in earlier_files(out, system, before)
    ]
    if not frames:
        return pl.DataFrame()
    records = pl.concat(frames).unique(key, keep="last", maintain_order=True)
    fed = [
        read_records(path, feed, columns, dates, CHANGE_COLUMNS, out)
        for path in earlier_files(out, feed, before)
    ]
    if not fed:
        return records
    latest = pl.concat(fed).unique(key, keep="last", maintain_order=True)
    kept = records.join(latest.select(key), on=key, how="anti")
    updated = (
        latest.filter(pl.col("op") == "U")
        .join(records.select(key, "__entity", "__household"), on=key, how="left")
        .select(records.columns)
    )
    return pl.concat([kept, updated])


def follow_extras(plan: Plan, out: Output) -> list[Extra]:
    """Today's rows of the loyalty and POS change feeds: earlier customer changes now due.

    A change of customer X on day D reaches each system after a delay drawn per
    (seed, system, D, X) -- some never do -- and is recorded by the first run on
    or after the day it is due: the runs after the last earlier day with files,
    up to today. The system updates the columns it holds and has a value for; a
    deletion removes its record. Loyalty's copy of X is member ``LM`` + X; the
    POS system's are its records of X's entity.
    """
    today = plan.run_date
    followers = [f for f in FOLLOWERS if f.feed in plan.sources]
    days = sorted({file_day(p) for p in earlier_files(out, "customers", today)})
    if not followers or not days:
        return []
    changes = _earlier_changes(out, today)
    if changes.height == 0:
        return []
    number = _number(changes["customer_id"])
    change_day = changes["__day"].str.to_date().cast(pl.Int64).to_numpy()  # days since 1970
    after = (dt.date.fromisoformat(days[-1]) - dt.date(1970, 1, 1)).days
    until = (today - dt.date(1970, 1, 1)).days
    extras = []
    for follower in followers:
        s = plan.streams(follower.feed)
        lo, hi = follower.lag_days
        lag = np.zeros(len(number), dtype=np.int64)
        never = np.zeros(len(number), dtype=bool)
        for day in np.unique(change_day):  # keyed by (system, change day, customer number)
            at = np.flatnonzero(change_day == day)
            lag[at] = s("lag").child(int(day)).integers(number[at], lo, hi + 1)
            never[at] = s("never").child(int(day)).bernoulli(number[at], follower.never)
        due = (change_day + lag > after) & (change_day + lag <= until)
        extra = _followed(plan, out, follower, changes.filter(pl.Series(due & ~never)))
        if extra is not None:
            extras.append(extra)
    return extras


def _followed(plan: Plan, out: Output, follower: Follower, due: pl.DataFrame) -> Extra | None:
    """Return one system's feed rows: its records the ``due`` changes reach, as they become."""
    if due.height == 0:
        return None
    today = plan.run_date
    current = _current_records(out, follower.system, follower.feed, today)
    # A feed row of a record in no earlier file has no entity to reach it by: left out.
    current = current.drop_nulls("__entity") if current.height else current
    if current.height == 0:
        return None
    columns = SYSTEM_COLUMNS[follower.system]
    key = columns[0]
    if follower.system == "loyalty":  # one member per customer record: LM + its id
        reached = due.with_columns(("LM" + pl.col("customer_id")).alias(key))
    else:  # the system's records of the person
        reached = due.drop("customer_id").join(
            current.select(key, "__entity"), on="__entity", how="inner"
        )
    reached = reached.join(current.select(key), on=key, how="semi").sort(key, "__day")
    if reached.height == 0:
        return None
    listed = pl.col("changed_columns").fill_null("").str.split("|")
    # Per record, each held column takes the latest due value of the changes listing it.
    latest = reached.group_by(key, maintain_order=True).agg(
        (pl.col("op") == "D").any().alias("__deleted"),
        *(
            pl.col(c)
            .filter(listed.list.contains(c) & (pl.col("op") == "U"))
            .last()
            .alias(f"new:{held}")
            for c, held in follower.columns.items()
        ),
    )
    old = current.join(latest, on=key, how="inner")
    new = old.with_columns(
        pl.when(
            pl.col(held).is_not_null() & pl.col(f"new:{held}").is_not_null() & ~pl.col("__deleted")
        )
        .then(pl.col(f"new:{held}"))
        .otherwise(pl.col(held))
        .alias(held)
        for held in follower.columns.values()
    )
    changed = pl.concat_str(
        [pl.when(pl.col(c).ne_missing(old[c])).then(pl.lit(c)) for c in columns[1:]],
        separator="|",
        ignore_nulls=True,
    )
    rows = (
        new.with_columns(
            pl.when(pl.col("__deleted")).then(pl.lit("D")).otherwise(pl.lit("U")).alias("op"),
            pl.when(pl.col("__deleted"))
            .then(pl.lit(""))
            .otherwise(changed)
            .alias("changed_columns"),
        )
        .filter((pl.col("op") == "D") | (pl.col("changed_columns") != ""))
        .with_columns(_number_expr(pl.col(key).str.strip_prefix("LM")).alias("__n"))
        .sort("__n", key)
    )
    if rows.height == 0:
        return None
    if follower.system == "loyalty":
        kept_types = [pl.col("points").cast(pl.Int64)]
    else:  # POS ids are numbers unless alpha_key, as in the POS file
        kept_types = [] if plan.config.alpha_key else [pl.col(key).cast(pl.Int64)]
    typed = rows.with_columns(
        pl.lit(plan.run_ts).alias("change_ts"),
        pl.lit(plan.run_ts).alias("dtUpdateDate"),
        *kept_types,
    ).select(feed_columns(follower.system))
    n = rows.height
    truth = truth_rows(
        follower.feed,
        rows[key] + f"@{today.isoformat()}",
        rows["__entity"],
        np.zeros(n, dtype=bool),
        np.full(n, -1),
        household_id=rows["__household"],
    )
    return Extra(typed, truth.drop("__block"), follower.feed)
