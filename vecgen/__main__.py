"""``python -m vecgen`` and the ``vecgen`` command.

The package's own import (which runs before this module) and then the entry
point import the command's modules (Polars, NumPy, pyarrow) with Ctrl-C only
*recorded* (:func:`vecgen.record_interrupt`): a KeyboardInterrupt raised inside the import
machinery can be swallowed by it (CPython prints "Exception ignored" and goes
on, or leaves a module lock held). A Ctrl-C during start-up therefore ends
the command with one line once the imports are done, before anything is
written.
"""

import os
import signal
import sys
import threading

EXIT_INTERRUPTED = 130
# Polars' allocator (jemalloc) gives freed pages back to the system within 0.5-1 s; a run
# allocates and frees the same sizes batch after batch, so each batch faulted them in again
# (1.5M page faults, ~3 s of system time at 1M customers). Keeping freed pages for 10 s cut
# that by three quarters for ~10% more peak memory. Polars appends this variable to its own
# defaults when it loads (later settings win), so it is set before the imports; a value of
# your own is kept. One arena instead of one per core: memory freed by one thread (a frame
# generated on one, written on another) is reused by all, which cut the peak of a 1M run by
# ~190 MiB (1.36 -> 1.17 GiB, CSV) at the same speed (benchmarks/RESULTS.md, session 10).
# And no separate arena for allocations of 8 MiB and more (jemalloc's oversize_threshold):
# a batch's columns are such allocations, and in an arena of their own their freed pages
# were not reused by the smaller ones (nor theirs by them); a 1M-customer run peaked
# 40-130 MiB lower at the same speed (session 13).
ALLOCATOR = (
    "_RJEM_MALLOC_CONF",
    "dirty_decay_ms:10000,muzzy_decay_ms:10000,narenas:1,oversize_threshold:0",
)
# pyarrow's own allocations (the Parquet writer's row-group copies and encoding buffers) in
# its jemalloc rather than its default mimalloc: a 1M-customer Parquet run peaked ~100 MiB
# lower at the same speed (benchmarks/RESULTS.md, session 11). Read once, when pyarrow
# loads: pyarrow.set_memory_pool() later does not reach the Parquet writer's C++ side. Only
# on Linux, whose pyarrow wheels carry jemalloc (elsewhere Arrow would warn and fall back).
ARROW_POOL = ("ARROW_DEFAULT_MEMORY_POOL", "jemalloc")
STARTING = "\nvecgen: interrupted while starting; nothing was written"


def main() -> int:
    """Run the command; Ctrl-C while it is still starting up exits 130 quietly."""
    os.environ.setdefault(*ALLOCATOR)
    if sys.platform.startswith("linux"):
        os.environ.setdefault(*ARROW_POOL)
    import vecgen  # its import already records Ctrl-C when it is the command's

    deferred = threading.current_thread() is threading.main_thread() and signal.getsignal(
        signal.SIGINT
    ) in (signal.default_int_handler, vecgen.record_interrupt)
    if deferred:
        signal.signal(signal.SIGINT, vecgen.record_interrupt)
    try:
        from vecgen.cli import main as cli_main
        from vecgen.engine import run  # noqa: F401  (the heavy imports, while Ctrl-C waits)

        # Polars loads NumPy's C API on its first array (Python code, run from Rust): a Ctrl-C
        # there became a Rust panic with a traceback, so that first array is made here.
        polars = sys.modules["polars"]
        polars.Series([True]).to_numpy()
    finally:
        if deferred:
            signal.signal(signal.SIGINT, signal.default_int_handler)
    caught = bool(vecgen.STARTUP_INTERRUPTS)
    vecgen.STARTUP_INTERRUPTS.clear()
    if caught:
        print(STARTING, file=sys.stderr)
        return EXIT_INTERRUPTED
    try:
        return cli_main()
    except KeyboardInterrupt:  # before the command's own handling starts (argument parsing)
        print(STARTING, file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
