"""Packaged vocabularies: loaded lazily once, verified against the manifest, used by gather.

Every list is a Polars string Series; generators draw integer indices and
``gather`` them, so no Python object is touched per row.
"""

from __future__ import annotations

import functools
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from vecgen.catalog import LOCALES as LOCALES  # en: DATA_DIR; the others under locales/
from vecgen.errors import VocabularyError

DATA_DIR = Path(__file__).parent / "data"


def vocab_dir(locale: str = "en") -> Path:
    """Where the vocabularies of ``locale`` live.

    Examples
    --------
    >>> vocab_dir("de").relative_to(DATA_DIR).as_posix()
    'locales/de'

    """
    return DATA_DIR if locale == "en" else DATA_DIR / "locales" / locale


# Share of draws spread evenly over a whole list: the people a frequency list does not
# cover (the Census surname list covers ~90% of people, the SSA first names ~92%).
TAIL_SHARE = {"last_name": 0.10, "first_female": 0.08, "first_male": 0.08, "places": 0.0}


@dataclass(frozen=True, eq=False)
class Weights:
    """How often each entry of a list is drawn: cumulative probabilities per column.

    ``decades`` names the columns (birth decades of first names); empty means
    one column for everyone.

    Examples
    --------
    >>> w = Weights.of(np.array([[3, 1], [1, 3]]), (1950, 1960), tail=0.0)
    >>> w.cumulative.round(2).tolist()
    [[0.75, 1.0], [0.25, 1.0]]
    >>> w.column(np.array([1949, 1955, 1968, 2020])).tolist()
    [0, 0, 1, 1]

    """

    decades: tuple[int, ...]
    cumulative: np.ndarray  # shape (columns, entries), each row ends at 1.0

    @classmethod
    def of(cls, counts: np.ndarray, decades: tuple[int, ...], tail: float) -> Weights:
        """Build from counts (entries x columns); ``tail`` of each column is spread evenly."""
        c = np.asarray(counts, dtype=np.float64).T
        total = c.sum(axis=1, keepdims=True)
        share = np.where(total > 0, c / np.maximum(total, 1.0), 1.0 / c.shape[1])
        share = (1.0 - tail) * share + tail / c.shape[1]
        cum = np.cumsum(share, axis=1)
        cum /= cum[:, -1:]
        cum[:, -1] = 1.0
        return cls(decades, cum)

    def column(self, birth_year: np.ndarray) -> np.ndarray:
        """Return the column each birth year draws from (the nearest decade at the ends)."""
        if not self.decades:
            return np.zeros(len(birth_year), dtype=np.int64)
        at = (np.asarray(birth_year, dtype=np.int64) - self.decades[0]) // 10
        return np.clip(at, 0, len(self.decades) - 1)

    def draw(self, u: np.ndarray, column: np.ndarray | None = None) -> np.ndarray:
        """Entry per uniform ``u`` (in ``[0, 1)``), from each row's ``column``.

        The same as ``searchsorted(cumulative, u, side="right")``, found through a
        guide table (the first entry of each of ``4 * entries`` equal slices of
        [0, 1)) and a few steps, instead of a binary search over the whole list.

        Examples
        --------
        >>> w = Weights.of(np.arange(1, 1001)[:, None], (), tail=0.1)
        >>> u = np.random.default_rng(0).random(10_000)
        >>> bool((w.draw(u) == np.searchsorted(w.cumulative[0], u, side="right")).all())
        True

        """
        if column is None or self.cumulative.shape[0] == 1:
            out = self._guided(0, u)
        else:
            out = np.zeros(len(u), dtype=np.int64)
            for k in np.unique(column):
                rows = np.flatnonzero(column == k)
                out[rows] = self._guided(int(k), u[rows])
        drawn: np.ndarray = np.minimum(out, self.cumulative.shape[1] - 1).astype(np.int64)
        return drawn

    def _guide(self) -> np.ndarray:
        """Per column, the first entry past each of ``4 * entries`` equal slices of [0, 1).

        Built on first use and kept (no lock: two threads building it at once
        build the same table).
        """
        cached = self.__dict__.get("_guide_table")
        if cached is not None:
            table: np.ndarray = cached
            return table
        slices = 4 * self.cumulative.shape[1]
        edges = np.arange(slices + 1, dtype=np.float64) / slices
        table = np.stack([np.searchsorted(c, edges, side="right") for c in self.cumulative])
        self.__dict__["_guide_table"] = table
        return table

    def _guided(self, k: int, u: np.ndarray) -> np.ndarray:
        cum, guide = self.cumulative[k], self._guide()[k]
        slices = len(guide) - 1
        j = np.minimum((u * slices).astype(np.int64), slices - 1)
        at: np.ndarray = guide[j]
        end = guide[j + 1]
        last = len(cum) - 1
        while True:  # a slice holds a few entries at most: a few steps
            step = (at < end) & (cum[np.minimum(at, last)] <= u)
            if not step.any():
                return at
            at = at + step


