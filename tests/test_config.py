from __future__ import annotations

import dataclasses
import datetime as dt
import re
import tomllib
from pathlib import Path

import pytest

from vecgen.config import SETTINGS, Config, config_toml, load_config
from vecgen.errors import ConfigError


def write(tmp_path: Path, text: str) -> Path:
    (tmp_path / "vecgen.toml").write_text(text)
    return tmp_path


def test_defaults_match_the_predecessor(tmp_path: Path) -> None:
    c = load_config(cwd=tmp_path, environ={})
    assert (c.customers, c.dupe_rate, c.max_trans_per_customer, c.points_earned) == (
        1000,
        15.0,
        4,
        2.0,
    )
    # The predecessor replaced today's files silently; vecgen stops unless told (issue 16).
    assert (c.load_type, c.trans_type, c.formats, c.layout) == (
        "new",
        "full",
        ("csv",),
        "lake",
    )
    assert all(on for _, on in c.sources)


def test_precedence_file_then_env_then_flags(tmp_path: Path) -> None:
    write(tmp_path, "customers = 10\ndupe_rate = 1\nseed = 4\n[sources]\ntruth = false\n")
    env = {"VECGEN_DUPE_RATE": "2", "VECGEN_SEED": "5"}
    c = load_config({"seed": "6"}, cwd=tmp_path, environ=env)
    assert (c.customers, c.dupe_rate, c.seed) == (10, 2.0, 6)
    assert not c.enabled("truth")
    c = load_config(
        {"sources": {"truth": True}}, cwd=tmp_path, environ={"VECGEN_SOURCES_TRANSACTIONS": "off"}
    )
    assert c.enabled("truth") and not c.enabled("transactions")


def test_unknown_key_names_the_key_file_and_closest_match(tmp_path: Path) -> None:
    write(tmp_path, "dupe_rat = 3\n")
    with pytest.raises(
        ConfigError, match=r"unknown key 'dupe_rat' in .*vecgen.toml; did you mean 'dupe_rate'"
    ):
        load_config(cwd=tmp_path, environ={})


@pytest.mark.parametrize(
    ("text", "pattern"),
    [
        ("customers = -5", r"'customers' must be an integer from 0 to"),
        ("customers = 'many'", r"'customers' must be an integer"),
        ("customers = 1.5", r"'customers' must be an integer"),
        ("customers = true", r"'customers' must be an integer"),
        ("dupe_rate = 140", r"'dupe_rate' must be a number from 0 to 100, got 140"),
        ("load_type = 'merge'", r"'load_type' must be one of new, truncate, append"),
        (
            "load_type = 'append'\nstate = false",
            r"'append' needs state \(IDs would repeat\); drop --no-state",
        ),
        ("formats = ['csv', 'xml']", r"'formats' must be a list of csv, parquet, jsonl"),
        ("formats = []", r"'formats' must be a non-empty list"),
        ("alpha_key = 'maybe'", r"'alpha_key' must be true or false"),
        ("date = '2026-13-01'", r"'date' must be a date YYYY-MM-DD"),
        ("batch_size = 0", r"'batch_size' must be an integer from 1"),
        (
            "[sources]\ntransaction = false",
            r"'sources.transaction' is not a source .*did you mean 'transactions'",
        ),
        ("[sources]\ntruth = 3", r"'sources.truth' must be true or false"),
        (
            "[sources]\ncustomers = false",
            r"'sources.transactions' is on but needs customers, which is off",
        ),
        (
            "[sources]\npos_customers = false",
            r"'sources.pos_transactions' is on but needs pos_customers",
        ),
        ("sources = 3", r"'sources' must be a table"),
        ('state_dir = "s\\u0000"', r"'state_dir' must be text without NUL characters"),
        ('out = "o\\u0000"', r"'out' must be text without NUL characters"),
        ("customers = [", r"is not valid TOML"),
    ],
)
def test_bad_values_are_clear_errors(tmp_path: Path, text: str, pattern: str) -> None:
    write(tmp_path, text + "\n")
    with pytest.raises(ConfigError, match=pattern):
        load_config(cwd=tmp_path, environ={})


