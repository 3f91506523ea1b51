"""Record-level events: correlated changes of several fields at once.

- ``moved``: a new street address and another real place (city, state, postal
  code agree; the state keeps its written form);
- ``married``: a new surname, and usually the e-mail with it;
- ``swap_names``: first and last name exchanged.

Each takes the frame rows of the duplicates it applies to and returns them
changed, with the names of the fields it touched.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
import polars as pl

from vecgen.fuzz_vectorized.kernels import same_values
from vecgen.fuzz_vectorized.profiles import EVENT_FIELDS
from vecgen.rng import U64, Stream
from vecgen.vocab import Vocab

Event = Callable[[pl.DataFrame, Stream, U64, Vocab, Mapping[str, pl.Series]], pl.DataFrame]
MARRIED_EMAIL_SHARE = 0.7


def moved(
    frame: pl.DataFrame, stream: Stream, rows: U64, vocab: Vocab, pools: Mapping[str, pl.Series]
) -> pl.DataFrame:
    """Move each person to another real place and street.

    Examples
    --------
    >>> import numpy as np, polars as pl
    >>> from vecgen.rng import Stream
    >>> from vecgen.vocab import load
    >>> from vecgen.sources.people import replacement_pools
    >>> f = pl.DataFrame({"addr_ln_1_txt": ["1 Oak St"], "city": ["Austin"], "state": ["TX"],
    ...                   "postal_code": ["78701"]})
    >>> out = moved(f, Stream(1), np.arange(1, dtype=np.uint64), load(), replacement_pools(load()))
    >>> out["postal_code"][0] != "78701", len(out["state"][0])
    (True, 2)

    """
    places = vocab.places[stream.child("place").integers(rows, 0, len(vocab.places))]
    addresses = pools["addr_ln_1_txt"].gather(
        stream.child("street").integers(rows, 0, len(pools["addr_ln_1_txt"]))
    )
    out = frame.clone()
    updates = {
        "addr_ln_1_txt": addresses,
        "city": places["city"],
        "postal_code": places["postal_code"],
        "state": pl.select(
            pl.when(frame["state"].str.len_chars() == 2)
            .then(places["state"])
            .otherwise(places["state_name"])
        ).to_series()
        if "state" in frame.columns
        else None,
    }
    return out.with_columns(
        [s.alias(c) for c, s in updates.items() if s is not None and c in frame.columns]
    )


def married(
    frame: pl.DataFrame, stream: Stream, rows: U64, vocab: Vocab, pools: Mapping[str, pl.Series]
) -> pl.DataFrame:
    """Give each person a new surname; most e-mails that contain the old one follow.

    Examples
    --------
    >>> import numpy as np, polars as pl
    >>> from vecgen.rng import Stream
    >>> from vecgen.vocab import load
    >>> f = pl.DataFrame({"name_last": ["Smith"], "email": ["jsmith@acme.com"]})
    >>> out = married(f, Stream(4), np.arange(1, dtype=np.uint64), load(), {})
    >>> out["name_last"][0] != "Smith", out["email"][0].endswith("@acme.com")
    (True, True)

    """
    names = vocab.last_name
    pick = stream.child("surname").integers(rows, 0, len(names))
    new = names.gather(pick)
    same = same_values(new, frame["name_last"])
    new = names.gather(np.where(same, (pick + 1) % len(names), pick))
    out = frame.with_columns(new.alias("name_last"))
    if "email" in frame.columns:
        old_slug = frame["name_last"].str.to_lowercase().str.replace_all("[^a-z]", "")
        new_slug = new.str.to_lowercase().str.replace_all("[^a-z]", "")
        follow = pl.Series(stream.child("email").bernoulli(rows, MARRIED_EMAIL_SHARE))
        # Replace the first occurrence of the old surname (str.replace takes no per-row pattern).
        parts = pl.col("e").str.split(pl.col("o"))
        renamed = parts.list.first() + pl.col("n") + parts.list.slice(1).list.join(pl.col("o"))
        email = pl.DataFrame(
            {"e": frame["email"], "o": old_slug, "n": new_slug, "f": follow}
        ).select(
            pl.when(pl.col("f") & (pl.col("o").str.len_chars() > 0) & (parts.list.len() > 1))
            .then(renamed)
            .otherwise(pl.col("e"))
        )
        out = out.with_columns(email.to_series().alias("email"))
    return out


def swap_names(
    frame: pl.DataFrame, stream: Stream, rows: U64, vocab: Vocab, pools: Mapping[str, pl.Series]
) -> pl.DataFrame:
    """Exchange first and last name.

    Examples
    --------
    >>> import numpy as np, polars as pl
    >>> from vecgen.rng import Stream
    >>> from vecgen.vocab import load
    >>> f = pl.DataFrame({"name_first": ["Ann"], "name_last": ["Lee"]})
    >>> swap_names(f, Stream(1), np.arange(1, dtype=np.uint64), load(), {}).row(0)
    ('Lee', 'Ann')

    """
    return frame.with_columns(name_first=frame["name_last"], name_last=frame["name_first"])


EVENT_FUNCTIONS: dict[str, Event] = {"moved": moved, "married": married, "swap_names": swap_names}
# Every column an event reads or may change: the fields it needs (EVENT_FIELDS) and
# those it changes when the frame has them (a marriage renames the e-mail too).
EVENT_COLUMNS: dict[str, tuple[str, ...]] = {
    event: (*fields, *{"married": ("email",)}.get(event, ()))
    for event, fields in EVENT_FIELDS.items()
}
