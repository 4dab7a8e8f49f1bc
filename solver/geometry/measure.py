"""Geometry measurements of a ParticleMesh, the way the papers measured their particles.

Porosity is reported for the sampled pores (the sampler's exact measure: mean of the three central
sections xy, yz, zx, by concentric ring 50-100 % of the radius, full 0-100 % profile, 3D volume) and for
the mesh itself: the same three sections cut through the tetrahedra (porosity_mesh_overall, _by_ring,
_profile_full), the 3D pore volume enclosed by the pore_surface facets (porosity_mesh_volume) and the
solid fraction per spherical shell (porosity_mesh_shells); porosity_mesh_minus_analytic_pp compares them.
Without pores the same mesh measures show the discretisation (and the void of a hollow particle).
On curved (mesh.geometry_order = 2) meshes the volumes and surface areas are integrated over the quadratic
cells and facets; the ring, section and enclosed-volume measures cut the straight tetrahedra through the
cell corners, consistently with each other (pores, their only real subject, need straight cells anyway).
All functions are collective under MPI.
"""
from __future__ import annotations

import math

import numpy as np

from solver import compat
from solver.units import UM_TO_M

RING_EDGES = (0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
PROFILE_EDGES = tuple(np.round(np.linspace(0.0, 1.0, 11), 10))
_LEVELS = {4: 2, 3: 3}   # midpoint subdivisions of a straddling tetrahedron / section triangle: 64 parts each


def measure_particle(particle) -> dict:
    comm = particle.mesh.comm
    desc = particle.description
    if desc["kind"] == "subvolume":
        return measure_subvolume(particle)
    cells = _owned_cells(particle)
    tags = _owned_cell_tags(particle, len(cells))
    volumes = _tet_volumes(cells)
    curved = compat.geometry_degree(particle.mesh) > 1
    cell_volumes = _simplex_measures(_owned_cells(particle, corners_only=False)) if curved else volumes
    octant = desc.get("symmetry") == "octant"
    symmetry = 0.125 if octant else 1.0
    radius = particle.radius_m
    ball = 4.0 / 3.0 * math.pi * radius**3 * symmetry

    out = _mesh_basics(particle, cells)
    out.update(_volumes(particle, comm, tags, cell_volumes))
    out["surface_areas_m2"] = {name: comm.allreduce(_facet_areas(particle, tag))
                               for name, tag in particle.facet_regions.items()}
    pores = particle.pores
    out["pore_count"] = 0 if pores is None else len(pores)
    out["pore_volume_um3"] = {}
    pore_total_um3 = 0.0 if pores is None else pores.total_volume_um3()
    out["volume_nominal_m3"] = particle.nominal_volume_m3["envelope"] - pore_total_um3 * UM_TO_M**3
    out["volume_relative_error"] = out["volume_mesh_m3"] / out["volume_nominal_m3"] - 1.0
    if desc.get("void_radius_um"):
        out["void_volume_fraction"] = (desc["void_radius_um"] * UM_TO_M / radius) ** 3

    analytic = _analytic(pores)
    ring_edges = _edges(analytic.get("porosity_by_ring"), RING_EDGES)
    profile_edges = _edges(analytic.get("porosity_profile_full"), PROFILE_EDGES)
    zeros = {"porosity_overall": 0.0, "porosity_volume": 0.0,
             "porosity_by_ring": _rings(ring_edges, np.zeros(len(ring_edges) - 1)),
             "porosity_profile_full": _rings(profile_edges, np.zeros(len(profile_edges) - 1))}
    out.update({key: analytic.get(key, default) for key, default in zeros.items()})
    if analytic:
        out["pore_volume_um3"] = analytic["pore_volume_um3"]
        out["sampler_measure"] = {k: v for k, v in analytic.items() if k != "sections"}

    # the mesh itself: 3D pore volume (enclosed by the pore facets) and by spherical shell; the central
    # void of a hollow particle is not porosity, its exact share is taken out of the shells and annuli
    void = desc.get("void_radius_um", 0.0) * UM_TO_M / radius
    hull = 0.0 if "island_surface" in particle.facet_regions else _enclosed_volume(particle, ("outer_surface",), comm)
    out["porosity_mesh_volume"] = -_enclosed_volume(particle, ("pore_surface",), comm) / ball
    shells = _shell_porosity(cells, volumes, profile_edges, radius, symmetry, hull, comm)
    out["porosity_mesh_shells"] = _rings(profile_edges, shells - _void_share(profile_edges, void, 3))
    # ... and on the three central sections, as the sampler (and the paper) measure
    offset = 1e-6 * radius if octant else 0.0
    sections = np.mean([_section_porosity(cells, axis, profile_edges, ring_edges, radius=radius, offset=offset,
                                          symmetry=0.25 if octant else 1.0, comm=comm) for axis in (2, 0, 1)],
                       axis=0)
    sections -= np.concatenate([_void_share((0.0, 1.0), void, 2), _void_share(profile_edges, void, 2),
                                _void_share(ring_edges, void, 2)])
    n_profile = len(profile_edges) - 1
    out["porosity_mesh_overall"] = float(sections[0])
    out["porosity_mesh_profile_full"] = _rings(profile_edges, sections[1:1 + n_profile])
    out["porosity_mesh_by_ring"] = _rings(ring_edges, sections[1 + n_profile:])
    if pores is not None:
        out["porosity_mesh_minus_analytic_pp"] = _differences_pp(out)
    return out


def _mesh_basics(particle, cells: np.ndarray) -> dict:
    desc, comm = particle.description, particle.mesh.comm
    return {"kind": desc["kind"], "radius_m": particle.radius_m, "cells": int(comm.allreduce(len(cells))),
            "vertices": int(particle.mesh.topology.index_map(0).size_global),
            "min_quality": desc["quality"]["min_quality"], "quality_p01": desc["quality"]["quality_p01"],
            "quality_measure": desc["quality"]["quality_measure"], "seconds": desc["seconds"],
            "build_seconds": desc["build_seconds"], "cache_hit": desc["cache_hit"]}


def measure_subvolume(particle) -> dict:
    """A sub-volume cube (solver/geometry/subvolume.py): volumes, its porosity on the mesh (whole cube and the
    statistics window, by the volume of the cells' subdivision parts) against the profile, grains and pores."""
    comm, desc = particle.mesh.comm, particle.description
    cells = _owned_cells(particle)
    volumes = _tet_volumes(cells)
    out = _mesh_basics(particle, cells)
    out.update(_volumes(particle, comm, _owned_cell_tags(particle, len(cells)), volumes))
    edge = desc["edge_um"] * UM_TO_M
    centre = np.asarray(desc["centre_um"]) * UM_TO_M
    window = 0.5 * desc["interior_fraction"] * edge
    inside = 0.0
    for child in _split(np.eye(4)):   # the eight children's centroids resolve the window's edge within a cell
        part = np.einsum("kb,nbd->nkd", child, cells)
        in_window = np.all(np.abs(part.mean(axis=1) - centre) <= window, axis=1)
        inside += float(_tet_volumes(part)[in_window].sum())
    out["porosity_mesh_cube"] = 1.0 - out["volume_mesh_m3"] / edge**3
    out["porosity_mesh_interior"] = 1.0 - comm.allreduce(inside) / (2 * window) ** 3
    for key in ("edge_um", "centre_radius_fraction", "interior_fraction", "grain_count", "pore_count",
                "porosity_geometry", "porosity_profile_at_centre", "porosity_profile_mean_in_cube"):
        if key in desc:
            out[key] = desc[key]
    out["surface_areas_m2"] = {name: comm.allreduce(_facet_areas(particle, tag))
                               for name, tag in particle.facet_regions.items()}
    return out


# -- mesh arrays -------------------------------------------------------------------------------------
def _owned_cells(particle, corners_only: bool = True) -> np.ndarray:
    """(n_owned, nodes, 3) node coordinates of the owned tetrahedra, metres: the 4 corners, or all
    geometry nodes (10 on a curved mesh: corners, then edge midpoints in basix edge order)."""
    mesh = particle.mesh
    nodes = compat.geometry_nodes(mesh)[:mesh.topology.index_map(3).size_local]
    return mesh.geometry.x[nodes[:, :4] if corners_only else nodes]


def _owned_cell_tags(particle, owned: int) -> np.ndarray:
    values = np.zeros(owned, dtype=np.int32)
    indices, tag_values = particle.cell_tags.indices, particle.cell_tags.values
    mine = indices < owned
    values[indices[mine]] = tag_values[mine]
    return values


def _tet_volumes(cells: np.ndarray) -> np.ndarray:
    edges = cells[:, 1:] - cells[:, :1]
    return np.abs(np.linalg.det(edges)) / 6.0


#: basix edge order of the quadratic triangle and tetrahedron (node d+1+k sits on edge k)
_SIMPLEX_EDGES = {2: ((1, 2), (0, 2), (0, 1)), 3: ((2, 3), (1, 3), (1, 2), (0, 3), (0, 2), (0, 1))}
# |det J| of a quadratic tetrahedron is a cubic; a triangle's area element is not polynomial: degree 6 is
# converged far below the surface chord error it replaces
_MEASURE_QUADRATURE_DEGREE = {2: 6, 3: 3}


def _quadratic_gradients(points: np.ndarray, dim: int) -> np.ndarray:
    """(q, nodes, dim) reference gradients of the quadratic Lagrange basis at reference points (q, dim).

    In barycentric coordinates (l_0 = 1 - sum xi): vertex i l_i (2 l_i - 1), edge (i, j) 4 l_i l_j."""
    lam = np.column_stack([1.0 - points.sum(axis=1), points])
    dlam = np.vstack([-np.ones(dim), np.eye(dim)])               # d l_i / d xi
    vertex = (4.0 * lam - 1.0)[:, :, None] * dlam[None]
    edges = [4.0 * (lam[:, j, None] * dlam[i] + lam[:, i, None] * dlam[j]) for i, j in _SIMPLEX_EDGES[dim]]
    return np.concatenate([vertex, np.stack(edges, axis=1)], axis=1)


def _simplex_measures(nodes: np.ndarray) -> np.ndarray:
    """Volumes (areas) of quadratic tetrahedra (triangles) given by their nodes (n, 10 or 6, 3):
    sum over quadrature points of sqrt(det(J^T J)) w."""
    dim = 3 if nodes.shape[1] == 10 else 2
    points, weights = compat.simplex_quadrature(dim, _MEASURE_QUADRATURE_DEGREE[dim])
    jacobians = np.einsum("qkd,nkc->nqcd", _quadratic_gradients(points, dim), nodes)
    metric = np.linalg.det(np.einsum("nqcd,nqce->nqde", jacobians, jacobians))
    return np.sqrt(np.abs(metric)) @ weights


def _volumes(particle, comm, tags: np.ndarray, volumes: np.ndarray) -> dict:
    out = {"volume_mesh_m3": comm.allreduce(float(volumes.sum())), "region_volumes_m3": {}}
    for name, tag in particle.cell_regions.items():
        mesh_volume = comm.allreduce(float(volumes[tags == tag].sum()))
        nominal = particle.nominal_volume_m3.get(name)
        entry = {"mesh": mesh_volume, "nominal": nominal}
        if nominal:
            entry["relative_error"] = mesh_volume / nominal - 1.0
        out["region_volumes_m3"][name] = entry
    return out


# -- facets ------------------------------------------------------------------------------------------
def _owned_facet_cells(particle, tag: int) -> tuple[np.ndarray, np.ndarray]:
    """(cell, local facet number) of the owned facets with tag `tag`; local facet i is opposite vertex i."""
    topology = particle.mesh.topology
    topology.create_connectivity(2, 3)
    topology.create_connectivity(3, 2)
    facets = particle.facet_tags.indices[particle.facet_tags.values == tag]
    facets = facets[facets < topology.index_map(2).size_local]
    f2c = topology.connectivity(2, 3)
    c2f = topology.connectivity(3, 2).array.reshape(-1, 4)
    cell = f2c.array[f2c.offsets[facets]]
    return cell, np.argmax(c2f[cell] == facets[:, None], axis=1).astype(np.int64)


_FACET_CORNERS = np.array([[j for j in range(4) if j != i] for i in range(4)])
# the 6 nodes of facet i of a quadratic tetrahedron as a quadratic triangle (a, b, c, then its edges
# (b, c), (a, c), (a, b) in basix order): tet edge k = _SIMPLEX_EDGES[3][k] holds node 4 + k
_FACET_NODES = np.array([list(corners) + [4 + _SIMPLEX_EDGES[3].index((corners[p], corners[q]))
                                          for p, q in _SIMPLEX_EDGES[2]] for corners in _FACET_CORNERS])


def _oriented_facets(particle, tag: int) -> np.ndarray:
    """(m, 3, 3) owned facet triangles (corners) with tag `tag`, ordered so the normal points out of the solid."""
    cell, local = _owned_facet_cells(particle, tag)
    if len(cell) == 0:
        return np.zeros((0, 3, 3))
    nodes = compat.geometry_nodes(particle.mesh)[cell]
    x = particle.mesh.geometry.x
    opposite = x[nodes[np.arange(len(cell)), local]]
    tri = x[np.take_along_axis(nodes, _FACET_CORNERS[local], axis=1)]
    normal = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    inward = np.einsum("ij,ij->i", normal, tri[:, 0] - opposite) < 0
    tri[inward] = tri[inward][:, [0, 2, 1]]
    return tri


def _facet_areas(particle, tag: int) -> float:
    if compat.geometry_degree(particle.mesh) > 1:
        cell, local = _owned_facet_cells(particle, tag)
        nodes = compat.geometry_nodes(particle.mesh)[cell]
        return float(_simplex_measures(particle.mesh.geometry.x[
            np.take_along_axis(nodes, _FACET_NODES[local], axis=1)]).sum())
    tri = _oriented_facets(particle, tag)
    return float(np.linalg.norm(np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]), axis=1).sum() / 2.0)


