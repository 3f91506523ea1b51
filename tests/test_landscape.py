"""The whole landscape in a real SQL engine: foreign keys, unique keys, cross-source truth."""

from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl
import pytest

from tests.conftest import small_config, tree_bytes
from vecgen.catalog import SWITCHABLE
from vecgen.engine import RunResult, run

PERSON_BEARING = {
    "customers": "CAST(customer_id AS VARCHAR)",
    "pos_customers": "CAST(customer_id AS VARCHAR)",
    "loyalty": "lm_id",
    "wifi": "sha",
    "clickstream": "uuid",
    "mobile": "sha",
    "custom_object": "'row-' || CAST(row_number() OVER () AS VARCHAR)",
}
# child table, child key (alias c), parent table, parent key (alias p): parents must exist
FOREIGN_KEYS = [
    ("transactions", "c.customer_id", "customers", "p.customer_id"),
    ("pos_transactions", "c.customer_id", "pos_customers", "p.customer_id"),
    ("loyalty", "c.lm_id", "customers", "'LM' || CAST(p.customer_id AS VARCHAR)"),
    ("email_campaign", "c.CUSTOMER_ID", "customers", "p.customer_id"),
    ("email_campaign", "c.EMAIL", "customers", "p.email"),
    ("clickstream", "c.cust_visid", "customers", "p.customer_id"),  # cust_visid 0 = anonymous
    ("mobile", "c.email", "customers", "p.email"),
    ("wifi", "c.email", "customers", "p.email"),
    ("safety_reports", "c.customer_id", "customers", "p.customer_id"),
    ("locations", "c.customer_id", "customers", "p.customer_id"),
    ("custom_object", "c.Email", "customers", "p.email"),
]
UNIQUE_KEYS = [
    ("customers", "customer_id"),
    ("pos_customers", "customer_id"),
    ("transactions", "orderid"),
    ("pos_transactions", "orderid"),
    ("loyalty", "lm_id"),
    ("email_campaign", "EVENT_ID"),
    ("clickstream", "uuid"),
    ("mobile", "sha"),
    ("wifi", "sha"),
]


