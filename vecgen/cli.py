"""Command line: a thin layer over :mod:`vecgen.config` and :mod:`vecgen.engine`.

``vecgen [generate] [options]`` generates; ``vecgen config`` prints the resolved
settings; ``vecgen sources`` lists the sources; ``vecgen refake`` rebuilds the
vocabularies. Deliberate errors print one line and exit non-zero.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from vecgen import __version__
from vecgen.catalog import FLAT_NAMES, LOCALES
from vecgen.config import (
    SETTINGS,
    SOURCES_KEY,
    Config,
    Setting,
    config_toml,
    describe_setting,
    load_config,
)
from vecgen.errors import ConfigError, VecgenError, one_line

COMMANDS = (
    "generate",
    "transactions",
    "config",
    "sources",
    "refake",
    "fuzz-stats",
    "population-stats",
    "publish",
    "score",
    "ddl",
    "load",
    "head",
    "report",
    "schema",
)
EXIT_USAGE, EXIT_ERROR, EXIT_INTERRUPTED, EXIT_TERMINATED = 2, 1, 130, 143


class Terminated(KeyboardInterrupt):
    """SIGTERM arrived; it takes the same abort path as Ctrl-C.

    Raising from the signal handler unwinds the generating thread through
    every ``except BaseException`` cleanup (temporary files removed, the
    writer thread stopped, state files left as they were), so ``kill`` and
    ``docker stop`` are as safe as Ctrl-C.
    """


def _on_sigterm(signum: int, frame: object) -> None:
    raise Terminated()


_EPILOG = """\
Settings come from defaults < vecgen.toml in the working directory (or --config,
or $VECGEN_CONFIG) < VECGEN_* environment variables < these flags.
Same seed + same settings (including --date) = byte-identical files, unless
state is kept (--state, load_type append): then each run continues the IDs.
"""


_URL_SECRET = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)(?P<user>[^:/@\s]*):[^@\s]*@")
_SECRET_FLAGS = ("--vault-token",)


def safe_line(text: str) -> str:
    r"""Make a message one printable line that echoes no secret.

    Control characters are shown escaped, passwords inside URLs are masked.

    Examples
    --------
    >>> print(safe_line("bad\x07name postgresql://me:hunter2@db/x"))
    bad\x07name postgresql://me:***@db/x

    """
    return one_line(_URL_SECRET.sub(lambda m: f"{m['scheme']}{m['user']}:***@", text))


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # one line, no usage dump, no value echoed
        hint = self._hint(message)
        if message.startswith("unrecognized arguments:"):
            # Only the options: a mistyped --vault-tokn would echo the token after it.
            words = message.split(":", 1)[1].split()
            flags = [w.split("=", 1)[0] for w in words if w.startswith("-")]
            values = f"{len(words)} value(s)" if words else "an empty argument ('')"
            message = "unrecognized arguments: " + (" ".join(flags) or values)
        line = safe_line(f"vecgen: error: {message}{hint} (see '{self.prog} --help')")
        self.exit(EXIT_USAGE, line + "\n")

    def _hint(self, message: str) -> str:
        """Suggest the option or command a mistyped word was meant to be.

        Examples
        --------
        >>> p = _Parser(prog="vecgen")
        >>> _ = p.add_argument("--customers")
        >>> p._hint("unrecognized arguments: --cusotmers 10")
        "; did you mean '--customers'?"
        >>> p._hint("unrecognized arguments: genrate")
        "; did you mean the command 'generate'?"

        """
        import difflib

        prefix = "unrecognized arguments: "
        if not message.startswith(prefix):
            return ""
        options = set(self._option_string_actions)
        for action in self._actions:  # the sub-commands' options too
            if isinstance(action, argparse._SubParsersAction):
                for sub in action.choices.values():
                    options.update(sub._option_string_actions)
        long_options = sorted(o for o in options if o.startswith("--"))
        for word in message[len(prefix) :].split():
            if word.startswith("--"):
                flag = word.split("=", 1)[0]
                if flag in long_options:  # an option of another command
                    return f"; {flag} is not an option of this command"
                close = difflib.get_close_matches(flag, long_options, n=1)
                if close:
                    return f"; did you mean '{close[0]}'?"
            elif not word.startswith("-"):
                close = difflib.get_close_matches(word, COMMANDS, n=1)
                if close:
                    return f"; did you mean the command '{close[0]}'?"
        return ""


class _NoAbbrevParser(_Parser):
    """A sub-command parser that takes options only by their full name."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["allow_abbrev"] = False
        super().__init__(*args, **kwargs)