def _enclosed_volume(particle, names: tuple, comm) -> float:
    """Sum of x . n dA / 3 over the named facets (n out of the solid): the volume they enclose, with
    symmetry planes through the origin contributing nothing; negative for cavities."""
    total = 0.0
    for name in names:
        if name in particle.facet_regions:
            tri = _oriented_facets(particle, particle.facet_regions[name])
            total += np.einsum("ij,ij->i", tri[:, 0], np.cross(tri[:, 1], tri[:, 2])).sum() / 6.0
    return comm.allreduce(float(total))


# -- radial rings ------------------------------------------------------------------------------------
def _split(simplex: np.ndarray) -> list[np.ndarray]:
    """Midpoint subdivision of a simplex (rows: barycentric vertices) into equal-volume children."""
    m = {(i, j): (simplex[i] + simplex[j]) / 2 for i in range(len(simplex)) for j in range(i + 1, len(simplex))}
    v = simplex
    if len(simplex) == 3:
        return [np.array(c) for c in ((v[0], m[0, 1], m[0, 2]), (m[0, 1], v[1], m[1, 2]),
                                      (m[0, 2], m[1, 2], v[2]), (m[0, 1], m[1, 2], m[0, 2]))]
    return [np.array(c) for c in (
        (v[0], m[0, 1], m[0, 2], m[0, 3]), (m[0, 1], v[1], m[1, 2], m[1, 3]), (m[0, 2], m[1, 2], v[2], m[2, 3]),
        (m[0, 3], m[1, 3], m[2, 3], v[3]), (m[0, 1], m[0, 2], m[0, 3], m[1, 3]), (m[0, 1], m[0, 2], m[1, 2], m[1, 3]),
        (m[0, 2], m[0, 3], m[1, 3], m[2, 3]), (m[0, 2], m[1, 2], m[1, 3], m[2, 3]))]


