"""The [geometry] and [mesh] tables: the kind registry and validation to normalised SI dicts."""
from __future__ import annotations

from solver.errors import CaseError
from solver.geometry import core_shell, hollow, polycrystal, porous, sphere
from solver.geometry.options import BOOL, FLOAT, INT, STR, KindSpec, Option, at_least, positive, validate_table

GEOMETRY_KINDS: dict[str, KindSpec] = {spec.name: spec for spec in
                                       (sphere.SPEC, hollow.SPEC, core_shell.SPEC, porous.SPEC, polycrystal.SPEC)}


def _unit_fraction(value):
    return None if 0 < value <= 1 else "must be in (0, 1]"


MESH_OPTIONS = [
    Option("cell_size_fraction", FLOAT, 0.15, check=_unit_fraction, help="largest cell size / particle radius"),
    Option("surface_cell_size_fraction", FLOAT, 0.05, check=_unit_fraction,
           help="cell size at the outer surface, voids and pores / particle radius"),
    Option("interface_cell_size_fraction", FLOAT, None, check=_unit_fraction,
           help="cell size at shell/island interfaces and grain boundaries (default: the surface size)"),
    Option("min_cell_size_fraction", FLOAT, 0.001, check=_unit_fraction, help="smallest cell size / radius"),
    Option("grading_fraction", FLOAT, 0.2, check=positive,
           help="distance / radius over which cells grow from surface size to the largest size"),
    Option("curvature_cells", FLOAT, 8.0, check=at_least(3), help="cells per 2 pi of surface curvature"),
    Option("layer_cells", INT, 2, check=at_least(1), help="least cells across thin shells and islands"),
    Option("pore_volume_compensation", BOOL, True,
           help="inflate pores so the meshed (polyhedral) pores hold the sampled volume"),
    Option("min_quality", FLOAT, 0.02, check=lambda v: None if 0 <= v < 1 else "must be in [0, 1)",
           help="worst accepted tetrahedron (gmsh minSICN); below it the mesh gets one Netgen optimisation, "
                "then is rejected"),
    Option("algorithm_3d", STR, "delaunay", choices=("delaunay", "hxt")),
    Option("optimize_netgen", BOOL, False),
    Option("threads", INT, 1, check=at_least(1), help="gmsh threads (1 keeps meshes reproducible)"),
    Option("verbose", BOOL, False, help="show gmsh's own messages"),
]


def validate_geometry(table: dict) -> dict:
    """Raw [geometry] table -> normalised dict in SI with "kind" (idempotent)."""
    if not isinstance(table, dict):
        raise CaseError(f"[geometry] = {table!r}: must be a table")
    kind = table.get("kind")
    if kind not in GEOMETRY_KINDS:
        raise CaseError(f"geometry.kind = {kind!r}: unknown kind; valid kinds are "
                        + ", ".join(f"{name} ({spec.summary})" for name, spec in GEOMETRY_KINDS.items()))
    spec = GEOMETRY_KINDS[kind]
    normalised = {"kind": kind, **validate_table(table, spec.options, "geometry", ignore=("kind",))}
    if spec.check is not None:
        spec.check(normalised)
    return normalised


def validate_mesh_options(table: dict) -> dict:
    """Raw [mesh] table -> normalised dict with defaults (idempotent)."""
    mesh = validate_table(table if table is not None else {}, MESH_OPTIONS, "mesh")
    if mesh["surface_cell_size_fraction"] > mesh["cell_size_fraction"]:
        raise CaseError(f"mesh.surface_cell_size_fraction = {mesh['surface_cell_size_fraction']}: must not exceed "
                        f"mesh.cell_size_fraction = {mesh['cell_size_fraction']}")
    if mesh["min_cell_size_fraction"] > mesh["surface_cell_size_fraction"]:
        raise CaseError(f"mesh.min_cell_size_fraction = {mesh['min_cell_size_fraction']}: must not exceed "
                        f"mesh.surface_cell_size_fraction = {mesh['surface_cell_size_fraction']}")
    return mesh
