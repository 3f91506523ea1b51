"""Local output files written past the page cache (``O_DIRECT``), on a thread of their own.

A run writes several times its own memory in output (3.9 GB of CSV at one
million customers). Written the usual way, every byte is copied into the
kernel's page cache, whose pages the kernel must find (and, on a virtual
machine that hands free memory back to its host, have the host fault in
again), then write back on its own threads: on the 2-core benchmark machine
that was 6 of a run's 28 CPU-seconds (``benchmarks/RESULTS.md``, session 16).
Here the bytes go from a few reused, page-aligned buffers straight to the
disk, on one background thread, while the writer threads encode the next
batch. The file holds the same bytes either way.

Where the file system refuses ``O_DIRECT`` (or the platform has none), files
are opened the usual way: :func:`open_local` always returns a writable file.

Examples
--------
>>> import os, tempfile
>>> path = os.path.join(tempfile.mkdtemp(), "x.csv")
>>> with open_local(path) as f:
...     _ = f.write(b"a" * 5000)
...     _ = f.write(b"bc.")
>>> os.path.getsize(path), open(path, "rb").read()[-4:]
(5003, b'abc.')

"""

from __future__ import annotations

import errno
import mmap
import os
import queue
import threading
from typing import IO, Any, cast

ALIGN = 4096  # offsets and lengths of direct writes: a multiple of every block size in use
CHUNK = 2 << 20  # bytes a direct write carries
IN_FLIGHT = 4  # chunks filled or being written at once, every file together (8 MiB)
STAGE = 256 << 10  # small writes (Parquet's pages) gather in their file up to this
_O_DIRECT = getattr(os, "O_DIRECT", 0)


def open_local(path: str) -> IO[bytes]:
    """Open a local ``path`` for writing (created or emptied): direct where allowed.

    Returns a :class:`DirectFile`, or a plain ``open(path, "wb")`` where the
    platform or file system has no ``O_DIRECT``. Errors are the ``OSError`` of
    :func:`os.open`, with the file name.
    """
    if not _O_DIRECT:
        return open(path, "wb")
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC
    try:
        fd = os.open(path, flags | _O_DIRECT, 0o666)
    except OSError as exc:
        if exc.errno != errno.EINVAL:  # EINVAL: this file system has no direct I/O
            raise
        return open(path, "wb")
    return cast(IO[bytes], DirectFile(fd, path))


class _Disk:
    """The background thread that writes every direct file's chunks (one per process)."""

    def __init__(self) -> None:
        self.pid = os.getpid()
        self.free: list[mmap.mmap] = []  # page-aligned buffers of CHUNK bytes, reused
        self.lock = threading.Lock()
        self.slots = threading.Semaphore(IN_FLIGHT)
        self.jobs: queue.SimpleQueue[tuple[DirectFile, mmap.mmap, int, int]] = queue.SimpleQueue()
        self.thread: threading.Thread | None = None

    def buffer(self) -> mmap.mmap:
        """Take a free buffer (blocks while ``IN_FLIGHT`` are filled or being written)."""
        self.slots.acquire()
        with self.lock:
            if self.free:
                return self.free.pop()
        try:
            return mmap.mmap(-1, CHUNK)
        except BaseException:
            self.slots.release()
            raise

    def submit(self, file: DirectFile, buf: mmap.mmap, offset: int, length: int) -> None:
        """Write ``buf[:length]`` at ``offset`` of ``file``, in the background."""
        with file.done:
            file.pending += 1
        with self.lock:
            if self.thread is None:
                self.thread = threading.Thread(target=self._run, name="vecgen-disk", daemon=True)
                self.thread.start()
        self.jobs.put((file, buf, offset, length))

    def _run(self) -> None:
        while True:
            file, buf, offset, length = self.jobs.get()
            try:
                if file.error is None:
                    file.pwrite(buf, offset, length)
            except Exception as exc:  # handed to the file's writer at its next call
                file.error = exc  # (the thread goes on: other files' chunks still get written)
            finally:
                with self.lock:
                    self.free.append(buf)
                self.slots.release()
                with file.done:
                    file.pending -= 1
                    file.done.notify_all()


_DISK: _Disk | None = None
_DISK_LOCK = threading.Lock()


def _disk() -> _Disk:
    """Return this process's disk thread (a forked child makes its own)."""
    global _DISK
    with _DISK_LOCK:
        if _DISK is None or _DISK.pid != os.getpid():
            _DISK = _Disk()
        return _DISK


