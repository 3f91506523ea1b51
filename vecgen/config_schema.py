"""``vecgen schema``: the JSON Schema of ``vecgen.toml``, from the same settings table as validation."""

from __future__ import annotations

from typing import Any

from vecgen.catalog import SWITCHABLE
from vecgen.config import SETTINGS, Setting

_TYPES = {
    "int": "integer",
    "float": "number",
    "bool": "boolean",
    "str": "string",
    "path": "string",
    "secret": "string",
    "choice": "string",
    "date": "string",
}


def _property(s: Setting) -> dict[str, Any]:
    prop: dict[str, Any] = {"description": s.help}
    if s.kind == "list":
        prop.update(
            {
                "type": "array",
                "items": {"enum": list(s.choices)},
                "minItems": 1,
                "uniqueItems": True,
            }
        )
    else:
        prop["type"] = _TYPES[s.kind]
    if s.kind in ("int", "float") and s.low is not None and s.high is not None:
        prop.update({"minimum": s.low, "maximum": s.high})
    if s.kind == "choice":
        prop["enum"] = list(s.choices)
    if s.kind == "date":
        prop["format"] = "date"
    if s.default not in (None, ""):
        prop["default"] = list(s.default) if isinstance(s.default, tuple) else s.default
    return prop


def json_schema() -> dict[str, Any]:
    """Return the JSON Schema (draft 2020-12) of ``vecgen.toml``.

    Examples
    --------
    >>> schema = json_schema()
    >>> schema["properties"]["dupe_rate"]["maximum"], schema["additionalProperties"]
    (100, False)

    """
    properties = {s.name: _property(s) for s in SETTINGS}
    from vecgen.spec import KINDS, ROW_PARENTS, TABLE_KEYS

    declared = {
        "description": "a declared source (see docs/declared.md)",
        "type": "object",
        "properties": {
            **{k: {} for k in sorted(TABLE_KEYS)},
            "parent": {
                "type": "string",
                "description": "customers (default), "
                + ", ".join(ROW_PARENTS)
                + " or a declared source listed before this one",
            },
            "columns": {
                "type": "object",
                "additionalProperties": {
                    "type": "object",
                    "properties": {"kind": {"enum": list(KINDS)}},
                    "required": ["kind"],
                },
            },
        },
        "required": ["columns"],
        "additionalProperties": False,
    }
    properties["sources"] = {
        "description": "switch built-in sources on or off; a table declares a new source",
        "type": "object",
        "properties": {name: {"type": "boolean"} for name in SWITCHABLE},
        "additionalProperties": declared,
    }
    properties["fuzz"] = {
        "description": "edits of the fuzz profile (see docs/duplicates.md)",
        "type": "object",
        "properties": {
            "fields_changed": {
                "type": "object",
                "additionalProperties": {"type": "number", "minimum": 0},
            },
            "cluster_size": {"type": "string", "pattern": "^(fixed|uniform|poisson|zipf):[0-9.]+$"},
            "cluster_max": {"type": "integer", "minimum": 1, "maximum": 1000},
            "dupe_of_dupe": {"type": "number", "minimum": 0, "maximum": 100},
            "lookalikes": {"type": "number", "minimum": 0, "maximum": 100},
            "events": {
                "type": "object",
                "additionalProperties": {"type": "number", "minimum": 0, "maximum": 100},
            },
            "fields": {
                "type": "object",
                "additionalProperties": {
                    "type": "object",
                    "properties": {
                        "kernels": {
                            "type": "object",
                            "additionalProperties": {"type": "number", "minimum": 0},
                        },
                        "rate": {"type": "number", "minimum": 0, "maximum": 100},
                        "fallback": {"type": "string"},
                    },
                    "additionalProperties": False,
                },
            },
        },
        "additionalProperties": False,
    }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://vecgen.invalid/vecgen.toml.schema.json",
        "title": "vecgen.toml",
        "description": "Settings of vecgen, a generator of related, messy customer data with ground truth.",
        "type": "object",
        "properties": properties,
        "additionalProperties": False,
    }