@pytest.fixture(scope="module", params=["en", "de", "ja"])
def db(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> tuple[duckdb.DuckDBPyConnection, RunResult]:
    """A 10,000-customer landscape in DuckDB, in the US locale and two others."""
    out = tmp_path_factory.mktemp(f"landscape10k-{request.param}")
    config = small_config(out, customers=10_000, formats=("csv", "parquet"), locale=request.param)
    result = run(config)
    con = duckdb.connect()
    for f in result.files:
        if f.fmt == "parquet":
            con.execute(
                f"CREATE TABLE {f.source} AS SELECT * FROM read_parquet('{f.path}')"
            ).fetchall()
    # The CSV files load too, with the same row counts.
    for f in result.files:
        if f.fmt == "csv":
            n = con.execute(
                f"SELECT count(*) FROM read_csv('{f.path}', all_varchar=true)"
            ).fetchall()
            assert n == [(f.rows,)], f.source
    return con, result


def scalar(con: duckdb.DuckDBPyConnection, sql: str) -> int:
    (row,) = con.execute(sql).fetchall()  # fetchall: DuckDB keeps a half-read result busy
    return int(row[0])


@pytest.mark.parametrize(("child", "col", "parent", "pcol"), FOREIGN_KEYS)
def test_foreign_keys_have_no_orphans(
    db: tuple[duckdb.DuckDBPyConnection, RunResult], child: str, col: str, parent: str, pcol: str
) -> None:
    con, _ = db
    anonymous = " AND c.cust_visid <> 0" if child == "clickstream" else ""
    orphans = scalar(
        con,
        f"SELECT count(*) FROM {child} c WHERE NOT EXISTS "
        f"(SELECT 1 FROM {parent} p WHERE {pcol} = {col}){anonymous}",
    )
    assert orphans == 0
    assert scalar(con, f"SELECT count(*) FROM {child}") > 0


@pytest.mark.parametrize(("table", "key"), UNIQUE_KEYS)
def test_keys_are_unique(
    db: tuple[duckdb.DuckDBPyConnection, RunResult], table: str, key: str
) -> None:
    con, _ = db
    assert scalar(con, f"SELECT count(*) - count(DISTINCT {key}) FROM {table}") == 0


def test_customer_ids_are_unique_across_both_customer_systems(
    db: tuple[duckdb.DuckDBPyConnection, RunResult],
) -> None:
    con, _ = db
    assert (
        scalar(con, "SELECT count(*) FROM customers c JOIN pos_customers p USING (customer_id)")
        == 0
    )
    assert (
        scalar(con, "SELECT count(*) FROM transactions t JOIN pos_transactions p USING (orderid)")
        == 0
    )


@pytest.mark.parametrize("source", sorted(PERSON_BEARING))
def test_truth_covers_every_person_bearing_row_exactly_once(
    db: tuple[duckdb.DuckDBPyConnection, RunResult], source: str
) -> None:
    con, _ = db
    con.execute(
        f"CREATE OR REPLACE TEMP VIEW ids AS SELECT {PERSON_BEARING[source]} AS record_id FROM {source}"
    ).fetchall()
    rows = scalar(con, "SELECT count(*) FROM ids")
    truth = f"(SELECT * FROM truth WHERE source = '{source}')"
    assert scalar(con, f"SELECT count(*) FROM {truth}") == rows
    assert scalar(con, f"SELECT count(*) FROM {truth} t JOIN ids USING (record_id)") == rows
    assert scalar(con, f"SELECT count(*) - count(DISTINCT record_id) FROM {truth}") == 0


def test_truth_sources_and_entities_are_consistent(
    db: tuple[duckdb.DuckDBPyConnection, RunResult],
) -> None:
    con, _ = db
    sources = {r[0] for r in con.execute("SELECT DISTINCT source FROM truth").fetchall()}
    assert sources == set(PERSON_BEARING)
    # Every duplicate_of names a record of the landscape, of the same entity.
    assert (
        scalar(
            con,
            "SELECT count(*) FROM truth d WHERE d.is_duplicate AND NOT EXISTS "
            "(SELECT 1 FROM truth o WHERE o.record_id = d.duplicate_of AND o.entity_id = d.entity_id)",
        )
        == 0
    )
    # Entities: clean primary customers, POS-only people, anonymous visitors (one each).
    clean = scalar(
        con, "SELECT count(*) FROM truth WHERE source = 'customers' AND NOT is_duplicate"
    )
    pos_only = scalar(
        con, "SELECT count(*) FROM truth WHERE source = 'pos_customers' AND NOT is_duplicate"
    )
    anonymous = scalar(con, "SELECT count(DISTINCT evar1) FROM clickstream WHERE cust_visid = 0")
    assert (
        scalar(con, "SELECT count(DISTINCT entity_id) FROM truth") == clean + pos_only + anonymous
    )
    # People shared between systems: POS copies of primary customers link to them.
    shared = scalar(
        con,
        "SELECT count(*) FROM truth t JOIN customers c ON t.entity_id = CAST(c.customer_id AS VARCHAR) "
        "WHERE t.source = 'pos_customers'",
    )
    assert shared == scalar(
        con, "SELECT count(*) FROM truth WHERE source = 'customers' AND is_duplicate"
    )


def test_rows_per_customer_match_the_predecessor(
    db: tuple[duckdb.DuckDBPyConnection, RunResult],
) -> None:
    _, result = db
    rows = sum(f.rows for f in result.files if f.fmt == "csv" and f.source != "truth")
    assert 18.0 <= rows / 10_000 <= 20.5  # the predecessor wrote 19.2 rows per customer


def test_pos_composition(db: tuple[duckdb.DuckDBPyConnection, RunResult]) -> None:
    con, _ = db
    counts = dict(
        con.execute(
            "SELECT CASE WHEN NOT is_duplicate THEN 'new' WHEN duplicate_of < '1000011500' "
            "THEN 'shared' ELSE 'dupe' END, count(*) FROM truth WHERE source = 'pos_customers' GROUP BY 1"
        ).fetchall()
    )
    assert counts == {"shared": 1500, "new": 8500, "dupe": 1275}
    assert scalar(con, "SELECT min(customer_id) FROM pos_customers") == 1_000_011_501
    # Transactions only for the POS-only people.
    assert (
        scalar(
            con,
            "SELECT count(*) FROM pos_transactions t JOIN truth r ON r.record_id = CAST(t.customer_id AS VARCHAR) "
            "AND r.source = 'pos_customers' WHERE r.is_duplicate",
        )
        == 0
    )


def test_clickstream_anonymous_visitors_exist_nowhere_else(
    db: tuple[duckdb.DuckDBPyConnection, RunResult],
) -> None:
    con, _ = db
    assert scalar(con, "SELECT count(DISTINCT evar1) FROM clickstream WHERE cust_visid = 0") == 1500
    assert scalar(
        con,
        "SELECT count(*) FROM clickstream c JOIN customers p ON p.email = c.evar11 WHERE c.cust_visid = 0",
    ) == scalar(
        con,
        "SELECT count(*) FROM clickstream c WHERE cust_visid = 0 AND evar11 IN (SELECT email FROM customers)",
    )
    hits = con.execute(
        "SELECT min(n), max(n) FROM (SELECT count(*) n FROM clickstream GROUP BY evar1)"
    ).fetchall()
    assert hits == [(1, 2)]
    assert (
        scalar(
            con,
            "SELECT count(*) FROM clickstream WHERE hit_time_gmt < first_hit_time_gmt OR hit_time_gmt > last_hit_time_gmt",
        )
        == 0
    )


def test_locations_are_near_the_customers_postal_code(
    db: tuple[duckdb.DuckDBPyConnection, RunResult],
) -> None:
    from vecgen.vocab import load, vocab_dir

    con, result = db
    con.register("places", load(vocab_dir(result.plan.config.locale)).places.to_arrow())
    worst = con.execute(
        """
        SELECT max(2 * 6371 * asin(sqrt(
            pow(sin(radians(split_part(l.TileLocation, ',', 1)::DOUBLE - p.lat) / 2), 2)
            + cos(radians(p.lat)) * cos(radians(split_part(l.TileLocation, ',', 1)::DOUBLE))
              * pow(sin(radians(split_part(l.TileLocation, ',', 2)::DOUBLE - p.lng) / 2), 2))))
        FROM locations l JOIN customers c USING (customer_id) JOIN places p ON p.postal_code = c.postal_code
        """
    ).fetchall()
    assert 0 < worst[0][0] <= 5.05


def test_wifi_and_loyalty_copies(db: tuple[duckdb.DuckDBPyConnection, RunResult]) -> None:
    con, _ = db
    # Loyalty: one member per customer record; a copy for each duplicate customer.
    assert scalar(con, "SELECT count(*) FROM loyalty") == scalar(
        con, "SELECT count(*) FROM customers"
    )
    assert scalar(
        con, "SELECT count(*) FROM truth WHERE source = 'loyalty' AND is_duplicate"
    ) == scalar(con, "SELECT count(*) FROM truth WHERE source = 'customers' AND is_duplicate")
    # Wifi copies keep the e-mail (the join key) and corrupt names or postal code only.
    logged = con.execute(
        "SELECT DISTINCT split_part(unnest(string_split(corruptions, '|')), ':', 1) FROM truth "
        "WHERE source = 'wifi' AND is_duplicate"
    ).fetchall()
    assert {r[0] for r in logged} <= {"name_first", "name_last", "postal_code"}
    assert scalar(con, "SELECT count(*) FROM truth WHERE source = 'wifi' AND is_duplicate") == 1500


def test_switching_any_source_off_changes_no_other_file(tmp_path: Path) -> None:
    full = tmp_path / "full"
    run(small_config(full, customers=2500))
    everything = tree_bytes(full)
    truth_key = "truth/dt=2026-11-29/part-00000.csv"
    full_truth = pl.read_csv(full / truth_key, infer_schema=False)
    for source in SWITCHABLE:
        if source in ("customers", "truth"):
            continue
        off = (source, "pos_transactions") if source == "pos_customers" else (source,)
        out = tmp_path / source
        run(small_config(out, customers=2500, sources=tuple((s, False) for s in off)))
        files = tree_bytes(out)
        assert set(everything) - set(files) == {f"{s}/dt=2026-11-29/part-00000.csv" for s in off}
        for key, data in files.items():
            if key != truth_key:
                assert data == everything[key], (source, key)
        # The truth file loses exactly the switched-off source's rows.
        truth = pl.read_csv(out / truth_key, infer_schema=False)
        assert truth.equals(full_truth.filter(~pl.col("source").is_in(list(off))))
