"""Direct (page-cache-free) local files: the same bytes as a plain file, errors not lost."""

from __future__ import annotations

import errno
import os
import random
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from vecgen.output import direct
from vecgen.output.direct import DirectFile, open_local


@pytest.fixture(autouse=True)
def direct_io_here(tmp_path: Path) -> None:
    """These tests need a file system that takes O_DIRECT (Linux ext4, XFS, tmpfs: CI's)."""
    probe = open_local(str(tmp_path / "probe"))
    probe.close()
    if not isinstance(probe, DirectFile):
        why = f"{tmp_path} takes no O_DIRECT here: vecgen writes plain files (tested elsewhere)"
        assert not os.environ.get("CI"), why  # CI must run these, never skip them
        pytest.skip(why)


@pytest.fixture
def small(monkeypatch: pytest.MonkeyPatch) -> None:
    """Small chunks and stage, so a few KiB cross every boundary many times."""
    monkeypatch.setattr(direct, "CHUNK", 3 * direct.ALIGN)
    monkeypatch.setattr(direct, "STAGE", direct.ALIGN + 100)
    monkeypatch.setattr(direct, "_DISK", None)  # a disk thread whose buffers have that size


@pytest.mark.parametrize("seed", range(8))
def test_any_sequence_of_writes_gives_the_bytes_of_a_plain_file(
    tmp_path: Path, small: None, seed: int
) -> None:
    rng = random.Random(seed)
    path = tmp_path / "x.bin"
    f = open_local(str(path))
    assert isinstance(f, DirectFile)
    expected = bytearray()
    for _ in range(60):
        size = rng.choice([0, 1, 7, direct.ALIGN - 1, direct.ALIGN, 5000, 13_000, 40_000])
        data = rng.randbytes(size)
        kind = rng.randrange(3)  # bytes, bytearray, or a memoryview of another format
        payload = data if kind == 0 else bytearray(data) if kind == 1 else memoryview(data)
        assert f.write(payload) == size
        expected += data
        assert f.tell() == len(expected)
    f.close()
    f.close()  # a second close does nothing
    assert path.read_bytes() == bytes(expected)


def test_a_typed_buffer_is_written_as_its_bytes(tmp_path: Path) -> None:
    import array

    numbers = array.array("q", range(3000))  # 24,000 bytes, format 'q'
    with open_local(str(tmp_path / "a.bin")) as f:
        assert f.write(numbers) == 24_000
    assert (tmp_path / "a.bin").read_bytes() == numbers.tobytes()


def test_parquet_through_a_direct_file_reads_back(tmp_path: Path) -> None:
    table = pa.table({"n": list(range(200_000)), "s": [f"name {i}" for i in range(200_000)]})
    with open_local(str(tmp_path / "t.parquet")) as f:
        with pq.ParquetWriter(f, table.schema) as writer:
            writer.write_table(table, row_group_size=50_000)
    assert pq.read_table(tmp_path / "t.parquet").equals(table)


def test_a_file_system_without_direct_io_gets_a_plain_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_open = os.open

    def refuse_direct(path: str, flags: int, mode: int = 0o777) -> int:
        if flags & direct._O_DIRECT:
            raise OSError(errno.EINVAL, "Invalid argument", path)
        return real_open(path, flags, mode)

    monkeypatch.setattr(os, "open", refuse_direct)
    with open_local(str(tmp_path / "p.csv")) as f:
        assert not isinstance(f, DirectFile)
        f.write(b"a,b\n")
    assert (tmp_path / "p.csv").read_bytes() == b"a,b\n"


def test_other_open_errors_are_raised_with_the_file_name(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError) as caught:
        open_local(str(tmp_path / "missing" / "x.csv"))
    assert caught.value.filename == str(tmp_path / "missing" / "x.csv")


