"""Tabulated functions as UFL expressions (piecewise linear through table rows, constant outside)."""
from __future__ import annotations

from typing import Sequence

import ufl


def piecewise_linear(x, xs: Sequence[float], ys: Sequence[float]):
    """y(x) through the points (xs[i], ys[i]) (xs strictly increasing), held at the end values outside.

    Built from nested ufl.conditional, so it works on any UFL scalar (a Function, a quotient c / c_max)
    and differentiates piecewise (ufl.diff gives the segment slopes).
    """
    if len(xs) != len(ys) or len(xs) < 2:
        raise ValueError(f"piecewise_linear: need >= 2 points with as many xs as ys, got {len(xs)} and {len(ys)}")
    value = ys[0]
    for x0, x1, y0, y1 in zip(xs, xs[1:], ys, ys[1:]):
        segment = y0 + (y1 - y0) * (x - x0) / (x1 - x0)
        value = ufl.conditional(ufl.ge(x, x0), segment, value)
    return ufl.conditional(ufl.ge(x, xs[-1]), ys[-1], value)
