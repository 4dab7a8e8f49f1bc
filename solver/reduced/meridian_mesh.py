"""The meridian quarter disc of a rotationally symmetric particle, meshed with triangles by gmsh.

Coordinates (micrometres in gmsh, metres in dolfinx): x = rho >= 0, the distance from the symmetry
axis, and y = z >= 0, along the axis; the equatorial plane z = 0 is a mirror plane of every
symmetric kind (sphere, hollow sphere, core-shell), so a quarter disc is the whole model.

Regions by name, as in 3D: cells `bulk` (and `shell`); facets `outer_surface`, `inner_surface` (hollow),
`shell_interface`, and the two symmetry lines named after the coordinate that vanishes on them:
`symmetry_x` (the axis rho = 0: u_rho = 0) and `symmetry_y` (the equator z = 0: u_z = 0).
Each ring between consecutive radii is built from explicit lines and arcs, so tags need no search.
The triangles are quadratic (GEOMETRY_ORDER = 2): their edges on the arcs are curved, so the surfaces are
round instead of polygonal (flat edges put stress spikes at the boundary vertices; see axisymmetric.py).
"""
from __future__ import annotations

import time

from mpi4py import MPI

from solver import compat
from solver.geometry.build import CELL_IDS, FACET_IDS
from solver.geometry.occ import gmsh_session
from solver.geometry.particle_mesh import ParticleMesh
from solver.geometry.sizing import Sizes
from solver.reduced.symmetry import RadialLayout
from solver.units import UM_TO_M

TRIANGLE = 2
GEOMETRY_ORDER = 2


def _arc_name(radius: float, layout_um: dict) -> str:
    if radius == layout_um["outer"]:
        return "outer_surface"
    return "inner_surface" if radius == layout_um["inner"] else "shell_interface"


def _rings(layout: RadialLayout) -> dict:
    """Curves and surfaces of every ring in the gmsh geo kernel; returns tags by name."""
    import gmsh
    geo = gmsh.model.geo
    radii = [layout.inner_radius_m / UM_TO_M] + [outer / UM_TO_M for _, _, outer in layout.regions]
    layout_um = {"outer": radii[-1], "inner": radii[0]}
    origin = geo.addPoint(0.0, 0.0, 0.0)
    on_equator = [geo.addPoint(r, 0.0, 0.0) if r > 0 else origin for r in radii]
    on_axis = [geo.addPoint(0.0, r, 0.0) if r > 0 else origin for r in radii]
    arcs = [geo.addCircleArc(e, origin, a) if r > 0 else None for r, e, a in zip(radii, on_equator, on_axis)]
    facets: dict[str, list[int]] = {}
    cells: dict[str, list[int]] = {}
    for k, (name, _, _) in enumerate(layout.regions):
        equator = geo.addLine(on_equator[k], on_equator[k + 1])
        axis = geo.addLine(on_axis[k + 1], on_axis[k])
        loop = [equator, arcs[k + 1], axis] + ([-arcs[k]] if arcs[k] is not None else [])
        cells.setdefault(name, []).append(geo.addPlaneSurface([geo.addCurveLoop(loop)]))
        facets.setdefault("symmetry_y", []).append(equator)
        facets.setdefault("symmetry_x", []).append(axis)
    for r, arc in zip(radii, arcs):
        if arc is not None:
            facets.setdefault(_arc_name(r, layout_um), []).append(arc)
    geo.synchronize()
    return {"cells": cells, "facets": facets}


def size_field(facets: dict[str, list[int]], sizes: Sizes, layers: dict[str, float]) -> None:
    """Fine on the arcs (surfaces, interfaces), graded linearly to the coarse size over sizes.grading."""
    import gmsh
    field = gmsh.model.mesh.field
    thresholds = []
    for name, curves in facets.items():
        size = sizes.for_facet(name, layers)
        if size is None:
            continue
        distance = field.add("Distance")
        field.setNumbers(distance, "CurvesList", curves)
        field.setNumber(distance, "Sampling", 200)
        threshold = field.add("Threshold")
        field.setNumber(threshold, "InField", distance)
        field.setNumber(threshold, "SizeMin", size)
        field.setNumber(threshold, "SizeMax", sizes.coarse)
        field.setNumber(threshold, "DistMin", 0.0)
        field.setNumber(threshold, "DistMax", sizes.grading)
        thresholds.append(threshold)
    minimum = field.add("Min")
    field.setNumbers(minimum, "FieldsList", thresholds)
    field.setAsBackgroundMesh(minimum)
    for option in ("Mesh.MeshSizeExtendFromBoundary", "Mesh.MeshSizeFromPoints", "Mesh.MeshSizeFromCurvature"):
        gmsh.option.setNumber(option, 0)
    gmsh.option.setNumber("Mesh.MeshSizeMax", sizes.coarse)


def build_meridian_mesh(layout: RadialLayout, mesh_options: dict, comm=MPI.COMM_SELF) -> ParticleMesh:
    """Triangle mesh of the meridian quarter disc (metres), regions tagged by name (see module docstring)."""
    import gmsh

    started = time.perf_counter()
    radius_um = layout.radius_m / UM_TO_M
    sizes = Sizes.from_options(mesh_options, radius_um)
    shell = [outer - inner for name, inner, outer in layout.regions if name == "shell"]
    layers = {"outer_surface": shell[0] / UM_TO_M, "shell_interface": shell[0] / UM_TO_M} if shell else {}
    with gmsh_session(1, mesh_options["verbose"]):
        tags = _rings(layout)
        cell_regions = {name: CELL_IDS[name] for name in tags["cells"]}
        facet_regions = {name: FACET_IDS[name] for name in sorted(tags["facets"], key=FACET_IDS.get)}
        for name, surfaces in tags["cells"].items():
            gmsh.model.addPhysicalGroup(2, surfaces, cell_regions[name], name=name)
        for name, curves in tags["facets"].items():
            gmsh.model.addPhysicalGroup(1, curves, facet_regions[name], name=name)
        size_field(tags["facets"], sizes, layers)
        gmsh.model.mesh.generate(2)
        triangles = len(gmsh.model.mesh.getElementsByType(TRIANGLE)[0])
        gmsh.model.mesh.setOrder(GEOMETRY_ORDER)
        mesh, cell_tags, facet_tags = compat.gmsh_model_to_mesh(gmsh.model, comm, 0, gdim=2)
    mesh.geometry.x[:] *= UM_TO_M
    description = {"formulation": "axisymmetric", "triangles": triangles, "radius_m": layout.radius_m,
                   "inner_radius_m": layout.inner_radius_m, "interfaces_m": list(layout.interfaces_m),
                   "sizes_um": {"coarse": sizes.coarse, "surface": sizes.surface, "interface": sizes.interface},
                   "seconds": time.perf_counter() - started}
    return ParticleMesh(mesh=mesh, cell_tags=cell_tags, facet_tags=facet_tags, cell_regions=cell_regions,
                        facet_regions=facet_regions, radius_m=layout.radius_m, description=description)
