from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from vecgen.errors import VocabularyError
from vecgen.vocab import DATA_DIR, load


def test_vocabularies_load_and_are_consistent() -> None:
    v = load()
    assert len(v.first_female) > 1000 and len(v.first_male) > 500 and len(v.last_name) >= 1000
    assert len(v.first_name) == len(v.first_slug) == len(v.first_female) + len(v.first_male)
    assert len(v.company) == len(v.company_slug)
    assert v.company_slug.str.contains("^[a-z0-9]+$").all()
    assert set(v.prefix_male) == {"Mr.", "Dr."}
    assert v.states.height == 51  # 50 states and DC
    assert v.places["state_name"].null_count() == 0
    assert v.places["postal_code"].str.contains(r"^\d{5}$").all()
    assert v.places["postal_code"].n_unique() == v.places.height
    assert set(v.nicknames["name"]) <= set(v.first_name)


def test_corrupt_vocabulary_is_refused(tmp_path: Path) -> None:
    copy = tmp_path / "data"
    shutil.copytree(DATA_DIR, copy)
    with (copy / "last_name.txt").open("a") as f:
        f.write("Tampered\n")
    with pytest.raises(
        VocabularyError,
        match=r"last_name.txt does not match its manifest checksum; run `vecgen refake`",
    ):
        load(copy)
    (copy / "manifest.json").unlink()
    with pytest.raises(VocabularyError, match="manifest"):
        load(copy)
