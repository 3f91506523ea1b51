"""End-to-end runs: determinism, referential integrity, truth, duplicates, atomic output."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from tests.conftest import read_source, small_config, tree_bytes
from vecgen.catalog import FLAT_NAMES, SWITCHABLE
from vecgen.engine import RunResult, run
from vecgen.fuzz_vectorized.profiles import GENSAMPLEDATA
from vecgen.output.layout import TMP_MARK
from vecgen.sources import SOURCES

COMPARED = [m.field for m in GENSAMPLEDATA.fields]


@pytest.mark.parametrize("profile", ["gensampledata", "hard"])
def test_same_seed_same_bytes_for_any_batch_size(tmp_path: Path, profile: str) -> None:
    # hard: households, per-system gaps and look-alikes too.
    fmts = ("csv", "parquet", "jsonl")
    common = {"formats": fmts, "customers": 4321, "fuzz_profile": profile}
    run(small_config(tmp_path / "a", batch_size=1000, **common))
    run(small_config(tmp_path / "b", batch_size=200_000, **common))
    run(small_config(tmp_path / "c", batch_size=777, **common))
    a, b, c = (tree_bytes(tmp_path / x) for x in "abc")
    assert len(a) == 3 * len(SWITCHABLE)
    assert a == b == c


def test_parquet_options_apply_and_keep_bytes_independent_of_batching(tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    opts = {"formats": ("parquet",), "customers": 4321, "parquet_row_group_rows": 1500}
    for name, batch in (("a", 1000), ("b", 3000)):
        run(small_config(tmp_path / name, batch_size=batch, parquet_compression="zstd", **opts))
    assert tree_bytes(tmp_path / "a") == tree_bytes(tmp_path / "b")
    meta = pq.ParquetFile(next((tmp_path / "a").rglob("customers/*/*.parquet"))).metadata
    assert meta.num_row_groups == -(-meta.num_rows // 1500)
    assert {meta.row_group(i).num_rows for i in range(meta.num_row_groups - 1)} == {1500}
    columns = {meta.schema.column(i).name: i for i in range(meta.num_columns)}
    encodings = {name: meta.row_group(0).column(i).encodings for name, i in columns.items()}
    assert meta.row_group(0).column(0).compression == "ZSTD"
    assert "RLE_DICTIONARY" in encodings["gender"]  # a handful of values: dictionary
    assert "RLE_DICTIONARY" not in encodings["customer_id"]  # unique: plain
    run(small_config(tmp_path / "c", parquet_dictionary="none", parquet_compression="none", **opts))
    meta = pq.ParquetFile(next((tmp_path / "c").rglob("customers/*/*.parquet"))).metadata
    assert meta.row_group(0).column(0).compression == "UNCOMPRESSED"
    assert all(
        "RLE_DICTIONARY" not in meta.row_group(0).column(i).encodings
        for i in range(meta.num_columns)
    )


def test_parquet_statistics_and_plain_types(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    results = {}

    def stats(name: str, mode: str, source: str = "customers") -> dict[str, bool]:
        cfg = small_config(tmp_path / name, formats=("parquet",), parquet_statistics=mode)
        results[name] = run(cfg)
        meta = pq.ParquetFile(next((tmp_path / name).rglob(f"{source}/*/*.parquet"))).metadata
        group = meta.row_group(0)
        return {
            meta.schema.column(i).name: group.column(i).is_stats_set
            for i in range(meta.num_columns)
        }

    auto = stats("auto", "auto")
    # What prunes row groups: keys, dates, timestamps, text in order.
    assert auto["customer_id"] and auto["birth_dt"] and auto["dtUpdateDate"]
    # Text in random order spans every value in every row group: no statistics.
    assert not auto["name_first"] and not auto["email"] and not auto["state"]
    assert stats("loyalty", "auto", "loyalty")["lm_id"]  # member ids as text, in order
    assert all(stats("all", "all").values())
    assert not any(stats("none", "none").values())
    path = next((tmp_path / "auto").rglob("customers/*/*.parquet"))
    assert b"ARROW:schema" not in (pq.read_metadata(path).metadata or {})
    assert pq.read_schema(path).field("name_first").type == pa.string()
    assert read_source(results["auto"], "customers", "parquet").equals(
        read_source(results["all"], "customers", "parquet")
    )


def test_other_seed_or_date_gives_other_data(tmp_path: Path) -> None:
    import datetime as dt

    run(small_config(tmp_path / "a"))
    run(small_config(tmp_path / "b", seed=12))
    run(small_config(tmp_path / "c", date=dt.date(2026, 11, 30)))
    a = pl.read_csv(next((tmp_path / "a").rglob("customers/*/*.csv")))
    b = pl.read_csv(next((tmp_path / "b").rglob("customers/*/*.csv")))
    c = pl.read_csv(next((tmp_path / "c").rglob("customers/*/*.csv")))
    assert (a["name_last"] != b["name_last"]).mean() > 0.9
    assert (a["name_last"] != c["name_last"]).mean() > 0.9


def test_every_transaction_points_at_a_customer(landscape: RunResult) -> None:
    customers = read_source(landscape, "customers")
    trans = read_source(landscape, "transactions")
    orphans = trans.join(customers, on="customer_id", how="anti")
    assert orphans.height == 0
    assert customers["customer_id"].n_unique() == customers.height
    assert trans["orderid"].n_unique() == trans.height


def test_truth_covers_every_customer_once_and_links_to_existing_records(
    landscape: RunResult,
) -> None:
    customers = read_source(landscape, "customers")
    truth = read_source(landscape, "truth").filter(pl.col("source") == "customers")
    assert truth.height == customers.height
    assert truth["record_id"].to_list() == customers["customer_id"].to_list()
    assert (truth["source"] == "customers").all()
    dupes = truth.filter(pl.col("is_duplicate") == "true")
    cleans = truth.filter(pl.col("is_duplicate") == "false")
    # A duplicate copies a clean record or, in a cluster, an earlier copy of the same person.
    copied = dupes.join(
        truth.select("record_id", pl.col("entity_id").alias("copied_entity")),
        left_on="duplicate_of",
        right_on="record_id",
        how="left",
    )
    assert copied["copied_entity"].null_count() == 0
    assert (copied["entity_id"] == copied["copied_entity"]).all()
    assert dupes["entity_id"].is_in(cleans["record_id"].implode()).all()
    assert (cleans["entity_id"] == cleans["record_id"]).all()
    # CSV writes a null as "", Parquet keeps it null.
    assert (cleans["duplicate_of"] == "").all() and (cleans["corruptions"] == "").all()
    typed = read_source(landscape, "truth", "parquet").filter(pl.col("source") == "customers")
    assert typed.schema["is_duplicate"] == pl.Boolean
    assert typed.filter(~pl.col("is_duplicate"))["duplicate_of"].is_null().all()
    assert (
        typed.filter(pl.col("is_duplicate"))["corruptions"]
        .str.contains(r"^\w+:\w+(\|\w+:\w+)*$")
        .all()
    )


def test_duplicate_share_and_every_duplicate_differs(tmp_path: Path) -> None:
    # The predecessor's people: complete records, so the files show exactly what was logged.
    result = run(
        small_config(tmp_path, customers=20_000, dupe_rate=15, fuzz_profile="gensampledata")
    )
    customers = read_source(result, "customers")
    truth = read_source(result, "truth").filter(pl.col("source") == "customers")
    n_dupes = (truth["is_duplicate"] == "true").sum()
    assert n_dupes / 20_000 == pytest.approx(0.15, abs=0.005)
    pairs = (
        truth.filter(pl.col("is_duplicate") == "true")
        .join(customers, left_on="record_id", right_on="customer_id")
        .join(customers, left_on="duplicate_of", right_on="customer_id", suffix="_orig")
    )
    differ = pairs.select([pl.col(f).ne_missing(pl.col(f + "_orig")).alias(f) for f in COMPARED])
    assert differ.select(pl.any_horizontal(pl.all())).to_series().all()
    # The log names exactly the fields that differ.
    logged = pairs["corruptions"].str.split("|").list.eval(pl.element().str.split(":").list.first())
    for i in range(0, pairs.height, 101):
        assert set(logged[i]) == {f for f in COMPARED if differ[f][i]}
    # Fields the predecessor never changes stay equal.
    for f in ("name_prefix", "account_status", "employment", "job_title"):
        assert (pairs[f] == pairs[f + "_orig"]).all()


def test_dupe_rate_variance_draws_the_rate_in_range(tmp_path: Path) -> None:
    rates = set()
    for seed in range(6):
        result = run(
            small_config(
                tmp_path / str(seed),
                customers=10_000,
                dupe_rate=20,
                dupe_rate_variance=50,
                seed=seed,
            )
        )
        assert 10 <= result.plan.dupe_rate <= 30
        assert result.plan.n_dupes == int(10_000 * result.plan.rate_ppm // 1_000_000)
        rates.add(round(result.plan.dupe_rate, 6))
    assert len(rates) == 6


def test_zero_customers_writes_headers_only(tmp_path: Path) -> None:
    result = run(small_config(tmp_path, customers=0, formats=("csv", "parquet")))
    assert {f.rows for f in result.files} == {0}
    assert (
        read_source(result, "customers", "parquet").columns
        == read_source(result, "customers").columns
    )


def test_failed_run_leaves_earlier_output_untouched(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run(small_config(tmp_path, customers=2000))
    before = tree_bytes(tmp_path)
    calls = {"n": 0}
    original = SOURCES["transactions"].generate

    def failing(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("disk on fire")
        return original(*args, **kwargs)

    monkeypatch.setattr(SOURCES["transactions"], "generate", failing)
    with pytest.raises(RuntimeError, match="disk on fire"):
        run(small_config(tmp_path, customers=5000, seed=99, batch_size=1000, load_type="truncate"))
    assert calls["n"] == 2
    assert tree_bytes(tmp_path) == before
    assert not [p for p in tmp_path.rglob("*") if TMP_MARK in p.name]


def test_flat_layout_uses_the_predecessor_names(tmp_path: Path) -> None:
    run(small_config(tmp_path, customers=50, layout="flat", formats=("csv", "jsonl")))
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        f"2026_11_29{stem}.{ext}"
        for stem in (FLAT_NAMES[n] for n in SWITCHABLE)
        for ext in ("csv", "json")
    )
    assert "2026_11_29CustomerscustomObject.csv" in {p.name for p in tmp_path.iterdir()}
    run(small_config(tmp_path / "nodate", customers=50, layout="flat", date_prefix=False))
    assert sorted(p.name for p in (tmp_path / "nodate").iterdir()) == sorted(
        f"{stem}.csv" for stem in (FLAT_NAMES[n] for n in SWITCHABLE)
    )


def test_csv_quotes_every_field_and_formats_dates_like_the_predecessor(
    landscape: RunResult,
) -> None:
    path = next(f.path for f in landscape.files if f.source == "customers" and f.fmt == "csv")
    header, first = Path(path).read_text().splitlines()[:2]
    assert header.startswith('"customer_id","name_prefix"')
    fields = first.split('","')
    assert first.startswith('"') and first.endswith('"') and len(fields) == 16
    import re

    assert re.fullmatch(r"\d\d/\d\d/\d{4}", fields[11])
    assert re.fullmatch(r"\d{4}-\d\d-\d\d 00:00:00\"", fields[15])


def test_switching_a_source_off_removes_only_its_file(tmp_path: Path) -> None:
    run(small_config(tmp_path / "all"))
    run(small_config(tmp_path / "some", sources=(("transactions", False),)))
    full, part = tree_bytes(tmp_path / "all"), tree_bytes(tmp_path / "some")
    assert set(full) - set(part) == {"transactions/dt=2026-11-29/part-00000.csv"}
    assert all(part[k] == full[k] for k in part)


def test_truncate_replaces_todays_partition_and_keeps_other_days(tmp_path: Path) -> None:
    import datetime as dt

    run(small_config(tmp_path, date=dt.date(2026, 11, 28)))
    yesterday = tree_bytes(tmp_path)
    run(small_config(tmp_path, formats=("parquet",)))
    run(small_config(tmp_path, formats=("csv",), customers=10, load_type="truncate"))
    today = sorted(p.name for p in (tmp_path / "customers" / "dt=2026-11-29").iterdir())
    assert today == ["part-00000.csv"]
    now = tree_bytes(tmp_path)
    assert all(now[k] == v for k, v in yesterday.items())


def test_unwritable_output_fails_before_generating(tmp_path: Path) -> None:
    from vecgen.errors import OutputError

    (tmp_path / "file").write_text("x")
    with pytest.raises(
        OutputError, match=r"cannot write to output location .*choose another --out"
    ):
        run(small_config(tmp_path / "file" / "sub"))


def test_parquet_money_is_decimal_12_2_and_the_same_cents_as_csv(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    result = run(small_config(tmp_path, customers=2000, formats=("csv", "parquet")))
    for source in ("transactions", "pos_transactions"):
        paths = {f.fmt: f.path for f in result.files if f.source == source}
        table = pq.read_table(paths["parquet"])
        csv = pl.read_csv(paths["csv"], infer_schema=False)
        for column in ("transactiontotal", "avgitemprice"):
            assert table.schema.field(column).type == pa.decimal128(12, 2), (source, column)
            cents = pl.from_arrow(table.column(column)).cast(pl.String)
            assert cents.to_list() == csv[column].to_list(), (source, column)


@pytest.mark.parametrize("threads", [1, 2])
def test_a_batch_streams_to_the_writer_and_lets_go_of_what_nobody_reads(
    monkeypatch: pytest.MonkeyPatch, threads: int
) -> None:
    """Each frame is handed on as soon as it is made; a frame no later source reads is freed.

    The frames handed on are the frames the batch gives without streaming, and
    by the time truth (the last source) is made, the other sources' frames are
    with the writer only: the batch's own copies are gone.
    """
    import datetime as dt
    import gc
    import weakref

    from vecgen import pipeline
    from vecgen.config import Config
    from vecgen.plan import resolve
    from vecgen.sources.base import SourceBatch
    from vecgen.vocab import load

    plan = resolve(Config(customers=3000, seed=4, date=dt.date(2026, 1, 15), fuzz_profile="medium"))
    vocab = load()
    made: dict[str, weakref.ref[pl.DataFrame]] = {}
    alive_at_truth: list[str] = []
    real = pipeline.source_for

    class Watched:
        def __init__(self, name: str) -> None:
            self.source, self.name = real(plan.config, name), name

        def __getattr__(self, attr: str) -> object:
            return getattr(self.source, attr)

        def generate(self, *args: object) -> SourceBatch:
            if self.name == "truth":
                gc.collect()
                alive_at_truth.extend(n for n, ref in made.items() if ref() is not None)
            out: SourceBatch = self.source.generate(*args)
            made[self.name] = weakref.ref(out.frame)
            return out

    monkeypatch.setattr(pipeline, "source_for", lambda config, name: Watched(name))
    offsets = pipeline.batch_offsets(plan)[0]
    whole = dict(pipeline.batch_frames(plan, vocab, 0, 0, 3000, offsets, threads=threads))
    alive_at_truth.clear()
    streamed: list[tuple[str, pl.DataFrame]] = []
    emit = lambda name, frame: streamed.append((name, frame))  # noqa: E731
    assert pipeline.batch_frames(plan, vocab, 0, 0, 3000, offsets, threads, emit) == []
    assert sorted(n for n, _ in streamed) == sorted(plan.sources)
    assert all(frame.equals(whole[name]) for name, frame in streamed)
    # Parents are handed on before their children; truth, which reads them all, last.
    order = [n for n, _ in streamed]
    assert order.index("customers") == 0 and order[-1] == "truth"
    # Truth reads only the customers' frame (households): every other frame was let go.
    assert alive_at_truth == ["customers"]


def test_released_pools_end_a_thread_the_interpreter_does_not_know() -> None:
    """A Ctrl-C between a pool's Thread.start and its note left the process waiting at exit."""
    import concurrent.futures.thread as cft

    from vecgen import pipeline

    pool = pipeline._generate_pool(2)
    pool.submit(lambda: None).result()
    threads = list(pool._threads)
    for t in threads:  # as if the Ctrl-C came before the pool noted its thread
        cft._threads_queues.pop(t, None)
    pipeline.release_threads()
    for t in threads:
        t.join(timeout=10)
        assert not t.is_alive(), t.name
    assert pipeline._generate_pool(2) is not pool  # a later run gets new threads
    pipeline.release_threads()


def test_warm_up_solves_the_weights_of_sources_that_fuzz_fewer_fields(tmp_path: Path) -> None:
    """wifi fuzzes three fields: its weights are solved off the first batch's path too."""
    import threading

    from vecgen.fuzz_vectorized import profiles
    from vecgen.pipeline import warm_up
    from vecgen.plan import resolve
    from vecgen.sources.wifi import FUZZED

    plan = resolve(small_config(tmp_path))
    wifi = plan.profile.restricted(FUZZED)
    assert wifi.budgeted and wifi != plan.profile
    profiles._SOLVED.pop(wifi, None)  # (solved by an earlier test of this process)
    warm_up(plan)
    for thread in threading.enumerate():
        if thread.name == "vecgen-warm-up":
            thread.join(60)
    assert wifi in profiles._SOLVED
