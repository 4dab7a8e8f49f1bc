"""The census state of a cracked particle from its central section (numpy and scipy only; the damage field
gathers the cells, solver/fields/damage.py).

The SEM census of issue 17 sorts particles into intact, mildly damaged and broken by looking at a cross-section:
broken when a crack spans the particle. On the mesh that is a connectivity test on the central section, the
plane z = 0 through the particle's centre:

- the section cells are the cells the plane cuts (or whose face lies on it, the octant and half models), each
  weighted by the area of its cut (a triangle or quadrilateral; `section_polygons`);
- a cell is cracked when d exceeds damage.crack_damage at one of its nodes;
- the intact section cells fall into pieces: two are connected when their cuts share a side, i.e. they are
  neighbours on the section itself (`section_pieces`);
- "broken": at least two pieces each holding at least damage.broken_piece_fraction of the section's area, i.e. the
  cracks cut the section apart (a crack across the particle, or radial cracks meeting at the centre), which no
  crack from the surface that ends inside the particle does; also when no intact piece of that size is left at
  all (a pulverised section: the cracks leave only fragments); "mild": cracks somewhere, but not splitting the
  section so; "intact": no point of the particle above crack_damage.

On the axisymmetric formulation's meridian (triangles, all at z = 0) the section is the meridian itself, a plane
through the symmetry axis, which for a body of revolution is every such plane; its mirrors are the axis
(symmetry_x) and the equator (symmetry_y), as an octant's. On a 2D central section (solver.formulation =
"section_2d") the whole mesh is the central section: every triangle is a section cell, and there are no mirrors.

Symmetry planes (symmetry_x, symmetry_y: mirrors that cut the section) count: a piece touching t of the m mirror
planes is joined with its 2^t images, so the whole section holds 2^m / 2^t copies of it, each of 2^t times its
area (a crack along a mirror plane splits the whole particle although the modelled part stays in one piece).
"""
from __future__ import annotations

from itertools import combinations

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

STATES = ("intact", "mild", "broken")


def section_polygons(vertices: np.ndarray, vertex_ids: np.ndarray, tolerance: float):
    """The cut of the plane z = 0 through each simplex (vertices (n, 4, 3) of tetrahedra, or (n, 3, 3) of
    triangles in the plane, whose cut is the triangle itself; their global numbers (n, 4) or (n, 3)):
    (areas (n,), sides (m, 5)). A cut is a triangle or quadrilateral; its corners are the tetrahedron's vertices
    within `tolerance` of the plane and the points where its edges cross it, each named by the pair of global
    vertex numbers (v, v) or (a, b) so that two cells name a shared corner alike. A side row holds the cell's
    index and the names of its two corners in order: two cells with the same side are neighbours on the section.
    Cells the plane misses or only touches at an edge or a vertex have area 0 and no sides."""
    z = vertices[:, :, 2]
    corners = vertices.shape[1]
    if corners == 3 and np.all(np.abs(z) <= tolerance):
        return _plane_triangles(vertices, vertex_ids)
    areas = np.zeros(len(vertices))
    sides = []
    candidates = np.flatnonzero((z.min(axis=1) <= tolerance) & (z.max(axis=1) >= -tolerance))
    for k in candidates:
        points = [(vertices[k, i, :2], (vertex_ids[k, i], vertex_ids[k, i])) for i in range(corners)
                  if abs(z[k, i]) <= tolerance]
        for i, j in combinations(range(corners), 2):
            a, b = z[k, i], z[k, j]
            if (a < -tolerance and b > tolerance) or (a > tolerance and b < -tolerance):
                point = vertices[k, i, :2] + (vertices[k, j, :2] - vertices[k, i, :2]) * a / (a - b)
                points.append((point, tuple(sorted((vertex_ids[k, i], vertex_ids[k, j])))))
        if len(points) < 3:
            continue
        polygon = np.array([point for point, _ in points])
        centre = polygon.mean(axis=0)
        order = np.argsort(np.arctan2(*(polygon - centre).T[::-1]))     # convex: corners in order of angle
        x, y = polygon[order].T
        areas[k] = 0.5 * abs(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1)))
        names = [points[i][1] for i in order]
        for corner, following in zip(names, names[1:] + names[:1]):
            first, second = sorted((corner, following))
            sides.append((k, *first, *second))
    return areas, np.array(sides, dtype=np.int64).reshape(-1, 5)


def _plane_triangles(vertices: np.ndarray, vertex_ids: np.ndarray):
    """section_polygons of triangles that lie in the plane (a 2D section or meridian: the whole mesh is the
    section), vectorised: each triangle is its own cut, its sides are its edges, named as section_polygons names
    them (corners (v, v), the lower name first)."""
    a, b = vertices[:, 1, :2] - vertices[:, 0, :2], vertices[:, 2, :2] - vertices[:, 0, :2]
    areas = 0.5 * np.abs(a[:, 0] * b[:, 1] - a[:, 1] * b[:, 0])
    cells = np.repeat(np.arange(len(vertices)), 3)
    first = vertex_ids[:, [0, 1, 2]].ravel()
    second = vertex_ids[:, [1, 2, 0]].ravel()
    low, high = np.minimum(first, second), np.maximum(first, second)
    return areas, np.column_stack([cells, low, low, high, high]).astype(np.int64)


def section_pieces(sides: np.ndarray, areas: np.ndarray, touches: np.ndarray) -> list[tuple[float, np.ndarray]]:
    """The connected pieces of the intact section cells: `sides` (m, 5) their sides as section_polygons gives
    them (cell numbers 0..n-1), `areas` (n,), `touches` (n, k) whether each touches each mirror plane. Returns per
    piece (area, which mirror planes it touches)."""
    n = len(areas)
    if n == 0:
        return []
    _, side = np.unique(sides[:, 1:], axis=0, return_inverse=True)
    side = side.ravel()
    order = np.argsort(side, kind="stable")
    shared = order[:-1][side[order][1:] == side[order][:-1]]          # a side is shared by at most two cells
    following = order[1:][side[order][1:] == side[order][:-1]]
    graph = coo_matrix((np.ones(len(shared)), (sides[shared, 0], sides[following, 0])), shape=(n, n))
    count, labels = connected_components(graph, directed=False)
    return [(float(areas[labels == piece].sum()), touches[labels == piece].any(axis=0)) for piece in range(count)]


def section_state(cracked: bool, pieces: list, mirrors: int, modelled_area: float, piece_fraction: float) -> str:
    """"intact" / "mild" / "broken" by the module docstring's rule: `cracked` whether any point is above
    crack_damage, `pieces` from section_pieces, `mirrors` the number of mirror planes cutting the section,
    `modelled_area` the area of the modelled part of the section (cracked cells included)."""
    if not cracked:
        return "intact"
    whole = modelled_area * 2**mirrors
    large = 0
    for area, touched in pieces:
        joined = 2 ** int(np.count_nonzero(touched))
        if joined * area >= piece_fraction * whole:
            large += 2**mirrors // joined
    # one large piece: a crack that does not split the section; none: only fragments are left (pulverised)
    return "mild" if large == 1 else "broken"
