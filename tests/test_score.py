"""vecgen score: textbook values on hand-made truth, and a run scored end to end."""

from __future__ import annotations

import json
import os
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import run_cli, small_config
from vecgen.engine import run
from vecgen.score import ScoreError, score

# Three people: A has 3 records, B has 2, C has 1.
TRUTH = pl.DataFrame(
    {
        "source": ["customers"] * 6,
        "record_id": ["1", "2", "3", "4", "5", "6"],
        "entity_id": ["A", "A", "A", "B", "B", "C"],
        "is_duplicate": ["false", "true", "true", "false", "true", "false"],
        "duplicate_of": ["", "1", "1", "", "4", ""],
        "corruptions": [
            "",
            "name_first:nickname",
            "name_first:upper|city:replace",
            "",
            "city:replace",
            "",
        ],
    }
)


def files(tmp_path: Path, predictions: pl.DataFrame) -> tuple[str, str]:
    TRUTH.write_csv(tmp_path / "truth.csv")
    predictions.write_csv(tmp_path / "pred.csv")
    return str(tmp_path / "truth.csv"), str(tmp_path / "pred.csv")


def test_perfect_clusters_score_one(tmp_path: Path) -> None:
    r = score(*files(tmp_path, TRUTH.select("record_id", pl.col("entity_id").alias("cluster_id"))))
    assert r["pairwise"] == {"precision": 1.0, "recall": 1.0, "f1": 1.0}
    assert r["bcubed"]["f1"] == pytest.approx(1.0)
    assert r["predicted_clusters"] == r["true_entities"] == 3
    assert r["duplicates_found"]["recall"] == 1.0


def test_everything_merged_gives_the_textbook_values(tmp_path: Path) -> None:
    r = score(*files(tmp_path, TRUTH.select("record_id", pl.lit("all").alias("cluster_id"))))
    # True pairs: 3 (A) + 1 (B) = 4 of the 15 pairs of 6 records.
    assert r["true_pairs"] == 4 and r["predicted_pairs"] == 15
    assert r["pairwise"]["precision"] == pytest.approx(4 / 15) and r["pairwise"]["recall"] == 1.0
    assert r["pairwise"]["f1"] == pytest.approx(2 * (4 / 15) / (1 + 4 / 15))
    # B-cubed precision: sum over records of |entity| / |cluster| = (3*3 + 2*2 + 1*1) / 6 / 6.
    assert r["bcubed"]["precision"] == pytest.approx(14 / 36) and r["bcubed"]["recall"] == 1.0


def test_singletons_have_no_precision_and_zero_recall(tmp_path: Path) -> None:
    r = score(*files(tmp_path, pl.DataFrame({"record_id": ["1"], "cluster_id": ["x"]})))
    assert r["pairwise"]["precision"] is None and r["pairwise"]["recall"] == 0.0
    assert r["bcubed"]["precision"] == 1.0 and r["bcubed"]["recall"] == pytest.approx(
        (3 * (1 / 3) + 2 * (1 / 2) + 1) / 6
    )


def test_pairs_are_scored_as_given_and_as_components(tmp_path: Path) -> None:
    pairs = pl.DataFrame({"record_id_l": ["1", "2", "4", "5"], "record_id_r": ["2", "1", "6", "4"]})
    r = score(*files(tmp_path, pairs))
    # Unique unordered pairs: (1,2) correct, (4,6) wrong, (4,5) correct.
    assert r["predicted_pairs"] == 3 and r["true_positive_pairs"] == 2
    assert r["pairwise"]["precision"] == pytest.approx(2 / 3) and r["pairwise"][
        "recall"
    ] == pytest.approx(2 / 4)
    # Components {1,2}, {3}, {4,5,6}: record 3's duplicate link to 1 is missed.
    assert r["predicted_clusters"] == 3
    kinds = r["recall_by_corruption"]
    assert (
        kinds["name_first:nickname"]["recall"] == 1.0 and kinds["name_first:upper"]["recall"] == 0.0
    )
    assert kinds["city:replace"] == {"duplicates": 2, "recall": 0.5}


def test_unknown_ids_and_bad_files_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(ScoreError, match=r"2 record ids are not in the truth file \(e.g."):
        score(
            *files(tmp_path, pl.DataFrame({"record_id_l": ["1", "99"], "record_id_r": ["98", "2"]}))
        )
    with pytest.raises(ScoreError, match="need columns record_id_l, record_id_r"):
        score(*files(tmp_path, pl.DataFrame({"a": ["1"]})))
    with pytest.raises(ScoreError, match="record '1' is in more than one row"):
        score(*files(tmp_path, pl.DataFrame({"record_id": ["1", "1"], "cluster_id": ["a", "b"]})))
    # A file that is not a truth file: says which column is missing, not "no records of ...".
    (tmp_path / "other.csv").write_text('"a","b"\n"1","2"\n')
    pred = files(tmp_path, pl.DataFrame({"record_id": ["1"], "cluster_id": ["a"]}))[1]
    with pytest.raises(ScoreError, match="column 'source' is missing"):
        score(str(tmp_path / "other.csv"), pred, "entity", ("customers",))