@dataclass(frozen=True)
class Vocab:
    """All vocabularies of one locale. Parallel Series share an index."""

    first_female: pl.Series
    first_male: pl.Series
    last_name: pl.Series
    prefix_female: pl.Series
    prefix_male: pl.Series
    street_name: pl.Series
    street_suffix: pl.Series
    company: pl.Series
    company_slug: pl.Series  # parallel to company: lower-case [a-z0-9] for e-mail domains
    job_title: pl.Series
    tld: pl.Series
    free_mail_domain: pl.Series
    user_agent: pl.Series
    first_name: pl.Series  # first_female then first_male
    first_slug: pl.Series  # parallel to first_name: lower-case [a-z] for e-mail local parts
    last_slug: pl.Series  # parallel to last_name
    prefix: pl.Series  # prefix_female then prefix_male
    states: pl.DataFrame  # abbr, name
    places: pl.DataFrame  # postal_code, city, state, state_name, lat, lng, area_code
    nicknames: pl.DataFrame  # name, nickname (one row per pair)
    manifest: dict[str, object]
    first_female_weights: Weights  # by birth decade where the locale has it
    first_male_weights: Weights
    last_name_weights: Weights
    place_weights: Weights  # parallel to places: where people live


_LISTS = (
    "first_female first_male last_name prefix_female prefix_male street_name street_suffix "
    "company job_title tld free_mail_domain user_agent"
).split()


def _read_verified(directory: Path, name: str, files: dict[str, dict[str, object]]) -> bytes:
    path = directory / name
    try:
        data = path.read_bytes()
    except OSError as exc:
        msg = f"vocabulary file {path} cannot be read ({exc.strerror}); run `vecgen refake`"
        raise VocabularyError(msg) from exc
    expected = files.get(name, {}).get("sha256")
    if hashlib.sha256(data).hexdigest() != expected:
        msg = f"vocabulary file {path} does not match its manifest checksum; run `vecgen refake`"
        raise VocabularyError(msg)
    return data


