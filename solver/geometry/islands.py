"""Surface islands (RuO2 on LRMO): non-overlapping spherical-cap patches of a given thickness.

An island is the part of a spherical layer r_in <= r <= r_out inside a cone of half-angle alpha around
a random direction; directions are placed by random sequential addition with an angular gap.
"""
from __future__ import annotations

import math

import numpy as np

from solver.errors import CaseError


def half_angle(radius_um: float, coverage: float, count: int | None, footprint_radius_um: float | None
               ) -> tuple[int, float]:
    """(island count, cap half-angle) for the requested surface coverage."""
    if footprint_radius_um is not None:
        alpha = math.asin(footprint_radius_um / radius_um)
        count = max(1, round(2.0 * coverage / (1.0 - math.cos(alpha))))
        return count, alpha
    return count, math.acos(1.0 - 2.0 * coverage / count)


def directions(rng: np.random.Generator, count: int, alpha: float, gap_fraction: float) -> np.ndarray:
    """`count` unit vectors with pairwise angles >= 2 alpha (1 + gap_fraction)."""
    min_cos = math.cos(min(math.pi, 2.0 * alpha * (1.0 + gap_fraction)))
    placed: list[np.ndarray] = []
    for _ in range(2000 * count):
        v = rng.normal(size=3)
        v /= np.linalg.norm(v)
        if not placed or np.max(np.asarray(placed) @ v) <= min_cos:
            placed.append(v)
            if len(placed) == count:
                return np.asarray(placed)
    raise CaseError(f"geometry.island_coverage_fraction: could not place {count} islands of angular radius "
                    f"{math.degrees(alpha):.1f} deg without overlap (placed {len(placed)}); lower the coverage, "
                    "the island size or island_gap_fraction")


def cap_solids(axes: np.ndarray, alpha: float, r_in: float, r_out: float) -> list[tuple[int, int]]:
    """OCC solids {r_in <= r <= r_out, angle to axis <= alpha} for every axis (two booleans in all)."""
    import gmsh
    occ = gmsh.model.occ
    height = 1.1 * r_out
    cones = [(3, occ.addCone(0, 0, 0, *(height * a), 0.0, height * math.tan(alpha))) for a in axes]
    caps, _ = occ.intersect(cones, [(3, occ.addSphere(0, 0, 0, r_out))])
    caps, _ = occ.cut(caps, [(3, occ.addSphere(0, 0, 0, r_in))])
    return caps


def cap_volume(alpha: float, r_in: float, r_out: float) -> float:
    return 2.0 * math.pi / 3.0 * (1.0 - math.cos(alpha)) * (r_out**3 - r_in**3)
