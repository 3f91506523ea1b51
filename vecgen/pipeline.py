"""One batch of the landscape: which sources read which, in what order, from which row.

The layer between the sources and the engine (and the worker processes): it
knows the plan and the sources, never files. :func:`batch_frames` generates
one batch of every enabled source, parents first; :func:`batch_offsets` says
where each numbered source's rows of a batch start.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait

import polars as pl

from vecgen.fuzz_vectorized import release_fuzz_pool
from vecgen.fuzz_vectorized.profiles import selection_weights
from vecgen.plan import Plan
from vecgen.sources import SOURCES, TRUTH_PREFIX, Batch, public, source_for
from vecgen.sources.base import NumberedSource, SourceBatch
from vecgen.vocab import Vocab

GENERATE_THREADS = 2  # sources of one batch generated at once (never changes the output)


def needs(plan: Plan, name: str) -> list[str]:
    """Return the earlier sources whose frames ``name`` reads, in plan order.

    A built-in source reads its declared parents; truth (every source's truth
    rows) and declared sources (a parent's lineage joins the people's truth)
    read everything before them.
    """
    earlier = list(plan.sources[: plan.sources.index(name)])
    source = source_for(plan.config, name)
    if name == "truth" or name not in SOURCES:
        return earlier
    return [n for n in earlier if n in source.parents]


def _reads_frame(name: str, parent: str) -> bool:
    """Whether ``name`` reads ``parent``'s frame, not only its truth rows.

    Truth reads every source's truth rows and, of the frames, only the
    customers' (whose household each entity lives in).
    """
    return name != "truth" or parent == "customers"


Emit = Callable[[str, pl.DataFrame], None]


def batch_frames(
    plan: Plan,
    vocab: Vocab,
    index: int,
    start: int,
    stop: int,
    offsets: dict[str, int],
    threads: int = GENERATE_THREADS,
    emit: Emit | None = None,
) -> list[tuple[str, pl.DataFrame]]:
    """Generate one batch of every enabled source, parents first: ``[(source, frame), ...]``.

    ``offsets`` holds the rows earlier batches gave each source
    (:func:`batch_offsets`); the frames hold the written columns only.
    Sources whose parents are done are generated ``threads`` at a time (NumPy and
    Polars release the GIL): each source draws from its own keyed streams and
    sees only its parents' frames, so the frames do not depend on it.

    With ``emit``, each source's frame is handed to ``emit(source, frame)`` as
    soon as it is made (in the order sources finish; the list returned is
    empty), and a frame no source still to come reads is let go: the writer
    writes the batch while it is being made, and the batch's peak memory is
    what is still being read, not the whole batch.
    """
    results: dict[str, SourceBatch] = {}
    readers = {
        name: [n for n in plan.sources if name in needs(plan, n) and _reads_frame(n, name)]
        for name in plan.sources
    }

    def one(name: str) -> SourceBatch:
        upstream: dict[str, pl.DataFrame] = {}
        for parent in needs(plan, name):
            if _reads_frame(name, parent):
                upstream[parent] = results[parent].frame
            truth = results[parent].truth
            if truth is not None:
                upstream[TRUTH_PREFIX + parent] = truth
        source = source_for(plan.config, name)
        return source.generate(plan, vocab, Batch(index, start, stop, offsets, upstream))

    def done(name: str, result: SourceBatch) -> None:
        results[name] = result
        if emit is None:
            return
        emit(name, public(result.frame))
        # Let go of the frames every reader of which has been made.
        for earlier, batch in results.items():
            if batch.frame.width and all(r in results for r in readers[earlier]):
                results[earlier] = SourceBatch(_GONE, batch.truth)

    if threads <= 1:
        for name in plan.sources:
            done(name, one(name))
    else:
        _run_in_order(plan, one, done, results, threads)
    if emit is not None:
        return []
    return [(name, public(results[name].frame)) for name in plan.sources]


_GONE = pl.DataFrame()  # a frame let go (every source that reads it has been made)


def _generate_pool(threads: int) -> ThreadPoolExecutor:
    """Return the threads that generate sources, kept for the life of the process.

    New threads per batch would each get fresh allocator arenas (glibc's and
    jemalloc's), whose freed memory other threads do not reuse: peak memory
    then grows with the number of batches.
    """
    pool = _GENERATE_POOLS.get(threads)
    if pool is None:
        pool = _GENERATE_POOLS[threads] = ThreadPoolExecutor(
            threads, thread_name_prefix="vecgen-generate"
        )
    return pool


_GENERATE_POOLS: dict[int, ThreadPoolExecutor] = {}  # by thread count (generating thread only)


def release_threads() -> None:
    """End the thread pools kept for the life of the process (after a Ctrl-C).

    A Ctrl-C that lands while a pool starts a thread (between ``Thread.start``
    and the pool noting it) leaves a thread the interpreter's exit does not
    know to wake: the process printed its one line and then waited for ever.
    Shutting the pools down puts the wake-up in their shared queue, which every
    thread of a pool reads, noted or not.
    """
    for pool in _GENERATE_POOLS.values():
        pool.shutdown(wait=False, cancel_futures=True)
    _GENERATE_POOLS.clear()
    release_fuzz_pool()


def _run_in_order(
    plan: Plan,
    one: Callable[[str], SourceBatch],
    done: Callable[[str, SourceBatch], None],
    results: dict[str, SourceBatch],
    threads: int,
) -> None:
    """Call ``done(name, one(name))`` for every source, each once its needs are done."""
    waiting = list(plan.sources)
    running: dict[Future[SourceBatch], str] = {}
    pool = _generate_pool(threads)
    try:
        while waiting or running:
            for name in [n for n in waiting if all(p in results for p in needs(plan, n))]:
                waiting.remove(name)
                running[pool.submit(one, name)] = name
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            # (one() reads its needs in plan order, not in this one; several finished at
            # once are handed on in plan order.)
            for future in sorted(finished, key=lambda f: plan.sources.index(running[f])):
                done(running.pop(future), future.result())
            # A finished future holds its result: forget them, or the frames live on.
            del finished, future
    finally:
        # After a failure, let the sources already started finish before the caller
        # goes on (it removes the run's files): none of them writes anything.
        wait(running)


def warm_up(plan: Plan) -> None:
    """Start solving, on a thread, what the first batch would otherwise wait for.

    pyarrow's import (and its compute module's, which Polars loads when it
    first makes a column from Arrow: 0.05-0.09 s) and the field weights of a
    profile that was not solved ahead (:func:`~vecgen.fuzz_vectorized.profiles.selection_weights`,
    about 0.3 s each: the profile's, and those of a source that fuzzes fewer
    fields, its ``fuzzed`` attribute) are made while the run loads its
    vocabularies and opens its files, off the first batch's path. A source
    that asks for them meanwhile waits for this answer; a failure here is left
    for that source to meet and report.
    """

    def work() -> None:
        with contextlib.suppress(Exception):
            # (The id and token columns build Arrow buffers.)
            import pyarrow.compute  # noqa: F401

            if plan.profile.budgeted:
                selection_weights(plan.profile)
            for name in plan.sources:
                fields = getattr(source_for(plan.config, name), "fuzzed", None)
                restricted = plan.profile.restricted(fields) if fields else None
                if restricted is not None and restricted.budgeted:
                    selection_weights(restricted)

    threading.Thread(target=work, name="vecgen-warm-up", daemon=True).start()


def batch_offsets(plan: Plan) -> list[dict[str, int]]:
    """Per batch, the rows that earlier batches (and earlier shards) give each numbered source.

    Only sources that number their rows sequentially need offsets; they say how
    many rows a range of customers gives through ``rows_between``.

    Examples
    --------
    >>> import datetime as dt
    >>> from vecgen.config import Config
    >>> from vecgen.plan import resolve
    >>> plan = resolve(Config(customers=3000, batch_size=1000, date=dt.date(2026, 1, 1)))
    >>> [o["transactions"] for o in batch_offsets(plan)]
    [0, 2846, 5707]

    """
    sources = {name: source_for(plan.config, name) for name in plan.sources}
    counted = {
        name: source.rows_between
        for name, source in sources.items()
        if isinstance(source, NumberedSource)
    }
    first = plan.batches[0][0]
    running = {name: (rows(plan, 0, first) if first else 0) for name, rows in counted.items()}
    out = []
    for start, stop in plan.batches:
        out.append({**dict.fromkeys(plan.sources, 0), **running})
        for name, rows in counted.items():
            running[name] += rows(plan, start, stop)
    return out
