"""Round numbers for ticks and scale bars, and the number/range/time texts on the pictures."""
from __future__ import annotations

import math

import numpy as np


def nice_number(x: float) -> float:
    """Largest of 1, 2, 5 x 10^k not above x."""
    if x <= 0 or not math.isfinite(x):
        return 1.0
    k = math.floor(math.log10(x))
    for m in (5.0, 2.0, 1.0):
        if m * 10**k <= x:
            return m * 10**k
    return 10**k


def nice_step(x: float) -> float:
    """Smallest of 1, 2, 5 x 10^k not below x."""
    if x <= 0 or not math.isfinite(x):
        return 1.0
    k = math.floor(math.log10(x))
    for m in (1.0, 2.0, 5.0, 10.0):
        if m * 10**k >= x * (1 - 1e-12):
            return m * 10**k
    return 10 ** (k + 1)


def nice_ticks(lo: float, hi: float, target: int = 8) -> tuple[np.ndarray, str]:
    """Round tick values inside [lo, hi] and a printf format that shows them exactly."""
    step = nice_step((hi - lo) / target)
    first = math.ceil(lo / step - 1e-9) * step
    ticks = np.arange(first, hi + 1e-9 * step, step)
    ticks[np.abs(ticks) < 1e-9 * step] = 0.0
    decimals = max(0, -int(math.floor(math.log10(step) + 1e-9)))
    return ticks, f"%.{decimals}f"


def format_range(lo: float, hi: float, unit: str) -> str:
    """'lo to hi unit' with as many decimals as the span needs."""
    span = abs(hi - lo) or max(abs(lo), abs(hi))
    if span == 0 or not math.isfinite(span):
        return f"{lo:g} to {hi:g} {unit}".strip()
    decimals = max(0, 1 - int(math.floor(math.log10(span / 10))))
    decimals = min(decimals, 6)
    return f"{lo:.{decimals}f} to {hi:.{decimals}f} {unit}".strip()


def format_number(v: float, unit: str = "") -> str:
    """A number for a label, with a precision that suits its magnitude, and its unit."""
    a = abs(v)
    if a == 0 or not math.isfinite(v):
        s = f"{v:g}"
    elif a >= 100:
        s = f"{v:.0f}"
    elif a >= 10:
        s = f"{v:.1f}"
    elif a >= 0.01:
        s = f"{v:.3g}"
    else:
        s = f"{v:.2e}"
    return f"{s} {unit}".strip()


def format_time(t_s: float | None) -> str:
    """"t = ..." in s, min or h, whichever reads best."""
    if t_s is None or not math.isfinite(t_s):
        return "t = ?"
    if abs(t_s) < 120:
        return f"t = {t_s:.3g} s"
    if abs(t_s) < 600 * 60:
        return f"t = {t_s / 60:.1f} min"
    return f"t = {t_s / 3600:.2f} h"