SOURCES_OF_TRUTH = ("customers,pos_customers,loyalty,clickstream,mobile,wifi,custom_object",)


def test_score_a_run_end_to_end_with_the_cli(tmp_path: Path) -> None:
    result = run(small_config(tmp_path / "out", customers=3000, formats=("csv", "parquet")))
    truth = next(f.path for f in result.files if f.source == "truth" and f.fmt == "parquet")
    frame = pl.read_parquet(truth)
    # A matcher that links every duplicate of the primary file to its source, and nothing else.
    customers = frame.filter(pl.col("source") == "customers")
    pred = customers.select("source", "record_id", pl.col("entity_id").alias("cluster_id"))
    pred.write_csv(tmp_path / "pred.csv")
    r = run_cli("score", truth, str(tmp_path / "pred.csv"), "--json", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    # By default the customers' records are scored: this matcher found all of them.
    assert data["pairwise"]["precision"] == 1.0 and data["pairwise"]["recall"] == 1.0
    assert data["records"] == customers.height
    assert "name_last:replace" in data["recall_by_corruption"]
    # Every source's records: the other sources' duplicates are unlinked.
    every = run_cli(
        "score",
        truth,
        str(tmp_path / "pred.csv"),
        "--source",
        *SOURCES_OF_TRUTH,
        "--json",
        cwd=tmp_path,
    )
    data = json.loads(every.stdout)
    assert data["pairwise"]["precision"] == 1.0 and 0 < data["pairwise"]["recall"] < 1
    assert data["duplicates_found"]["recall"] < 1
    # The run's folder is a truth too (its newest day, every part); 'all': a row per source.
    rows = run_cli(
        "score", str(tmp_path / "out"), str(tmp_path / "pred.csv"), "--source", "all", cwd=tmp_path
    )
    assert rows.returncode == 0, rows.stderr
    lines = {line.split()[0]: line.split() for line in rows.stdout.splitlines()[1:]}
    assert lines["customers"][-1] == "1.0000" and lines["pos_customers"][-2] == "0.0000"
    assert set(lines) == set(frame["source"].unique())
    text = run_cli("score", truth, str(tmp_path / "pred.csv"), cwd=tmp_path)
    assert "B-cubed" in text.stdout and "weakest corruptions first" in text.stdout
    bad = run_cli("score", truth, str(tmp_path / "nope.csv"), cwd=tmp_path)
    assert bad.returncode == 2 and "does not exist" in bad.stderr


# Predictions files as a hostile matcher (or a broken export) writes them: each is scored or
# refused with one line naming the file; never a traceback.
_IDS = st.one_of(
    st.sampled_from(["1", "2", "3", "4", "5", "6"]),
    st.sampled_from(["", "7", "-1", "1.0", " 1", "１", "\x00", "None", "nan"]),
    st.integers(-(2**64), 2**64).map(str),
    st.none(),
)
_COLUMNS = st.sampled_from(
    ["record_id_l", "record_id_r", "record_id", "cluster_id", "source", "source_l", "source_r",
     "score", "x"]
)  # fmt: skip


@st.composite
def _predictions(draw: st.DrawFn) -> bytes:
    columns = draw(st.lists(_COLUMNS, min_size=0, max_size=4, unique=True))
    if draw(st.booleans()):  # most files name the columns a matcher is asked for
        columns = draw(
            st.sampled_from([["record_id_l", "record_id_r"], ["record_id", "cluster_id"]])
        )
    rows = draw(st.lists(st.lists(_IDS, min_size=len(columns), max_size=len(columns)), max_size=8))
    frame = pl.DataFrame(
        {c: [r[i] for r in rows] for i, c in enumerate(columns)},
        schema=dict.fromkeys(columns, pl.String),
    )
    text = frame.write_csv().encode()
    damage = draw(st.sampled_from(["none", "none", "truncate", "junk", "latin1", "empty"]))
    if damage == "truncate":
        return text[: draw(st.integers(0, max(len(text) - 1, 0)))]
    if damage == "junk":
        return text + draw(st.binary(max_size=20))
    if damage == "latin1":
        return text.replace(b"1", "\xe9".encode("latin-1"))
    return b"" if damage == "empty" else text


SCORE_EXAMPLES = int(os.environ.get("TEST_SCORE_EXAMPLES", "60"))


@settings(max_examples=SCORE_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=_predictions(), level=st.sampled_from(["entity", "household"]))
def test_hostile_predictions_files_are_scored_or_refused_in_one_line(
    tmp_path_factory: pytest.TempPathFactory, data: bytes, level: str
) -> None:
    folder = tmp_path_factory.mktemp("pred")
    truth, _ = files(folder, pl.DataFrame({"record_id": ["1"], "cluster_id": ["a"]}))
    (folder / "pred.csv").write_bytes(data)
    try:
        result = score(truth, str(folder / "pred.csv"), level=level)
    except ScoreError as exc:
        assert str(exc) and "\n" not in str(exc).strip(), str(exc)
        return
    for kind in ("pairwise", "bcubed"):
        for value in result[kind].values():
            assert value is None or 0 <= value <= 1, result
    assert result["records"] == 6