# Option groups of --help; a command shows only the groups it uses.
GROUPS: dict[str, tuple[str, ...]] = {
    "size and output": (
        "customers",
        "seed",
        "date",
        "out",
        "formats",
        "layout",
        "iceberg_catalog",
        "date_prefix",
        "quiet",
        "locale",
        "csv_formula_guard",
        "disk_check",
        "direct_io",
    ),
    "what the files hold": (
        "dupe_rate",
        "dupe_rate_variance",
        "fuzz_profile",
        "trans_type",
        "max_trans_per_customer",
        "points_earned",
        "alpha_key",
        "changes",
    ),
    "daily operation": (
        "load_type",
        "state",
        "state_dir",
        "lock_wait",
        "tracer",
        "tracer_dir",
        "archival",
        "archival_count",
    ),
    "S3 and Vault": (
        "s3_endpoint_url",
        "s3_sse",
        "s3_kms_key_id",
        "vault_addr",
        "vault_token",
        "vault_secret",
        "vault_aws_role",
        "vault_aws_mount",
        "publish_to",
    ),
    "scale": ("batch_size", "max_memory", "workers", "parts", "part", "engine", "scheduler"),
    "Parquet": (
        "parquet_compression",
        "parquet_row_group_rows",
        "parquet_file_rows",
        "parquet_dictionary",
        "parquet_statistics",
    ),
}
GROUP_OF = {name: group for group, names in GROUPS.items() for name in names}
# What each command leaves out: generating in memory needs neither S3, nor state, nor scale.
IN_MEMORY = ("daily operation", "S3 and Vault", "scale", "Parquet")

EXAMPLES = """\
examples:
  vecgen --customers 100000                          a landscape in ./output (CSV)
  vecgen --customers 1000000 --format parquet --fuzz-profile hard --out lake
  vecgen --customers 20000 --state --load-type append   a daily job: IDs continue
  vecgen --customers 100000 --overwrite              replace today's files
"""


SETTINGS_BEGIN = (
    "<!-- settings: generated from vecgen's settings table (python docs/settings.py) -->"
)
SETTINGS_END = "<!-- settings: end -->"


def _metavar(s: Setting) -> str:
    """Return the value a setting's flag takes, as --help and the docs show it."""
    if s.kind == "choice":
        return "{" + ",".join(s.choices) + "}"
    return {"int": "N", "float": "X", "date": "YYYY-MM-DD", "list": "LIST"}.get(s.kind, "VALUE")


def _add_run_folder(p: argparse.ArgumentParser) -> None:
    """Add the OUT argument and --date of the commands that read a run back."""
    p.add_argument("out", metavar="OUT", help="the --out folder of a vecgen run")
    p.add_argument(
        "--date",
        dest="day",
        default=None,
        metavar="YYYY-MM-DD|all",
        help="which day of the run to read (default: the newest; all: every day)",
    )


