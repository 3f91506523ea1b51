"""Run a plan: batches flow through the sources in dependency order into the sinks.

Memory is bounded by one batch; nothing is visible at the final paths until
every batch of every source is written (see :mod:`vecgen.output.commit`).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from vecgen.catalog import CHANGE_FEED
from vecgen.changes import changes_extra, follow_extras
from vecgen.config import Config
from vecgen.daily.archival import archival_extra
from vecgen.daily.earlier import earlier_files, file_day, output_of
from vecgen.daily.extra import Extra
from vecgen.daily.tracer import (
    TRACER_FILE,
    consume_tracer,
    consumed_folder,
    read_tracer,
    tracer_extra,
)
from vecgen.errors import OutputError
from vecgen.faults import checkpoint
from vecgen.output.commit import Outputs
from vecgen.output.files import FileSink
from vecgen.output.formats import PARQUET_FORMATS, rows_of
from vecgen.output.layout import final_path
from vecgen.output.writer import Writer
from vecgen.pipeline import batch_frames, batch_offsets, warm_up
from vecgen.plan import Plan, next_state, resolve
from vecgen.sources import SOURCES, source_for
from vecgen.state import STATE_FILE, State, StateError, locked, read_state, write_state
from vecgen.vocab import Vocab, load, vocab_dir
from vecgen.workers import Pool, worker_count

# Generated files waiting for the writer, per customer of a batch: a 100,000-customer
# batch of every source holds ~273 MiB of frames (Polars' estimate), so this lets about
# one batch wait. Without it, a writer slowed by the disk let two batches pile up (a
# simulated 120 MB/s disk: 1,153-1,242 MiB at 600k customers, 1,112-1,152 with it). A
# smaller budget bounds a slow disk better (2048: 960-999 MiB; 1024: 836-867) but
# stalls generation behind the batch's last big file when the CPU is the limit (3-5 %
# slower at 1M customers); at 3072 no slowdown was measured (benchmarks/RESULTS.md).
WRITE_QUEUE_BYTES_PER_CUSTOMER = 3072
# Parquet's writer is the slower one (it encodes and compresses): at 3072 a 10M-customer
# Parquet run peaked at 1,022-1,047 MiB, at 2048 at 999 MiB, with no slowdown at 1M
# (14.42 vs 15.35 s, 3 runs each; benchmarks/RESULTS.md, session 16).
WRITE_QUEUE_BYTES_PER_CUSTOMER_PARQUET = 2048


@dataclass(frozen=True)
class RunResult:
    """What a run wrote, for the summary table and for tests."""

    plan: Plan
    files: tuple[FileSink, ...]
    seconds: float

    @property
    def rows(self) -> int:
        """Rows written per format (each format holds the same rows)."""
        first = self.plan.config.formats[0]
        return sum(f.rows for f in self.files if f.fmt == first)


def _extras(plan: Plan, tracer: pl.DataFrame | None) -> list[Extra]:
    """Tracer and archival customers (numbered after every generated customer), the change feeds."""
    out = []
    first = plan.generated_customer_ids
    if tracer is not None:
        out.append(tracer_extra(plan, tracer, first))
        first += tracer.height
    if not (plan.config.archival or CHANGE_FEED in plan.sources):
        return out
    # The output read back once (a remote one asks for its credentials once).
    earlier = output_of(plan.config.out, plan.config)
    if plan.config.archival:
        archived = archival_extra(plan, load(vocab_dir(plan.config.locale)), first, earlier)
        if archived is not None:
            out.append(archived)
    if CHANGE_FEED in plan.sources:
        changed = changes_extra(plan, load(vocab_dir(plan.config.locale)), earlier)
        if changed is not None:
            out.append(changed)
        out.extend(follow_extras(plan, earlier))
    return out


def _generate(
    plan: Plan,
    progress: Callable[[int], None] | None,
    clean_stale: bool,
    state: State,
    folder: Path | None,
    extras: list[Extra] | None = None,
    control: Path | None = None,
) -> list[FileSink]:
    """Generate every batch, then: finish the files, save the counters, publish the files.

    ``folder`` keeps the counters (None: stateless); ``control`` holds the
    publish journal (the state folder, or ``OUT/_vecgen`` of a stateless run).

    Saving the counters before the renames means a run killed in between leaves
    a gap in the IDs, never IDs that a later run would hand out again.
    """
    warm_up(plan)
    vocab = load(vocab_dir(plan.config.locale))
    write_options = {name: source_for(plan.config, name).write_options for name in plan.sources}
    outputs = Outputs.open(plan, write_options, clean_stale=clean_stale, journal=control)
    writer: Writer | None = None
    pool: Pool | None = None
    try:
        writer = Writer(outputs, budget=write_budget(plan))
        checkpoint("outputs.opened")
        # Row offsets are computed from the plan: a shard starts where the earlier ones end.
        starts = batch_offsets(plan)
        offsets = dict(starts[0])
        workers = worker_count(plan)
        pool = Pool(plan, write_options, workers) if workers > 1 else None
        if pool is None:
            _stream(plan, vocab, writer, starts, offsets, progress)
        else:
            for index, items in pool.results():
                writer.put(items)
                checkpoint("batch.generated")
                for name, item in items:
                    offsets[name] += rows_of(item)
                # Drop this batch's frames now: only the writer holds them from here on.
                del items
                if progress is not None:
                    progress(plan.batches[index][1])
            pool.close()
        extra_customers = 0
        for extra in extras or []:
            rows = [(extra.source, extra.frame)]
            if "truth" in plan.sources:
                rows.append(("truth", extra.truth))
            writer.put(rows)
            offsets[extra.source] += extra.frame.height
            if extra.source == "customers":
                extra_customers += extra.frame.height
        writer.close()
        after = next_state(plan, state, offsets, extra_customers) if folder else None
        return _commit(outputs, folder, after, control)
    except BaseException:
        if pool is not None:
            pool.kill()
        if writer is not None:
            writer.abort()
        outputs.abort()
        raise


def write_budget(plan: Plan) -> int:
    """Bytes of generated files that may wait for the writer: about one batch's worth.

    Examples
    --------
    >>> from vecgen.config import Config
    >>> from vecgen.plan import resolve
    >>> write_budget(resolve(Config(customers=1_000_000))) // 2**20
    292
    >>> write_budget(resolve(Config(customers=1_000_000, formats=("parquet",)))) // 2**20
    195

    """
    step = max((stop - start for start, stop in plan.batches), default=0)
    if any(fmt in PARQUET_FORMATS for fmt in plan.config.formats):
        return WRITE_QUEUE_BYTES_PER_CUSTOMER_PARQUET * step
    return WRITE_QUEUE_BYTES_PER_CUSTOMER * step


def _stream(
    plan: Plan,
    vocab: Vocab,
    writer: Writer,
    starts: list[dict[str, int]],
    offsets: dict[str, int],
    progress: Callable[[int], None] | None,
) -> None:
    """Generate every batch in this process, each source's frame to the writer as it is made.

    The writer writes a batch while it is being made, so a batch is in memory
    only while a source still reads it (:func:`~vecgen.pipeline.batch_frames`).
    """
    for index, (start, stop) in enumerate(plan.batches):
        batch = writer.begin(len(plan.sources))  # (waits while the writer is a batch behind)

        def emit(name: str, frame: pl.DataFrame, batch: list[int] = batch) -> None:
            offsets[name] += frame.height
            writer.put_one(batch, name, frame)

        batch_frames(plan, vocab, index, start, stop, starts[index], emit=emit)
        checkpoint("batch.generated")
        if progress is not None:
            progress(stop)


def _commit(
    outputs: Outputs, folder: Path | None, after: State | None, control: Path | None
) -> list[FileSink]:
    """Commit a run (every run the same way): finish the files, save the counters, publish.

    Counters are saved (with state) once every file is complete and before any
    is renamed into place: a run killed in between leaves a gap in the IDs,
    never IDs handed out twice. ``control`` holds the publish journal.
    """
    outputs.finish()
    checkpoint("outputs.finished")
    if folder is not None and after is not None:
        write_state(folder, after)
        checkpoint("state.written")
    return outputs.publish(control)


def run(config: Config, progress: Callable[[int], None] | None = None) -> RunResult:
    """Generate every enabled source of ``config`` and write it to ``config.out``.

    Examples
    --------
    >>> import datetime as dt, tempfile
    >>> from vecgen.config import Config
    >>> out = tempfile.mkdtemp()
    >>> result = run(Config(customers=100, out=out, date=dt.date(2026, 1, 1)))
    >>> {f.source: f.rows for f in result.files}["customers"]
    115


    """
    started = time.perf_counter()
    folder = config.state_folder()  # the counters, if kept
    control = config.control_folder()  # the publish journal (and the lock, with state)
    with _locked(config, folder) if folder else contextlib.nullcontext():
        checkpoint("lock.acquired")
        state = read_state(folder) if folder else State()
        plan = resolve(config, state)
        if folder is not None:
            _refuse_lost_counters(plan, folder)
            _refuse_append_without_counters(plan, folder)
        # Inputs people hand us are read and validated before anything is written.
        tracer_path = Path(config.tracer_dir) / TRACER_FILE
        # Tracer records go into today's customers: without them the file stays for later.
        wanted = config.tracer and "customers" in plan.sources and tracer_path.exists()
        tracer = read_tracer(tracer_path) if wanted else None
        if tracer is not None:
            consumed_folder(tracer_path)  # refuse now, not after the files are published
        extras = _extras(plan, tracer) if "customers" in plan.sources else []
        files = _generate(
            plan,
            progress,
            clean_stale=folder is not None,
            state=state,
            folder=folder,
            control=control,
            extras=extras,
        )
        if tracer is not None:
            consume_tracer(tracer_path, dt.datetime.now())
    return RunResult(plan, tuple(files), time.perf_counter() - started)


def _locked(config: Config, folder: Path) -> contextlib.AbstractContextManager[None]:
    """Take the state folder's lock (``OUT/_vecgen`` that cannot be made: an output error)."""
    unusable = (
        ""
        if config.state_dir
        else f"cannot write to output location '{config.out}' ({{reason}}: {folder}); "
        "choose another --out"
    )
    return locked(folder, config.lock_wait, unusable)


