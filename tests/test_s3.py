"""S3 delivery and Vault credentials against real protocol servers on 127.0.0.1."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import run_cli
from tests.servers import VaultStandIn, free_port, s3_client, s3_server, vault_server

KEY, SECRET = "AKIDVECGENTEST", "vecgen-test-secret-value"
# Credentials from the environment (no Vault), and no lookup of EC2 instance metadata.
STATIC_KEYS = {
    "AWS_ACCESS_KEY_ID": KEY,
    "AWS_SECRET_ACCESS_KEY": SECRET,
    "AWS_EC2_METADATA_DISABLED": "true",
}
SMALL = ("--customers", "2000", "--date", "2026-11-29", "--quiet", "--no-state")


@pytest.fixture(scope="module")
def s3() -> Iterator[tuple[str, Any]]:
    with s3_server() as endpoint:
        yield endpoint, s3_client(endpoint, "bucket", KEY, SECRET)


@pytest.fixture
def vault() -> Iterator[tuple[str, VaultStandIn]]:
    standin = VaultStandIn(
        kv={"secret/vecgen/aws": {"aws_access_key_id": KEY, "aws_secret_access_key": SECRET}},
        aws_roles={"aws/ingest": {"access_key": KEY, "secret_key": SECRET, "security_token": None}},
    )
    with vault_server(standin) as addr:
        yield addr, standin


def keys(client: Any, prefix: str) -> list[str]:
    out = []
    for page in client.get_paginator("list_objects_v2").paginate(Bucket="bucket", Prefix=prefix):
        out += [o["Key"] for o in page.get("Contents", [])]
    return sorted(out)


def read_back(check: str, endpoint: str) -> Any:
    """Run ``check`` (Python printing JSON) in another process with delta-rs' S3 options.

    This process serves S3 (moto runs in a thread here), and delta-rs holds the
    interpreter while it waits for the answer: the reader must be another process.
    """
    options = {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ALLOW_HTTP": "true",
        "AWS_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": KEY,
        "AWS_SECRET_ACCESS_KEY": SECRET,
    }
    done = subprocess.run(
        [sys.executable, "-c", check, json.dumps(options)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def env_for(vault_addr: str, token: str) -> dict[str, str]:
    return {"VAULT_ADDR": vault_addr, "VAULT_TOKEN": token, "AWS_EC2_METADATA_DISABLED": "true"}


@pytest.mark.parametrize("shape", ["kv", "aws_engine"])
def test_direct_write_with_vault_credentials_and_sse(
    tmp_path: Path, s3: tuple[str, Any], vault: tuple[str, VaultStandIn], shape: str
) -> None:
    endpoint, client = s3
    addr, standin = vault
    source = (
        ("--vault-secret", "secret/vecgen/aws") if shape == "kv" else ("--vault-aws-role", "ingest")
    )
    r = run_cli(
        *SMALL,
        "--out",
        f"s3://bucket/{shape}/",
        "--s3-endpoint-url",
        endpoint,
        *source,
        "--format",
        "csv,parquet",
        cwd=tmp_path,
        env=env_for(addr, standin.token),
    )
    assert r.returncode == 0, r.stderr
    written = keys(client, f"{shape}/")
    assert len(written) == 26 and all("vecgen-tmp" not in k for k in written)
    assert f"{shape}/customers/dt=2026-11-29/part-00000.parquet" in written
    for key in written:
        assert client.head_object(Bucket="bucket", Key=key)["ServerSideEncryption"] == "AES256"
    body = client.get_object(
        Bucket="bucket", Key=f"{shape}/customers/dt=2026-11-29/part-00000.csv"
    )["Body"].read()
    assert body.startswith(b'"customer_id"') and body.count(b"\n") == 2301
    assert standin.requests == (
        ["/v1/secret/data/vecgen/aws"] if shape == "kv" else ["/v1/aws/creds/ingest"]
    )
    # No secret reaches the output or the logs.
    assert SECRET not in r.stdout + r.stderr and standin.token not in r.stdout + r.stderr


def test_bad_vault_token_is_one_line_and_writes_nothing(
    tmp_path: Path, s3: tuple[str, Any], vault: tuple[str, VaultStandIn]
) -> None:
    endpoint, client = s3
    addr, _ = vault
    r = run_cli(
        *SMALL,
        "--out",
        "s3://bucket/badtoken/",
        "--s3-endpoint-url",
        endpoint,
        "--vault-secret",
        "secret/vecgen/aws",
        cwd=tmp_path,
        env=env_for(addr, "s.wrong-token"),
    )
    assert r.returncode == 1
    assert r.stderr.strip().count("\n") == 0 and "refused the token (permission denied)" in r.stderr
    assert "s.wrong-token" not in r.stderr and "Traceback" not in r.stderr
    assert keys(client, "badtoken/") == []


def test_missing_vault_path_names_it(
    tmp_path: Path, s3: tuple[str, Any], vault: tuple[str, VaultStandIn]
) -> None:
    endpoint, _ = s3
    addr, standin = vault
    r = run_cli(
        *SMALL,
        "--out",
        "s3://bucket/x/",
        "--s3-endpoint-url",
        endpoint,
        "--vault-secret",
        "secret/nope",
        cwd=tmp_path,
        env=env_for(addr, standin.token),
    )
    assert r.returncode == 1 and "has no secret at 'secret/nope'" in r.stderr


def test_missing_bucket_is_one_line_and_not_created(tmp_path: Path, s3: tuple[str, Any]) -> None:
    endpoint, client = s3
    env = dict(STATIC_KEYS)
    r = run_cli(
        *SMALL,
        "--out",
        "s3://no-such-bucket/run/",
        "--s3-endpoint-url",
        endpoint,
        cwd=tmp_path,
        env=env,
    )
    assert r.returncode == 1
    assert "bucket 'no-such-bucket' does not exist" in r.stderr and r.stderr.count("\n") == 1
    assert "no-such-bucket" not in [b["Name"] for b in client.list_buckets()["Buckets"]]


def test_unreachable_endpoint_is_one_line(tmp_path: Path) -> None:
    dead = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    env = dict(STATIC_KEYS)
    started = time.monotonic()
    r = run_cli(
        *SMALL, "--out", "s3://bucket/run/", "--s3-endpoint-url", dead, cwd=tmp_path, env=env
    )
    assert r.returncode == 1
    assert f"cannot reach the S3 endpoint {dead}" in r.stderr and r.stderr.count("\n") == 1
    assert time.monotonic() - started < 120


def test_publish_uploads_todays_files_encrypted_and_multipart(
    tmp_path: Path, s3: tuple[str, Any]
) -> None:
    endpoint, client = s3
    env = dict(STATIC_KEYS)
    assert run_cli(*SMALL, cwd=tmp_path).returncode == 0
    # A large file, so the upload is multipart (publish uses 16 MiB parts above 32 MiB).
    big = tmp_path / "output" / "customers" / "dt=2026-11-29" / "part-00001.csv"
    big.write_bytes(os.urandom(1024) * (60 * 1024))
    r = run_cli(
        "publish",
        "--to",
        "s3://bucket/pub/",
        "--date",
        "2026-11-29",
        "--s3-endpoint-url",
        endpoint,
        "--no-state",
        cwd=tmp_path,
        env=env,
    )
    assert r.returncode == 0, r.stderr
    assert "14 files published" in r.stdout
    head = client.head_object(Bucket="bucket", Key="pub/customers/dt=2026-11-29/part-00001.csv")
    assert head["ServerSideEncryption"] == "AES256" and head["ContentLength"] == big.stat().st_size
    assert "-" in head["ETag"]  # a multipart upload's ETag
    local = (tmp_path / "output" / "truth" / "dt=2026-11-29" / "part-00000.csv").read_bytes()
    remote = client.get_object(Bucket="bucket", Key="pub/truth/dt=2026-11-29/part-00000.csv")[
        "Body"
    ].read()
    assert remote == local
    nothing = run_cli(
        "publish",
        "--to",
        "s3://bucket/pub/",
        "--date",
        "2020-01-01",
        "--s3-endpoint-url",
        endpoint,
        "--no-state",
        cwd=tmp_path,
        env=env,
    )
    assert nothing.returncode == 1 and "nothing to publish" in nothing.stderr


@pytest.mark.slow
def test_100k_customers_to_s3_with_vault_credentials(
    tmp_path: Path, s3: tuple[str, Any], vault: tuple[str, VaultStandIn]
) -> None:
    endpoint, client = s3
    addr, standin = vault
    r = run_cli(
        "--customers",
        "100000",
        "--out",
        "s3://bucket/run100k/",
        "--s3-endpoint-url",
        endpoint,
        "--vault-secret",
        "secret/vecgen/aws",
        "--no-state",
        "--date",
        "2026-11-29",
        "--quiet",
        cwd=tmp_path,
        env=env_for(addr, standin.token),
    )
    assert r.returncode == 0, r.stderr
    written = keys(client, "run100k/")
    assert len(written) == 13
    for key in written:
        assert client.head_object(Bucket="bucket", Key=key)["ServerSideEncryption"] == "AES256"


def test_unreachable_vault_is_one_line(tmp_path: Path, s3: tuple[str, Any]) -> None:
    endpoint, client = s3
    dead = f"http://127.0.0.1:{free_port()}"
    r = run_cli(
        *SMALL,
        "--out",
        "s3://bucket/novault/",
        "--s3-endpoint-url",
        endpoint,
        "--vault-secret",
        "secret/vecgen/aws",
        cwd=tmp_path,
        env=env_for(dead, "s.any"),
    )
    assert (
        r.returncode == 1
        and f"cannot reach Vault at {dead}" in r.stderr
        and r.stderr.count("\n") == 1
    )
    assert keys(client, "novault/") == []


def test_kms_encryption_with_a_key_id(tmp_path: Path, s3: tuple[str, Any]) -> None:
    endpoint, client = s3
    env = dict(STATIC_KEYS)
    r = run_cli(
        *SMALL,
        "--out",
        "s3://bucket/kms/",
        "--s3-endpoint-url",
        endpoint,
        "--s3-sse",
        "aws:kms",
        "--s3-kms-key-id",
        "arn:aws:kms:us-east-1:123456789012:key/vecgen-test",
        "--disable",
        "pos_customers,pos_transactions",
        cwd=tmp_path,
        env=env,
    )
    assert r.returncode == 0, r.stderr
    head = client.head_object(Bucket="bucket", Key="kms/customers/dt=2026-11-29/part-00000.csv")
    assert head["ServerSideEncryption"] == "aws:kms"
    assert head["SSEKMSKeyId"].endswith("vecgen-test")


def test_a_run_failing_midway_leaves_no_object(
    s3: tuple[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    import datetime as dt

    from vecgen.config import Config
    from vecgen.engine import run
    from vecgen.sources import SOURCES

    endpoint, client = s3
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    original = SOURCES["transactions"].generate
    calls = {"n": 0}

    def failing(*args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("generation failed midway")
        return original(*args, **kwargs)

    monkeypatch.setattr(SOURCES["transactions"], "generate", failing)
    cfg = Config(
        customers=5000,
        batch_size=1000,
        out="s3://bucket/failing/",
        s3_endpoint_url=endpoint,
        date=dt.date(2026, 11, 29),
    )
    with pytest.raises(RuntimeError, match="midway"):
        run(cfg)
    assert keys(client, "failing/") == []  # neither final nor temporary objects


@pytest.mark.slow
def test_twenty_concurrent_runs_against_one_server(tmp_path: Path, s3: tuple[str, Any]) -> None:
    """20 runs in 20 folders at once, plus two in one folder (serialised by its lock)."""
    import subprocess
    import sys

    endpoint, client = s3
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("VECGEN_")},
        **STATIC_KEYS,
    }
    common = ("--customers", "2000", "--date", "2026-11-29", "--quiet", "--formats", "csv")
    remote = ("--s3-endpoint-url", endpoint)

    def start(cwd: Path, *args: str) -> subprocess.Popen[str]:
        cwd.mkdir(exist_ok=True)
        command = [sys.executable, "-m", "vecgen", *common, *args]
        return subprocess.Popen(command, cwd=cwd, env=env, stderr=subprocess.PIPE, text=True)

    procs = [
        start(tmp_path / f"run{i}", "--seed", str(i), "--out", f"s3://bucket/load/run{i}/", *remote)
        for i in range(20)
    ]
    shared = ("--load-type", "append", "--lock-wait", "600", "--out", "s3://bucket/load/shared/")
    procs += [start(tmp_path / "shared", *shared, *remote) for _ in range(2)]
    for proc in procs:
        _, err = proc.communicate(timeout=900)
        assert proc.returncode == 0, err

    # Each run's objects are byte-identical to the same run written locally: no cross-talk.
    for i in range(20):
        local = tmp_path / f"local{i}"
        local.mkdir()
        r = run_cli(*common, "--seed", str(i), "--out", "out", cwd=local)
        assert r.returncode == 0, r.stderr
        prefix = f"load/run{i}/"
        got = {
            k[len(prefix) :]: client.get_object(Bucket="bucket", Key=k)["Body"].read()
            for k in keys(client, prefix)
        }
        want = {
            str(p.relative_to(local / "out")): p.read_bytes()
            for p in (local / "out").rglob("*")
            if p.is_file()
        }
        assert got == want, f"run {i} differs"
    # The two runs in one folder took turns: two parts, disjoint customer IDs.
    import io

    import polars as pl

    parts = [k for k in keys(client, "load/shared/customers/") if k.endswith(".csv")]
    assert len(parts) == 2
    ids = [
        set(
            pl.read_csv(io.BytesIO(client.get_object(Bucket="bucket", Key=k)["Body"].read()))[
                "customer_id"
            ]
        )
        for k in parts
    ]
    assert ids[0] and ids[1] and not ids[0] & ids[1]


def test_delta_tables_on_s3_with_vault_credentials(
    tmp_path: Path, s3: tuple[str, Any], vault: tuple[str, VaultStandIn]
) -> None:
    """Delta tables straight to S3: one commit per table and run, time travel, load_type new."""
    pytest.importorskip("deltalake", reason="deltalake is a test dependency")
    endpoint, client = s3
    addr, standin = vault
    base = ("--customers", "1500", "--quiet", "--format", "delta")
    base += ("--out", "s3://bucket/tables/", "--s3-endpoint-url", endpoint, "--state-dir", "st")
    base += ("--vault-secret", "secret/vecgen/aws")
    for day in ("2026-11-28", "2026-11-29"):
        r = run_cli(*base, "--date", day, cwd=tmp_path, env=env_for(addr, standin.token))
        assert r.returncode == 0 and "Traceback" not in r.stderr, r.stderr
    written = keys(client, "tables/")
    assert "tables/customers/_delta_log/00000000000000000000.json" in written
    assert all("vecgen-tmp" not in k for k in written)
    for key in written:  # the run's encryption setting reaches delta-rs' writes too
        assert client.head_object(Bucket="bucket", Key=key)["ServerSideEncryption"] == "AES256"
    # Read back with delta-rs in another process: this one serves S3 (moto runs in a thread
    # here), and delta-rs holds the interpreter while it waits for the answer.
    check = """
