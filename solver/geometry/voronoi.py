"""Voronoi grains in a sphere: hard-core random seeds and convex cells as vertex/face lists (numpy, scipy)."""
from __future__ import annotations

import math

import numpy as np

from solver.errors import CaseError


def grain_seeds(rng: np.random.Generator, count: int, radius: float, spacing_fraction: float) -> np.ndarray:
    """`count` points in the ball, pairwise >= spacing_fraction x the mean grain spacing apart."""
    spacing = (4.0 / 3.0 * math.pi * radius**3 / count) ** (1.0 / 3.0)
    hard_core = spacing_fraction * spacing
    reach = radius - 0.5 * hard_core
    seeds: list[np.ndarray] = []
    for _ in range(5000 * count):
        p = rng.uniform(-reach, reach, size=3)
        if np.linalg.norm(p) > reach:
            continue
        if seeds and np.min(np.linalg.norm(np.asarray(seeds) - p, axis=1)) < hard_core:
            continue
        seeds.append(p)
        if len(seeds) == count:
            return np.asarray(seeds)
    raise CaseError(f"geometry.grain_spacing_fraction = {spacing_fraction}: could not place {count} grain seeds "
                    f"{hard_core:.3g} um apart (placed {len(seeds)}); lower it")


def voronoi_cells(seeds: np.ndarray, half_width: float) -> list[tuple[np.ndarray, list[list[int]]]]:
    """Convex Voronoi cells of `seeds` clipped to the cube |x|_inf <= half_width: (vertices, faces) each."""
    from scipy.spatial import HalfspaceIntersection

    box = np.vstack([np.hstack([np.eye(3), -half_width * np.ones((3, 1))]),
                     np.hstack([-np.eye(3), -half_width * np.ones((3, 1))])])
    cells = []
    for i, seed in enumerate(seeds):
        others = np.delete(seeds, i, axis=0)
        normals = others - seed
        offsets = -(np.sum(others**2, axis=1) - seed @ seed) / 2.0
        halfspaces = np.vstack([np.hstack([normals, offsets[:, None]]), box])
        vertices = _unique_rows(HalfspaceIntersection(halfspaces, seed).intersections, 1e-9 * half_width)
        cells.append((vertices, _faces(halfspaces, vertices, 1e-7 * half_width)))
    return cells


def _unique_rows(points: np.ndarray, tol: float) -> np.ndarray:
    kept: list[np.ndarray] = []
    for p in points:
        if not kept or np.min(np.linalg.norm(np.asarray(kept) - p, axis=1)) > tol:
            kept.append(p)
    return np.asarray(kept)


def _faces(halfspaces: np.ndarray, vertices: np.ndarray, tol: float) -> list[list[int]]:
    """Vertex loops of the facets: the vertices on each bounding plane, ordered by angle."""
    faces = []
    for row in halfspaces:
        normal = row[:3] / np.linalg.norm(row[:3])
        distance = (vertices @ row[:3] + row[3]) / np.linalg.norm(row[:3])
        on = np.flatnonzero(np.abs(distance) <= tol)
        if len(on) < 3:
            continue
        pts = vertices[on]
        centre = pts.mean(axis=0)
        u = pts[0] - centre
        u /= np.linalg.norm(u)
        w = np.cross(normal, u)
        angles = np.arctan2((pts - centre) @ w, (pts - centre) @ u)
        faces.append(on[np.argsort(angles)].tolist())
    return faces
