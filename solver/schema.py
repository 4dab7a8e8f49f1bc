"""Declarative key tables for every case section: types, defaults, checks, unit-suffixed keys.

One `Option` per key; `validate_table` checks a table against a list of them and returns the normalised
dict (defaults filled, numbers as float, unit-suffixed keys in SI). Bad input raises one CaseError that
names the dotted key, the value and what is allowed. A length option named `radius` is written
`radius_um` (or `radius_m`) in a case file and comes out as `radius_m`; validation is idempotent, so an
already normalised dict validates to itself.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any, Callable

from solver.errors import CaseError, printable
from solver.units import GPA_TO_PA, MPA_TO_PA, UM_TO_M

REQUIRED = object()

#: unit suffix -> factor to SI, per physical dimension
UNIT_SUFFIXES = {
    "length": {"_um": UM_TO_M, "_m": 1.0},
    "volume": {"_um3": UM_TO_M**3, "_m3": 1.0},
    "pressure": {"_Pa": 1.0, "_MPa": MPA_TO_PA, "_GPa": GPA_TO_PA},
}
SI_SUFFIX = {"length": "_m", "volume": "_m3", "pressure": "_Pa"}

# Allowed types. FLOAT accepts whole numbers and stores them as float; NUMBER (int and float) keeps the
# number as written. bool is an int in Python, but never counts as a number: true is not 1.
FLOAT = (float,)
NUMBER = (int, float)
INT = (int,)
BOOL = (bool,)
STR = (str,)
LIST = (list,)
TABLE = (dict,)


@dataclass(frozen=True)
class Option:
    """One key of a table. `default=None` makes it optional (None given counts as absent); `dimension`
    ("length"/"volume"/"pressure") makes it a unit-suffixed key, stored in SI; `units` narrows the suffixes a
    case file may use (default: all of the dimension's, e.g. ("_MPa",) for a key users write in MPa).
    `check` returns None when the value is fine, else the "must be ..." text; it sees the value in SI."""
    name: str
    types: tuple
    default: Any = REQUIRED
    check: Callable[[Any], str | None] | None = None
    choices: tuple = ()
    dimension: str | None = None
    help: str = ""
    units: tuple[str, ...] = ()

    def keys(self) -> list[str]:
        """The keys a case file may write this option under (one per allowed unit suffix)."""
        if self.dimension is None:
            return [self.name]
        return [self.name + suffix for suffix in self.units or UNIT_SUFFIXES[self.dimension]]

    @property
    def out_key(self) -> str:
        return self.name + SI_SUFFIX[self.dimension] if self.dimension else self.name


def is_real(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


# -- the general bounds of every number a case may hold ------------------------------------------------
#: A number is 0 or of magnitude within these: products and quotients of a few of them (t_end = tau R^2 / D,
#: a surface flux, a stiffness) stay finite floats, so nothing downstream overflows to inf (summary.json would
#: then hold `Infinity`, which is not JSON) or underflows to 0 (radius_um = 5e-324 would become radius_m = 0).
#: An int of 10**400 has no float at all (float() raises OverflowError); this rejects it first.
MAGNITUDE_RANGE = (1e-100, 1e100)
#: whole numbers go on to numpy and gmsh as 64-bit integers; counts that size arrays or loops have tighter
#: maxima of their own (whole_number(...))
INT_LIMIT = 2**63 - 1


def number_problem(value, whole: bool = False) -> str | None:
    """None for a number within the general bounds, else the "must be ..." text (`whole`: an INT option)."""
    if not is_real(value):
        return "must be a number"
    if whole:
        return None if abs(value) <= INT_LIMIT else f"must be a whole number within +-{INT_LIMIT} (64-bit)"
    low, high = MAGNITUDE_RANGE
    # ints are compared exactly (no float() of a huge int); nan fails every comparison
    if value == 0 or low <= abs(value) <= high:
        return None
    return f"must be finite, 0 or of magnitude within [{low:g}, {high:g}]"


def is_number(value) -> bool:
    """A real number (not a bool) within the general bounds: what a list of numbers in a case may hold."""
    return is_real(value) and number_problem(value) is None


# -- checks: each returns None when fine, else the "what is allowed" text ------------------------------
def rule(test: Callable[[Any], bool], allowed: str) -> Callable[[Any], str | None]:
    """A check from a predicate and the text of what it allows ("> 0", "in [0, 1] (c in [0, c_max])"); the
    text is also its `allowed` attribute, which the key reference (solver/keyref.py) prints."""
    def check(value):
        return None if test(value) else f"must be {allowed}"

    check.allowed = allowed
    return check


positive = rule(lambda v: v > 0, "> 0")
non_negative = rule(lambda v: v >= 0, ">= 0")
fraction_open = rule(lambda v: 0 < v < 1, "in (0, 1)")
fraction_closed = rule(lambda v: 0 <= v <= 1, "in [0, 1]")
fraction_half_open = rule(lambda v: 0 <= v < 1, "in [0, 1)")
fraction_unit = rule(lambda v: 0 < v <= 1, "in (0, 1]")


def all_of(*checks: Callable[[Any], str | None]) -> Callable[[Any], str | None]:
    """The first problem of several checks: `all_of(positive, range)` says "> 0" for -1, the range for 1e-9."""
    def check(value):
        return next(filter(None, (one(value) for one in checks)), None)

    check.allowed = " and ".join(one.allowed for one in checks if getattr(one, "allowed", None))
    return check


def at_least(minimum) -> Callable[[Any], str | None]:
    return rule(lambda v: v >= minimum, f">= {minimum}")


def whole_number(low: int, high: int, why: str = "") -> Callable[[Any], str | None]:
    """A count with an explicit maximum (stated in the message): a count sizes arrays, loops or files, and
    2**63 - 1 time steps would be accepted otherwise and fail at run time (MemoryError)."""
    return rule(lambda v: low <= v <= high, f"a whole number in [{low}, {high}]" + (f" ({why})" if why else ""))


def positive_numbers(value) -> str | None:
    return None if all(is_number(v) and v > 0 for v in value) else "must be a list of numbers > 0"


def number_pair(value) -> str | None:
    if len(value) != 2 or not all(is_number(v) for v in value) or not 0 < value[0] <= value[1]:
        return "must be [low, high] with 0 < low <= high"
    return None


positive_numbers.allowed = "a list of numbers > 0"
number_pair.allowed = "[low, high] with 0 < low <= high"


def _type_ok(value, types: tuple) -> bool:
    if float in types and is_real(value):
        return True
    if int in types and isinstance(value, int) and not isinstance(value, bool):
        return True
    if bool in types and isinstance(value, bool):
        return True
    if value is None and type(None) in types:
        return True
    return any(isinstance(value, t) for t in types if t not in (float, int, bool, type(None)))


def _type_words(types: tuple) -> str:
    words = {float: "a number", int: "a whole number", bool: "true/false", str: "a string",
             list: "a list", dict: "a table", type(None): "absent"}
    shown = [t for t in types if not (t is int and float in types)]  # NUMBER reads "a number"
    return " or ".join(words.get(t, t.__name__) for t in shown)


#: longest echo of a value in a message: a message stays one short line even for a 5000-character string,
#: and a file that is not a case is not printed back
SHOWN_CHARS = 80


def _cut(text: str) -> str:
    return text if len(text) <= SHOWN_CHARS else text[:SHOWN_CHARS - 3] + "..."


def shown(value) -> str:
    """repr(value), cut to SHOWN_CHARS."""
    return _cut(repr(value))


def shown_text(key) -> str:
    """Text as written (a dotted key, a message from gmsh), printable and cut to SHOWN_CHARS."""
    return _cut(printable(str(key)))


def bad(prefix: str, key: str, value, allowed: str) -> CaseError:
    return CaseError(f"{prefix}.{shown_text(key)} = {shown(value)}: {allowed}")


def _checked(prefix: str, key: str, value, opt: Option):
    """The value of a given key, checked and converted to what the normalised dict holds."""
    if not _type_ok(value, opt.types):
        raise bad(prefix, key, value, f"must be {_type_words(opt.types)}")
    if opt.choices and value not in opt.choices:
        raise bad(prefix, key, value, "must be one of " + ", ".join(repr(c) for c in opt.choices))
    if is_real(value):
        problem = number_problem(value, whole=INT == opt.types)
        if problem:
            raise bad(prefix, key, value, problem)
    converted = value
    if opt.dimension and (is_real(value) or (isinstance(value, list) and all(map(is_number, value)))):
        factor = UNIT_SUFFIXES[opt.dimension][key[len(opt.name):]]
        converted = [float(v) * factor for v in value] if isinstance(value, list) else float(value) * factor
        # the converted value must hold the general bounds too (1e-100 um is 1e-106 m)
        problem = next(filter(None, map(number_problem, converted if isinstance(value, list) else [converted])),
                       None)
        if problem:
            raise bad(prefix, key, value, problem + " after conversion to SI")
    elif float in opt.types and int not in opt.types and is_real(value):
        converted = float(value)
    # checked in SI: bounds such as the radius's are physical, whatever unit the file used
    problem = opt.check(converted) if opt.check is not None else None
    if problem:
        raise bad(prefix, key, value, problem)
    return converted


def validate_table(table: dict, options: list[Option], prefix: str, ignore: tuple = (),
                   quote_unknown: bool = False) -> dict:
    """Check `table` against `options`; returns {out_key: value} with defaults filled and units in SI.
    An unknown key is named with its value only with `quote_unknown` (the [geometry] and [mesh] wording)."""
    if not isinstance(table, dict):
        raise CaseError(f"[{prefix}] = {shown(table)}: must be a table")
    by_key = {key: opt for opt in options for key in opt.keys()}
    for key in table:
        if key not in by_key and key not in ignore:
            allowed = "unknown key; allowed keys are " + ", ".join(sorted(by_key))
            if quote_unknown:
                raise bad(prefix, key, table[key], allowed)
            raise CaseError(f"{prefix}.{shown_text(key)}: {allowed}")
    out = {}
    for opt in options:
        given = [key for key in opt.keys()
                 if key in table and not (table[key] is None and opt.default is None)]
        if len(given) > 1:
            raise bad(prefix, given[1], table[given[1]], f"give only one of {', '.join(given)}")
        if given:
            out[opt.out_key] = _checked(prefix, given[0], table[given[0]], opt)
        elif opt.default is REQUIRED:
            raise CaseError(f"{prefix}.{opt.keys()[0]}: missing; it is required"
                            + (f" ({opt.help})" if opt.help else ""))
        else:
            out[opt.out_key] = copy.deepcopy(opt.default)  # a default list must not be shared between cases
    return out


def require_exactly_one(table: dict, prefix: str, names: list[str], shown: list[str]) -> str:
    """Of the normalised keys `names` (written `shown` in case files) exactly one must be set."""
    present = [s for n, s in zip(names, shown) if table.get(n) is not None]
    if len(present) != 1:
        raise CaseError(f"{prefix}: give exactly one of {', '.join(shown)} (got "
                        f"{', '.join(present) if present else 'none'})")
    return names[shown.index(present[0])]
