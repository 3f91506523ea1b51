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

    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


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
