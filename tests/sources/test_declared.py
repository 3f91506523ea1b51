"""Declared sources: a support_tickets file defined only in vecgen.toml."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import polars as pl
import pytest

from tests.conftest import run_cli, tree_bytes
from vecgen.config import load_config
from vecgen.errors import ConfigError

TICKETS = """
[sources.support_tickets]
per_parent = "1..3"
key = "ticket_id"
duplicates = true

[sources.support_tickets.fuzz]
contact_name = "name_last"
contact_email = "email"

[sources.support_tickets.columns]
ticket_id = { kind = "sequence", start = 1 }
customer_id = { kind = "copy", field = "customer_id" }
contact_name = { kind = "expr", sql = "concat_ws(' ', name_first, name_last)" }
contact_email = { kind = "copy", field = "email" }
opened = { kind = "timestamp", days = 365 }
channel = { kind = "choice", values = ["phone", "email", "chat"], weights = [5, 3, 2] }
priority = { kind = "int", min = 1, max = 4 }
minutes = { kind = "triangular", min = 1, mode = 8, max = 120, places = 1 }
cost = { kind = "decimal", min = 0, max = 50, places = 2 }
product = { kind = "pattern", pattern = "PR-{channel[:2]}-{priority}" }
ref = { kind = "uuid" }
digest = { kind = "sha256" }
system = { kind = "constant", value = "zendesk" }
"""
ARGS = ("--customers", "6000", "--batch-size", "1000", "--date", "2026-11-29", "--quiet")


def landscape(folder: Path, *extra: str, toml: str = TICKETS, formats: str = "csv,parquet") -> Path:
    """Run the CLI on ``toml`` in ``folder`` (the module's settings); return its output folder."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "vecgen.toml").write_text(toml)
    r = run_cli(*ARGS, "--no-state", "--formats", formats, *extra, cwd=folder)
    assert r.returncode == 0, r.stderr
    return folder / "output"


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return landscape(tmp_path_factory.mktemp("tickets"))


def test_a_toml_only_source_is_written_with_keys_that_hold(out: Path) -> None:
    con = duckdb.connect()
    for name in ("customers", "support_tickets", "truth"):
        path = next((out / name).rglob("*.parquet"))
        con.execute(f"CREATE TABLE {name} AS SELECT * FROM read_parquet('{path}')")

    def one(sql: str) -> object:
        (row,) = con.execute(sql).fetchall()
        return row[0]

    n = one("SELECT count(*) FROM support_tickets")
    assert isinstance(n, int) and 6000 < n < 6000 * 3 * 1.2
    orphans = "SELECT count(*) FROM support_tickets t ANTI JOIN customers c USING (customer_id)"
    assert one(orphans) == 0
    # ticket_id is the file's row number + 1: unique and gap-free, whatever the batching.
    assert one("SELECT count(DISTINCT ticket_id) = count(*) FROM support_tickets")
    assert one("SELECT min(ticket_id) = 1 AND max(ticket_id) = count(*) FROM support_tickets")
    # Truth: every ticket once; duplicates name an original of the same entity.
    truth = "SELECT * FROM truth WHERE source = 'support_tickets'"
    assert one(f"SELECT count(*) FROM ({truth})") == n
    mismatched = f"""
        SELECT count(*) FROM ({truth}) d JOIN ({truth}) o ON d.duplicate_of = o.record_id
        WHERE d.is_duplicate AND d.entity_id <> o.entity_id"""
    assert one(mismatched) == 0
    dupes = one(f"SELECT count(*) FROM ({truth}) WHERE is_duplicate")
    assert isinstance(dupes, int) and 0.10 * n < dupes < 0.16 * n  # the run's 15% rate
    # A duplicate differs from its original in a fuzzed column, and only there.
    differ = f"""
        SELECT count(*) FROM ({truth}) d
        JOIN support_tickets dt ON dt.ticket_id::VARCHAR = d.record_id
        JOIN support_tickets ot ON ot.ticket_id::VARCHAR = d.duplicate_of
        WHERE d.is_duplicate AND (
            (dt.contact_name IS NOT DISTINCT FROM ot.contact_name
             AND dt.contact_email IS NOT DISTINCT FROM ot.contact_email)
            OR dt.channel <> ot.channel OR dt.customer_id <> ot.customer_id
            OR dt.opened <> ot.opened OR dt.ref <> ot.ref)"""
    assert one(differ) == 0
    assert one("SELECT bool_and(corruptions LIKE 'contact_%') FROM truth WHERE is_duplicate "
               "AND source = 'support_tickets'")  # fmt: skip


def test_every_column_kind_gives_its_values(out: Path) -> None:
    t = pl.read_csv(next((out / "support_tickets").rglob("*.csv")), infer_schema=False)
    assert t.columns[:4] == ["ticket_id", "customer_id", "contact_name", "contact_email"]
    assert set(t["channel"]) == {"phone", "email", "chat"}
    assert set(t["priority"]) == {"1", "2", "3", "4"}
    minutes = t["minutes"].cast(pl.Float64)
    assert 1 <= minutes.min() and minutes.max() <= 120 and minutes.median() < 60
    assert t["product"].str.contains(r"^PR-(ph|em|ch)-[1-4]$").all()
    assert t["ref"].str.contains(r"^[0-9a-f]{8}-[0-9a-f]{4}-4").all()
    assert t["ref"].n_unique() > 0.85 * t.height  # duplicates copy their original's ref
    assert t["digest"].str.contains(r"^[0-9a-f]{64}$").all()
    assert (t["system"] == "zendesk").all()
    assert t["opened"].str.contains(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$").all()


def test_the_bytes_do_not_depend_on_batches_workers_or_the_api(out: Path, tmp_path: Path) -> None:
    other = landscape(tmp_path / "b", "--batch-size", "4000", "--workers", "2")
    assert tree_bytes(other) == tree_bytes(out)
    import vecgen

    config = load_config(
        {"customers": 6000, "date": "2026-11-29", "state_dir": ""}, cwd=tmp_path / "b", environ={}
    )
    frames = vecgen.generate(config)
    written = pl.read_parquet(next((out / "support_tickets").rglob("*.parquet")))
    assert frames["support_tickets"].equals(written)


def test_a_json_config_declares_the_same_source(out: Path, tmp_path: Path) -> None:
    import tomllib

    (tmp_path / "tickets.json").write_text(json.dumps(tomllib.loads(TICKETS)))
    r = run_cli(*ARGS, "--no-state", "--formats", "csv,parquet", "--config", "tickets.json",
                cwd=tmp_path)  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert tree_bytes(tmp_path / "output") == tree_bytes(out)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"per_parent": "0..9"}, r"\[sources.support_tickets\] per_parent: '0..9' out of range"),
        ({"per_parent": "0"}, r"per_parent: '0' out of range; use counts from 0 up to 7"),
        ({"per_parent": "lots"}, r"per_parent: bad count 'lots'; use 2, \"1..3\" or \"30%\""),
        ({"colour": 1}, r"unknown key 'colour'; use columns, duplicates"),
        ({"key": "priority"}, r"key: 'priority' is not unique; make it a sequence, uuid or sha256"),
        ({"key": "nope"}, r"key: 'nope' is not a column; name one of ticket_id"),
        ({"fuzz": {"nope": "email"}}, r"fuzz.nope: not a column"),
        (
            {"fuzz": {"contact_name": "shoe_size"}},
            r"'shoe_size' is not a field of the fuzz profile",
        ),
        (
            {"parent": "wifi"},
            r"parent: 'wifi' is not a source that can be a parent; use one of customers, "
            r"transactions, pos_transactions, email_campaign",
        ),
        ({"parent": "support_tickets"}, r"parent: 'support_tickets' is declared later"),
        ({"fuzz": {"contact_name": ["typo"]}}, r"fuzz.contact_name: unknown kernel 'typo'; use"),
        (
            {"fuzz": {"contact_name": ["replace"]}},
            r"kernel 'replace' draws from a profile field's values; map the column to",
        ),
        ({"fuzz": {"contact_name": {"upper": -1}}}, r"weight of upper must be a number >= 0"),
        ({"fuzz": {"contact_name": {"keep": 1}}}, r"no kernel with a positive weight"),
        ({"fuzz": {"contact_name": 3}}, r"must name a profile field or list kernels"),
        (
            {"fuzz": {"contact_name": "email", "contact_email": "email"}},
            r"fuzz.contact_email: 'email' is already the field of another column",
        ),
        (
            {"columns": {"x": {"kind": "serial"}}},
            r"column 'x': unknown kind 'serial'; use one of copy",
        ),
        (
            {"columns": {"x": {"kind": "int", "min": 1}}},
            r"column 'x': kind int needs 'max'; add it",
        ),
        ({"columns": {"x": {"kind": "uuid", "n": 1}}}, r"column 'x': kind uuid takes no 'n'"),
        (
            {"columns": {"x": {"kind": "copy", "field": "shoe"}}},
            r"'shoe' is not a field of the parent customers",
        ),
        (
            {"columns": {"x": {"kind": "pattern", "pattern": "{y}"}}},
            r"refers to 'y', not an earlier",
        ),
        ({"columns": {"x": {"kind": "expr", "sql": "concat(("}}}, r"column 'x': cannot parse sql"),
        (
            {"columns": {"x": {"kind": "choice", "values": ["a"], "weights": [1, 2]}}},
            r"weights must",
        ),
    ],
)
def test_bad_declarations_name_the_source_column_and_fix(
    tmp_path: Path, change: dict, message: str
) -> None:
    import tomllib

    table = tomllib.loads(TICKETS)
    spec = table["sources"]["support_tickets"]
    if "columns" in change:
        spec["columns"] = {"ticket_id": {"kind": "sequence"}, **change["columns"]}
        spec["fuzz"] = {"ticket_id": "name_last"}
    else:
        spec.update(change)
    (tmp_path / "v.json").write_text(json.dumps(table))
    with pytest.raises(ConfigError, match=message):
        load_config({}, config_path=tmp_path / "v.json", cwd=tmp_path, environ={})
    r = run_cli("--customers", "10", "--config", str(tmp_path / "v.json"), "--out", "o",
                cwd=tmp_path)  # fmt: skip
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert not (tmp_path / "o").exists()