@functools.cache
def load(directory: Path = DATA_DIR) -> Vocab:
    """Load (once per process) and verify the vocabularies in ``directory``.

    Examples
    --------
    >>> v = load()
    >>> v.states.filter(abbr="TX")["name"].item()
    'Texas'
    >>> v.places.columns
    ['postal_code', 'city', 'state', 'lat', 'lng', 'area_code', 'state_name']

    """
    try:
        manifest = json.loads((directory / "manifest.json").read_text())
        files: dict[str, dict[str, object]] = manifest["files"]
    except (OSError, ValueError, KeyError) as exc:
        msg = (
            f"vocabulary manifest in {directory} is missing or corrupt ({exc}); run `vecgen refake`"
        )
        raise VocabularyError(msg) from exc

    def lines(name: str) -> pl.Series:
        text = _read_verified(directory, f"{name}.txt", files).decode("utf-8")
        return pl.Series(name, text.splitlines(), dtype=pl.String)

    def table(name: str, schema: dict[str, pl.DataType]) -> pl.DataFrame:
        data = _read_verified(directory, f"{name}.csv", files)
        return pl.read_csv(data, schema=schema)

    lists = {name: lines(name) for name in _LISTS}
    states = table("states", {"abbr": pl.String(), "name": pl.String()})
    places = table(
        "places",
        {
            "postal_code": pl.String(),
            "city": pl.String(),
            "state": pl.String(),
            "lat": pl.Float64(),
            "lng": pl.Float64(),
            "area_code": pl.String(),
        },
    ).join(states.rename({"abbr": "state", "name": "state_name"}), on="state", how="left")
    nick = table("nicknames", {"name": pl.String(), "nickname": pl.String()})

    def weights(name: str, size: int) -> Weights:
        data = _read_verified(directory, f"{name}_weights.csv", files)
        frame = pl.read_csv(data, infer_schema_length=0).cast(pl.Int64)
        if frame.height != size:
            msg = f"vocabulary file {directory / name}_weights.csv has {frame.height} rows for {size} entries; run `vecgen refake`"
            raise VocabularyError(msg)
        decades = () if frame.columns == ["all"] else tuple(int(c) for c in frame.columns)
        return Weights.of(frame.to_numpy(), decades, TAIL_SHARE[name])

    # One chunk per column: a gather from a frame read in several chunks (the CSV
    # reader's) costs several times as much (places: 9 ms instead of 1 for a batch).
    first = pl.concat([lists["first_female"], lists["first_male"]], rechunk=True).alias(
        "first_name"
    )
    places, states, nick = places.rechunk(), states.rechunk(), nick.rechunk()
    return Vocab(
        **lists,
        company_slug=_slug(lists["company"], "[^a-z0-9]", "company"),
        first_name=first,
        first_slug=_slug(first, "[^a-z]", "user"),
        last_slug=_slug(lists["last_name"], "[^a-z]", "user"),
        prefix=pl.concat([lists["prefix_female"], lists["prefix_male"]], rechunk=True).alias(
            "prefix"
        ),
        states=states,
        places=places,
        nicknames=nick,
        manifest=manifest,
        first_female_weights=weights("first_female", len(lists["first_female"])),
        first_male_weights=weights("first_male", len(lists["first_male"])),
        last_name_weights=weights("last_name", len(lists["last_name"])),
        place_weights=weights("places", places.height),
    )


def _slug(values: pl.Series, drop: str, empty: str) -> pl.Series:
    """Lower-case ASCII ``values`` without the characters matching ``drop``.

    Latin letters lose their accents (Müller -> muller, Sébastien -> sebastien);
    a value with no Latin letter left (Japanese) becomes ``empty`` and its row
    number, so different names keep different e-mail addresses.

    Examples
    --------
    >>> _slug(pl.Series("n", ["Müller", "Sébastien", "伸幸"]), "[^a-z]", "user").to_list()
    ['muller', 'sebastien', 'user2']

    """
    import unicodedata

    plain = values.str.contains(r"^[\x00-\x7f]*$").fill_null(True)
    odd = np.flatnonzero(~plain.to_numpy())
    ascii_only = values.clone()
    if len(odd):
        folded = [
            unicodedata.normalize("NFKD", v).encode("ascii", "ignore").decode()
            for v in values.gather(odd)
        ]
        ascii_only = ascii_only.scatter(odd, pl.Series(folded, dtype=pl.String))
    slug = ascii_only.str.to_lowercase().str.replace_all(drop, "")
    numbered = pl.concat_str([pl.lit(empty), pl.int_range(len(slug)).cast(pl.String)])
    fallback = pl.select(numbered.alias("f")).to_series()
    return slug.zip_with(slug.str.len_chars() > 0, fallback).alias(f"{values.name}_slug")
