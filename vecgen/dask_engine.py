"""The Dask engine: a run's shards as tasks on a ``dask.distributed`` cluster.

A run split into ``parts`` shards (see ``--parts``) is embarrassingly
parallel: every shard's rows, IDs and file name come from the plan. Here each
shard is one task that writes its own files straight to ``config.out`` (a
folder every worker sees, or ``s3://``), exactly as ``vecgen --parts N --part
K`` would, so the files are the same whichever machine made them.
:func:`read` gives a lazy Dask DataFrame of one source instead, for users who
transform before they write.

Needs the optional extra: ``pip install 'vecgen[dask]'``. Usage (a running
cluster; see docs/scaling.md)::

    from distributed import Client
    import vecgen, vecgen.dask_engine

    client = Client("tcp://scheduler:8786")
    config = vecgen.Config(customers=10**8, parts=64, out="s3://bucket/run")
    vecgen.dask_engine.generate(config, client)  # source -> rows written
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import Any

from vecgen.config import Config
from vecgen.errors import ConfigError, MissingDependencyError


def _require() -> Any:
    try:
        import distributed
    except ImportError as exc:
        raise MissingDependencyError(
            f"the Dask engine needs '{exc.name}': pip install 'vecgen[dask]'"
        ) from exc
    return distributed


def _shard_config(config: Config, parts: int | None) -> Config:
    """Return the config every task runs: ``parts`` shards, no state, one process per task."""
    n = parts or config.parts
    if n < 2:
        raise ConfigError(
            "the Dask engine runs the shards of a run: set parts (--parts N, N >= 2), "
            "e.g. two or more per worker"
        )
    # A relative folder means the same folder here and on the workers (which have
    # their own working directories): make it absolute before it travels.
    out = config.out if "://" in config.out else os.path.abspath(config.out)
    # Each task is one shard; a Dask worker is the unit of parallelism (no nested pools).
    return config.replace(
        parts=n, part=0, state_dir="", state=False, workers=1, quiet=True, out=out
    )


def _run_part(config: Config, part: int) -> dict[str, int]:
    """Task: write shard ``part`` of ``config`` to ``config.out``; return rows per source."""
    from vecgen.engine import run

    result = run(config.replace(part=part))
    first = config.formats[0]
    return {f.source: f.rows for f in result.files if f.fmt == first}


def generate(
    config: Config,
    client: Any = None,
    parts: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, int]:
    """Run every shard of ``config`` as a task on ``client``'s cluster; return rows per source.

    ``parts`` overrides ``config.parts`` (at least 2). Each task writes its
    shard's files (``part-0000K``) to ``config.out``, which every worker must
    reach (a shared folder or ``s3://``). The files equal those of ``vecgen
    --parts N --part K`` for every K. ``client`` defaults to the current
    Dask client. Shards keep no ID counters (as ``--parts``): give each day a
    different ``seed`` or ``date``.
    """
    distributed = _require()
    shard = _shard_config(config, parts)
    client = client or distributed.get_client()
    futures = [
        client.submit(_run_part, shard, k, key=f"vecgen-part-{k:05d}-{id(shard):x}", pure=False)
        for k in range(shard.parts)
    ]
    totals: dict[str, int] = {}
    try:
        for done, future in enumerate(distributed.as_completed(futures), start=1):
            for source, rows in future.result().items():
                totals[source] = totals.get(source, 0) + rows
            if progress is not None:
                progress(done, shard.parts)
    except BaseException:
        client.cancel(futures)
        raise
    return totals


def _part_frame(part: int, config: Config, source: str) -> Any:
    from vecgen.engine import generate_frames

    return generate_frames(config.replace(part=part))[source].to_pandas()


def read(config: Config, source: str, parts: int | None = None) -> Any:
    """Return a lazy Dask DataFrame of ``source``: a partition per shard, generated when computed.

    Nothing is written. The partitions in order hold the rows of the single
    run in order (the shards' IDs come from the plan).
    """
    _require()
    import dask.dataframe as dd

    from vecgen.catalog import FLAT_NAMES
    from vecgen.engine import generate_frames

    valid = [*FLAT_NAMES, *config.declared_names()]
    if source not in valid:
        raise ConfigError(f"unknown source '{source}'; valid sources: {', '.join(valid)}")
    if not config.enabled(source):
        raise ConfigError(f"source '{source}' is switched off in this config")
    shard = _shard_config(config, parts)
    meta = generate_frames(shard.replace(customers=0))[source].to_pandas()
    return dd.from_map(  # type: ignore[no-untyped-call]
        _part_frame,
        range(shard.parts),
        config=shard,
        source=source,
        meta=meta,
        divisions=None,
        label=f"vecgen-{source}",
        enforce_metadata=False,
    )


def cluster_client(scheduler: str) -> Any:
    """Return a client of the scheduler at ``scheduler`` (empty: of a new local cluster)."""
    distributed = _require()
    if scheduler:
        try:
            return distributed.Client(scheduler, timeout="10s")
        except OSError as exc:
            raise ConfigError(
                f"cannot reach the Dask scheduler at {scheduler} ({exc}); check --scheduler"
            ) from None
    print("vecgen: starting a local Dask cluster (no --scheduler given)", file=sys.stderr)
    cluster = distributed.LocalCluster(
        host="127.0.0.1", threads_per_worker=1, dashboard_address=None
    )
    return distributed.Client(cluster)