import json, sys
import polars as pl
from deltalake import DeltaTable
options = json.loads(sys.argv[1])
table = DeltaTable("s3://bucket/tables/customers", storage_options=options)
history = [h["operation"] for h in reversed(table.history())]
now = pl.DataFrame(table.to_pyarrow_table())
table.load_as_version(0)
print(json.dumps({
    "history": history, "rows": now.height, "days": sorted(set(now["dt"])),
    "rows_first_version": table.to_pyarrow_table().num_rows,
}), flush=True)
import os
os._exit(0)  # (pyarrow's and delta-rs' threads can abort the interpreter's shutdown)
"""
    seen = read_back(check, endpoint)
    assert seen["history"] == ["CREATE TABLE", "WRITE"]
    assert seen["rows"] == 2 * 1725 and seen["days"] == ["2026-11-28", "2026-11-29"]
    assert seen["rows_first_version"] == 1725  # time travel: the first day only
    # A second run of the day (load_type new) is refused before anything is written.
    before = keys(client, "tables/")
    r = run_cli(*base, "--date", "2026-11-29", cwd=tmp_path, env=env_for(addr, standin.token))
    assert r.returncode != 0 and "already holds" in r.stderr and "Traceback" not in r.stderr
    assert keys(client, "tables/") == before


def test_changes_and_archival_read_earlier_days_on_s3_as_they_do_locally(
    tmp_path: Path, s3: tuple[str, Any]
) -> None:
    """A daily job kept on S3 only: the feeds and archival read the earlier days from S3."""
    endpoint, client = s3
    common = ("--customers", "1500", "--quiet", "--seed", "5", "--changes", "8", "--archival")
    for day in ("2026-11-27", "2026-11-28", "2026-12-02"):
        for out, state in (("s3://bucket/daily/", "st-s3"), ("local", "st-local")):
            extra = ("--s3-endpoint-url", endpoint) if out.startswith("s3") else ()
            r = run_cli(
                *common, "--date", day, "--out", out, "--state-dir", state, *extra,
                cwd=tmp_path, env=STATIC_KEYS,
            )  # fmt: skip
            assert r.returncode == 0 and "Traceback" not in r.stderr, (out, r.stderr)
    local = sorted(
        p.relative_to(tmp_path / "local").as_posix() for p in (tmp_path / "local").rglob("*.csv")
    )
    assert keys(client, "daily/") == [f"daily/{k}" for k in local]
    for key in local:  # the same bytes: changes, followers, archival customers, truth
        body = client.get_object(Bucket="bucket", Key=f"daily/{key}")["Body"].read()
        assert body == (tmp_path / "local" / key).read_bytes(), key
    last = tmp_path / "local" / "loyalty_changes" / "dt=2026-12-02" / "part-00000.csv"
    assert last.read_text().count("\n") > 1  # the followers had earlier changes to record


def test_delta_tables_on_s3_take_the_change_feeds_merge(
    tmp_path: Path, s3: tuple[str, Any]
) -> None:
    """With changes on S3, each system's feed is MERGEd into its Delta table there."""
    pytest.importorskip("deltalake", reason="deltalake is a test dependency")
    endpoint, _ = s3
    base = ("--customers", "1500", "--quiet", "--format", "delta", "--changes", "10")
    base += ("--out", "s3://bucket/merged/", "--s3-endpoint-url", endpoint, "--state-dir", "st")
    for day in ("2026-11-28", "2026-11-29", "2026-12-01"):
        r = run_cli(*base, "--date", day, cwd=tmp_path, env=STATIC_KEYS)
        assert r.returncode == 0 and "Traceback" not in r.stderr, r.stderr
    check = """
import json, sys
import polars as pl
from deltalake import DeltaTable
options = json.loads(sys.argv[1])
out = {}
for name in ("customers", "loyalty", "customer_changes", "loyalty_changes"):
    table = DeltaTable(f"s3://bucket/merged/{name}", storage_options=options)
    out[name] = {
        "history": [h["operation"] for h in reversed(table.history())],
        "rows": pl.DataFrame(table.to_pyarrow_table()).to_dicts(),
    }
print(json.dumps(out, default=str), flush=True)
import os
os._exit(0)
"""
    seen = read_back(check, endpoint)
    assert seen["customers"]["history"].count("MERGE") == 2  # the second and third day
    assert "MERGE" in seen["loyalty"]["history"]
    for system, feed_name, key in (
        ("customers", "customer_changes", "customer_id"),
        ("loyalty", "loyalty_changes", "lm_id"),
    ):
        now = {row[key]: row for row in seen[system]["rows"]}
        feed = sorted(seen[feed_name]["rows"], key=lambda row: row["dt"])
        latest = {row[key]: row for row in feed}
        assert latest
        for record, row in latest.items():
            if row["op"] == "D":
                assert record not in now
            else:  # the table holds the feed's latest version of the record
                assert all(now[record][c] == row[c] for c in now[record] if c != "dt"), record


