"""Locales: German (and other) names, streets, cities, regions, postal codes; fuzzing non-ASCII."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest

from tests.conftest import read_source, small_config, tree_bytes
from vecgen.engine import run
from vecgen.fuzz_vectorized import KernelContext, get_kernel
from vecgen.rng import Stream
from vecgen.vocab import LOCALES, load, vocab_dir
from vecgen.vocab.build import build

POSTAL = {
    "de": r"^\d{5}$",
    "fr": r"^\d{5}$",
    "es": r"^\d{5}$",
    "pt-br": r"^\d{5}-\d{3}$",
    "ja": r"^\d{3}-\d{4}$",
}


@pytest.mark.parametrize("locale", LOCALES[1:])
def test_every_locale_is_packaged_verified_and_rebuilt_byte_for_byte(
    tmp_path: Path, locale: str
) -> None:
    vocab = load(vocab_dir(locale))
    assert vocab.manifest["locale"] == locale
    assert len(vocab.first_female) > 100 and len(vocab.last_name) > 100
    assert vocab.places["postal_code"].str.contains(POSTAL[locale]).all()
    assert vocab.places["postal_code"].n_unique() == vocab.places.height  # a join key
    assert vocab.places["state_name"].null_count() == 0
    build(tmp_path, locale)
    assert tree_bytes(tmp_path) == tree_bytes(vocab_dir(locale))


def test_a_german_run_has_german_people_and_places(tmp_path: Path) -> None:
    de, en = load(vocab_dir("de")), load()
    result = run(
        small_config(
            tmp_path / "de", locale="de", customers=4000, dupe_rate=0, fuzz_profile="gensampledata"
        )
    )
    people = read_source(result, "customers")
    assert people["name_last"].is_in(de.last_name.implode()).all()
    assert people["name_first"].is_in(de.first_name.implode()).all()
    assert people["name_prefix"].is_in(["Frau", "Herr"]).all()
    assert people["city"].is_in(de.places["city"].implode()).all()
    assert people["postal_code"].str.contains(r"^\d{5}$").all()
    german_regions = pl.concat([de.states["abbr"], de.states["name"]]).implode()
    assert people["state"].is_in(german_regions).all()
    # Streets as Germans write them: "<street> <number>", from the German street list.
    street = people["addr_ln_1_txt"].str.replace(r" \d+$", "")
    assert people["addr_ln_1_txt"].str.contains(r" \d+$").all()
    assert street.is_in(de.street_name.implode()).all()
    assert people["name_last"].str.contains("[äöüß]").any()  # umlauts survive
    # E-mail local parts are ASCII: umlauts lose their dots.
    assert people["email"].str.contains(r"^[a-z0-9.]+@[a-z0-9]+\.[a-z]+$").all()
    # Hardly any US name: the vocabularies are the locale's.
    us_only = people["name_last"].is_in(en.last_name.implode()) & ~people["name_last"].is_in(
        de.last_name.implode()
    )
    assert not us_only.any()


def test_a_locale_run_is_the_same_for_any_batch_size_and_fuzzes_its_duplicates(
    tmp_path: Path,
) -> None:
    for name, batch in (("a", 1000), ("b", 5000)):
        run(small_config(tmp_path / name, locale="fr", customers=5000, batch_size=batch))
    assert tree_bytes(tmp_path / "a") == tree_bytes(tmp_path / "b")
    truth = pl.read_csv(next((tmp_path / "a").rglob("truth/*/*.csv")), infer_schema=False)
    dupes = truth.filter(pl.col("source") == "customers", pl.col("is_duplicate") == "true")
    assert dupes.height == 750 and dupes["corruptions"].str.len_chars().min() > 0


@pytest.mark.parametrize(
    "kernel",
    [
        "fat_finger",
        "keyboard_substitution",
        "ocr",
        "phonetic",
        "swap_adjacent",
        "delete_char",
        "insert_char",
        "upper",
        "initial",
    ],
)
def test_text_kernels_keep_the_contract_on_german_and_japanese_text(kernel: str) -> None:
    values = pl.Series(
        "f", ["Müller", "Größe", "勅使河原", "みのる", None, "Ærø", "Straße 12"] * 50
    )
    ctx = KernelContext(Stream(7), np.arange(len(values), dtype=np.uint64), load(vocab_dir("de")))
    out = get_kernel(kernel)(values, ctx)
    assert out.len() == values.len() and out.dtype == pl.String
    assert out.is_null().to_list() == values.is_null().to_list()
    assert (out != values).any()  # the kernel did corrupt something
    changed = out.filter(out != values)
    # Non-ASCII letters go through the kernels (kept or changed), not only ASCII ones.
    assert changed.str.contains("[äöüßÆø勅使河原みのる]").any() or kernel == "initial"


def test_an_unknown_locale_is_refused_with_the_choices(tmp_path: Path) -> None:
    from tests.conftest import run_cli

    r = run_cli("--locale", "xx", "--out", "o", cwd=tmp_path)
    assert r.returncode == 2 and "de, fr, es, pt-br, ja" in r.stderr


def test_the_locale_list_is_written_once() -> None:
    from vecgen import catalog
    from vecgen.config import SETTINGS_BY_NAME
    from vecgen.vocab.build import LOCALES as BUILT

    assert SETTINGS_BY_NAME["locale"].choices == catalog.LOCALES == LOCALES
    assert set(BUILT) == set(catalog.LOCALES) - {"en"}  # en is built from the US lists
