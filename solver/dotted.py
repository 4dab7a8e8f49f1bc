"""Dotted case keys ("material.young_modulus_GPa"): flatten nested tables, set a value at a key.

Used by the Python API (Case.with_overrides with a dict) and by sweep files, where a key may be written
quoted ("operation.c_rate" = ...) or as TOML dotted keys (operation.c_rate = ...): both mean the same.
"""
from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from solver.errors import CaseError


def dotted_items(table: Mapping, prefix: str = "") -> dict[str, Any]:
    """{"a": {"b": 1, "c": {}}} -> {"a.b": 1, "a.c": {}} (an empty table is a value, not a level)."""
    flat = {}
    for key, value in table.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            flat.update(dotted_items(value, name + "."))
        else:
            flat[name] = value
    return flat


def set_dotted(raw: dict, key: str, value: Any) -> None:
    """raw["a"]["b"]["c"] = value for key "a.b.c", creating tables on the way."""
    parts = key.split(".")
    if not key or any(not part for part in parts):
        raise CaseError(f"{key!r}: an override key must look like section.key")
    table = raw
    for depth, part in enumerate(parts[:-1]):
        table = table.setdefault(part, {})
        if not isinstance(table, dict):
            raise CaseError(f"{key}: {'.'.join(parts[:depth + 1])} is not a table")
    table[parts[-1]] = copy.deepcopy(value)