def test_a_declared_name_may_not_shadow_a_built_in_source(tmp_path: Path) -> None:
    (tmp_path / "vecgen.toml").write_text(TICKETS.replace("support_tickets", "wifi"))
    r = run_cli("--customers", "10", "--out", "o", cwd=tmp_path)
    assert r.returncode == 2 and "[sources.wifi]" in r.stderr, r.stderr


def test_shards_of_a_declared_source_add_up_to_the_single_run(out: Path, tmp_path: Path) -> None:
    single = next((out / "support_tickets").rglob("*.csv")).read_bytes().splitlines(keepends=True)
    parts = []
    for k in range(3):
        shard = landscape(tmp_path / f"p{k}", "--parts", "3", "--part", str(k))
        lines = next((shard / "support_tickets").rglob("*.csv")).read_bytes().splitlines(True)
        parts += lines if k == 0 else lines[1:]  # each part repeats the header
    assert parts == single


def test_the_example_support_tickets_file_runs(tmp_path: Path) -> None:
    example = Path(__file__).parents[2] / "examples" / "support_tickets.toml"
    r = run_cli("--config", str(example), "--customers", "500", "--no-state", "--quiet",
                "--out", "o", cwd=tmp_path)  # fmt: skip
    assert r.returncode == 0, r.stderr
    tickets = pl.read_csv(next((tmp_path / "o" / "support_tickets").rglob("*.csv")))
    assert tickets.columns[:4] == ["ticket_id", "customer_id", "contact_name", "contact_email"]
    assert tickets.height > 500


