"""Real protocol servers on 127.0.0.1 for the tests: moto's S3 server and a Vault API stand-in."""

from __future__ import annotations

import json
import os
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def _serving(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    """Serve ``handler`` on 127.0.0.1 in a thread; yield the server's http:// address."""
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def s3_server() -> Iterator[str]:
    """Start moto's standalone S3 server on 127.0.0.1; yield its endpoint URL."""
    import logging

    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


def s3_client(endpoint: str, bucket: str, key: str, secret: str) -> Any:
    """A boto3 client of the S3 server at ``endpoint``, with ``bucket`` created."""
    import boto3

    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        region_name="us-east-1",
    )
    client.create_bucket(Bucket=bucket)
    return client


@dataclass
class VaultStandIn:
    """The slice of Vault's HTTP API that vecgen uses: KV v2 reads and AWS credentials."""

    token: str = "s.test-token"
    kv: dict[str, dict[str, Any]] = field(default_factory=dict)  # "mount/path" -> data
    aws_roles: dict[str, dict[str, Any]] = field(default_factory=dict)  # "mount/role" -> creds
    requests: list[str] = field(default_factory=list)


@contextmanager
def vault_server(vault: VaultStandIn) -> Iterator[str]:
    """Serve ``vault`` over HTTP on 127.0.0.1 (real hvac talks to it); yield its address."""

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:  # keep test output quiet
            pass

        def _send(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            vault.requests.append(path)
            if self.headers.get("X-Vault-Token") != vault.token:
                self._send(403, {"errors": ["permission denied"]})
                return
            parts = path.strip("/").split("/")  # v1, mount, data|creds, ...
            if len(parts) >= 4 and parts[0] == "v1" and parts[2] == "data":
                key = parts[1] + "/" + "/".join(parts[3:])
                if key in vault.kv:
                    self._send(200, {"data": {"data": vault.kv[key], "metadata": {"version": 1}}})
                    return
            if len(parts) == 4 and parts[0] == "v1" and parts[2] == "creds":
                key = f"{parts[1]}/{parts[3]}"
                if key in vault.aws_roles:
                    self._send(
                        200,
                        {
                            "data": vault.aws_roles[key],
                            "lease_id": "aws/creds/x",
                            "lease_duration": 900,
                        },
                    )
                    return
            self._send(404, {"errors": []})

    with _serving(Handler) as address:
        yield address


def _pgserver(base: str) -> Iterator[str]:
    """PostgreSQL from the pgserver wheel (it handles running as root); its DSN uses a socket."""
    try:
        import pgserver
    except ImportError:
        import pytest

        if os.environ.get("CI"):
            raise RuntimeError(
                "CI needs PostgreSQL: pip install -e '.[test]' brings pgserver"
            ) from None
        pytest.skip(
            "PostgreSQL is not installed and pgserver is not importable (pip install pgserver)"
        )
    server = pgserver.get_server(os.path.join(base, "pgserver"), cleanup_mode="stop")
    try:
        yield server.get_uri()
    finally:
        server.cleanup()


def _postgres_bin(name: str) -> str | None:
    import glob
    import shutil

    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return found[-1] if found else shutil.which(name)


@contextmanager
def postgres_server(base: str) -> Iterator[str]:
    """Start a throw-away PostgreSQL cluster on 127.0.0.1 under ``base``; yield its DSN."""
    import os
    import shutil
    import subprocess

    initdb, pg_ctl = _postgres_bin("initdb"), _postgres_bin("pg_ctl")
    if not initdb or not pg_ctl:
        # No system PostgreSQL: the server the pgserver wheel ships (a test dependency).
        yield from _pgserver(base)
        return
    data, sock = os.path.join(base, "pgdata"), os.path.join(base, "pgsock")
    os.makedirs(sock, exist_ok=True)
    as_user: list[str] = []
    if os.geteuid() == 0:  # initdb refuses to run as root
        as_user = ["runuser", "-u", "postgres", "--"]
        shutil.chown(base, "postgres")
        shutil.chown(sock, "postgres")
    port = free_port()
    subprocess.run(
        [*as_user, initdb, "-D", data, "-A", "trust", "-U", "postgres", "--no-sync"],
        check=True,
        capture_output=True,
    )
    options = f"-p {port} -c listen_addresses=127.0.0.1 -k {sock} -c fsync=off"
    subprocess.run(
        [
            *as_user,
            pg_ctl,
            "-D",
            data,
            "-o",
            options,
            "-l",
            os.path.join(base, "pg.log"),
            "-w",
            "start",
        ],
        check=True,
        capture_output=True,
    )
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(
            [*as_user, pg_ctl, "-D", data, "-m", "immediate", "stop"], capture_output=True
        )


@contextmanager
def iceberg_rest_server(
    backend_uri: str,
    warehouse: str,
    io: dict[str, str] | None = None,
    authorizations: list[str] | None = None,
) -> Iterator[str]:
    """Serve the Iceberg REST catalog protocol on 127.0.0.1, backed by a pyiceberg SqlCatalog.

    The routes pyiceberg's RestCatalog uses to create, load, stage and commit
    tables: config, namespaces, tables (HEAD, GET, POST with stage-create) and
    commits (a failed requirement is a 409, as a real catalog answers). Requests
    and responses are pyiceberg's own models. ``authorizations`` collects each
    request's Authorization header. Yields the URI.
    """
    from pyiceberg.catalog.rest import (
        CommitTableRequest,
        CreateTableRequest,
        TableResponse,
    )
    from pyiceberg.catalog.sql import SqlCatalog
    from pyiceberg.exceptions import (
        CommitFailedException,
        NamespaceAlreadyExistsError,
        NoSuchNamespaceError,
        NoSuchTableError,
        TableAlreadyExistsError,
    )

    backend = SqlCatalog("rest-backend", uri=backend_uri, warehouse=warehouse, **(io or {}))
    lock = threading.Lock()

    class _Named:  # what SqlCatalog.commit_table reads of the table: its name
        def __init__(self, identifier: tuple[str, ...]) -> None:
            self.identifier = identifier

        def name(self) -> tuple[str, ...]:
            return self.identifier

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _send(self, status: int, body: Any = None) -> None:
            data = (
                b""
                if body is None
                else (body if isinstance(body, bytes) else json.dumps(body).encode())
            )
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)

        def _error(self, status: int, kind: str, message: str) -> None:
            self._send(status, {"error": {"message": message, "type": kind, "code": status}})

        def _body(self) -> bytes:
            return self.rfile.read(int(self.headers.get("Content-Length") or 0))

        def _table(self, table: Any) -> bytes:
            response = TableResponse(
                metadata_location=table.metadata_location, metadata=table.metadata, config={}
            )
            return response.model_dump_json(by_alias=True, exclude_none=True).encode()

        def _route(self) -> tuple[list[str], dict[str, str]]:
            if authorizations is not None:
                authorizations.append(self.headers.get("Authorization") or "")
            path, _, query = self.path.partition("?")
            parts = [p for p in path.split("/") if p][1:]  # after v1
            params = dict(q.split("=", 1) for q in query.split("&") if "=" in q)
            return parts, params

        def do_HEAD(self) -> None:
            self.do_GET()

        def do_GET(self) -> None:
            parts, _ = self._route()
            with lock:
                if parts == ["config"]:
                    self._send(200, {"defaults": {}, "overrides": {}})
                elif len(parts) == 2 and parts[0] == "namespaces":
                    try:
                        props = backend.load_namespace_properties(parts[1])
                        self._send(200, {"namespace": [parts[1]], "properties": props})
                    except NoSuchNamespaceError as exc:
                        self._error(404, "NoSuchNamespaceException", str(exc))
                elif len(parts) == 4 and parts[2] == "tables":
                    try:
                        self._send(200, self._table(backend.load_table((parts[1], parts[3]))))
                    except NoSuchTableError as exc:
                        self._error(404, "NoSuchTableException", str(exc))
                else:
                    self._error(404, "NotFound", self.path)

        def do_POST(self) -> None:
            parts, _ = self._route()
            body = self._body()
            with lock:
                if parts == ["namespaces"]:
                    request = json.loads(body)
                    try:
                        backend.create_namespace(
                            tuple(request["namespace"]), request.get("properties", {})
                        )
                        self._send(200, {"namespace": request["namespace"], "properties": {}})
                    except NamespaceAlreadyExistsError as exc:
                        self._error(409, "AlreadyExistsException", str(exc))
                elif len(parts) == 3 and parts[2] == "tables":
                    create = CreateTableRequest.model_validate_json(body)
                    identifier = (parts[1], create.name)
                    try:
                        if create.stage_create:
                            staged = backend._create_staged_table(
                                identifier, create.table_schema, create.location,
                                create.partition_spec, create.write_order, create.properties,
                            )  # fmt: skip
                            self._send(200, self._table(staged))
                        else:
                            table = backend.create_table(
                                identifier, create.table_schema, create.location,
                                create.partition_spec, create.write_order, create.properties,
                            )  # fmt: skip
                            self._send(200, self._table(table))
                    except TableAlreadyExistsError as exc:
                        self._error(409, "AlreadyExistsException", str(exc))
                elif len(parts) == 4 and parts[2] == "tables":
                    commit = CommitTableRequest.model_validate_json(body)
                    try:
                        done = backend.commit_table(
                            _Named((parts[1], parts[3])),  # type: ignore[arg-type]
                            tuple(commit.requirements),
                            tuple(commit.updates),
                        )
                    except CommitFailedException as exc:
                        self._error(409, "CommitFailedException", str(exc))
                        return
                    self._send(200, done.model_dump_json(by_alias=True, exclude_none=True).encode())
                else:
                    self._error(404, "NotFound", self.path)

    with _serving(Handler) as address:
        yield address
