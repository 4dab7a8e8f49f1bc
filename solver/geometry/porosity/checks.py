"""Argument checks shared by the porosity modules: CaseError naming the argument, value and what is allowed."""
from __future__ import annotations

import math
from typing import Any

from solver.errors import CaseError


def bad(name: str, value: Any, allowed: str) -> CaseError:
    """The CaseError for argument `name` = `value`, saying what is allowed."""
    return CaseError(f"{name} = {value!r}: {allowed}")


def finite_float(name: str, value: Any) -> float:
    """`value` as a finite float, else the CaseError naming `name`."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise bad(name, value, "must be a number") from None
    if not math.isfinite(v):
        raise bad(name, value, "must be finite")
    return v