def test_env_errors_name_the_variable(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"'customers' must be an integer.*from environment"):
        load_config(cwd=tmp_path, environ={"VECGEN_CUSTOMERS": "lots"})
    with pytest.raises(
        ConfigError,
        match=r"unknown environment variable VECGEN_CUSTOMER; did you mean 'VECGEN_CUSTOMERS'",
    ):
        load_config(cwd=tmp_path, environ={"VECGEN_CUSTOMER": "3"})


def test_missing_explicit_config_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(config_path=tmp_path / "nope.toml", environ={})


def test_config_is_frozen_and_validated_on_replace() -> None:
    c = Config()
    with pytest.raises(dataclasses.FrozenInstanceError):
        c.customers = 5  # type: ignore[misc]
    with pytest.raises(ConfigError):
        c.replace(dupe_rate=-1)


def test_printed_config_round_trips(tmp_path: Path) -> None:
    c = Config(
        customers=7,
        formats=("csv", "parquet"),
        date=dt.date(2026, 1, 2),
        sources=(("truth", False),),
    )
    text = config_toml(c)
    (tmp_path / "vecgen.toml").write_text(text)
    # Folders are resolved against the config file's folder when loaded.
    expected = c.replace(tracer_dir=str((tmp_path / "tracer").resolve()))
    assert load_config(cwd=tmp_path, environ={}) == expected
    assert tomllib.loads(text)["sources"]["truth"] is False


def test_every_setting_has_help_and_a_default_that_validates() -> None:
    for s in SETTINGS:
        assert s.help
    Config()  # defaults are valid


