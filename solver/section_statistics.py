"""Area and grain-boundary statistics of a 2D section's stress field (numpy only; solver/studies/section_study.py).
The zone functions take any weights: the 3D [grain_boundaries] extension (solver/grain_boundaries.py) passes cell
volumes and facet areas to compare full particles by the same measures.

Peaks of a polycrystal section sit where grain boundaries meet pores or each other, points where the
linear-elastic misfit stress is singular and the peak grows with mesh refinement; fractions of area (or of
grain-boundary length) above a threshold and area means converge, so sections are compared by these.

Input is what solver/reduced/planar.py samples: the stress tensor at the 3 vertices of every triangle (P1 per cell,
discontinuous across cells), the vertices' node numbers (shared between cells) and points, and each triangle's grain.
"""
from __future__ import annotations

import math

import numpy as np

ZONES = ("core", "rim")


def triangle_areas(corners: np.ndarray) -> np.ndarray:
    """Areas (m^2) of triangles with corners (cells, 3, >= 2) in the x-y plane."""
    a, b = corners[:, 1, :2] - corners[:, 0, :2], corners[:, 2, :2] - corners[:, 0, :2]
    return 0.5 * np.abs(a[:, 0] * b[:, 1] - a[:, 1] * b[:, 0])


def zone_masks(radius_fraction: np.ndarray, core_radius_fraction: float) -> dict[str, np.ndarray]:
    """{"core": r/R < core_radius_fraction, "rim": the rest}."""
    core = np.asarray(radius_fraction) < core_radius_fraction
    return {"core": core, "rim": ~core}


def fraction_above(values: np.ndarray, weights: np.ndarray, threshold: float) -> float:
    """Weight (area or length) fraction where values > threshold; nan when there is no weight."""
    total = float(weights.sum())
    return float(weights[values > threshold].sum()) / total if total > 0 else float("nan")


def mean_tension(values: np.ndarray, weights: np.ndarray) -> float:
    """Weighted mean of max(value, 0): the mean tension (compression counts as zero); nan when no weight."""
    total = float(weights.sum())
    return float(weights @ np.maximum(values, 0.0)) / total if total > 0 else float("nan")


def zone_statistics(values: np.ndarray, weights: np.ndarray, radius_fraction: np.ndarray, thresholds_Pa,
                    core_radius_fraction: float) -> dict:
    """Per zone (core, rim): the weight fraction above each threshold and the mean tension (Pa)."""
    out = {}
    for zone, mask in zone_masks(radius_fraction, core_radius_fraction).items():
        out[zone] = {"mean_tension_Pa": mean_tension(values[mask], weights[mask]),
                     "fraction_above": {float(t): fraction_above(values[mask], weights[mask], t)
                                        for t in thresholds_Pa}}
    return out


def grain_boundary_edges(cell_nodes: np.ndarray, cell_grain: np.ndarray) -> np.ndarray:
    """(edges, 2 cells, 2 local corners) of the triangle edges shared by two cells of different grains: for each
    boundary edge, the two cells and, per cell, the local indices (0-2) of the edge's two end nodes in the same node
    order on both sides."""
    local = np.array([[0, 1], [1, 2], [2, 0]])
    cells = np.repeat(np.arange(len(cell_nodes)), 3)
    corners = np.tile(local, (len(cell_nodes), 1))
    nodes = cell_nodes[cells[:, None], corners]                             # (3 cells, 2)
    flip = nodes[:, 0] > nodes[:, 1]
    corners[flip] = corners[flip][:, ::-1]
    key = np.sort(nodes, axis=1)
    order = np.lexsort((key[:, 1], key[:, 0]))
    key, cells, corners = key[order], cells[order], corners[order]
    shared = np.flatnonzero((key[1:] == key[:-1]).all(axis=1))               # interior edges: pairs in a row
    pairs = np.stack([cells[shared], cells[shared + 1]], axis=1)
    boundary = cell_grain[pairs[:, 0]] != cell_grain[pairs[:, 1]]
    shared = shared[boundary]
    cell_pairs = pairs[boundary]
    corner_pairs = np.stack([corners[shared], corners[shared + 1]], axis=1)   # (edges, 2 sides, 2 ends)
    return np.concatenate([cell_pairs[:, :, None], corner_pairs], axis=2)     # (edges, 2, 3): cell, end a, end b


def grain_boundary_tractions(edges: np.ndarray, stress: np.ndarray, corners: np.ndarray) -> tuple[np.ndarray, ...]:
    """(normal traction t_n (Pa), side mismatch (Pa), length (m), midpoint (edges, 2)) of each grain-boundary edge:
    t_n = n.sigma.n, the mean over the edge (the stress is linear along it: the mean of its ends) and over its two
    sides; the mismatch is side 0 minus side 1 (exact equilibrium makes it 0: the discrete traction's accuracy).
    stress: (cells, 3, 3, 3) at the cell corners; corners: (cells, 3, >= 2) corner points."""
    cell, end_a, end_b = edges[:, 0, 0], edges[:, 0, 1], edges[:, 0, 2]
    a, b = corners[cell, end_a, :2], corners[cell, end_b, :2]
    tangent = b - a
    length = np.linalg.norm(tangent, axis=1)
    normal = np.zeros((len(edges), 3))
    normal[:, 0], normal[:, 1] = -tangent[:, 1] / length, tangent[:, 0] / length
    sides = np.zeros((2, len(edges)))
    for side in range(2):
        for end in (1, 2):
            sigma = stress[edges[:, side, 0], edges[:, side, end]]
            sides[side] += np.einsum("ni,nij,nj->n", normal, sigma, normal) / 2.0
    return sides.mean(axis=0), sides[0] - sides[1], length, 0.5 * (a + b)


def rms(values: np.ndarray, weights: np.ndarray) -> float:
    """Weighted root mean square; nan when there is no weight."""
    total = float(weights.sum())
    return math.sqrt(float(weights @ values**2) / total) if total > 0 else float("nan")