def _barycentric(vertices: int) -> np.ndarray:
    """Barycentric centroids of the equal-volume parts of a simplex split _LEVELS times (a stratified,
    deterministic quadrature with equal weights)."""
    parts = [np.eye(vertices)]
    for _ in range(_LEVELS[vertices]):
        parts = [child for part in parts for child in _split(part)]
    return np.array([part.mean(axis=0) for part in parts])


def _binned(points_radius: np.ndarray, weights: np.ndarray, edges_m: np.ndarray) -> np.ndarray:
    bins = np.searchsorted(edges_m, points_radius, side="right") - 1
    inside = (bins >= 0) & (bins < len(edges_m) - 1)
    return np.bincount(bins[inside], weights[inside], minlength=len(edges_m) - 1).astype(float)


def _binned_parts(simplices: np.ndarray, sizes: np.ndarray, edges_m: np.ndarray, chunk: int = 20000) -> np.ndarray:
    """Volumes (areas) of simplices binned by the radius of their subdivision parts (chunked for memory)."""
    bary = _barycentric(simplices.shape[1])
    total = np.zeros(len(edges_m) - 1)
    for start in range(0, len(simplices), chunk):
        points = np.einsum("kv,nvd->nkd", bary, simplices[start:start + chunk])
        weights = np.repeat(sizes[start:start + chunk] / len(bary), len(bary))
        total += _binned(np.linalg.norm(points, axis=2).ravel(), weights, edges_m)
    return total


