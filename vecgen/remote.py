"""Remote output: S3 through s3fs (server-side encryption, endpoint, retries) and Vault credentials.

Credentials come, in order, from Vault (a KV v2 secret holding
``aws_access_key_id`` / ``aws_secret_access_key`` / ``aws_session_token``, or the
AWS secrets engine's ``<mount>/creds/<role>``) or else from the usual AWS chain
(environment, ``~/.aws``). No secret is ever put in a message.
"""

from __future__ import annotations

import os
from typing import Any

from vecgen.config import Config
from vecgen.errors import MissingDependencyError, OutputError, VecgenError

CONNECT_TIMEOUT_S = 5
MAX_ATTEMPTS = 3  # botocore retries transient errors (throttling, 5xx, resets) this often
MULTIPART_CHUNK = 16 * 2**20  # publish: files over twice this go up in 16 MiB parts


class VaultError(VecgenError, RuntimeError):
    """Vault refused, could not be reached, or holds no usable credentials."""


def vault_credentials(config: Config) -> dict[str, str] | None:
    """Return AWS credentials from Vault, or ``None`` when no Vault secret is configured."""
    if not (config.vault_secret or config.vault_aws_role):
        return None
    try:
        import hvac
        import hvac.exceptions
        import requests
    except ImportError as exc:  # pragma: no cover - hvac is a core dependency
        raise MissingDependencyError(
            f"Vault needs the '{exc.name}' package: pip install hvac"
        ) from exc
    addr = config.vault_addr or os.environ.get("VAULT_ADDR", "")
    token = config.vault_token or os.environ.get("VAULT_TOKEN", "")
    if not addr:
        raise VaultError("no Vault address: set VAULT_ADDR or vault_addr")
    if not token:
        raise VaultError(f"no Vault token for {addr}: set VAULT_TOKEN or vault_token")
    client = hvac.Client(url=addr, token=token, timeout=CONNECT_TIMEOUT_S)
    where = config.vault_secret or f"{config.vault_aws_mount}/creds/{config.vault_aws_role}"
    try:
        if config.vault_secret:
            mount, _, path = config.vault_secret.partition("/")
            data = client.secrets.kv.v2.read_secret_version(
                path=path, mount_point=mount, raise_on_deleted_version=True
            )["data"]["data"]
            creds = {
                "key": data.get("aws_access_key_id", ""),
                "secret": data.get("aws_secret_access_key", ""),
                "token": data.get("aws_session_token") or "",
            }
        else:
            data = client.secrets.aws.generate_credentials(
                name=config.vault_aws_role, mount_point=config.vault_aws_mount
            )["data"]
            creds = {
                "key": data.get("access_key", ""),
                "secret": data.get("secret_key", ""),
                "token": data.get("security_token") or "",
            }
    except hvac.exceptions.Forbidden:
        raise VaultError(
            f"Vault at {addr} refused the token (permission denied) reading '{where}'; check VAULT_TOKEN"
        ) from None
    except hvac.exceptions.InvalidPath:
        raise VaultError(
            f"Vault at {addr} has no secret at '{where}'; check vault_secret / vault_aws_role"
        ) from None
    except hvac.exceptions.VaultError as exc:
        raise VaultError(
            f"Vault at {addr} failed reading '{where}': {type(exc).__name__}"
        ) from None
    except requests.exceptions.RequestException:
        raise VaultError(
            f"cannot reach Vault at {addr}; check VAULT_ADDR and that Vault is up"
        ) from None
    if not creds["key"] or not creds["secret"]:
        raise VaultError(
            f"the Vault secret '{where}' lacks aws_access_key_id or aws_secret_access_key"
        )
    return creds


def s3_options(config: Config) -> dict[str, Any]:
    """s3fs options for this config: endpoint, encryption, retries, Vault credentials."""
    extra: dict[str, Any] = {}
    if config.s3_sse != "none":
        extra["ServerSideEncryption"] = config.s3_sse
        if config.s3_sse == "aws:kms" and config.s3_kms_key_id:
            extra["SSEKMSKeyId"] = config.s3_kms_key_id
    options: dict[str, Any] = {
        "s3_additional_kwargs": extra,
        "config_kwargs": {
            "retries": {"max_attempts": MAX_ATTEMPTS, "mode": "standard"},
            "connect_timeout": CONNECT_TIMEOUT_S,
            "read_timeout": 60,
        },
        "skip_instance_cache": True,
    }
    if config.s3_endpoint_url:
        options["endpoint_url"] = config.s3_endpoint_url
    creds = vault_credentials(config)
    if creds:
        options.update({k: v for k, v in creds.items() if v})
    return options


