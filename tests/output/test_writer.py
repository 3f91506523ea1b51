"""The writer's queue: frames waiting for a slow disk are bounded in bytes."""

from __future__ import annotations

import threading
from typing import Any

import polars as pl
import pytest

from vecgen.output.writer import Writer, size_of


class SlowOutputs:
    """Outputs whose writes wait until the test lets them through (a slow disk)."""

    threads = 2

    def __init__(self) -> None:
        self.go = threading.Event()
        self.written: list[str] = []
        self.fail = False

    def write(self, source: str, frame: Any) -> None:
        self.go.wait(10)
        if self.fail:
            raise OSError(f"disk full writing {source}")
        self.written.append(source)


def frame(rows: int) -> pl.DataFrame:
    return pl.DataFrame({"n": range(rows)})


def queue_in_thread(writer: Writer, batch: list[int], source: str) -> tuple[threading.Thread, list]:
    """Queue one file on another thread; the list gets its outcome when put_one returns."""
    outcome: list = []

    def put() -> None:
        try:
            writer.put_one(batch, source, frame(1000))
            outcome.append("queued")
        except OSError as exc:
            outcome.append(exc)

    thread = threading.Thread(target=put)
    thread.start()
    return thread, outcome


def test_a_file_waits_while_the_queued_files_fill_the_budget() -> None:
    outputs = SlowOutputs()
    one = size_of(frame(1000))
    writer = Writer(outputs, budget=one + one // 2)  # room for one file of 1,000 rows
    batch = writer.begin(3)
    writer.put_one(batch, "a", frame(1000))  # the first file always gets in
    thread, outcome = queue_in_thread(writer, batch, "b")
    thread.join(0.5)
    assert thread.is_alive() and outcome == []  # waits: "a" is not written yet
    outputs.go.set()
    thread.join(10)
    assert outcome == ["queued"]
    writer.put_one(batch, "c", frame(1000))
    writer.close()
    assert sorted(outputs.written) == ["a", "b", "c"] and writer.queued == 0


def test_without_a_budget_files_queue_at_once() -> None:
    outputs = SlowOutputs()
    writer = Writer(outputs)
    batch = writer.begin(2)
    writer.put_one(batch, "a", frame(1000))
    thread, outcome = queue_in_thread(writer, batch, "b")
    thread.join(10)
    assert outcome == ["queued"]  # nothing written yet, and "b" did not wait
    assert outputs.written == []
    outputs.go.set()
    writer.close()
    assert sorted(outputs.written) == ["a", "b"]


def test_a_waiting_file_gets_the_writers_error() -> None:
    outputs = SlowOutputs()
    outputs.fail = True
    writer = Writer(outputs, budget=size_of(frame(1000)))
    batch = writer.begin(2)
    writer.put_one(batch, "a", frame(1000))
    thread, outcome = queue_in_thread(writer, batch, "b")
    thread.join(0.5)
    assert thread.is_alive()
    outputs.go.set()  # "a" fails: the waiting file is told, not left waiting
    thread.join(10)
    assert len(outcome) == 1 and "disk full writing a" in str(outcome[0])
    writer.abort()  # (what the engine does after an error)
    with pytest.raises(OSError, match="disk full"):
        writer.check()


def test_a_sources_frames_are_weighed_once_then_by_rows(monkeypatch: pytest.MonkeyPatch) -> None:
    import vecgen.output.writer as writer_module

    weighed: list[int] = []

    def counting(item: Any) -> int:
        weighed.append(item.height)
        return size_of(item)

    monkeypatch.setattr(writer_module, "size_of", counting)
    writer = Writer(SlowOutputs(), budget=1 << 30)
    first = writer._size("a", frame(1000))
    assert writer._size("a", frame(3000)) == 3 * first  # scaled, not measured again
    assert writer._size("b", frame(10)) == size_of(frame(10))  # another source: its own
    assert weighed == [1000, 10]