CHILDREN = """
[sources.order_lines]
parent = "transactions"
per_parent = "1..4"
key = "line_id"
duplicates = true
[sources.order_lines.fuzz]
sku = ["fat_finger", "swap_adjacent", "keyboard_substitution"]
qty = { blank = 1, keep = 4 }
[sources.order_lines.columns]
line_id = { kind = "sequence" }
orderid = { kind = "copy", field = "orderid" }
customer_id = { kind = "copy", field = "customer_id" }
sku = { kind = "pattern", pattern = "SKU-{productcode}" }
qty = { kind = "int", min = 1, max = 5 }

[sources.line_notes]
parent = "order_lines"
per_parent = "0..2"
key = "note_id"
[sources.line_notes.columns]
note_id = { kind = "uuid" }
line_id = { kind = "copy", field = "line_id" }
sku = { kind = "copy", field = "sku" }

[sources.pos_returns]
parent = "pos_transactions"
per_parent = "10%"
key = "return_id"
[sources.pos_returns.columns]
return_id = { kind = "sequence", start = 500 }
orderid = { kind = "copy", field = "orderid" }
customer_id = { kind = "copy", field = "customer_id" }

[sources.email_clicks]
parent = "email_campaign"
per_parent = "20%"
[sources.email_clicks.columns]
event_id = { kind = "copy", field = "EVENT_ID" }
url = { kind = "pattern", pattern = "https://x.example/{CAMPAIGN_ID}" }
"""