def settings_markdown() -> str:
    """Return the settings reference of ``docs/configuration.md``, grouped as in ``--help``.

    Examples
    --------
    >>> "| `customers` | `--customers N` | `VECGEN_CUSTOMERS` | 1000 |" in settings_markdown()
    True

    """
    from vecgen.config import ENV_PREFIX

    out = [SETTINGS_BEGIN]
    by_name = {s.name: s for s in SETTINGS}
    for group, names in GROUPS.items():
        out += ["", f"### {group[0].upper()}{group[1:]}", ""]
        out += ["| key | flag | environment | default | meaning |", "|---|---|---|---|---|"]
        for name in names:
            s = by_name[name]
            flag = "--" + name.replace("_", "-")
            if s.kind == "bool":
                shown = f"`{flag}` / `--no-{flag[2:]}`"
            else:
                shown = f"`{flag} {_metavar(s)}`"
            if name == "load_type":
                shown += " / `--overwrite`"
            default = s.default
            if isinstance(default, tuple):
                default = ",".join(default)
            elif isinstance(default, bool):
                default = str(default).lower()
            elif default in ("", None):
                default = "(none)"
            meaning = s.help.replace("|", "\\|")
            out.append(
                f"| `{name}` | {shown} | `{ENV_PREFIX}{name.upper()}` | {default} | {meaning} |"
            )
    out += [
        "",
        "### Tables",
        "",
        "| table | what it holds |",
        "|---|---|",
        "| `[sources]` | switch sources on or off (`--disable`, `--enable`, "
        f"`{ENV_PREFIX}SOURCES_<NAME>`); a declared source is a `[sources.<name>]` table |",
        "| `[fuzz]` | edits of the preset: field rates and kernels, events, clusters, "
        "`households` (see Duplicates and The population) |",
        "| `[completeness.<source>]` | percent of records holding each person column "
        "(see The population) |",
        "",
        SETTINGS_END,
    ]
    return "\n".join(out) + "\n"