def filesystem(url: str, config: Config) -> tuple[Any, str]:
    """Return ``(fsspec filesystem, root path)`` for ``url`` (S3 gets :func:`s3_options`)."""
    import fsspec

    options = s3_options(config) if url.startswith(("s3://", "s3a://")) else {}
    try:
        fs, root = fsspec.core.url_to_fs(url, **options)
    except ImportError as exc:
        raise MissingDependencyError(f"'{url}' needs the '{exc.name}' package") from exc
    except ValueError as exc:
        raise OutputError(f"cannot use output location '{url}': {exc}") from exc
    return fs, root.rstrip("/") or root


def describe_remote_error(exc: BaseException, url: str, config: Config) -> str:
    """Return a one-line cause for a failed remote write (bucket, endpoint, credentials)."""
    text = f"{type(exc).__name__}: {exc}"
    endpoint = config.s3_endpoint_url or "AWS S3"
    bucket = url.split("://", 1)[-1].split("/", 1)[0]
    if "NoSuchBucket" in text or isinstance(exc, FileNotFoundError):
        return f"bucket '{bucket}' does not exist at {endpoint}; create it or fix --out"
    if any(
        s in text
        for s in (
            "Could not connect",
            "EndpointConnectionError",
            "Connect timeout",
            "ConnectTimeout",
        )
    ):
        return f"cannot reach the S3 endpoint {endpoint}; check s3_endpoint_url and the network"
    if any(
        s in text
        for s in (
            "InvalidAccessKeyId",
            "SignatureDoesNotMatch",
            "AccessDenied",
            "Forbidden",
            "PermissionError",
        )
    ):
        return f"S3 at {endpoint} refused the credentials for bucket '{bucket}' (access denied)"
    if "NoCredentials" in text or "Unable to locate credentials" in text:
        return f"no AWS credentials for {url}: set them in the environment or configure Vault"
    return f"writing to {url} failed ({type(exc).__name__})"


def is_local(fs: Any) -> bool:
    """Whether ``fs`` is the local filesystem."""
    from fsspec.implementations.local import LocalFileSystem

    return isinstance(fs, LocalFileSystem)


def is_s3(fs: Any) -> bool:
    """Whether ``fs`` is S3 (by name: s3fs is imported only for S3 output)."""
    return type(fs).__name__ == "S3FileSystem"


def open_for_upload(fs: Any, path: str) -> Any:
    """Open a remote file for writing; S3 uploads it in parts of ``MULTIPART_CHUNK`` bytes."""
    if is_s3(fs):
        return fs.open(path, "wb", block_size=MULTIPART_CHUNK)
    return fs.open(path, "wb")


def pending_uploads(fs: Any, bucket: str, prefix: str, marker: str) -> list[dict[str, Any]]:
    """Multipart uploads under ``bucket/prefix`` whose key holds ``marker``, never completed."""
    found: list[dict[str, Any]] = []
    page_marker: dict[str, str] = {}
    while True:
        page = fs.call_s3("list_multipart_uploads", Bucket=bucket, Prefix=prefix, **page_marker)
        found += [u for u in page.get("Uploads", []) if marker in u["Key"]]
        if not page.get("IsTruncated"):
            return found
        page_marker = {
            "KeyMarker": page["NextKeyMarker"],
            "UploadIdMarker": page["NextUploadIdMarker"],
        }


def abort_uploads(fs: Any, root: str, marker: str) -> None:
    """Abort the unfinished multipart uploads of temporaries (``marker``) under ``root``.

    They are not objects, but the bucket keeps (and bills) their parts.
    """
    bucket, _, prefix = root.partition("/")
    for upload in pending_uploads(fs, bucket, prefix, marker):
        fs.call_s3(
            "abort_multipart_upload", Bucket=bucket, Key=upload["Key"], UploadId=upload["UploadId"]
        )
