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

import numpy as np
import polars as pl

from vecgen.catalog import CHANGE_FEED
from vecgen.daily.earlier import earlier_files, read_customers_file, with_entities
from vecgen.daily.extra import Extra
from vecgen.fuzz_vectorized.events import EVENT_FUNCTIONS
from vecgen.fuzz_vectorized.kernels import KernelContext, free_mail_domain
from vecgen.plan import Plan
from vecgen.rng import cumulative
from vecgen.sources.base import truth_rows
from vecgen.sources.customer_changes import CHANGE_COLUMNS, COLUMNS
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


def _number(ids: pl.Series) -> np.ndarray:
    """Return the customer number of each id (``1000000123`` or ``1000000123-K3X9QZ2A``) as the row key."""
    return (
        ids.cast(pl.String).str.split("-").list.first().cast(pl.UInt64, strict=False).fill_null(0)
    ).to_numpy()


def known_customers(out: str, before: str) -> pl.DataFrame:
    """Return the customers of the days before ``before`` as they are now (earlier changes applied).

    Text columns (``birth_dt`` a date) plus ``__entity``, the person's entity in
    truth (the customer id where the day has no truth file).
    """
    frames = []
    for path in earlier_files(out, "customers", dt.date.fromisoformat(before)):
        frames.append(with_entities(read_customers_file(path), path, out))
    if not frames:
        return pl.DataFrame()
    known = pl.concat(frames).unique("customer_id", keep="last", maintain_order=True)
    prior = [
        read_customers_file(p, extra=CHANGE_COLUMNS)
        for p in earlier_files(out, CHANGE_FEED, dt.date.fromisoformat(before))
    ]
    if not prior:
        return known
    latest = pl.concat(prior).unique("customer_id", keep="last", maintain_order=True)
    entity = known.select("customer_id", "__entity")
    updated = latest.filter(pl.col("op") == "U").join(entity, on="customer_id", how="left")
    updated = updated.with_columns(pl.col("__entity").fill_null(pl.col("customer_id")))
    return pl.concat(
        [
            known.join(latest.select("customer_id"), on="customer_id", how="anti"),
            updated.select(known.columns),
        ]
    )


def changes_extra(plan: Plan, vocab: Vocab) -> Extra | None:
    """Today's change rows (the ``customer_changes`` frame) and their truth rows."""
    known = known_customers(plan.config.out, plan.run_date.isoformat())
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
        household_id=old["__entity"],
    )
    return Extra(frame, truth.drop("__block"), CHANGE_FEED)