def test_a_refused_direct_write_goes_on_the_usual_way(
    tmp_path: Path, small: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """EINVAL from a direct write (a short write's unaligned rest): the file turns buffered."""
    real_pwrite = os.pwrite
    refused = []

    def pwrite(fd: int, data: memoryview, offset: int) -> int:
        if not refused:
            refused.append(offset)
            raise OSError(errno.EINVAL, "Invalid argument")
        return real_pwrite(fd, data, offset)

    monkeypatch.setattr(os, "pwrite", pwrite)
    data = random.Random(1).randbytes(50_000)
    with open_local(str(tmp_path / "x.bin")) as f:
        assert isinstance(f, DirectFile)
        f.write(data)
    assert refused and not f.direct
    assert (tmp_path / "x.bin").read_bytes() == data


def test_a_disk_error_reaches_the_writer_and_the_file_is_closed(
    tmp_path: Path, small: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    def full(fd: int, data: memoryview, offset: int) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "pwrite", full)
    f = open_local(str(tmp_path / "x.bin"))
    assert isinstance(f, DirectFile)
    f.write(b"x" * 20_000)  # chunks leave for the disk thread, which fails on them
    with pytest.raises(OSError) as caught:
        for _ in range(100):  # the error comes back on a later call, never lost
            f.write(b"y" * 20_000)
        f.close()
    assert caught.value.errno == errno.ENOSPC
    with pytest.raises(OSError):
        f.write(b"z")  # the file stays failed
    f.close()  # the writer was told: closing (to remove it) raises no more
    with pytest.raises(OSError):
        os.fstat(f.fd)  # closed anyway: no descriptor leaks
    assert f.pending == 0


def test_writes_after_close_are_refused(tmp_path: Path) -> None:
    f = open_local(str(tmp_path / "x.bin"))
    f.close()
    with pytest.raises(ValueError, match="closed file"):
        f.write(b"x")


@pytest.mark.parametrize("direct_io", [True, False])
def test_a_run_writes_direct_files_unless_told_not_to(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, direct_io: bool
) -> None:
    import datetime as dt

    import vecgen.output.commit as commit
    from vecgen.config import Config
    from vecgen.engine import run

    opened: list[str] = []

    def spy(path: str) -> object:
        f = open_local(path)
        opened.append(type(f).__name__)
        return f

    monkeypatch.setattr(commit, "open_local", spy)
    out = tmp_path / "out"
    when = dt.date(2026, 1, 15)
    run(Config(customers=300, out=str(out), date=when, quiet=True, direct_io=direct_io))
    assert opened == (["DirectFile"] * len(opened) if direct_io else [])
    assert len(opened) >= 10 or not direct_io
    # The same bytes either way (a plain run beside it).
    plain = tmp_path / "plain"
    run(Config(customers=300, out=str(plain), date=when, quiet=True, direct_io=False))
    files = sorted(
        p.relative_to(out) for p in out.rglob("*") if p.is_file() and "_vecgen" not in p.parts
    )
    assert files and all((out / f).read_bytes() == (plain / f).read_bytes() for f in files)


def test_an_unexpected_error_on_the_disk_thread_does_not_stop_it(
    tmp_path: Path, small: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A failure that is not an OSError reaches its file's writer; other files go on."""
    real_pwrite = os.pwrite
    broken: list[int] = []

    def pwrite(fd: int, data: memoryview, offset: int) -> int:
        if fd in broken:
            raise RuntimeError("unexpected")
        return real_pwrite(fd, data, offset)

    monkeypatch.setattr(os, "pwrite", pwrite)
    bad = open_local(str(tmp_path / "bad.bin"))
    good = open_local(str(tmp_path / "good.bin"))
    assert isinstance(bad, DirectFile) and isinstance(good, DirectFile)
    broken.append(bad.fd)
    data = random.Random(2).randbytes(100_000)
    bad.write(data)
    with pytest.raises(RuntimeError, match="unexpected"):
        bad.close()
    good.write(data)  # the disk thread is still there: this file is written whole
    good.close()
    assert (tmp_path / "good.bin").read_bytes() == data