def _add_settings(p: argparse.ArgumentParser, leave_out: tuple[str, ...] = ()) -> None:
    """Add the settings' flags in option groups, without the groups in ``leave_out``.

    A setting a command does not show keeps its value from vecgen.toml and the
    environment (its flag is simply not offered).
    """
    p.add_argument(
        "--config",
        type=Path,
        metavar="FILE",
        help="settings file (default: ./vecgen.toml if present)",
    )
    groups = {name: p.add_argument_group(name) for name in GROUPS if name not in leave_out}
    for s in SETTINGS:
        group = GROUP_OF[s.name]
        if group in leave_out:
            continue
        g = groups[group]
        flag = "--" + s.name.replace("_", "-")
        if s.kind == "bool":
            g.add_argument(
                flag,
                dest=s.name,
                action=argparse.BooleanOptionalAction,
                default=None,
                help=describe_setting(s),
            )
        else:
            aliases = ["--format"] if s.name == "formats" else []
            g.add_argument(
                flag,
                *aliases,
                dest=s.name,
                default=None,
                metavar=_metavar(s),
                help=describe_setting(s),
            )
    if "daily operation" not in leave_out:
        groups["daily operation"].add_argument(
            "--overwrite",
            dest="load_type",
            action="store_const",
            const="truncate",
            help="replace today's files if they are there (the same as --load-type truncate)",
        )
    names = ",".join(FLAT_NAMES)
    p.add_argument(
        "--disable",
        metavar="SOURCES",
        default=None,
        help=f"switch sources off, comma separated ({names})",
    )
    p.add_argument(
        "--enable", metavar="SOURCES", default=None, help="switch sources on, comma separated"
    )


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser."""
    root = _Parser(
        prog="vecgen",
        allow_abbrev=False,
        description="Generate related, deliberately messy customer data with ground truth.\n"
        "Without a command, 'generate' is assumed: vecgen --customers 100000",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    root.add_argument("--version", action="version", version=f"vecgen {__version__}")
    sub = root.add_subparsers(dest="command", metavar="COMMAND", parser_class=_NoAbbrevParser)
    # In the order `vecgen --help` lists them.
    _add_run_commands(sub)
    _add_report_and_database_commands(sub)
    _add_score_stats_and_upkeep_commands(sub)
    return root


def _add_run_commands(sub: Any) -> None:
    """Add generate, transactions, config, sources and schema (they read the settings)."""
    gen = sub.add_parser(
        "generate",
        help="generate the files (the default command)",
        epilog=EXAMPLES + "\n" + _EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_settings(gen)
    tx = sub.add_parser(
        "transactions",
        help="write only new transactions for customers of earlier days (--customers of them)",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_settings(tx)
    cfg = sub.add_parser("config", help="print the resolved settings as TOML")
    _add_settings(cfg)
    src = sub.add_parser("sources", help="list the sources, their files and rows per customer")
    _add_settings(src, IN_MEMORY)
    sub.add_parser("schema", help="print the JSON Schema of vecgen.toml (for editors)")


def _add_report_and_database_commands(sub: Any) -> None:
    """Add report (an HTML page of a run), ddl, load and head (a source's first rows)."""
    rp = sub.add_parser("report", help="write an HTML page (plus PNG charts) describing a run")
    _add_run_folder(rp)
    rp.add_argument(
        "--to",
        default=None,
        metavar="DIR",
        help="where to write it (default: OUT/_report, which lake readers skip)",
    )
    dd = sub.add_parser(
        "ddl", help="print CREATE TABLE statements (types, primary and foreign keys)"
    )
    _add_settings(dd, IN_MEMORY)
    dd.add_argument("--dialect", default="postgres", choices=("postgres", "duckdb"))
    ld = sub.add_parser("load", help="load today's files of --out into DuckDB or PostgreSQL")
    _add_settings(ld, ("daily operation", "scale", "Parquet"))
    ld.add_argument(
        "--dsn",
        required=True,
        help="duckdb:///run.db (a file here) or postgresql://user@host:port/db",
    )
    ld.add_argument(
        "--if-exists",
        choices=("fail", "replace", "append"),
        default="fail",
        help="tables already in the database: fail (default; nothing is loaded), replace "
        "(drop and reload them), append (add this day's rows; a day already loaded is refused)",
    )
    hd = sub.add_parser("head", help="show the first rows of a source without writing files")
    _add_settings(hd, IN_MEMORY)
    hd.add_argument("source", metavar="SOURCE", help=f"one of: {', '.join(FLAT_NAMES)}")
    hd.add_argument("-n", "--rows", type=int, default=10, help="rows to show (default: 10)")


def _add_score_stats_and_upkeep_commands(sub: Any) -> None:
    """Add score, publish, fuzz-stats, population-stats and refake."""
    sc = sub.add_parser(
        "score", help="score a matcher's pairs or clusters against a run's truth file"
    )
    sc.add_argument(
        "truth",
        metavar="TRUTH",
        help="a vecgen run's --out folder (its newest day's truth, every part) or a truth "
        "file (CSV, Parquet or JSON lines)",
    )
    sc.add_argument(
        "predictions",
        metavar="PREDICTIONS",
        help="pairs (record_id_l, record_id_r) or clusters (record_id, cluster_id), CSV or Parquet",
    )
    sc.add_argument("--json", action="store_true", help="print JSON instead of tables")
    sc.add_argument(
        "--source",
        default="customers",
        metavar="NAMES",
        help="score these sources' records, comma separated (default: customers; "
        "predictions about other sources' records are left out); 'all': one row per source",
    )
    sc.add_argument(
        "--level",
        choices=("entity", "household"),
        default="entity",
        help="a true match is the same person (entity, default) or the same household",
    )
    pub = sub.add_parser("publish", help="upload today's local files to S3 (server-side encrypted)")
    _add_settings(pub)
    pub.add_argument(
        "--to", default=None, metavar="URL", help="s3://bucket/prefix (default: publish_to)"
    )
    fs = sub.add_parser(
        "fuzz-stats",
        help="per-field change rates, fields changed, cluster sizes and kernel mix of a run",
    )
    _add_run_folder(fs)
    fs.add_argument(
        "--source",
        default="customers",
        help="customers (default), pos_customers, or a declared source with duplicates "
        "(its change rates then come from the truth's corruption log)",
    )
    fs.add_argument("--json", action="store_true", help="print JSON instead of tables")
    ps = sub.add_parser(
        "population-stats",
        help="name frequencies, places, households, shared identifiers and fill rates of a run",
    )
    _add_run_folder(ps)
    ps.add_argument("--json", action="store_true", help="print JSON instead of tables")
    ref = sub.add_parser(
        "refake",
        help="rebuild the vocabularies from mimesis and the frequency lists (docs/vocabularies.md)",
    )
    ref.add_argument(
        "--out",
        type=Path,
        default=None,
        metavar="DIR",
        help="where to write them (default: the installed package's data folder)",
    )
    ref.add_argument(
        "--locale",
        default="en",
        choices=LOCALES,
        help="which locale's vocabularies (default: en; the others come from mimesis alone)",
    )


def _flags(ns: argparse.Namespace) -> dict[str, Any]:
    flags = {s.name: getattr(ns, s.name, None) for s in SETTINGS}
    switches: dict[str, bool] = {}
    for attr, value in (("enable", True), ("disable", False)):
        for name in filter(None, (getattr(ns, attr) or "").split(",")):
            switches[name.strip()] = value
    if switches:
        flags[SOURCES_KEY] = switches
    return flags


def _day(value: str | None) -> str | None:
    """Check a --date of report, fuzz-stats or population-stats: YYYY-MM-DD or all."""
    if value is None or value == "all":
        return value
    import datetime as dt

    try:
        return dt.date.fromisoformat(value).isoformat()
    except ValueError:
        msg = f"--date must be a date YYYY-MM-DD or all, got '{value}'"
        raise ConfigError(msg) from None


def _resolve(ns: argparse.Namespace) -> Config:
    return load_config(_flags(ns), config_path=ns.config)


def _human_bytes(n: int) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.1f} {unit}" if unit != "B" else f"{n} B"
        n /= 1000  # type: ignore[assignment]
    raise AssertionError  # pragma: no cover


