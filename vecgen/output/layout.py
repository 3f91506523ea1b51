"""Where a run's files go: final paths per layout, part numbers, the disk-space check."""

from __future__ import annotations

import os
import posixpath
import re
from typing import Any

from vecgen.catalog import FORMATS
from vecgen.errors import OutputError
from vecgen.plan import Plan, source_info
from vecgen.sources import flat_name

TMP_MARK = ".vecgen-tmp-"
_PART = re.compile(r"^part-\d{5}(_\d{5})?\.(csv|parquet|json)$")


def final_path(plan: Plan, root: str, source: str, fmt: str, part: int | None = None) -> str:
    """Where ``source`` in format ``fmt`` lands for this run's layout.

    Examples
    --------
    >>> import datetime as dt
    >>> from vecgen.config import Config
    >>> from vecgen.plan import resolve
    >>> plan = resolve(Config(date=dt.date(2026, 3, 1)))
    >>> final_path(plan, "out", "customers", "parquet")
    'out/customers/dt=2026-03-01/part-00000.parquet'
    >>> final_path(resolve(Config(date=dt.date(2026, 3, 1), layout="flat")), "out", "transactions", "csv")
    'out/2026_03_01CustomersTransactions.csv'

    """
    ext = FORMATS[fmt]
    shards = plan.config.parts > 1
    if part is None:
        part = plan.config.part if shards else 0
    if plan.config.layout == "lake":
        return posixpath.join(
            root, source, f"dt={plan.run_date.isoformat()}", f"part-{part:05d}.{ext}"
        )
    prefix = plan.run_date.strftime("%Y_%m_%d") if plan.config.date_prefix else ""
    suffix = f"-part-{part:05d}" if shards else ""
    return posixpath.join(root, f"{prefix}{flat_name(plan.config, source)}{suffix}.{ext}")


def piece_path(path: str, piece: int) -> str:
    """Return the name of a file's ``piece``-th continuation (a Parquet file that rolled on).

    It sorts right after the first piece and before the next part.

    Examples
    --------
    >>> piece_path("out/truth/dt=2026-03-01/part-00000.parquet", 2)
    'out/truth/dt=2026-03-01/part-00000_00002.parquet'
    >>> sorted(["part-00001.parquet", piece_path("part-00000.parquet", 1), "part-00000.parquet"])
    ['part-00000.parquet', 'part-00000_00001.parquet', 'part-00001.parquet']

    """
    stem, dot, ext = path.rpartition(".")
    return f"{stem}_{piece:05d}{dot}{ext}"


# The size of the other formats relative to CSV: for the free-space check before a run.
FORMAT_FACTOR = {"csv": 1.0, "jsonl": 1.7, "parquet": 0.45, "delta": 0.45, "iceberg": 0.45}
DISK_MARGIN = 1.2


def estimated_bytes(plan: Plan) -> int:
    """About how many bytes this run writes (all formats), from the plan."""
    per_customer = sum(source_info(plan.config, s).csv_bytes for s in plan.sources)
    factor = sum(FORMAT_FACTOR[f] for f in plan.config.formats)
    customers = sum(stop - start for start, stop in plan.batches)
    return int(customers * per_customer * factor * (1 + plan.dupe_rate / 100))


def _size(n: float) -> str:
    """Bytes for a message.

    Examples
    --------
    >>> _size(3_400_000_000), _size(7_300_000), _size(512)
    ('3.4 GB', '7.3 MB', '0.0 MB')

    """
    return f"{n / 1e9:.1f} GB" if n >= 1e9 else f"{n / 1e6:.1f} MB"


def check_disk_space(plan: Plan, folder: str) -> None:
    """Refuse to start a local run that would not fit on the disk (before anything is written)."""
    import shutil

    probe = os.path.abspath(folder)
    while not os.path.exists(probe):
        probe = os.path.dirname(probe)
    need = int(estimated_bytes(plan) * DISK_MARGIN)
    free = shutil.disk_usage(probe).free
    if need > free:
        msg = (
            f"this run needs about {_size(need)} and {probe} has {_size(free)} free; "
            "free some space, write elsewhere (--out) or lower --customers (or --no-disk-check)"
        )
        raise OutputError(msg)


def part_names(fs: Any, folder: str) -> list[str]:
    """Return the names of the ``part-*`` files in a lake partition (none if it is missing)."""
    if not fs.exists(folder):
        return []
    names = (posixpath.basename(e.rstrip("/")) for e in fs.ls(folder, detail=False))
    return [name for name in names if _PART.match(name)]
