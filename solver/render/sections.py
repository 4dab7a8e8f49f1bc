"""The z = 0 section of a particle from a field file: cut, mirrored for symmetry models, and its
colour range."""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from solver.render.backend import import_pyvista
from solver.render.data import (FieldStyle, RenderError, ResultFolder, Snapshot, require_file, scalar_values,
                                style_for, resolve_field)
from solver.render.formatting import nice_step


@dataclass
class Section:
    """The z = 0 section of one particle, in micrometres, centred where the particle is."""

    poly: object  # pyvista.PolyData, coordinates in um, point array "_display" set later
    outline: object  # boundary lines (outer surface and pore rims)
    interfaces: object | None  # region interfaces (shells, grains) or None
    radius_um: float
    mirrored: str  # "" or e.g. "x, y" when a symmetry model was mirrored
    values_si: np.ndarray  # the scalar on poly's points, SI


def _read_mesh(path: Path):
    pv = import_pyvista()
    require_file(path, "field file written by the solver")
    try:
        mesh = pv.read(str(path))
    except Exception as exc:  # noqa: BLE001 - VTK raises many kinds
        raise RenderError(f"cannot read {path}: {exc}") from None
    if mesh.n_points == 0 or mesh.n_cells == 0:
        raise RenderError(f"{path} holds an empty mesh")
    return mesh


def _to_polydata(ds):
    """vtkGeometryFilter directly: pyvista renamed its wrappers of it across versions."""
    pv = import_pyvista()
    from vtkmodules.vtkFiltersGeometry import vtkGeometryFilter

    f = vtkGeometryFilter()
    f.SetInputData(ds)
    f.Update()
    return pv.wrap(f.GetOutput())


def _volume_cells(mesh):
    """Only the 3D cells (a .vtu may also carry facet triangles, which would cut into lines)."""
    try:  # VTK >= 9.4; vtkCellTypes.GetDimension is deprecated since 9.6
        from vtkmodules.vtkCommonDataModel import vtkCellTypeUtilities as _types
    except ImportError:  # pragma: no cover - older VTK
        from vtkmodules.vtkCommonDataModel import vtkCellTypes as _types

    types = np.asarray(mesh.celltypes)
    dims = {int(t): _types.GetDimension(int(t)) for t in np.unique(types)}
    if all(d == 3 for d in dims.values()):
        return mesh
    keep = np.flatnonzero(np.isin(types, [t for t, d in dims.items() if d == 3]))
    if keep.size == 0:
        raise RenderError("the field file has no 3D (volume) cells to cut")
    return mesh.extract_cells(keep)


def _make_section(mesh, array: str, mirror: bool = True) -> Section:
    pv = import_pyvista()
    pts = np.asarray(mesh.points, dtype=float)
    radius_m = float(np.max(np.linalg.norm(pts, axis=1)))
    if not radius_m > 0:
        raise RenderError("mesh has zero extent")
    lo = pts.min(axis=0)
    tol = 1e-3 * radius_m
    # symmetry models (octant: x, y, z >= 0) are detected from the bounds
    half = [bool(lo[i] > -tol) for i in range(3)]
    # cut a hair above z = 0: for octant models z = 0 is the boundary face, and for full models
    # mesh nodes lying exactly on z = 0 would give degenerate cuts
    z_cut = 1e-5 * radius_m
    volume = _volume_cells(mesh)
    work = volume.copy(deep=False)
    work.clear_cell_data()
    if "region" in volume.cell_data:
        work.cell_data["region"] = np.asarray(volume.cell_data["region"]).astype(np.int32)
    work.point_data.clear()
    work.point_data["_si"] = scalar_values(volume, array)
    sec = work.slice(normal=(0.0, 0.0, 1.0), origin=(0.0, 0.0, z_cut))
    if sec.n_cells == 0:
        raise RenderError(
            f"the plane z = 0 does not cut the mesh (z from {lo[2]:.3g} m to {pts[:, 2].max():.3g} m)"
        )
    sec = sec.triangulate()
    sec.points = np.asarray(sec.points) * 1e6
    sec.points[:, 2] = 0.0

    mirrored = []
    if mirror:
        # snap round-off (gmsh um -> m scaling leaves ~1e-22) onto the symmetry planes so that
        # the mirrored halves share their points and no seam is drawn
        pts_um = np.array(sec.points)
        for axis in (0, 1):
            if half[axis]:
                pts_um[np.abs(pts_um[:, axis]) < 1e-6 * radius_m * 1e6, axis] = 0.0
        sec.points = pts_um
        for axis, normal in ((0, (1.0, 0.0, 0.0)), (1, (0.0, 1.0, 0.0))):
            if half[axis]:
                sec = sec.merge(sec.reflect(normal, point=(0.0, 0.0, 0.0)), merge_points=True)
                mirrored.append("xyz"[axis] + " = 0")
        if not isinstance(sec, pv.PolyData):
            sec = _to_polydata(sec)

    outline = sec.extract_feature_edges(
        boundary_edges=True, feature_edges=False, manifold_edges=False, non_manifold_edges=False
    )
    interfaces = None
    if "region" in sec.cell_data:
        ids = np.unique(np.asarray(sec.cell_data["region"]))
        if ids.size > 1:
            parts = []
            for rid in ids:
                sub = sec.extract_cells(np.flatnonzero(np.asarray(sec.cell_data["region"]) == rid))
                sub = _to_polydata(sub)
                e = sub.extract_feature_edges(
                    boundary_edges=True, feature_edges=False, manifold_edges=False,
                    non_manifold_edges=False,
                )
                if e.n_points:
                    parts.append(e)
            if parts:
                interfaces = pv.merge(parts)
    values = np.asarray(sec.point_data["_si"], dtype=float)
    return Section(sec, outline, interfaces, radius_m * 1e6, " and ".join(mirrored), values)


def section_for(folder: ResultFolder, snap: Snapshot, field: str, mirror: bool = True):
    """(array name, FieldStyle, Section) of `field` in snapshot `snap`: the mid-plane cut of its mesh."""
    mesh = _read_mesh(snap.path)
    array = resolve_field(field, mesh.point_data.keys())
    raw = np.asarray(mesh.point_data[array])
    is_vector = raw.ndim == 2 and raw.shape[1] > 1
    sec = _make_section(mesh, array, mirror=mirror)
    style = style_for(array, scalar_values(mesh, array), is_vector)
    return array, style, sec


def point_arrays(snap: Snapshot) -> list[str]:
    """The names of the point arrays in a snapshot's field file."""
    return list(_read_mesh(snap.path).point_data.keys())


def colour_range(style: FieldStyle, values_display: Sequence[np.ndarray]) -> tuple[float, float]:
    """The colour-bar range of values shown in display units: symmetric and rounded to a tick for
    signed fields, padded when the values are (nearly) constant."""
    finite = [v[np.isfinite(v)] for v in values_display if v.size]
    finite = [v for v in finite if v.size]
    if not finite:
        raise RenderError(f"{style.array}: no finite values on the section")
    lo = min(float(v.min()) for v in finite)
    hi = max(float(v.max()) for v in finite)
    if style.signed:
        m = max(abs(lo), abs(hi))
        if m == 0:
            m = 1.0
        step = nice_step(2 * m / 8)  # symmetric range rounded out to a tick: -400..400
        m = math.ceil(m / step - 1e-9) * step
        return -m, m
    if hi - lo <= 1e-12 * max(abs(hi), abs(lo), 1e-300):
        pad = 0.01 * abs(hi) if hi != 0 else 1.0
        return lo - pad, hi + pad
    return lo, hi
