"""Local parallelism: batches generated and encoded in a pool of worker processes.

The plan fixes every batch's customers and the row offsets its IDs start from
(:func:`batch_offsets`, computed from the plan, not from data), so a batch can
be generated anywhere. Each worker turns a batch into the bytes of its CSV and
JSON-lines files (and the Arrow table of its Parquet file) with the same
encoder the in-process path uses (:func:`vecgen.output.formats.encode`); the parent
writes the results in batch order, so the files are byte-identical whatever
the number of workers.

Workers ignore Ctrl-C (the parent handles it and stops them) and exit on
their own if the parent dies (SIGKILL), so no orphan outlives a run.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Iterator
from typing import Any

from vecgen.output.formats import Encoded, encode
from vecgen.pipeline import batch_frames, batch_offsets
from vecgen.plan import Plan
from vecgen.sources.base import WriteOptions

_STATE: dict[str, Any] = {}
PARENT_POLL_S = 0.5


def worker_count(plan: Plan) -> int:
    """Return how many processes to use: ``workers`` (0: cores - 1), at most one per batch.

    Examples
    --------
    >>> import datetime as dt
    >>> from vecgen.config import Config
    >>> from vecgen.plan import resolve
    >>> worker_count(resolve(Config(customers=5000, batch_size=1000, workers=3)))
    3
    >>> worker_count(resolve(Config(customers=5000, workers=3)))  # one batch: in-process
    1

    """
    batches = len(plan.batches)
    wanted = plan.config.workers or (os.cpu_count() or 1) - 1
    return max(1, min(wanted, batches))


def _watch_parent(parent: int) -> None:
    """Exit this worker when the parent process is gone (it was killed)."""
    while True:
        time.sleep(PARENT_POLL_S)
        if os.getppid() != parent:
            os._exit(1)


def _serve(conn: Any, plan: Plan, write_options: dict[str, WriteOptions], parent: int) -> None:
    """Serve as a worker: encode the batches the parent sends, in order, until ``None``."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole group: parent decides
    threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()
    from vecgen.vocab import load, vocab_dir

    _STATE.update(plan=plan, vocab=load(vocab_dir(plan.config.locale)), options=write_options)
    while True:
        try:
            task = conn.recv()
        except EOFError:  # the parent is gone
            return
        if task is None:
            return
        try:
            result: Any = ("ok", _encode_batch(*task))
        except Exception as exc:  # handed to the parent, which raises it
            result = ("error", exc)
        try:
            conn.send(result)
        except OSError:  # the parent is gone (killed): leave quietly
            os._exit(1)


def _encode_batch(index: int, start: int, stop: int, offsets: dict[str, int]) -> list[Any]:
    """Generate one batch and encode it for every format: ``[(source, Encoded), ...]``."""
    plan: Plan = _STATE["plan"]
    config = plan.config
    frames = batch_frames(plan, _STATE["vocab"], index, start, stop, offsets)
    return [
        (
            name,
            Encoded(
                rows=frame.height,
                empty=frame.clear(),
                payloads={
                    fmt: encode(frame, fmt, _STATE["options"][name], config.csv_formula_guard)
                    for fmt in config.formats
                },
            ),
        )
        for name, frame in frames
    ]


@contextlib.contextmanager
def _sigint_ignored() -> Iterator[None]:
    """Ignore Ctrl-C while starting a worker (only the main thread may change handlers)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


class Pool:
    """Worker processes that return encoded batches in plan order, a few batches ahead.

    Batch ``i`` goes to worker ``i % W`` over its own pipe, so the results come
    back in order without any coordination. No threads: on an abort the
    workers are killed and nothing can be left waiting on a half-sent result.
    """

    def __init__(self, plan: Plan, write_options: dict[str, WriteOptions], workers: int) -> None:
        context = multiprocessing.get_context("spawn")  # fork is unsafe with Polars' threads
        self.plan = plan
        self.conns: list[Any] = []
        self.processes: list[Any] = []
        for n in range(workers):
            parent_end, child_end = context.Pipe()
            process = context.Process(
                target=_serve,
                args=(child_end, plan, write_options, os.getpid()),
                name=f"vecgen-worker-{n}",
                daemon=True,
            )
            with _sigint_ignored():  # inherited through exec: ignored from the child's first line
                process.start()
            child_end.close()
            self.conns.append(parent_end)
            self.processes.append(process)

    def results(self) -> Iterator[tuple[int, list[Any]]]:
        """Yield ``(batch index, [(source, Encoded), ...])`` in batch order."""
        offsets = batch_offsets(self.plan)
        batches = self.plan.batches
        workers = len(self.conns)
        ahead = 2 * workers  # each worker has one batch in hand and one waiting
        sent = 0
        for index in range(len(batches)):
            while sent < len(batches) and sent < index + ahead:
                start, stop = batches[sent]
                self.conns[sent % workers].send((sent, start, stop, offsets[sent]))
                sent += 1
            conn = self.conns[index % workers]
            try:
                status, payload = conn.recv()
            except EOFError:
                process = self.processes[index % workers]
                process.join(1)
                msg = f"worker process {process.name} died (exit code {process.exitcode})"
                raise RuntimeError(msg) from None
            if status == "error":
                raise payload
            yield index, payload

    def close(self) -> None:
        """Stop the workers: politely after the last batch, at once on an abort."""
        for conn in self.conns:
            try:
                conn.send(None)
            except OSError:
                pass
        for process in self.processes:
            process.join(0.5)
            if process.is_alive():
                process.kill()
                process.join(5)
        for conn in self.conns:
            conn.close()
        self.conns = []

    def kill(self) -> None:
        """Stop the workers at once (an abort: their results are not wanted)."""
        for process in self.processes:
            if process.is_alive():
                process.kill()
        for process in self.processes:
            process.join(5)
        for conn in self.conns:
            conn.close()
        self.conns = []