def _display_path(path: str) -> str:
    """Show local files relative to the working directory when they are below it."""
    import os

    if os.path.isabs(path):
        rel = os.path.relpath(path)
        return path if rel.startswith("..") else rel
    return path


def _generate(config: Config, transactions_only: bool = False) -> int:
    from vecgen.engine import run, run_transactions
    from vecgen.progress import Progress

    if config.engine == "dask" and not transactions_only:
        return _generate_dask(config)
    bar = None if config.quiet else Progress(config.customers)
    try:
        result = (run_transactions if transactions_only else run)(
            config, bar.update if bar is not None else None
        )
    finally:
        if bar is not None:
            bar.close()
    if config.quiet:
        return 0
    paths = [_display_path(f.path) for f in result.files]
    width = max(len(p) for p in paths)
    print(f"{'file':<{width}}  {'rows':>13}  {'bytes':>10}")
    for f, path in zip(result.files, paths, strict=True):
        print(f"{path:<{width}}  {f.rows:>13,}  {_human_bytes(f.bytes):>10}")
    rate = result.rows / result.seconds if result.seconds > 0 else float("inf")
    plan = result.plan
    if transactions_only:
        print(f"{result.rows:,} new transactions in {result.seconds:.2f} s = {rate:,.0f} rows/s")
        return 0
    print(
        f"{result.rows:,} rows ({plan.n_clean:,} customers, {plan.n_dupes:,} duplicates at "
        f"{plan.dupe_rate:.2f}%) in {result.seconds:.2f} s = {rate:,.0f} rows/s"
    )
    return 0


def _generate_dask(config: Config) -> int:
    import time

    from vecgen import dask_engine as vdask

    started = time.perf_counter()
    client = vdask.cluster_client(config.scheduler)
    try:

        def show(done: int, total: int) -> None:
            if not config.quiet:
                print(f"\rparts done: {done}/{total}", end="", file=sys.stderr, flush=True)

        totals = vdask.generate(config, client, progress=show)
    finally:
        client.close()
    if config.quiet:
        return 0
    print(file=sys.stderr)
    for source, rows in totals.items():
        print(f"{source:<18} {rows:>13,} rows")
    seconds = time.perf_counter() - started
    total = sum(totals.values())
    print(
        f"{total:,} rows in {config.parts} parts in {seconds:.2f} s = {total / seconds:,.0f} rows/s"
    )
    return 0


def _sources(config: Config) -> int:
    from vecgen.output.layout import final_path
    from vecgen.plan import resolve
    from vecgen.sources import SOURCES, source_for

    plan = resolve(config)
    every = {**SOURCES, **{n: source_for(config, n) for n in config.declared_names()}}
    rows = [(name, src.describe(plan)) for name, src in every.items()]
    width, said = max(len(n) for n, _ in rows), max(len(d) for _, d in rows)
    for name, text in rows:
        state = "on " if config.enabled(name) else "off"
        path = final_path(plan, config.out, name, config.formats[0])
        print(f"{name:<{width}} {state}  {text:<{said}} {path}")
    return 0