def _shell_porosity(cells, volumes, edges, radius, symmetry, hull_volume, comm) -> np.ndarray:
    """1 - solid volume / shell volume per spherical shell; the outermost shell is measured against the
    meshed (polyhedral) outer surface, so the chord error of the outer surface does not count as porosity."""
    edges_m = np.asarray(edges) * radius
    r = np.linalg.norm(cells, axis=2)
    lo = np.searchsorted(edges_m, r.min(axis=1), side="right")
    hi = np.searchsorted(edges_m, r.max(axis=1), side="right")
    whole = lo == hi                     # all four vertices in one shell: no need to subdivide
    solid = _binned(r.min(axis=1)[whole], volumes[whole], edges_m)
    solid = np.asarray(comm.allreduce(solid + _binned_parts(cells[~whole], volumes[~whole], edges_m)))
    nominal = 4.0 / 3.0 * math.pi * np.diff(edges_m**3) * symmetry
    if np.isclose(edges[-1], 1.0) and hull_volume > 0:
        nominal[-1] = hull_volume - 4.0 / 3.0 * math.pi * edges_m[-2] ** 3 * symmetry
    return 1.0 - solid / nominal


def _void_share(edges, void_fraction: float, power: int) -> np.ndarray:
    """Share of each shell (power 3) or annulus (power 2) between the edges taken by a central void."""
    e = np.asarray(edges, float)
    inside = np.minimum(e, void_fraction) ** power
    return np.diff(inside) / np.diff(e**power)