def _refuse_lost_counters(plan: Plan, folder: Path) -> None:
    """Stop a run with state whose counters are gone while other days' customers are there.

    Without ``state.json`` the counters start again at the first ID, so the
    day's IDs would repeat those of the days already in the output. A state file
    that was never written (a first run, or only today's files) starts afresh.
    """
    config = plan.config
    if (folder / STATE_FILE).exists() or "://" in config.out:
        return
    every_day = {file_day(path) for path in earlier_files(config.out, "customers", dt.date.max)}
    days = sorted(every_day - {plan.run_date.isoformat()})
    if days:
        shown = ", ".join(days[:3]) + (f" and {len(days) - 3} more" if len(days) > 3 else "")
        msg = (
            f"state file {folder / STATE_FILE} is missing, but '{config.out}' holds customers "
            f"of other days ({shown}): starting the ID counters afresh would repeat their IDs. "
            "Restore the state file from a backup, or write to a new --out to start afresh"
        )
        raise StateError(msg)


def _refuse_append_without_counters(plan: Plan, folder: Path) -> None:
    """Stop an append to today's files of a run that kept no counters (its IDs would repeat)."""
    config = plan.config
    if config.load_type != "append" or (folder / STATE_FILE).exists() or "://" in config.out:
        return
    today = Path(final_path(plan, config.out, "customers", config.formats[0]))
    target = today.parent if config.layout == "lake" else today
    if target.exists() and (target.is_file() or any(target.glob("part-*"))):
        msg = (
            f"'{target}' holds today's files from a run that kept no ID counters "
            f"(no {folder / STATE_FILE}); appending would repeat their IDs. Replace them "
            "with --overwrite --state, or append to another --out"
        )
        raise OutputError(msg)