MAX_HEAD_ROWS = 1000  # head shows the first rows of one block


def _head(config: Config, source: str, rows: int) -> int:
    import polars as pl

    from vecgen.engine import generate_frames
    from vecgen.errors import ConfigError

    valid = [*FLAT_NAMES, *config.declared_names()]
    if source not in valid:
        raise ConfigError(f"unknown source '{source}'; valid sources: {', '.join(valid)}")
    if not config.enabled(source):
        raise ConfigError(f"source '{source}' is switched off in this config")
    if not 0 <= rows <= MAX_HEAD_ROWS:
        raise ConfigError(f"--rows must be from 0 to {MAX_HEAD_ROWS:,}, got {rows:,}"[:200])
    # The first block of the run is enough to show its first rows.
    frames = generate_frames(
        config.replace(
            customers=min(config.customers, 1000), state_dir="", state=False, load_type="new"
        )
    )
    with pl.Config(tbl_cols=-1, tbl_rows=rows, fmt_str_lengths=40, tbl_width_chars=240):
        print(frames[source].head(rows))
    return 0


def _publish(config: Config, to: str) -> int:
    from vecgen.errors import ConfigError
    from vecgen.publish import publish

    if not to.startswith(("s3://", "s3a://")):
        raise ConfigError(f"publish needs --to s3://bucket/prefix (or publish_to), got {to!r}")
    done = publish(config, to)
    for local, remote, size in done:
        print(f"{_display_path(local)} -> s3://{remote}  {_human_bytes(size)}")
    print(f"{len(done)} files published to {to}")
    return 0