def test_iceberg_tables_on_s3_in_a_rest_catalog(tmp_path: Path, s3: tuple[str, Any]) -> None:
    """Iceberg on S3: data and metadata in the bucket, the tables in a REST catalog."""
    pytest.importorskip("pyiceberg", reason="pyiceberg is a test dependency")
    from tests.servers import iceberg_rest_server

    endpoint, client = s3
    io = {
        "s3.endpoint": endpoint,
        "s3.access-key-id": KEY,
        "s3.secret-access-key": SECRET,
        "s3.region": "us-east-1",
    }
    with iceberg_rest_server(f"sqlite:///{tmp_path}/rest.db", "s3://bucket/warehouse", io) as uri:
        base = ("--customers", "1500", "--quiet", "--format", "iceberg", "--changes", "5")
        base += ("--out", "s3://bucket/ice/", "--s3-endpoint-url", endpoint)
        base += ("--state-dir", "st", "--iceberg-catalog", uri)
        for day in ("2026-11-28", "2026-11-29"):
            r = run_cli(*base, "--date", day, cwd=tmp_path, env=STATIC_KEYS)
            assert r.returncode == 0 and "Traceback" not in r.stderr, r.stderr
        written = keys(client, "ice/")
        assert "ice/_iceberg/catalog.json" in written
        assert any(k.startswith("ice/customers/metadata/") for k in written)
        from pyiceberg.catalog.rest import RestCatalog

        table = RestCatalog("check", uri=uri, **io).load_table("vecgen.customers")
        rows = table.scan().to_arrow()
        assert table.location() == "s3://bucket/ice/customers"
        # Two days of 1,725 records, less the day-two deletions of the change feed.
        assert 2 * 1725 - 20 < rows.num_rows < 2 * 1725
        assert len(table.snapshots()) >= 3  # two appends and the MERGE


def test_a_rolled_parquet_file_lands_on_s3_in_pieces(tmp_path: Path, s3: tuple[str, Any]) -> None:
    endpoint, client = s3
    rolled = ("--parquet-row-group-rows", "1000", "--parquet-file-rows", "3000")
    r = run_cli(
        *SMALL, "--format", "parquet", "--out", "s3://bucket/rolled/", "--s3-endpoint-url",
        endpoint, *rolled, cwd=tmp_path, env=dict(STATIC_KEYS),
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    truth = sorted(k for k in keys(client, "rolled/truth/") if k.endswith(".parquet"))
    assert len(truth) > 3 and all("vecgen-tmp" not in k for k in keys(client, "rolled/"))
    assert truth[:2] == [
        "rolled/truth/dt=2026-11-29/part-00000.parquet",
        "rolled/truth/dt=2026-11-29/part-00000_00001.parquet",
    ]
    local = tmp_path / "local"
    r = run_cli(*SMALL, "--format", "parquet", "--out", str(local), *rolled, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    for key in truth:
        body = client.get_object(Bucket="bucket", Key=key)["Body"].read()
        assert body == (local / key.removeprefix("rolled/")).read_bytes(), key
