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

import polars as pl

from vecgen.errors import VocabularyError

DATA_DIR = Path(__file__).parent / "data"
LOCALES = ("en", "de", "fr", "es", "pt-br", "ja")  # en: DATA_DIR; the others under locales/


def vocab_dir(locale: str = "en") -> Path:
    """Where the vocabularies of ``locale`` live.

    Examples
    --------
    >>> vocab_dir("de").relative_to(DATA_DIR).as_posix()
    'locales/de'

    """
    return DATA_DIR if locale == "en" else DATA_DIR / "locales" / locale


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
    first = pl.concat([lists["first_female"], lists["first_male"]]).alias("first_name")
    return Vocab(
        **lists,
        company_slug=_slug(lists["company"], "[^a-z0-9]", "company"),
        first_name=first,
        first_slug=_slug(first, "[^a-z]", "user"),
        last_slug=_slug(lists["last_name"], "[^a-z]", "user"),
        prefix=pl.concat([lists["prefix_female"], lists["prefix_male"]]).alias("prefix"),
        states=states,
        places=places,
        nicknames=nick,
        manifest=manifest,
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

    ascii_only = [
        unicodedata.normalize("NFKD", v).encode("ascii", "ignore").decode() for v in values
    ]
    slug = pl.Series(values.name, ascii_only).str.to_lowercase().str.replace_all(drop, "")
    fallback = pl.Series([f"{empty}{i}" for i in range(len(slug))], dtype=pl.String)
    return slug.zip_with(slug.str.len_chars() > 0, fallback).alias(f"{values.name}_slug")