def _refake(out: Path | None, locale: str = "en") -> int:
    from vecgen.vocab import load, vocab_dir
    from vecgen.vocab.build import build

    target = out or vocab_dir(locale)
    manifest = build(target, locale)
    load.cache_clear()
    files = manifest["files"]
    assert isinstance(files, dict)
    for name, meta in sorted(files.items()):
        print(f"{name:<22} {meta['rows']:>7,} rows  sha256 {meta['sha256'][:12]}")
    print(f"written to {target}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``vecgen`` command; returns the exit code.

    SIGTERM is handled like Ctrl-C (exit 143 instead of 130) while the
    command runs in the main thread; the previous handler is restored after.
    """
    if threading.current_thread() is not threading.main_thread():
        return _main(argv)
    previous = signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        return _main(argv)
    finally:
        signal.signal(signal.SIGTERM, previous)


def _print(found: Any, as_json: bool, render: Callable[[Any], str]) -> int:
    """Print a command's result as a table, or as JSON with ``--json``."""
    import json

    sys.stdout.write(json.dumps(found, indent=2) + "\n" if as_json else render(found))
    return 0


def _cmd_schema(ns: argparse.Namespace) -> int:
    import json

    from vecgen.config_schema import json_schema

    sys.stdout.write(json.dumps(json_schema(), indent=2) + "\n")
    return 0


def _cmd_report(ns: argparse.Namespace) -> int:
    from vecgen.report import report

    done = report(ns.out, ns.to, _day(ns.day))
    extra = (
        f" and {len(done['pngs'])} PNG charts"
        if done["pngs"]
        else " (pip install 'vecgen[report]' for PNGs)"
    )
    print(f"wrote {done['html']}{extra}")
    return 0


def _cmd_score(ns: argparse.Namespace) -> int:
    from vecgen.score import render, render_each, score, score_each_source

    if ns.source.strip() == "all":
        return _print(score_each_source(ns.truth, ns.predictions, ns.level), ns.json, render_each)
    chosen = tuple(s.strip() for s in ns.source.split(",") if s.strip())
    return _print(score(ns.truth, ns.predictions, ns.level, chosen), ns.json, render)


def _cmd_population_stats(ns: argparse.Namespace) -> int:
    from vecgen.population import population_stats, render

    return _print(population_stats(ns.out, day=_day(ns.day)), ns.json, render)


def _cmd_fuzz_stats(ns: argparse.Namespace) -> int:
    from vecgen.stats import fuzz_stats, render

    return _print(fuzz_stats(ns.out, ns.source, _day(ns.day)), ns.json, render)


def _cmd_ddl(config: Config, ns: argparse.Namespace) -> int:
    from vecgen.database import ddl

    sys.stdout.write(ddl(config, ns.dialect))
    return 0


def _cmd_load(config: Config, ns: argparse.Namespace) -> int:
    from vecgen.database import load

    for table, n in load(config, ns.dsn, ns.if_exists).items():
        print(f"{table:<18} {n:>12,} rows")
    return 0


def _cmd_config(config: Config, ns: argparse.Namespace) -> int:
    sys.stdout.write(config_toml(config))
    return 0


def _run(config: Config, ns: argparse.Namespace) -> int:
    """``generate`` (the default command) and ``transactions``."""
    return _generate(config, transactions_only=ns.command == "transactions")


# Commands that read files (no settings resolved), and those that act on settings.
_READERS: dict[str, Callable[[argparse.Namespace], int]] = {
    "refake": lambda ns: _refake(ns.out, ns.locale),
    "schema": _cmd_schema,
    "report": _cmd_report,
    "score": _cmd_score,
    "population-stats": _cmd_population_stats,
    "fuzz-stats": _cmd_fuzz_stats,
}
_COMMANDS: dict[str, Callable[[Config, argparse.Namespace], int]] = {
    "config": _cmd_config,
    "sources": lambda config, ns: _sources(config),
    "publish": lambda config, ns: _publish(config, ns.to or config.publish_to),
    "ddl": _cmd_ddl,
    "load": _cmd_load,
    "head": lambda config, ns: _head(config, ns.source, ns.rows),
}


def _main(argv: Sequence[str] | None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or (args[0] not in COMMANDS and args[0] not in ("-h", "--help", "--version")):
        args.insert(0, "generate")
    parser = build_parser()
    try:
        ns = parser.parse_args(args)
        for name, value in vars(ns).items():  # a file name or URL never holds a NUL
            words = value if isinstance(value, list) else [value]
            if any(isinstance(w, str) and "\x00" in w for w in words):
                raise ConfigError(f"'{name}' holds a NUL character; no path or name can")
        reader = _READERS.get(ns.command)
        if reader is not None:  # commands that read a run's files (no settings)
            return reader(ns)
        config = _resolve(ns)
        return _COMMANDS.get(ns.command, _run)(config, ns)
    except VecgenError as exc:
        print(safe_line(f"vecgen: error: {exc}"), file=sys.stderr)
        return EXIT_USAGE if isinstance(exc, ValueError) else EXIT_ERROR
    except KeyboardInterrupt as exc:
        pipeline = sys.modules.get("vecgen.pipeline")
        if pipeline is not None:  # a run's pools: wake their threads so the process can end
            pipeline.release_threads()
        what = "terminated" if isinstance(exc, Terminated) else "interrupted"
        if getattr(exc, "published", False):
            ending = " after the run's files were all published; they are complete"
        else:
            ending = "; no output file was changed (temporary files removed)"
        print(f"\nvecgen: {what}{ending}", file=sys.stderr)
        return EXIT_TERMINATED if isinstance(exc, Terminated) else EXIT_INTERRUPTED
    except OSError as exc:
        where = f": {exc.filename}" if getattr(exc, "filename", None) else ""
        print(safe_line(f"vecgen: error: {exc.strerror or exc}{where}"), file=sys.stderr)
        return EXIT_ERROR
    except Exception as exc:  # a bug: one line unless VECGEN_DEBUG asks for the traceback
        if os.environ.get("VECGEN_DEBUG"):
            raise
        print(
            safe_line(
                f"vecgen: internal error: {type(exc).__name__}: {exc} "
                "(this is a bug; rerun with VECGEN_DEBUG=1 for the traceback and report it)"
            ),
            file=sys.stderr,
        )
        return EXIT_ERROR


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
