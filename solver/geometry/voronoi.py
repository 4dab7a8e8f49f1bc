"""Voronoi grains in a sphere: hard-core random seeds and convex cells as vertex/face lists (numpy, scipy).

Two forms of the same cells: `voronoi_cells` (each cell with its own vertices) and `voronoi_complex` (one
vertex list and one polygon per shared face, so that neighbouring grains can be built on the same OCC face
and need no boolean between them; see occ.polyhedral_complex).
"""
from __future__ import annotations

import math

import numpy as np

from solver.errors import CaseError


def grain_seeds(rng: np.random.Generator, count: int, radius: float, spacing_fraction: float) -> np.ndarray:
    """`count` points in the ball, pairwise >= spacing_fraction x the mean grain spacing apart."""
    spacing = (4.0 / 3.0 * math.pi * radius**3 / count) ** (1.0 / 3.0)
    reach = radius - 0.5 * spacing_fraction * spacing

    def propose():
        p = rng.uniform(-reach, reach, size=3)
        return p if np.linalg.norm(p) <= reach else None

    return _hard_core_points(propose, count, spacing_fraction * spacing, spacing_fraction)


def grain_seeds_in_box(rng: np.random.Generator, count: int, half_width: float,
                       spacing_fraction: float) -> np.ndarray:
    """`count` points in the cube |x|_inf <= half_width (a sub-volume's grains, solver/geometry/subvolume.py),
    pairwise >= spacing_fraction x the mean grain spacing apart."""
    spacing = ((2.0 * half_width) ** 3 / count) ** (1.0 / 3.0)
    reach = half_width - 0.5 * spacing_fraction * spacing
    return _hard_core_points(lambda: rng.uniform(-reach, reach, size=3), count, spacing_fraction * spacing,
                             spacing_fraction)


def _hard_core_points(propose, count: int, hard_core: float, spacing_fraction: float) -> np.ndarray:
    """Random sequential addition: proposals (None = rejected by the region) kept when >= hard_core from
    every point kept before, until `count` are kept."""
    seeds: list[np.ndarray] = []
    for _ in range(5000 * count):
        p = propose()
        if p is None:
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
    return [(vertices, [loop for _, loop in faces])
            for vertices, faces in (_cell_faces(seeds, i, half_width) for i in range(len(seeds)))]


def voronoi_complex(seeds: np.ndarray, half_width: float) -> tuple[np.ndarray, list[list[int]], list[list[int]]]:
    """The Voronoi cells of `seeds` clipped to the cube |x|_inf <= half_width as one polyhedral complex:
    (vertices, faces as vertex loops, the face indices of each cell). The face between cells i and j appears
    once; a vertex shared by several cells appears once (cells' own vertices merged within 1e-9 half_width,
    far below the seed spacing). Raises RuntimeError if a cell does not close (a degenerate seed set)."""
    from scipy.spatial import cKDTree

    local = [_cell_faces(seeds, i, half_width) for i in range(len(seeds))]
    points = np.vstack([vertices for vertices, _ in local])
    group = np.arange(len(points))
    for a, b in sorted(cKDTree(points).query_pairs(1e-9 * half_width)):   # union-find, roots are the lowest index
        ra, rb = _root(group, a), _root(group, b)
        group[max(ra, rb)] = min(ra, rb)
    roots = np.array([_root(group, k) for k in range(len(points))])
    kept, global_id = np.unique(roots, return_inverse=True)
    offsets = np.cumsum([0] + [len(vertices) for vertices, _ in local])
    faces: list[list[int]] = []
    face_of: dict[tuple, int] = {}
    cell_faces: list[list[int]] = []
    for i, (_, loops) in enumerate(local):
        mine = []
        for key, loop in loops:
            ids = [int(global_id[offsets[i] + k]) for k in loop]
            ids = [v for q, v in enumerate(ids) if v != ids[q - 1]]   # merged neighbours: one vertex
            if len(ids) < 3:
                continue
            if key not in face_of:
                face_of[key] = len(faces)
                faces.append(ids)
            mine.append(face_of[key])
        _check_closed(i, [faces[f] for f in mine])
        cell_faces.append(mine)
    return points[kept], faces, cell_faces


def _cell_faces(seeds: np.ndarray, i: int, half_width: float) -> tuple[np.ndarray, list[tuple[tuple, list[int]]]]:
    """Cell i's vertices and its faces as (key, vertex loop): key (i, j) sorted for the face shared with
    cell j, ("box", i, k) for the cube's plane k."""
    from scipy.spatial import HalfspaceIntersection

    box = np.vstack([np.hstack([np.eye(3), -half_width * np.ones((3, 1))]),
                     np.hstack([-np.eye(3), -half_width * np.ones((3, 1))])])
    seed = seeds[i]
    others = np.delete(seeds, i, axis=0)
    halfspaces = np.vstack([np.hstack([others - seed, -(np.sum(others**2, axis=1) - seed @ seed)[:, None] / 2.0]),
                            box])
    vertices = _unique_rows(HalfspaceIntersection(halfspaces, seed).intersections, 1e-9 * half_width)
    n = len(others)
    keyed = []
    for row, loop in _face_rows(halfspaces, vertices, 1e-7 * half_width):
        j = row if row < i else row + 1
        keyed.append(((min(i, j), max(i, j)) if row < n else ("box", i, row - n), loop))
    return vertices, keyed


def _root(group: np.ndarray, k: int) -> int:
    while group[k] != k:
        k = group[k]
    return int(k)


def _check_closed(cell: int, loops: list[list[int]]) -> None:
    """Every edge of a closed polyhedron bounds exactly two of its faces."""
    edges: dict[tuple[int, int], int] = {}
    for loop in loops:
        for a, b in zip(loop, loop[1:] + loop[:1]):
            edges[(min(a, b), max(a, b))] = edges.get((min(a, b), max(a, b)), 0) + 1
    if any(count != 2 for count in edges.values()):
        raise RuntimeError(f"Voronoi cell {cell} does not close after merging shared vertices (degenerate seeds)")


def _unique_rows(points: np.ndarray, tol: float) -> np.ndarray:
    kept: list[np.ndarray] = []
    for p in points:
        if not kept or np.min(np.linalg.norm(np.asarray(kept) - p, axis=1)) > tol:
            kept.append(p)
    return np.asarray(kept)


def _face_rows(halfspaces: np.ndarray, vertices: np.ndarray, tol: float) -> list[tuple[int, list[int]]]:
    """(half-space row, vertex loop ordered by angle) of each bounding plane that carries a facet."""
    norms = np.linalg.norm(halfspaces[:, :3], axis=1)
    on_plane = np.abs(vertices @ halfspaces[:, :3].T + halfspaces[:, 3]) <= tol * norms   # (vertex, plane)
    faces = []
    for index in np.flatnonzero(on_plane.sum(axis=0) >= 3):   # a cell touches few of its N - 1 bisectors
        normal = halfspaces[index, :3] / norms[index]
        on = np.flatnonzero(on_plane[:, index])
        pts = vertices[on]
        centre = pts.mean(axis=0)
        u = pts[0] - centre
        u /= np.linalg.norm(u)
        w = np.cross(normal, u)
        angles = np.arctan2((pts - centre) @ w, (pts - centre) @ u)
        faces.append((int(index), on[np.argsort(angles)].tolist()))
    return faces
