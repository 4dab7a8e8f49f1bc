"""build_particle_mesh: cache lookup or build + mesh on rank 0, then one distributed dolfinx mesh."""
from __future__ import annotations

import contextlib
import time
from pathlib import Path

import numpy as np

from solver.errors import CaseError
from solver.geometry import cache, pores as pore_tools
from solver.geometry.meshing import (TETRAHEDRON_OF_ORDER, Progress, check_quality, count_elements, curve,
                                     generate, quality_stats, rescue_quality, to_dolfinx)
from solver.geometry.occ import add_physical_groups, gmsh_session, name_surfaces
from solver.geometry.particle_mesh import ParticleMesh
from solver.geometry.schema import GEOMETRY_KINDS, validate_geometry, validate_mesh_options
from solver.geometry.sizing import Sizes, apply_size_fields
from solver.schema import shown_text
from solver.units import UM_TO_M

CELL_IDS = {"bulk": 1, "shell": 2, "islands": 3}
GRAIN_ID_OFFSET = 100
FACET_IDS = {"outer_surface": 1, "pore_surface": 2, "inner_surface": 3, "shell_interface": 4,
             "island_interface": 5, "island_surface": 6, "grain_boundary": 7, "cube_face": 8,
             "symmetry_x": 11, "symmetry_y": 12, "symmetry_z": 13}
DEFAULT_CACHE = Path("meshes/cache")


def cell_id(name: str) -> int:
    return GRAIN_ID_OFFSET + int(name.split("_")[1]) if name.startswith("grain_") else CELL_IDS[name]


def build_particle_mesh(geometry: dict, mesh_options: dict, comm, cache_dir: Path | None = DEFAULT_CACHE,
                        progress=None) -> ParticleMesh:
    """Mesh the particle described by a [geometry] and a [mesh] table (raw or validated), reusing the cache.

    gmsh runs on rank 0 only; the mesh is then distributed over `comm`. `progress` is called with
    status lines (default: the solver.geometry logger).
    """
    started = time.perf_counter()
    geometry = validate_geometry(geometry)
    mesh_options = validate_mesh_options(mesh_options, geometry)
    report = Progress(progress)
    key = cache.cache_key(geometry, mesh_options, _key_extra(geometry))
    meta, failure = None, None
    with contextlib.ExitStack() as stack:
        if comm.rank == 0:
            try:
                stack.enter_context(gmsh_session(mesh_options["threads"], mesh_options["verbose"]))
                meta = _mesh_on_this_rank(geometry, mesh_options, key, cache_dir, report)
            except Exception as exc:
                failure = _as_case_error(exc, geometry)
        if comm.size > 1:
            failure = comm.bcast(failure, root=0)
        if failure is not None:
            raise failure
        meta = comm.bcast(meta, root=0) if comm.size > 1 else meta
        mesh, cell_tags, facet_tags = to_dolfinx(comm)
    seconds = time.perf_counter() - started
    report(f"dolfinx mesh ready ({meta['description']['cells']} cells, {seconds:.1f} s)")
    return _particle_mesh(meta, mesh, cell_tags, facet_tags, seconds)


def _as_case_error(exc: Exception, geometry: dict) -> Exception:
    """gmsh reports every failure as a bare Exception holding its last error ("PLC Error: A segment and a facet
    intersect"), and occ.fragment_assign raises RuntimeError when the booleans leave no solid: both mean a
    geometry gmsh cannot mesh, so a CaseError naming the geometry keys. Anything else is a bug: unchanged."""
    if type(exc) not in (Exception, RuntimeError):
        return exc
    keys = ", ".join(f"{key} = {value:g}" for key, value in geometry.items()
                     if isinstance(value, float) and key != "radius_m")
    return CaseError(f"geometry (kind = {geometry['kind']!r}, radius_um = {geometry['radius_m'] / UM_TO_M:g}"
                     f"{', ' + keys if keys else ''}): gmsh could not mesh it ({shown_text(str(exc))}); change "
                     "these keys or the [mesh] sizes")


