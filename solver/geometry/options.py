"""Declarative option tables for [geometry] and [mesh]: types, defaults, checks, unit handling.

A length option named `radius` is written `radius_um` (or `radius_m`) in a case file and comes out of
validation as `radius_m`; validation is idempotent, so an already normalised dict validates to itself.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable

from solver.errors import CaseError
from solver.units import UM_TO_M

REQUIRED = object()

#: unit suffix -> factor to SI, per physical dimension
UNIT_SUFFIXES = {
    "length": {"_um": UM_TO_M, "_m": 1.0},
    "volume": {"_um3": UM_TO_M**3, "_m3": 1.0},
}
SI_SUFFIX = {"length": "_m", "volume": "_m3"}


@dataclass(frozen=True)
class Option:
    """One key of a table. `dimension` ("length"/"volume") makes it a unit-suffixed key, stored in SI."""
    name: str
    types: tuple
    default: Any = REQUIRED
    check: Callable[[Any], str | None] | None = None
    choices: tuple = ()
    dimension: str | None = None
    help: str = ""

    def keys(self) -> list[str]:
        if self.dimension is None:
            return [self.name]
        return [self.name + suffix for suffix in UNIT_SUFFIXES[self.dimension]]

    @property
    def out_key(self) -> str:
        return self.name + SI_SUFFIX[self.dimension] if self.dimension else self.name


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


# -- checks: each returns None when fine, else the "what is allowed" text ------------------------------
def positive(value) -> str | None:
    return None if value > 0 else "must be > 0"


def non_negative(value) -> str | None:
    return None if value >= 0 else "must be >= 0"


def fraction_open(value) -> str | None:
    return None if 0 < value < 1 else "must be in (0, 1)"


def fraction_closed(value) -> str | None:
    return None if 0 <= value <= 1 else "must be in [0, 1]"


def fraction_half_open(value) -> str | None:
    return None if 0 <= value < 1 else "must be in [0, 1)"


def at_least(minimum) -> Callable[[Any], str | None]:
    return lambda value: None if value >= minimum else f"must be >= {minimum}"


def positive_numbers(value) -> str | None:
    return None if all(_is_number(v) and v > 0 for v in value) else "must be a list of numbers > 0"


def number_pair(value) -> str | None:
    if len(value) != 2 or not all(_is_number(v) for v in value) or not 0 < value[0] <= value[1]:
        return "must be [low, high] with 0 < low <= high"
    return None


FLOAT = (float,)
INT = (int,)
BOOL = (bool,)
STR = (str,)
LIST = (list,)
TABLE = (dict,)


def _type_ok(value, types: tuple) -> bool:
    if float in types and _is_number(value):
        return True
    if int in types and isinstance(value, int) and not isinstance(value, bool):
        return True
    if bool in types and isinstance(value, bool):
        return True
    if value is None and type(None) in types:
        return True
    return any(isinstance(value, t) for t in types if t not in (float, int, bool, type(None)))


def _type_words(types: tuple) -> str:
    words = {float: "a number", int: "an integer", bool: "true or false", str: "a string",
             list: "a list", dict: "a table", type(None): "absent"}
    return " or ".join(words.get(t, t.__name__) for t in types)


def bad(prefix: str, key: str, value, allowed: str) -> CaseError:
    return CaseError(f"{prefix}.{key} = {value!r}: {allowed}")


def validate_table(table: dict, options: list[Option], prefix: str, ignore: tuple = ()) -> dict:
    """Check `table` against `options`; returns {out_key: value} with defaults filled and units in SI."""
    if not isinstance(table, dict):
        raise CaseError(f"[{prefix}] = {table!r}: must be a table")
    by_key = {key: opt for opt in options for key in opt.keys()}
    for key in table:
        if key not in by_key and key not in ignore:
            raise bad(prefix, key, table[key], "unknown key; allowed are " + ", ".join(sorted(by_key)))
    out = {}
    for opt in options:
        given = [key for key in opt.keys()
                 if key in table and not (table[key] is None and opt.default is None)]
        if len(given) > 1:
            raise bad(prefix, given[1], table[given[1]], f"give only one of {', '.join(given)}")
        if not given:
            if opt.default is REQUIRED:
                raise CaseError(f"{prefix}.{opt.keys()[0]}: missing; it is required"
                                + (f" ({opt.help})" if opt.help else ""))
            out[opt.out_key] = opt.default
            continue
        key = given[0]
        value = table[key]
        if not _type_ok(value, opt.types):
            raise bad(prefix, key, value, f"must be {_type_words(opt.types)}")
        if opt.choices and value not in opt.choices:
            raise bad(prefix, key, value, "must be one of " + ", ".join(repr(c) for c in opt.choices))
        if opt.check is not None:
            problem = opt.check(value)
            if problem:
                raise bad(prefix, key, value, problem)
        if opt.dimension:
            factor = UNIT_SUFFIXES[opt.dimension][key[len(opt.name):]]
            value = [float(v) * factor for v in value] if isinstance(value, list) else float(value) * factor
        elif float in opt.types and int not in opt.types and _is_number(value):
            value = float(value)
        out[opt.out_key] = value
    return out


def require_exactly_one(table: dict, prefix: str, names: list[str], shown: list[str]) -> str:
    """Of the normalised keys `names` (written `shown` in case files) exactly one must be set."""
    present = [s for n, s in zip(names, shown) if table.get(n) is not None]
    if len(present) != 1:
        raise CaseError(f"{prefix}: give exactly one of {', '.join(shown)} (got "
                        f"{', '.join(present) if present else 'none'})")
    return names[shown.index(present[0])]


@dataclass(frozen=True)
class KindSpec:
    """A geometry kind: its options and the function that builds it on the current gmsh model."""
    name: str
    options: list[Option]
    build: Callable
    summary: str
    check: Callable[[dict], None] | None = None   # cross-option checks on the normalised dict