def _rings(edges, values) -> list[dict]:
    return [{"r_inner_fraction": float(a), "r_outer_fraction": float(b), "porosity": float(p)}
            for a, b, p in zip(edges[:-1], edges[1:], values)]


def _edges(rings: list | None, default) -> tuple:
    if not rings:
        return tuple(default)
    return tuple([rings[0]["r_inner_fraction"]] + [ring["r_outer_fraction"] for ring in rings])


# -- cross-sections ----------------------------------------------------------------------------------
_EDGE_PAIRS = np.array([(0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3)])
_IN_PLANE_FIRST = {2: (0, 1, 2), 0: (1, 2, 0), 1: (2, 0, 1)}   # normal axis -> coordinates, normal last


def _section_triangles(cells: np.ndarray, axis: int, offset: float) -> np.ndarray:
    """(m, 3, 2) triangles of the intersection of the tetrahedra with the plane x_axis = offset."""
    cells = cells[:, :, _IN_PLANE_FIRST[axis]]
    side = cells[:, :, 2] >= offset
    tets = cells[side.any(axis=1) & ~side.all(axis=1)]
    a, b = tets[:, _EDGE_PAIRS[:, 0]], tets[:, _EDGE_PAIRS[:, 1]]
    cut = (a[..., 2] >= offset) != (b[..., 2] >= offset)
    t = (offset - a[..., 2]) / np.where(cut, b[..., 2] - a[..., 2], 1.0)
    points = (a + t[..., None] * (b - a))[..., :2]              # (n, 6, 2), meaningful where cut
    triangles = []
    for count in (3, 4):
        mask = cut.sum(axis=1) == count
        if not mask.any():
            continue
        pts = points[mask][cut[mask]].reshape(-1, count, 2)
        centre = pts.mean(axis=1, keepdims=True)
        order = np.argsort(np.arctan2(pts[..., 1] - centre[..., 1], pts[..., 0] - centre[..., 0]), axis=1)
        pts = np.take_along_axis(pts, order[..., None], axis=1)
        triangles.append(pts[:, [0, 1, 2]])
        if count == 4:
            triangles.append(pts[:, [0, 2, 3]])
    return np.concatenate(triangles) if triangles else np.zeros((0, 3, 2))


def _section_porosity(cells, axis, *edge_sets, radius, offset, symmetry, comm) -> np.ndarray:
    """[whole section, annuli of each edge set ...]: 1 - solid area / area on the plane x_axis = offset."""
    tri = _section_triangles(cells, axis, offset)
    e1, e2 = tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]
    areas = np.abs(e1[:, 0] * e2[:, 1] - e1[:, 1] * e2[:, 0]) / 2.0
    section_radius = math.sqrt(radius**2 - offset**2)
    result = [1.0 - comm.allreduce(float(areas.sum())) / (math.pi * section_radius**2 * symmetry)]
    for edges in edge_sets:
        edges_m = np.asarray(edges) * section_radius
        solid = np.asarray(comm.allreduce(_binned_parts(tri, areas, edges_m)))
        result.extend(1.0 - solid / (math.pi * np.diff(edges_m**2) * symmetry))
    return np.asarray(result)


def _analytic(pores) -> dict:
    """The pore sampler's own measurement of the sampled pores ({} without pores)."""
    if pores is None:
        return {}
    from solver.geometry.pores import sampler
    return dict(sampler().measure_porosity(pores))


def _differences_pp(out: dict) -> dict:
    """Mesh minus analytic porosity, percentage points: sections overall and worst ring, 3D volume."""
    def worst(a, b):
        return max((abs(x["porosity"] - y["porosity"]) for x, y in zip(a, b)), default=0.0) * 100.0
    return {"overall": (out["porosity_mesh_overall"] - out["porosity_overall"]) * 100.0,
            "volume": (out["porosity_mesh_volume"] - out["porosity_volume"]) * 100.0,
            "worst_ring": worst(out["porosity_mesh_by_ring"], out["porosity_by_ring"]),
            "worst_profile_ring": worst(out["porosity_mesh_profile_full"], out["porosity_profile_full"])}