def test_a_saved_config_pins_neither_today_nor_this_folder(tmp_path: Path) -> None:
    from tests.conftest import run_cli

    r = run_cli("config", "--seed", "4", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    table = tomllib.loads(r.stdout)
    # Only what was set: no date, no folders, nothing at its default (a daily job moves on).
    assert table == {"seed": 4}
    assert "# date is not set: each run uses its own day (UTC)" in r.stdout
    (tmp_path / "job").mkdir()
    (tmp_path / "job" / "vecgen.toml").write_text(r.stdout)
    loaded = load_config(cwd=tmp_path / "job", environ={})
    assert loaded.date is None and loaded.seed == 4
    assert loaded.state_dir == "" and not loaded.state and loaded.state_folder() is None
    # An explicit folder is printed as set.
    r = run_cli("config", "--state-dir", "elsewhere", cwd=tmp_path)
    assert tomllib.loads(r.stdout)["state_dir"] == str((tmp_path / "elsewhere").resolve())


def test_a_printed_config_with_declared_sources_and_fuzz_edits_loads_back_the_same(
    tmp_path: Path,
) -> None:
    example = Path(__file__).parent.parent / "examples" / "support_tickets.toml"
    text = example.read_text() + "\n[fuzz]\nhouseholds = {1 = 80, 2 = 20}\n"
    (tmp_path / "vecgen.toml").write_text(text)
    first = load_config(cwd=tmp_path, environ={})
    printed = config_toml(first)
    (tmp_path / "again").mkdir()
    (tmp_path / "again" / "vecgen.toml").write_text(printed)
    again = load_config(cwd=tmp_path / "again", environ={})
    assert again.replace(tracer_dir=first.tracer_dir) == first
    assert tomllib.loads(printed)["fuzz"] == {"households": {"1": 80, "2": 20}}


def test_the_settings_table_and_config_agree_on_every_default() -> None:
    import dataclasses

    fields = {f.name: f for f in dataclasses.fields(Config)}
    for s in SETTINGS:
        assert s.name in fields, s.name
        f = fields[s.name]
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()  # type: ignore[misc]
        assert default == s.default, (s.name, default, s.default)


def test_a_mistyped_config_argument_gets_a_suggestion() -> None:
    with pytest.raises(
        ConfigError, match=r"unknown setting 'customer'; did you mean 'customers'\?"
    ):
        Config(customer=10)  # type: ignore[call-arg]
    with pytest.raises(ConfigError, match=r"did you mean 'seed'"):
        Config().replace(sed=3)


@pytest.mark.parametrize(
    ("content", "why"),
    [
        (
            "customers = 5\nname = 'Jos\xe9'\n".encode("latin-1"),
            "is not UTF-8 text (byte 0xe9 at offset",
        ),
        ("customers = 5\n".encode("utf-16"), "is not UTF-8 text"),
        (("x = " + "[" * 500 + "]" * 500 + "\n").encode(), "nests tables or arrays"),
        (b"\x00\x01\x02binary", "is not valid TOML"),
        ("fifo", "is not a regular file"),
    ],
)
def test_a_config_file_that_is_not_what_it_claims_is_one_line(
    tmp_path: Path, content: bytes | str, why: str
) -> None:
    import os

    from tests.conftest import run_cli

    path = tmp_path / "vecgen.toml"
    if content == "fifo":
        os.mkfifo(path)
    else:
        assert isinstance(content, bytes)
        path.write_bytes(content)
    with pytest.raises(ConfigError, match=re.escape(why)):
        load_config(config_path=path, cwd=tmp_path, environ={})
    for how in (("--config", str(path)), ()):
        env = {} if how else {"VECGEN_CONFIG": str(path)}
        r = run_cli("--customers", "10", *how, cwd=tmp_path, env=env)
        assert r.returncode == 2 and why in r.stderr and r.stderr.count("\n") == 1, r.stderr


@pytest.mark.parametrize(
    ("fuzz", "why"),
    [
        ('fields_changed = {"²" = 1}', "keys must be field counts 1..16, got '²'"),
        ("fields_changed = {1 = 0}", "'fuzz.fields_changed' weights must not all be 0"),
        ("[fuzz.fields.birth_dt]\nkernels = {gender_flip = 1}", "birth_dt is a date"),
        ("[fuzz.fields.city]\nkernels = {date_year = 1}", "date_year changes dates"),
        ('[fuzz.fields.city]\nfallback = "date_jan1"', "date_jan1 changes dates"),
    ],
)
def test_a_fuzz_table_that_would_fail_in_generation_is_refused_up_front(
    tmp_path: Path, fuzz: str, why: str
) -> None:
    (tmp_path / "vecgen.toml").write_text(f'fuzz_profile = "medium"\n[fuzz]\n{fuzz}\n')
    with pytest.raises(ConfigError, match=re.escape(why)):
        load_config(cwd=tmp_path, environ={})


def test_a_tilde_is_never_taken_for_the_home_folder(tmp_path: Path) -> None:
    for key in ("out", "state_dir", "tracer_dir"):
        with pytest.raises(ConfigError, match=rf"'{key}' starts with '~', which vecgen does not"):
            load_config({key: "~/data"}, cwd=tmp_path, environ={})
    assert load_config({"out": "./~"}, cwd=tmp_path, environ={}).out == "./~"


def test_a_printed_config_with_control_characters_loads_back_the_same(tmp_path: Path) -> None:
    first = Config(out="a\nb\x7f\x1bc d", publish_to='s3://x/"q"\\', seed=3)
    (tmp_path / "vecgen.toml").write_text(config_toml(first))
    again = load_config(cwd=tmp_path, environ={})
    assert (again.out, again.publish_to, again.seed) == (first.out, first.publish_to, 3)


def test_vecgen_config_never_writes_a_password_inside_a_url() -> None:
    text = config_toml(
        Config(vault_addr="https://me:hunter2@vault:8200", scheduler="tcp://u:pw@s:8786")
    )
    assert "hunter2" not in text and "pw@" not in text
    assert "# vault_addr holds a password (not shown): set it in VECGEN_VAULT_ADDR" in text
    assert 'vault_addr = "https://vault:8200"' not in text  # not half-written either
    plain = config_toml(Config(vault_addr="https://vault:8200"))
    assert 'vault_addr = "https://vault:8200"' in plain


@pytest.mark.parametrize(
    "raw",
    [{"sources": {"x\n": True}}, {"customers\r": 5}, {"fuzz_profile": "medium\x00"}],
)
def test_a_control_character_in_a_key_or_value_stays_on_one_line(raw: dict[str, object]) -> None:
    # Found by the CLI campaign at full size: "'sources.\n' is not a source" broke the line.
    with pytest.raises(ConfigError) as caught:
        load_config(raw, cwd=Path("/nonexistent-vecgen-dir"), environ={})
    text = str(caught.value)
    assert "\n" not in text and "\r" not in text and "\x00" not in text
    assert "\\n" in text or "\\r" in text or "\\x00" in text
