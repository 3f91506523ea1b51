"""Build the packaged vocabularies from mimesis, zipcodes and nicknames (``vecgen refake``).

Run once with a fixed seed; the output is plain UTF-8 data files plus a
``manifest.json`` with row counts, checksums and the versions of the packages
they came from. Rebuilding with the same package versions gives the same bytes.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Callable, Iterable
from importlib import metadata
from pathlib import Path
from typing import Any

from vecgen.errors import MissingDependencyError

VOCAB_VERSION = 1
BUILD_SEED = 20261129
LOCALE = "en"
# Draws per provider: several times the size of mimesis' lists, so every value is seen.
_DRAWS = 60_000

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


def build(out_dir: Path) -> dict[str, object]:
    """Build every vocabulary file into ``out_dir`` and return the manifest.

    Raises
    ------
    MissingDependencyError
        When ``zipcodes`` or ``nicknames`` is not installed (``pip install 'vecgen[refake]'``).

    """
    try:
        import nicknames
        import zipcodes
    except ImportError as exc:  # pragma: no cover - exercised only without the extra
        msg = f"vecgen refake needs the '{exc.name}' package: pip install 'vecgen[refake]'"
        raise MissingDependencyError(msg) from exc
    from mimesis import Address, Finance, Internet, Person
    from mimesis.enums import Gender, TitleType, TLDType
    from mimesis.locales import Locale

    out_dir.mkdir(parents=True, exist_ok=True)
    loc = Locale.EN
    person = Person(loc, seed=BUILD_SEED)
    address = Address(loc, seed=BUILD_SEED)
    finance = Finance(loc, seed=BUILD_SEED)
    internet = Internet(seed=BUILD_SEED)

    lists: dict[str, list[str]] = {
        "first_female": _unique_sorted(lambda: person.first_name(gender=Gender.FEMALE)),
        "first_male": _unique_sorted(lambda: person.first_name(gender=Gender.MALE)),
        "last_name": _unique_sorted(person.last_name),
        "prefix_female": _prefixes(person, Gender.FEMALE, TitleType),
        "prefix_male": _prefixes(person, Gender.MALE, TitleType),
        "street_name": _unique_sorted(address.street_name),
        "street_suffix": _unique_sorted(address.street_suffix, 5_000),
        "company": _unique_sorted(finance.company),
        "job_title": _unique_sorted(person.occupation),
        "tld": [t.lstrip(".") for t in _unique_sorted(lambda: internet.tld(TLDType.UTLD), 2_000)],
        "free_mail_domain": [
            d.lstrip("@")
            for d in _unique_sorted(lambda: person.email().split("@", 1)[1], 5_000)
            if not d.startswith("example.")
        ],
    }
    import mimesis.datasets.int.internet as internet_data

    lists["user_agent"] = sorted(set(internet_data.USER_AGENTS))
    for name, values in lists.items():
        _write_lines(out_dir / f"{name}.txt", values)

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

    # Nicknames: (formal, nickname) pairs for first names we generate, title-cased.
    firsts = {n.lower() for n in lists["first_female"] + lists["first_male"]}
    namer = nicknames.NickNamer()
    pairs = sorted(
        (formal.title(), nick.title())
        for formal in firsts
        for nick in namer.nicknames_of(formal)
        if nick.isalpha() and nick != formal
    )
    _write_csv(out_dir / "nicknames.csv", ["name", "nickname"], pairs)

    files = {}
    for path in sorted(out_dir.iterdir()):
        if path.name == "manifest.json":
            continue
        data = path.read_bytes()
        files[path.name] = {
            "sha256": hashlib.sha256(data).hexdigest(),
            "rows": data.count(b"\n") - (1 if path.suffix == ".csv" else 0),
        }
    manifest: dict[str, object] = {
        "vocab_version": VOCAB_VERSION,
        "seed": BUILD_SEED,
        "locale": LOCALE,
        "sources": {p: _version(p) for p in ("mimesis", "zipcodes", "nicknames")},
        "files": files,
    }
    (out_dir / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return manifest