def _key_extra(geometry: dict) -> dict:
    return {"pore_sampler": pore_tools.sampler_digest()} if pore_tools.has_pores(geometry) else {}


def _mesh_on_this_rank(geometry: dict, mesh: dict, key: str, cache_dir, report: Progress) -> dict:
    meta = cache.load_meta(cache_dir, key)
    # an entry made under a laxer mesh.min_quality is rebuilt (and optimised) instead
    if meta is not None and meta["description"]["quality"]["min_quality"] >= mesh["min_quality"]:
        cache.merge_mesh(cache_dir, key)
        report(f"mesh cache hit {key} ({meta['description']['cells']} cells)")
        meta["description"]["cache_hit"] = True
        return meta
    started = time.perf_counter()
    spec = GEOMETRY_KINDS[geometry["kind"]]
    with report.stage(f"building {geometry['kind']} geometry"):
        built = spec.build(geometry, mesh)
    geometry_seconds = time.perf_counter() - started
    facets = name_surfaces(built.cell_regions, built.radius_um, built.inner_radius_um, built.exterior_planes)
    cell_regions = {name: cell_id(name) for name in sorted(built.cell_regions, key=cell_id)}
    facet_regions = {name: FACET_IDS[name] for name in sorted(facets, key=FACET_IDS.get)}
    add_physical_groups(built.cell_regions, facets, cell_regions, facet_regions)
    report(f"geometry: {sum(map(len, built.cell_regions.values()))} volumes, "
           f"{sum(map(len, facets.values()))} tagged surfaces, {built.description.get('pore_count', 0)} pores")
    apply_size_fields(facets, Sizes.from_options(mesh, built.radius_um), built.layer_thickness_um)
    counts = generate(mesh, report)
    quality = rescue_quality(quality_stats(), mesh["min_quality"], report)
    # curved after the straight mesh is accepted: Netgen's optimiser works on straight tets only
    quality = curve(mesh["geometry_order"], mesh["min_quality"], report, quality)
    report(f"quality: min {quality['quality_measure']} {quality['min_quality']:.3f}, "
           f"1% quantile {quality['quality_p01']:.3f}")
    check_quality(quality, mesh["min_quality"])
    import gmsh
    cells = count_elements(TETRAHEDRON_OF_ORDER[mesh["geometry_order"]])
    description = {"kind": geometry["kind"], "parameters": geometry, "mesh_options": mesh,
                   **built.description, "cells": cells, "quality": quality,
                   "mesh_counts": counts, "geometry_seconds": geometry_seconds, "gmsh_version": gmsh.__version__,
                   "builder_version": cache.BUILDER_VERSION, "cache_key": key,
                   "build_seconds": time.perf_counter() - started, "cache_hit": False}
    meta = {"cell_regions": cell_regions, "facet_regions": facet_regions, "radius_um": built.radius_um,
            "description": description, "nominal_volume_um3": built.nominal_volume_um3,
            "grain_orientations": None if built.grain_orientations is None else built.grain_orientations.tolist(),
            "pores": pore_tools.to_json(built.pores)}
    cache.store(cache_dir, key, meta)
    return meta


def _particle_mesh(meta: dict, mesh, cell_tags, facet_tags, seconds: float) -> ParticleMesh:
    description = dict(meta["description"], seconds=seconds)
    orientations = meta["grain_orientations"]
    return ParticleMesh(
        mesh=mesh, cell_tags=cell_tags, facet_tags=facet_tags,
        cell_regions=dict(meta["cell_regions"]), facet_regions=dict(meta["facet_regions"]),
        radius_m=meta["radius_um"] * UM_TO_M, description=description,
        grain_orientations=None if orientations is None else np.asarray(orientations, float),
        pores=pore_tools.from_json(meta["pores"]),
        nominal_volume_m3={k: v * UM_TO_M**3 for k, v in meta["nominal_volume_um3"].items()})
