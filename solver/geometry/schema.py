"""The [geometry] and [mesh] tables: the kind registry and validation to normalised SI dicts."""
from __future__ import annotations

from solver.errors import CaseError
from solver.geometry import core_shell, hollow, polycrystal, porous, sphere, subvolume
from solver.geometry import pores as pore_tools
from solver.geometry.assembly import KindSpec, ball_volume, radius_um, symmetry_factor
from solver.geometry.sizing import MAX_ESTIMATED_CELLS, Sizes, estimate_cells
from solver.schema import (BOOL, FLOAT, INT, STR, Option, at_least, fraction_half_open, fraction_unit, positive, shown,
                           validate_table, whole_number)

GEOMETRY_KINDS: dict[str, KindSpec] = {spec.name: spec for spec in
                                       (sphere.SPEC, hollow.SPEC, core_shell.SPEC, porous.SPEC, polycrystal.SPEC,
                                        subvolume.SPEC)}


MESH_OPTIONS = [
    Option("cell_size_fraction", FLOAT, 0.15, check=fraction_unit, help="largest cell size / particle radius"),
    Option("surface_cell_size_fraction", FLOAT, 0.05, check=fraction_unit,
           help="cell size at the outer surface, voids and pores / particle radius"),
    Option("interface_cell_size_fraction", FLOAT, None, check=fraction_unit,
           help="cell size at shell/island interfaces and grain boundaries (default: the surface size)"),
    Option("min_cell_size_fraction", FLOAT, 0.001, check=fraction_unit, help="smallest cell size / radius"),
    Option("grading_fraction", FLOAT, 0.2, check=positive,
           help="distance / radius over which cells grow from surface size to the largest size"),
    Option("curvature_cells", FLOAT, 8.0, check=at_least(3), help="cells per 2 pi of surface curvature"),
    Option("layer_cells", INT, 2, check=whole_number(1, 100), help="least cells across thin shells and islands"),
    Option("pore_volume_compensation", BOOL, True,
           help="inflate pores so the meshed (polyhedral) pores hold the sampled volume"),
    Option("min_quality", FLOAT, 0.02, check=fraction_half_open,
           help="worst accepted tetrahedron (gmsh minSICN); below it the mesh gets one Netgen optimisation, "
                "then is rejected"),
    Option("geometry_order", INT, 1, choices=(1, 2),
           help="1: straight-sided tetrahedra; 2: quadratic (10-node) tetrahedra with their nodes on the "
                "true curved surfaces (sphere, hollow_sphere, core_shell without pores or islands)"),
    Option("algorithm_3d", STR, "delaunay", choices=("delaunay", "hxt"), help="gmsh's 3D mesher"),
    Option("optimize_netgen", BOOL, False, help="always run Netgen's optimiser"),
    Option("threads", INT, 1, check=whole_number(1, 1024), help="gmsh threads (1 keeps meshes reproducible)"),
    Option("verbose", BOOL, False, help="show gmsh's own messages"),
]


def validate_geometry(table: dict) -> dict:
    """Raw [geometry] table -> normalised dict in SI with "kind" (idempotent)."""
    if not isinstance(table, dict):
        raise CaseError(f"[geometry] = {shown(table)}: must be a table")
    kind = table.get("kind")
    if not isinstance(kind, str) or kind not in GEOMETRY_KINDS:   # a list or table is no kind (nor hashable)
        raise CaseError(f"geometry.kind = {shown(kind)}: unknown kind; valid kinds are "
                        + ", ".join(f"{name} ({spec.summary})" for name, spec in GEOMETRY_KINDS.items()))
    spec = GEOMETRY_KINDS[kind]
    normalised = {"kind": kind, **validate_table(table, spec.options, "geometry", ignore=("kind",),
                                                 quote_unknown=True)}
    if spec.check is not None:
        spec.check(normalised)
    return normalised


def validate_mesh_options(table: dict, geometry: dict | None = None) -> dict:
    """Raw [mesh] table -> normalised dict with defaults (idempotent); with the normalised [geometry],
    also the options that depend on the particle (mesh.geometry_order)."""
    mesh = validate_table(table if table is not None else {}, MESH_OPTIONS, "mesh", quote_unknown=True)
    if geometry is not None:
        check_geometry_order(geometry, mesh)
    if mesh["surface_cell_size_fraction"] > mesh["cell_size_fraction"]:
        raise CaseError(f"mesh.surface_cell_size_fraction = {mesh['surface_cell_size_fraction']}: must not exceed "
                        f"mesh.cell_size_fraction = {mesh['cell_size_fraction']}")
    if mesh["min_cell_size_fraction"] > mesh["surface_cell_size_fraction"]:
        raise CaseError(f"mesh.min_cell_size_fraction = {mesh['min_cell_size_fraction']}: must not exceed "
                        f"mesh.surface_cell_size_fraction = {mesh['surface_cell_size_fraction']}")
    if geometry is not None:
        check_cell_estimate(geometry, mesh)
    return mesh


def check_cell_estimate(geometry: dict, mesh: dict) -> None:
    """Refuse, before gmsh runs, a mesh whose estimated element count is past sizing.MAX_ESTIMATED_CELLS
    (a 0.001 R core-shell shell meshed for more than 10 minutes), naming the key that makes it fine."""
    radius = radius_um(geometry)
    spec = GEOMETRY_KINDS[geometry["kind"]]
    volume = spec.volume_um3(geometry) if spec.volume_um3 else ball_volume(radius) * symmetry_factor(geometry)
    count, where, size, key = estimate_cells(Sizes.from_options(mesh, radius), volume, spec.surfaces(geometry))
    if count > MAX_ESTIMATED_CELLS:
        raise CaseError(f"{key}: the mesh would have about {count:.2g} tetrahedra (cells of {size:.3g} um at "
                        f"{where}), more than the {MAX_ESTIMATED_CELLS:,} that fit; make the cells there larger")


def check_geometry_order(geometry: dict, mesh: dict) -> None:
    """Curved tetrahedra only where nothing assumes straight ones: pore volume compensation inflates pores
    for polyhedral (chordal) pores and the mesh porosity measures cut straight tets; Voronoi grain faces
    and island caps are not tested with curved cells."""
    if mesh["geometry_order"] == 1:
        return
    kind = geometry["kind"]
    if kind in ("porous", "polycrystal", "subvolume"):
        blocker = f"geometry.kind = {kind!r}"
    elif pore_tools.has_pores(geometry):
        blocker = "pores (geometry.porosity / pore options)"
    elif geometry.get("island_coverage_fraction"):
        blocker = f"islands (geometry.island_coverage_fraction = {geometry['island_coverage_fraction']})"
    else:
        return
    raise CaseError(f"mesh.geometry_order = {mesh['geometry_order']}: not available with {blocker}; "
                    "allowed there: 1. Order 2 works for sphere, hollow_sphere and core_shell without pores "
                    "or islands")
