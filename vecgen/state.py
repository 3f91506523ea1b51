"""The state folder: ID counters that continue across runs, a lock, a publish journal.

``state.json`` holds the last customer, transaction, e-mail event and
clickstream IDs. It is read under the lock before the plan is resolved and
replaced atomically (temporary file + rename) once every output file of the
run is complete and before any is renamed into place, so a killed run leaves a
gap in the IDs, never IDs handed out twice. ``publish.json`` lists the renames
of a run that has committed; the next run completes them if the run was
killed halfway. The folder is created owner-only (0700), the files 0600.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import filelock

from vecgen.errors import VecgenError
from vecgen.untrusted import read_small_text

STATE_FILE = "state.json"
LOCK_FILE = "lock"
OWNER_FILE = "lock.pid"
JOURNAL_FILE = "publish.json"
STATE_VERSION = 1
# The counters every state file has; a later run adds its IDs to them, so they stay far
# below int64's limit (2^62: more than any run could hand out).
REQUIRED = frozenset(
    {"last_customer_id", "last_transaction_id", "last_email_event_id", "last_clickstream_id"}
)
MAX_COUNTER = 2**62


class StateError(VecgenError, RuntimeError):
    """The state folder is corrupt, unwritable or locked by another run."""


@dataclass(frozen=True)
class State:
    """The last IDs handed out; the next run continues after them."""

    last_customer_id: int = 1_000_000_000
    last_transaction_id: int = 100_000_000_000
    last_email_event_id: int = 5_000_000_000
    last_clickstream_id: int = 0
    last_custom_object_row: int = 0
    runs: int = 0


def read_state(folder: Path) -> State:
    """Read ``folder/state.json`` (a missing file means a first run)."""
    path = folder / STATE_FILE
    try:
        raw = _read_json(path)
    except FileNotFoundError:
        return State()
    except (OSError, ValueError, RecursionError) as exc:
        msg = (
            f"state file {path} cannot be read ({exc}); restore it from a backup, or write to a "
            "new --out to start IDs afresh"
        )
        raise StateError(msg) from None
    if not isinstance(raw, dict) or not REQUIRED <= set(raw):
        msg = (
            f"state file {path} holds no ID counters (an empty or foreign file would restart "
            "IDs and repeat earlier days'); restore it from a backup, or write to a new --out to "
            "start afresh"
        )
        raise StateError(msg)
    fields = {f.name for f in dataclasses.fields(State)}
    values = {}
    for key in fields & set(raw):
        value = raw[key]
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < MAX_COUNTER:
            msg = (
                f"state file {path}: '{key}' = {str(value)[:40]!r} is not a counter "
                f"(an integer from 0 to {MAX_COUNTER - 1}); restore it from a backup"
            )
            raise StateError(msg)
        values[key] = value
    return State(**values)


def _read_json(path: Path) -> object:
    """Read a small JSON file vecgen wrote, as untrusted input (see :func:`read_small_text`).

    Too deep nesting raises RecursionError, which callers report.
    """
    return json.loads(read_small_text(path))


def write_state(folder: Path, state: State) -> None:
    """Replace ``folder/state.json`` atomically (temporary file, rename)."""
    data = json.dumps({"version": STATE_VERSION, **dataclasses.asdict(state)}, indent=2) + "\n"
    replace_atomically(folder / STATE_FILE, data, "state file")


def write_journal(folder: Path, journal: dict[str, object]) -> None:
    """Save the publish journal (the renames a committed run still has to make)."""
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        msg = f"cannot create the folder of the publish journal {folder} ({exc.strerror})"
        raise StateError(msg) from None
    replace_atomically(
        folder / JOURNAL_FILE, json.dumps(journal, indent=2) + "\n", "publish journal"
    )


def read_journal(folder: Path) -> dict[str, object] | None:
    """Return the journal a killed run left, or ``None``."""
    path = folder / JOURNAL_FILE
    try:
        raw = _read_json(path)
    except (FileNotFoundError, NotADirectoryError):  # no journal (or no folder for one)
        return None
    except (OSError, ValueError, RecursionError) as exc:
        msg = f"publish journal {path} cannot be read ({exc}); remove it and rerun the day"
        raise StateError(msg) from None
    if not isinstance(raw, dict) or not isinstance(raw.get("renames"), list):
        msg = f"publish journal {path} is not a vecgen journal; remove it and rerun the day"
        raise StateError(msg)
    return raw


def remove_journal(folder: Path) -> None:
    """Remove the journal: every rename it lists is done (and the folder, if now empty).

    A stateless run journals its renames in ``OUT/_vecgen`` and leaves no trace.
    """
    with contextlib.suppress(FileNotFoundError):
        (folder / JOURNAL_FILE).unlink()
    with contextlib.suppress(OSError):  # holds counters or a lock: stays
        folder.rmdir()


def replace_atomically(path: Path, data: str, what: str) -> None:
    """Write ``path`` under a temporary name, then rename it over the old one.

    A killed process leaves the old file or the new one, never a mix. No fsync:
    the data files are not forced to disk either (no bulk writer does), so
    forcing the small files that commit them would not survive a power cut any
    better, and on ext4 it waits for every dirty page of the run (0.7-1.1 s
    after a 1M-customer landscape). The guarantees are against a killed or
    failed run (docs/guarantees.md).
    """
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(data)
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        msg = f"cannot write {what} {path} ({exc.strerror}); check the folder's permissions"
        raise StateError(msg) from None


@contextlib.contextmanager
def locked(folder: Path, wait_seconds: float = 0.0, unusable: str = "") -> Iterator[None]:
    """Hold the folder's exclusive lock; another run waits up to ``wait_seconds``, then fails.

    The lock is ``filelock``'s (an OS lock, released when the process dies, on
    every platform); the holder's process id is kept beside it in ``lock.pid``
    for the message another run shows, and removed when the lock is released.
    ``unusable`` is the error when the folder cannot be made (``{reason}`` is
    replaced by the system's reason); by default it names ``--state-dir``.
    """
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        lock = filelock.FileLock(folder / LOCK_FILE, mode=0o600)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        msg = (
            unusable.replace("{reason}", reason)
            if unusable
            else f"cannot create state folder {folder} ({reason}); choose another --state-dir"
        )
        raise StateError(msg) from None
    owner = folder / OWNER_FILE
    try:
        lock.acquire(timeout=wait_seconds, poll_interval=0.2)
    except filelock.Timeout:
        try:
            holder = owner.read_text().strip() or "unknown"
        except OSError:
            holder = "unknown"
        msg = (
            f"another vecgen run (pid {holder}) holds the lock on {folder}; "
            "wait for it to finish or use --lock-wait SECONDS"
        )
        raise StateError(msg) from None
    except OSError as exc:
        msg = f"cannot lock state folder {folder} ({exc.strerror}); choose another --state-dir"
        raise StateError(msg) from None
    try:
        with contextlib.suppress(OSError):
            owner.write_text(str(os.getpid()))
        yield
    finally:
        with contextlib.suppress(OSError):
            owner.unlink()
        lock.release()
