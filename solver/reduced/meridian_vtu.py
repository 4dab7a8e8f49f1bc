"""Field snapshots of a reduced model as a VTU the renderer (and ParaView) can cut like a 3D result.

A reduced model knows its fields on the meridian plane: points (rho, z), rho >= 0 the distance from
the symmetry axis, z >= 0 along it (the equatorial plane z = 0 is a symmetry plane). The meridian
triangles are extruded into a thin slab of wedges, z_vtu in [-h, h] with h = SLAB_FRACTION * R:

    VTU x = rho,  VTU y = z (the symmetry axis),  VTU z = slab thickness.

The renderer cuts at VTU z = 0 and shows the meridian section, mirrored about x = 0 and y = 0 to the full
disc (it detects the half-open bounds as it does for octant models). Point arrays are the same as in a 3D
result: those of solver/quantities.py (the stress measures, concentration_mol_m3, li_fraction, displacement_m as
(u_rho, u_z, 0)).
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

SLAB_FRACTION = 0.01   # slab half-thickness / R: well above the renderer's symmetry tolerance (1e-3 R)


def write_meridian_vtu(path: Path, points_rz_m: np.ndarray, triangles: np.ndarray, point_data: dict,
                       regions: np.ndarray, radius_m: float) -> None:
    """Write `path` atomically. point_data values: (n,) scalars or (n, 2) meridian vectors (rho, z)."""
    import meshio

    n = points_rz_m.shape[0]
    h = SLAB_FRACTION * radius_m
    layer = np.column_stack([points_rz_m[:, 0], points_rz_m[:, 1], np.zeros(n)])
    points = np.vstack([layer - [0.0, 0.0, h], layer + [0.0, 0.0, h]])
    triangles = _clockwise(points_rz_m, np.asarray(triangles, dtype=np.int64))
    wedges = np.hstack([triangles, triangles + n])
    data = {}
    for name, values in point_data.items():
        values = np.asarray(values, dtype=float)
        if values.ndim == 2:
            values = np.column_stack([values, np.zeros((n, 3 - values.shape[1]))])
        data[name] = np.concatenate([values, values])
    mesh = meshio.Mesh(points, [("wedge", wedges)], point_data=data,
                       cell_data={"region": [np.asarray(regions, dtype=np.int32)]})
    tmp = path.with_name(path.stem + ".tmp.vtu")
    meshio.write(tmp, mesh, binary=True)
    os.replace(tmp, path)


def _clockwise(points: np.ndarray, triangles: np.ndarray) -> np.ndarray:
    """VTK wedges want the bottom triangle's right-hand normal pointing away from the top (-z here)."""
    a, b, c = (points[triangles[:, k]] for k in range(3))
    area = (b[:, 0] - a[:, 0]) * (c[:, 1] - a[:, 1]) - (b[:, 1] - a[:, 1]) * (c[:, 0] - a[:, 0])
    out = triangles.copy()
    flip = area > 0
    out[flip, 1], out[flip, 2] = triangles[flip, 2], triangles[flip, 1]
    return out


def polar_triangulation(radii_m: np.ndarray, angles: int = 24) -> tuple[np.ndarray, np.ndarray]:
    """Triangles of the quarter disc (or annulus) on rings at radii_m, polar angle 0..pi/2 from the axis.

    Returns (points (n, 2) as (rho, z), triangles (m, 3)). A ring at radius 0 is a single point.
    """
    radii_m = np.asarray(radii_m, dtype=float)
    phi = np.linspace(0.0, 0.5 * np.pi, angles + 1)
    rings, points = [], []
    for r in radii_m:
        if r == 0.0:
            rings.append(np.full(phi.size, len(points)))
            points.append((0.0, 0.0))
            continue
        start = len(points)
        points.extend(zip(r * np.sin(phi), r * np.cos(phi)))
        rings.append(np.arange(start, start + phi.size))
    triangles = []
    for inner, outer in zip(rings[:-1], rings[1:]):
        for j in range(angles):
            a, b, c, d = inner[j], inner[j + 1], outer[j], outer[j + 1]
            if a != b:
                triangles.append((a, b, d))
            triangles.append((a, d, c))
    return np.array(points), np.array(triangles, dtype=np.int64)