def generate_frames(config: Config) -> dict[str, pl.DataFrame]:
    """Generate every enabled source in memory (no files, no state): source -> frame.

    The frames hold exactly what :func:`run` writes (same rows, same order).

    Examples
    --------
    >>> import datetime as dt
    >>> from vecgen.config import Config
    >>> frames = generate_frames(Config(customers=100, seed=1, date=dt.date(2026, 1, 1)))
    >>> frames["customers"].height, frames["truth"].columns[:3]
    (115, ['source', 'record_id', 'entity_id'])

    """
    plan = resolve(config)
    vocab = load(vocab_dir(plan.config.locale))
    parts: dict[str, list[pl.DataFrame]] = {name: [] for name in plan.sources}
    offsets = batch_offsets(plan)
    for index, (start, stop) in enumerate(plan.batches):
        for name, frame in batch_frames(plan, vocab, index, start, stop, offsets[index]):
            parts[name].append(frame)
    return {name: pl.concat(frames) for name, frames in parts.items()}


def run_transactions(config: Config, progress: Callable[[int], None] | None = None) -> RunResult:
    """Write only new transactions for customers of earlier days (``vecgen transactions``).

    ``customers`` of the people found in earlier days' customer files get
    1..``max_trans_per_customer`` transactions each; order IDs continue from the state.
    """
    import dataclasses

    import numpy as np

    from vecgen.daily.earlier import earlier_files, output_of, read_customers_file
    from vecgen.daily.extra import InputFileError
    from vecgen.sources.transactions import transaction_frame

    started = time.perf_counter()
    folder = config.state_folder()
    control = config.control_folder()
    with _locked(config, folder) if folder else contextlib.nullcontext():
        state = read_state(folder) if folder else State()
        plan = dataclasses.replace(resolve(config, state), sources=("transactions",))
        out = output_of(config.out, config)
        files = earlier_files(out, "customers", plan.run_date)
        if not files:
            msg = f"no customer files from before {plan.run_date} under {config.out}; generate some days first"
            raise InputFileError(msg)
        known = pl.concat([read_customers_file(f, out=out).select("customer_id") for f in files])[
            "customer_id"
        ]
        if known.len() == 0:
            raise InputFileError(f"the customer files under {config.out} hold no customers")
        picks = plan.stream("transactions_only", "customer").integers(
            np.arange(config.customers, dtype=np.uint64), 0, known.len()
        )
        ids = known.gather(picks)
        dtype = pl.String if config.alpha_key else pl.Int64
        frame = transaction_frame(
            plan,
            "transactions_only",
            ids.cast(dtype),
            np.arange(config.customers),
            0,
            plan.transaction_id_start,
        )
        outputs = Outputs.open(
            plan,
            {"transactions": SOURCES["transactions"].write_options},
            clean_stale=folder is not None,
            journal=control,
        )
        try:
            outputs.write("transactions", frame)
            after = dataclasses.replace(
                state,
                last_transaction_id=plan.transaction_id_start + frame.height,
                runs=state.runs + 1,
            )
            written = _commit(outputs, folder, after, control)
        except BaseException:
            outputs.abort()
            raise
    if progress is not None:
        progress(config.customers)
    return RunResult(plan, tuple(written), time.perf_counter() - started)