def children(folder: Path, *extra: str) -> Path:
    return landscape(folder, *extra, toml=CHILDREN, formats="parquet")


@pytest.fixture(scope="module")
def kids(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return children(tmp_path_factory.mktemp("kids"))


def test_children_of_transactions_declared_sources_and_pos_keep_their_keys(kids: Path) -> None:
    con = duckdb.connect()
    for path in kids.rglob("*.parquet"):
        con.execute(f"CREATE TABLE {path.parts[-3]} AS SELECT * FROM read_parquet('{path}')")

    def one(sql: str) -> object:
        (row,) = con.execute(sql).fetchall()
        return row[0]

    for child, parent, key in [
        ("order_lines", "transactions", "orderid"),
        ("line_notes", "order_lines", "line_id"),
        ("pos_returns", "pos_transactions", "orderid"),
        ("email_clicks", "email_campaign", "event_id"),
    ]:
        parent_key = "EVENT_ID" if key == "event_id" else key
        assert one(f"SELECT count(*) FROM {child}") > 0, child
        orphans = f"SELECT count(*) FROM {child} c ANTI JOIN {parent} p ON c.{key} = p.{parent_key}"
        assert one(orphans) == 0, child
    # Per parent row: every transaction has 1..4 original lines, notes 0..2 per line.
    per_order = """SELECT min(n), max(n), count(*) FROM (SELECT orderid, count(*) n
        FROM order_lines l JOIN truth t ON t.source = 'order_lines'
        AND t.record_id = l.line_id::VARCHAR AND NOT t.is_duplicate GROUP BY orderid)"""
    lo, hi, orders = con.execute(per_order).fetchone()  # type: ignore[misc]
    assert (lo, hi, orders) == (1, 4, one("SELECT count(*) FROM transactions"))
    assert one("SELECT max(n) FROM (SELECT count(*) n FROM line_notes GROUP BY line_id)") == 2
    # The line copies its transaction's customer; the sequences are gap-free.
    assert one("SELECT count(*) FROM order_lines l JOIN transactions t USING (orderid) "
               "WHERE l.customer_id <> t.customer_id") == 0  # fmt: skip
    assert one("SELECT min(line_id) = 1 AND max(line_id) = count(*) FROM order_lines")
    assert one("SELECT min(return_id) = 500 AND max(return_id) = count(*) + 499 FROM pos_returns")
    # Truth: a line's entity is its customer's; a POS return's is its POS person's.
    for child in ("order_lines", "pos_returns"):
        wrong = f"""SELECT count(*) FROM {child} c
            JOIN truth t ON t.source = '{child}' AND t.record_id = c.{
            "line_id" if child == "order_lines" else "return_id"
        }::VARCHAR
            JOIN truth p ON p.record_id = c.customer_id::VARCHAR
            AND p.source IN ('customers', 'pos_customers')
            WHERE t.entity_id IS DISTINCT FROM p.entity_id"""
        assert one(wrong) == 0, child
    assert one("SELECT count(*) FROM truth WHERE source = 'line_notes' AND entity_id IS NULL") == 0
    # Each duplicate line comes right after its original and differs only in sku.
    dupes = "SELECT * FROM truth WHERE source = 'order_lines' AND is_duplicate"
    assert one(f"SELECT count(*) FROM ({dupes})") > 0
    assert one(f"SELECT bool_and(record_id::BIGINT = duplicate_of::BIGINT + 1) FROM ({dupes})")
    pairs = f"""({dupes}) d JOIN order_lines a ON a.line_id::VARCHAR = d.record_id
        JOIN order_lines b ON b.line_id::VARCHAR = d.duplicate_of"""
    differ = f"""SELECT count(*) FROM {pairs}
        WHERE (a.sku IS NOT DISTINCT FROM b.sku AND a.qty IS NOT DISTINCT FROM b.qty)
        OR a.orderid <> b.orderid OR a.customer_id <> b.customer_id"""
    assert one(differ) == 0
    # The columns' own kernels: sku gets a typo, qty is blanked in about a fifth.
    blanked = one(f"SELECT avg((a.qty IS NULL)::INT) FROM {pairs}")
    assert isinstance(blanked, float) and 0.12 < blanked < 0.28
    kernels = one(f"SELECT list(DISTINCT corruptions ORDER BY corruptions) FROM ({dupes})")
    assert set(kernels) <= {  # type: ignore[arg-type]
        "sku:fat_finger", "sku:swap_adjacent", "sku:keyboard_substitution", "qty:blank",
        "qty:blank|sku:fat_finger", "qty:blank|sku:swap_adjacent",
        "qty:blank|sku:keyboard_substitution",
    }, kernels  # fmt: skip


def test_children_of_any_parent_do_not_depend_on_batches_workers_or_shards(
    kids: Path, tmp_path: Path
) -> None:
    other = children(tmp_path / "b", "--batch-size", "4000", "--workers", "2")
    assert tree_bytes(other) == tree_bytes(kids)
    frames = {name: [] for name in ("order_lines", "line_notes", "pos_returns", "email_clicks")}
    for k in range(3):
        shard = children(tmp_path / f"p{k}", "--parts", "3", "--part", str(k))
        for name, got in frames.items():
            got.append(pl.read_parquet(next((shard / name).rglob("*.parquet"))))
    for name, got in frames.items():
        single = pl.read_parquet(next((kids / name).rglob("*.parquet")))
        assert pl.concat(got).equals(single), name


def test_a_parent_must_be_switched_on_and_copies_must_name_its_fields(tmp_path: Path) -> None:
    (tmp_path / "vecgen.toml").write_text(CHILDREN + "[sources]\ntransactions = false\n")
    r = run_cli("--customers", "10", "--out", "o", cwd=tmp_path)
    assert r.returncode == 2, r.stderr
    assert "[sources.order_lines] parent: transactions is switched off; turn it on" in r.stderr
    (tmp_path / "vecgen.toml").write_text(CHILDREN.replace('"orderid" }', '"email" }', 1))
    r = run_cli("--customers", "10", "--out", "o", cwd=tmp_path)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "column 'orderid': 'email' is not a field of the parent transactions" in r.stderr
    assert not (tmp_path / "o").exists()


def test_the_readme_declarations_are_valid_and_run(tmp_path: Path) -> None:
    import re

    import vecgen

    section = (Path(__file__).parents[2] / "docs" / "declared.md").read_text()
    import tomllib

    blocks = re.findall(r"```toml\n(.*?)```", section, flags=re.S)
    assert len(blocks) >= 3
    first = tomllib.loads(blocks[0])
    for i, block in enumerate(blocks):
        table = tomllib.loads(block)
        if all("columns" in spec for spec in table["sources"].values()):
            (tmp_path / f"r{i}.json").write_text(json.dumps(table))
        else:  # a fragment (a fuzz table) of the first block's source
            merged = json.loads(json.dumps(first))
            for name, spec in table["sources"].items():
                merged["sources"][name].update(spec)
            (tmp_path / f"r{i}.json").write_text(json.dumps(merged))
        config = load_config(
            {"customers": 300, "date": "2026-11-29", "state_dir": ""},
            config_path=tmp_path / f"r{i}.json", cwd=tmp_path, environ={},
        )  # fmt: skip
        frames = vecgen.generate(config)
        for name in config.declared_names():
            assert frames[name].height > 0, name


def test_ddl_and_load_know_declared_sources_and_their_keys(kids: Path) -> None:
    r = run_cli("ddl", "--dialect", "duckdb", "--date", "2026-11-29", cwd=kids.parent)
    assert r.returncode == 0, r.stderr
    for table, references in [
        ("order_lines", 'FOREIGN KEY ("orderid") REFERENCES "transactions" ("orderid")'),
        ("line_notes", 'FOREIGN KEY ("line_id") REFERENCES "order_lines" ("line_id")'),
        ("pos_returns", 'FOREIGN KEY ("orderid") REFERENCES "pos_transactions" ("orderid")'),
        ("email_clicks", 'FOREIGN KEY ("event_id") REFERENCES "email_campaign" ("EVENT_ID")'),
    ]:
        create = r.stdout.split(f'CREATE TABLE "{table}" (')[1].split(");")[0]
        assert references in create, table
    assert 'PRIMARY KEY ("line_id")' in r.stdout.split('CREATE TABLE "order_lines"')[1]
    db = kids.parent / "run.db"
    r = run_cli("load", "--dsn", f"duckdb:///{db}", "--date", "2026-11-29", cwd=kids.parent)
    assert r.returncode == 0, r.stderr
    con = duckdb.connect(str(db), read_only=True)
    for name in ("order_lines", "line_notes", "pos_returns", "email_clicks"):
        (n,) = con.execute(f"SELECT count(*) FROM {name}").fetchone()  # type: ignore[misc]
        assert n == pl.read_parquet(next((kids / name).rglob("*.parquet"))).height, name
    # The database enforces the declared keys: an orphan line is refused.
    con.close()
    con = duckdb.connect(str(db))
    with pytest.raises(duckdb.ConstraintException):
        con.execute("INSERT INTO order_lines VALUES (999999999, 1, 1, 'x', 1)")


def test_fuzz_stats_reads_a_declared_source_from_truth(kids: Path) -> None:
    import json as json_module

    r = run_cli("fuzz-stats", str(kids), "--source", "order_lines", "--json", cwd=kids.parent)
    assert r.returncode == 0, r.stderr
    stats = json_module.loads(r.stdout)
    # The log-based rates must match a comparison of the files themselves.
    truth = pl.read_parquet(next((kids / "truth").rglob("*.parquet")))
    dupes = truth.filter(pl.col("source") == "order_lines", pl.col("is_duplicate"))
    lines = pl.read_parquet(next((kids / "order_lines").rglob("*.parquet"))).with_columns(
        pl.col("line_id").cast(pl.String)
    )
    pairs = dupes.join(lines, left_on="record_id", right_on="line_id").join(
        lines, left_on="duplicate_of", right_on="line_id", suffix="_orig"
    )
    assert stats["duplicates"] == dupes.height == pairs.height
    for column in ("sku", "qty"):
        changed = pairs.select(pl.col(column).ne_missing(pl.col(column + "_orig")).mean()).item()
        assert stats["field_change_percent"][column] == round(100 * changed, 2), column
    assert stats["unchanged_duplicates"] == 0
    assert sum(stats["kernel_mix"].values()) >= dupes.height
    r = run_cli("fuzz-stats", str(kids), "--source", "line_notes", cwd=kids.parent)
    assert r.returncode == 2 and "sources with duplicates: customers" in r.stderr, r.stderr


def test_the_report_lists_declared_files(kids: Path, tmp_path: Path) -> None:
    from vecgen.report import report

    done = report(str(kids), str(tmp_path / "report"))
    page = Path(done["html"]).read_text()
    for name in ("order_lines", "line_notes", "pos_returns", "email_clicks"):
        rows = pl.read_parquet(next((kids / name).rglob("*.parquet"))).height
        assert f"<td>{name}</td>" in page and f"{rows:,}" in page, name


def test_sources_generated_at_once_give_the_frames_of_one_at_a_time(tmp_path: Path) -> None:
    from vecgen.pipeline import batch_frames, batch_offsets
    from vecgen.plan import resolve
    from vecgen.vocab import load, vocab_dir

    (tmp_path / "vecgen.toml").write_text(CHILDREN)
    config = load_config({"customers": 3000, "batch_size": 1000}, cwd=tmp_path, environ={})
    plan = resolve(config)
    vocab = load(vocab_dir(config.locale))
    starts = batch_offsets(plan)
    assert len(plan.batches) == 3
    for i, (start, stop) in enumerate(plan.batches):
        one = batch_frames(plan, vocab, i, start, stop, starts[i], threads=1)
        many = batch_frames(plan, vocab, i, start, stop, starts[i], threads=3)
        assert [name for name, _ in one] == [name for name, _ in many] == list(plan.sources)
        assert {"order_lines", "line_notes", "pos_returns", "truth"} <= set(plan.sources)
        for (name, a), (_, b) in zip(one, many, strict=True):
            assert a.equals(b), name


def test_a_declared_source_works_out_its_record_from_its_spec(tmp_path: Path) -> None:
    from vecgen.config import load_config
    from vecgen.plan import source_info

    example = Path(__file__).parents[2] / "examples" / "support_tickets.toml"
    (tmp_path / "vecgen.toml").write_text(example.read_text())
    config = load_config(cwd=tmp_path, environ={})
    name = config.declared_names()[0]
    info = source_info(config, name)
    assert info.parents and info.parents[0] in ("customers", "transactions")
    assert info.csv_bytes > 0 and info.parquet_rows > 0 and info.parquet_row_bytes > 0
    with pytest.raises(KeyError, match="unknown source 'nope'"):
        source_info(config, "nope")


@pytest.mark.parametrize("name", ["../x", "/tmp/abs", "a/b", "..", "", "x" * 200, 5])
def test_a_declared_file_name_cannot_leave_the_output(tmp_path: Path, name: object) -> None:
    from vecgen.config import load_config
    from vecgen.errors import ConfigError

    table = {
        "sources": {
            "tickets": {"file": name, "columns": {"n": {"kind": "int", "min": 1, "max": 2}}}
        }
    }
    (tmp_path / "t.json").write_text(json.dumps(table))
    with pytest.raises(ConfigError, match=r"\[sources.tickets\] file: .* is not a plain file name"):
        load_config(config_path=tmp_path / "t.json", cwd=tmp_path, environ={})


@pytest.mark.parametrize(
    ("column", "why"),
    [
        ('{kind="sequence", start="abc"}', "start must be an integer"),
        ('{kind="int", min=0, max=9223372036854775807}', "needs integers min <= max"),
        ('{kind="decimal", min=0, max=inf}', "needs finite numbers"),
        ('{kind="decimal", min=0, max=1, places=nan}', "places must be an integer from 0 to 9"),
        ('{kind="constant", value=1e30}', "value must be text, a boolean or a finite number"),
        ('{kind="constant", value=[1,2]}', "value must be text"),
        ('{kind="choice", values=[1,"a"]}', "values must all be text, all integers"),
        ('{kind=["int"]}', "unknown kind ['int']"),
        ('{kind="pattern", pattern=5}', "pattern must be text"),
        ('{kind="expr", sql="nope_col + 1"}', "sql names 'nope_col', not an earlier column"),
    ],
)
def test_a_declared_column_that_would_fail_in_generation_is_refused_up_front(
    tmp_path: Path, column: str, why: str
) -> None:
    (tmp_path / "vecgen.toml").write_text(
        f'[sources.t]\nkey = "k"\n[sources.t.columns]\nk = {{kind="sequence"}}\nc = {column}\n'
    )
    r = run_cli("--customers", "50", "--quiet", "--format", "csv,parquet", cwd=tmp_path)
    assert r.returncode == 2 and r.stderr.count("\n") == 1, r.stderr
    assert f"[sources.t] column 'c': {why}" in r.stderr and "internal error" not in r.stderr
    assert not (tmp_path / "output").exists()


def test_head_refuses_an_absurd_row_count(tmp_path: Path) -> None:
    r = run_cli("head", "customers", "--rows", str(10**30), cwd=tmp_path)
    assert r.returncode == 2 and "--rows must be from 0 to 1,000" in r.stderr
