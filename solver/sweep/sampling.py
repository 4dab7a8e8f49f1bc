"""Points of a sweep: a grid (outer product), zipped lists, and random / quasi-random samples.

Each function returns a list of points, a point being {dotted case key: value}. The parts of a sweep
combine as a product (`combine`), so a grid of two C-rates times a 4-point sample is 8 cases.
Samples are reproducible: the same ranges, count and seed give the same values. The quasi-random designs
come from scipy.stats.qmc (Latin hypercube, scrambled Sobol, scrambled Halton), so they are the ones other
tools draw for the same seed.
"""
from __future__ import annotations

import itertools
import math

import numpy as np

SAMPLE_METHODS = ("random", "latin_hypercube", "sobol", "halton")


def grid_points(grid: dict[str, list]) -> list[dict]:
    """Every combination of the listed values; the last key varies fastest."""
    keys = list(grid)
    return [dict(zip(keys, values)) for values in itertools.product(*(grid[k] for k in keys))]


def zipped_points(lists: dict[str, list]) -> list[dict]:
    """The i-th values of every list together (the lists have one length, checked by the schema)."""
    keys = list(lists)
    return [dict(zip(keys, values)) for values in zip(*(lists[k] for k in keys))]


def unit_samples(method: str, count: int, dimensions: int, seed: int) -> np.ndarray:
    """count x dimensions points in [0, 1).

    random: independent uniform points. latin_hypercube: every dimension cut into `count` equal strata,
    each stratum holding exactly one point. sobol / halton: scrambled low-discrepancy sequences (Sobol is
    balanced when count is a power of two; scipy warns otherwise).
    """
    if method == "random":
        return np.random.default_rng(seed).random((count, dimensions))
    if method not in SAMPLE_METHODS:
        raise ValueError(f"unknown sampling method {method!r}; known: {', '.join(SAMPLE_METHODS)}")
    if dimensions == 0:
        return np.zeros((count, 0))
    from scipy.stats import qmc

    engine = {"latin_hypercube": qmc.LatinHypercube, "sobol": qmc.Sobol, "halton": qmc.Halton}[method]
    return engine(d=dimensions, seed=np.random.default_rng(seed)).random(count)


def sample_points(method: str, count: int, seed: int, ranges: dict[str, tuple[float, float]],
                  log_keys: frozenset[str] = frozenset()) -> list[dict]:
    """`count` points over the [low, high] ranges; keys in log_keys are uniform in log(value)."""
    keys = list(ranges)
    unit = unit_samples(method, count, len(keys), seed)
    points = []
    for row in unit:
        point = {}
        for key, u in zip(keys, row):
            low, high = ranges[key]
            if key in log_keys:
                point[key] = float(math.exp(math.log(low) + u * (math.log(high) - math.log(low))))
            else:
                point[key] = float(low + u * (high - low))
        points.append(point)
    return points


def combine(*parts: list[dict]) -> list[dict]:
    """Product of the parts' points (an empty part counts as the single empty point)."""
    parts = [part or [{}] for part in parts]
    return [{k: v for point in chosen for k, v in point.items()} for chosen in itertools.product(*parts)]
