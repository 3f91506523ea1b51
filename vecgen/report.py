"""``vecgen report OUT``: a self-contained HTML page (plus PNG charts) describing a run.

The page shows the files and their row counts, the cluster sizes, how often
each field of a duplicate was changed, the kernel mix, a few duplicate clusters
side by side with the changed cells highlighted, value distributions, and the
population (``vecgen population-stats``: names, households, shared
identifiers, fill rates per system). It
has no script and loads nothing: charts are inline SVG. With matplotlib
installed (``pip install 'vecgen[report]'``) each chart is also written as PNG.
"""

from __future__ import annotations

import glob
import html
import os
from collections.abc import Sequence
from typing import Any

import polars as pl

from vecgen.catalog import SOURCE_NAMES
from vecgen.stats import COMPARED, day_files, fuzz_stats, read_day, reading

CLUSTERS_SHOWN = 5


def _bars(title: str, labels: Sequence[str], values: Sequence[float], unit: str = "") -> str:
    """Return a horizontal bar chart as inline SVG."""
    top = max(values, default=0) or 1
    row, left, width = 22, 190, 420
    height = row * len(labels) + 30
    parts = [
        f'<svg role="img" aria-label="{html.escape(title)}" width="{left + width + 90}" height="{height}" '
        f'xmlns="http://www.w3.org/2000/svg" font-family="sans-serif" font-size="12">'
    ]
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        y = 10 + i * row
        w = max(1.0, width * value / top)
        parts.append(
            f'<text x="{left - 6}" y="{y + 14}" text-anchor="end">{html.escape(str(label))}</text>'
        )
        parts.append(
            f'<rect x="{left}" y="{y + 2}" width="{w:.1f}" height="{row - 6}" fill="#4a7ab5"/>'
        )
        shown = (
            f"{value:,.1f}{unit}"
            if isinstance(value, float) and not value.is_integer()
            else f"{value:,.0f}{unit}"
        )
        parts.append(f'<text x="{left + w + 6:.1f}" y="{y + 14}">{shown}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _png(path: str, title: str, labels: Sequence[str], values: Sequence[float]) -> bool:
    """Write the same chart as PNG when matplotlib is installed; False if it is not."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    fig, ax = plt.subplots(figsize=(7, 0.3 * len(labels) + 1))
    ax.barh(list(labels)[::-1], list(values)[::-1], color="#4a7ab5")
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return True


def _file_rows(out: str, day: str | None = None) -> list[tuple[str, str, int]]:
    rows = []
    # Built-in sources first, then any other source folder of the lake layout (declared ones).
    others = sorted(
        name
        for name in os.listdir(out)
        if name not in SOURCE_NAMES and glob.glob(os.path.join(out, name, "dt=*"))
    )
    for source in (*SOURCE_NAMES, *others):
        try:
            paths = day_files(out, source, day)  # every part of the day
        except Exception:  # a source that is switched off has no file
            continue
        for path in paths:
            rows.append((source, os.path.relpath(path, out), _count_rows(path, source)))
    return rows


def _count_rows(path: str, source: str) -> int:
    """Count a file's records (a damaged file is named, with what is wrong, in one line)."""
    with reading(path, source):
        if path.endswith(".parquet"):
            n = pl.scan_parquet(path).select(pl.len()).collect().item()
        elif path.endswith(".csv"):
            n = pl.scan_csv(path, infer_schema=False).select(pl.len()).collect().item()
        else:  # JSON lines: one record per line
            with open(path, "rb") as f:
                n = sum(chunk.count(b"\n") for chunk in iter(lambda: f.read(1 << 20), b""))
    return int(n)


def _clusters(customers: pl.DataFrame, every: pl.DataFrame) -> str:
    """Return a few duplicate clusters of the customers file, changed cells highlighted."""
    truth = every.filter(pl.col("source") == "customers")
    dupes = truth.filter(pl.col("is_duplicate").str.to_lowercase() == "true")
    entities = (
        dupes.group_by("entity_id").len().sort(["len", "entity_id"], descending=[True, False])
    )
    shown = entities["entity_id"].head(CLUSTERS_SHOWN).to_list()
    columns = [
        c for c in customers.columns if c in COMPARED or c in ("addr_ln_1_txt", "customer_id")
    ]
    blocks = []
    for entity in shown:
        ids = truth.filter(pl.col("entity_id") == entity).select(
            pl.col("record_id").alias("customer_id"), "corruptions"
        )
        members = ids.join(customers, on="customer_id", how="left").select("corruptions", *columns)
        original = members.filter(pl.col("customer_id") == entity)
        if original.height == 0:
            continue
        base = original.row(0, named=True)
        head = "".join(f"<th>{html.escape(c)}</th>" for c in columns) + "<th>corruptions</th>"
        body = []
        for record in members.iter_rows(named=True):
            cells = []
            for c in columns:
                value = "" if record[c] is None else str(record[c])
                changed = c != "customer_id" and record[c] != base[c]
                cls = ' class="changed"' if changed else ""
                cells.append(f"<td{cls}>{html.escape(value)}</td>")
            cells.append(f"<td class='log'>{html.escape(record['corruptions'] or 'original')}</td>")
            body.append("<tr>" + "".join(cells) + "</tr>")
        blocks.append(f"<table class='cluster'><tr>{head}</tr>{''.join(body)}</table>")
    return "\n".join(blocks)


def _distributions(
    out: str, customers: pl.DataFrame, day: str | None = None
) -> list[tuple[str, list[str], list[float]]]:
    charts = []
    states = (
        customers["state"]
        .drop_nulls()
        .value_counts()
        .sort(["count", "state"], descending=[True, False])
        .head(15)
    )
    charts.append(
        (
            "Customers by state (top 15)",
            states["state"].to_list(),
            [float(v) for v in states["count"]],
        )
    )
    years = customers.select(pl.col("birth_dt").str.slice(-4).alias("y")).drop_nulls()
    decades = years.select(
        (pl.col("y").cast(pl.Int32, strict=False) // 10 * 10).alias("d")
    ).drop_nulls()
    dec = decades["d"].value_counts().sort("d")
    charts.append(("Birth decade", [f"{d}s" for d in dec["d"]], [float(v) for v in dec["count"]]))
    try:
        loyalty = read_day(out, "loyalty", day)
        tiers = loyalty["current_tier"].value_counts().sort("count", descending=True)
        charts.append(
            ("Loyalty tiers", tiers["current_tier"].to_list(), [float(v) for v in tiers["count"]])
        )
    except Exception:  # loyalty switched off
        pass
    try:
        tx = read_day(out, "transactions", day)
        amounts = tx.select(
            (pl.col("transactiontotal").cast(pl.Float64) // 200 * 200).cast(pl.Int64).alias("b")
        )
        bins = amounts["b"].value_counts().sort("b")
        charts.append(
            (
                "Transaction totals ($200 bins)",
                [f"{b:,}-{b + 199:,}" for b in bins["b"]],
                [float(v) for v in bins["count"]],
            )
        )
    except Exception:  # transactions switched off
        pass
    return charts


def _population(
    out: str, customers: pl.DataFrame, truth: pl.DataFrame, day: str | None = None
) -> list[tuple[str, list[str], list[float]]]:
    """Charts of ``vecgen population-stats``: names, households, shared identifiers, fill rates."""
    from vecgen.population import population_stats

    p = population_stats(out, customers, truth, day)
    charts = [
        (
            f"Surnames: % of people ({p['surnames']['distinct']:,} distinct)",
            [str(v) for v, _ in p["surnames"]["top"]],
            [float(x) for _, x in p["surnames"]["top"]],
        ),
        *(
            (
                f"First names ({sex}): % of people ({d['distinct']:,} distinct)",
                [str(v) for v, _ in d["top"]],
                [float(x) for _, x in d["top"]],
            )
            for sex, d in p["first_names"].items()
        ),
        (
            "Households by known members",
            list(p["households"]["sizes"]),
            [float(v) for v in p["households"]["sizes"].values()],
        ),
        (
            "% of customers sharing with another person",
            list(p["shared_percent"]),
            [float(v) for v in p["shared_percent"].values()],
        ),
    ]
    for source, rates in p["fill_percent"].items():
        charts.append(
            (f"Fill rates: {source} (%)", list(rates), [float(v) for v in rates.values()])
        )
    return charts


STYLE = """
body{font-family:sans-serif;margin:24px;color:#222;max-width:1300px}
h1{font-size:22px} h2{font-size:17px;margin-top:28px;border-bottom:1px solid #ddd}
table{border-collapse:collapse;font-size:12px;margin:8px 0 18px}
td,th{border:1px solid #ccc;padding:3px 6px;text-align:left;vertical-align:top}
th{background:#f2f2f2} td.changed{background:#ffe08a;font-weight:bold} td.log{color:#555;font-size:11px}
.grid{display:flex;flex-wrap:wrap;gap:24px} .note{color:#555;font-size:13px}
"""


def report(out: str, target: str | None = None, day: str | None = None) -> dict[str, Any]:
    """Write the report of the run under ``out`` into ``target`` (default ``OUT/_report``).

    ``day`` is ``None`` (the newest day), ``YYYY-MM-DD`` or ``"all"``.

    The default folder starts with ``_``, which lake readers (pyarrow datasets,
    Spark, Hive) skip, so the charts do not break a reader of ``OUT``.
    """
    target = target or os.path.join(out, "_report")
    os.makedirs(target, exist_ok=True)
    stats = fuzz_stats(out, day=day)
    files = _file_rows(out, day)
    # Read once for the clusters, the distributions and the population.
    customers, truth = read_day(out, "customers", day), read_day(out, "truth", day)
    charts: list[tuple[str, list[str], list[float]]] = [
        ("Rows per file", [s for s, _, _ in files], [float(n) for _, _, n in files]),
        (
            "Duplicates per duplicated person",
            [str(k) for k in stats["cluster_sizes"]],
            [float(v) for v in stats["cluster_sizes"].values()],
        ),
        (
            "% of duplicates where the field changed",
            list(stats["field_change_percent"]),
            [float(v) for v in stats["field_change_percent"].values()],
        ),
        (
            "Fields changed per duplicate (%)",
            [str(k) for k in stats["fields_changed_histogram"]],
            [float(v) for v in stats["fields_changed_histogram"].values()],
        ),
        (
            "Kernel mix (top 20)",
            list(stats["kernel_mix"])[:20],
            [float(v) for v in list(stats["kernel_mix"].values())[:20]],
        ),
        *_distributions(out, customers, day),
        *_population(out, customers, truth, day),
    ]
    pngs = []
    for i, (title, labels, values) in enumerate(charts):
        png = os.path.join(target, f"chart-{i + 1:02d}.png")
        if _png(png, title, labels, values):
            pngs.append(os.path.basename(png))
    file_table = "".join(
        f"<tr><td>{html.escape(s)}</td><td>{html.escape(p)}</td><td style='text-align:right'>{n:,}</td></tr>"
        for s, p, n in files
    )
    sections = "".join(
        f"<div><h3>{html.escape(t)}</h3>{_bars(t, labels, values)}</div>"
        for t, labels, values in charts[1:]
    )
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>vecgen run report</title><style>{STYLE}</style></head>
<body>
<h1>vecgen run report: {html.escape(os.path.abspath(out))}</h1>
<p class="note">{stats["records"]:,} customer records, {stats["duplicates"]:,} duplicates;
mean {stats["mean_fields_changed"]:.2f} fields changed per duplicate; {stats["copies_of_copies"]:,} copies of copies.</p>
<h2>Files</h2>
<table><tr><th>source</th><th>file</th><th>rows</th></tr>{file_table}</table>
{_bars("Rows per file", [s for s, _, _ in files], [float(n) for _, _, n in files])}
<h2>Duplicates and corruptions</h2>
<div class="grid">{sections}</div>
<h2>Duplicate clusters (changed cells highlighted)</h2>
{_clusters(customers, truth)}
</body></html>
"""
    path = os.path.join(target, "index.html")
    with open(path, "w", encoding="utf-8") as f:
        f.write(page)
    return {"html": path, "pngs": pngs, "charts": len(charts)}


def chart_files(target: str) -> list[str]:
    """Return the PNG charts of a report folder."""
    return sorted(glob.glob(os.path.join(target, "chart-*.png")))