class DirectFile:
    """A write-only local file whose bytes bypass the page cache (see the module).

    Writes are gathered and sent in aligned chunks to the disk thread; the last
    bytes (less than a block) are written the usual way at :meth:`close`, which
    waits for every chunk. An error of the disk thread is raised by the next
    :meth:`write` or by :meth:`close`.
    """

    def __init__(self, fd: int, name: str) -> None:
        self.fd = fd
        self.name = name
        self.offset = 0  # bytes sent to the disk thread (a multiple of ALIGN)
        self.stage = bytearray()  # bytes not sent yet
        self.done = threading.Condition()
        self.pending = 0  # chunks sent and not written yet
        self.error: Exception | None = None
        self.reported = False  # the error was raised to the writer once
        self.closed = False
        self.direct = True

    def writable(self) -> bool:
        """Return True (a file opened for writing)."""
        return True

    def seekable(self) -> bool:
        """Return False: the file is written front to back."""
        return False

    def readable(self) -> bool:
        """Return False (a file opened for writing)."""
        return False

    def tell(self) -> int:
        """Return the bytes written so far."""
        return self.offset + len(self.stage)

    def flush(self) -> None:
        """Raise a write error of the disk thread (bytes leave in chunks, and at close)."""
        self._raise()

    def write(self, data: Any) -> int:
        """Append ``data`` (any bytes-like object); return its length."""
        self._raise()
        if self.closed:
            raise ValueError(f"write to closed file {self.name}")
        view = memoryview(data)
        if view.ndim != 1 or view.format != "B":
            view = view.cast("B")
        size = view.nbytes
        if len(self.stage) + size < STAGE:
            self.stage += view
        else:
            self._send(view)
        return size

    def _send(self, view: memoryview) -> None:
        """Send the staged bytes and ``view`` in aligned chunks; stage the rest (< ALIGN)."""
        staged = len(self.stage)
        total = staged + view.nbytes
        end = total - total % ALIGN
        disk = _disk()
        with memoryview(self.stage) as stage:
            pos = 0  # in stage + view
            while pos < end:
                length = min(CHUNK, end - pos)
                buf = disk.buffer()
                filled = 0
                if pos < staged:
                    filled = min(staged - pos, length)
                    buf[:filled] = stage[pos : pos + filled]
                if filled < length:
                    start = pos + filled - staged
                    buf[filled:length] = view[start : start + length - filled]
                disk.submit(self, buf, self.offset, length)
                self.offset += length
                pos += length
            rest = total - end
            if rest <= view.nbytes:
                kept = bytearray(view[view.nbytes - rest :])
            else:
                kept = bytearray(stage[staged - (rest - view.nbytes) :])
                kept += view
        self.stage = kept

    def pwrite(self, buf: Any, offset: int, length: int) -> None:
        """Write ``buf[:length]`` at ``offset`` whole (the disk thread; :meth:`close`)."""
        with memoryview(buf) as view:
            written = 0
            while written < length:
                try:
                    written += os.pwrite(self.fd, view[written:length], offset + written)
                except OSError as exc:
                    # A short write leaves the rest unaligned, which direct I/O refuses:
                    # the rest goes the usual way.
                    if exc.errno != errno.EINVAL or not self.direct:
                        raise
                    self._buffered()

    def _buffered(self) -> None:
        """Turn direct I/O off for the rest of this file."""
        import fcntl

        flags = fcntl.fcntl(self.fd, fcntl.F_GETFL)
        fcntl.fcntl(self.fd, fcntl.F_SETFL, flags & ~_O_DIRECT)
        self.direct = False

    def _raise(self) -> None:
        if self.error is not None:
            self.reported = True
            raise self.error

    def _wait(self) -> None:
        with self.done:
            while self.pending:
                self.done.wait()

    def close(self) -> None:
        """Write what is left, wait for every chunk, close the file; raise a write error."""
        if self.closed:
            return
        try:
            if self.reported:  # the writer knows: the file is being given up
                return
            self._raise()
            if len(self.stage) >= ALIGN:
                self._send(memoryview(b""))
            self._wait()
            self._raise()
            if self.stage:
                self._buffered()
                self.pwrite(self.stage, self.offset, len(self.stage))
                self.offset += len(self.stage)
                self.stage = bytearray()
        finally:
            self._wait()
            self.closed = True
            os.close(self.fd)

    def __enter__(self) -> DirectFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
