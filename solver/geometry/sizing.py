"""Mesh sizes: fine on surfaces, interfaces and pores, graded to a coarse interior.

Sizes are fractions of the particle radius (the [mesh] options). Each tagged surface gets a Constant
field (its cell size); an Extend field grades from the surface meshes to the coarse size over
`grading_fraction` x radius; curved surfaces (pores, voids) are also refined by curvature.
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np

INTERFACES = ("shell_interface", "island_interface", "grain_boundary")
SURFACES = ("outer_surface", "inner_surface", "pore_surface", "island_surface")


@dataclass(frozen=True)
class Sizes:
    """Cell sizes in micrometres for one particle."""
    coarse: float
    surface: float
    interface: float
    minimum: float
    grading: float
    curvature_cells: float
    layer_cells: int

    @classmethod
    def from_options(cls, mesh: dict, radius_um: float) -> "Sizes":
        interface = mesh["interface_cell_size_fraction"] or mesh["surface_cell_size_fraction"]
        return cls(coarse=mesh["cell_size_fraction"] * radius_um,
                   surface=mesh["surface_cell_size_fraction"] * radius_um,
                   interface=interface * radius_um,
                   minimum=mesh["min_cell_size_fraction"] * radius_um,
                   grading=mesh["grading_fraction"] * radius_um,
                   curvature_cells=mesh["curvature_cells"], layer_cells=mesh["layer_cells"])

    def for_facet(self, name: str, layer_thickness_um: dict[str, float]) -> float | None:
        """Target size on a facet region (None: no prescribed size, e.g. symmetry planes)."""
        return self.facet_size(name, layer_thickness_um)[0]

    def facet_size(self, name: str, layer_thickness_um: dict[str, float],
                   layer_key: str = "the layer thickness") -> tuple[float | None, str]:
        """(target size on a facet region, the [mesh] or [geometry] key that set it)."""
        if name in SURFACES:
            size, key = self.surface, "mesh.surface_cell_size_fraction"
        elif name in INTERFACES:
            size, key = self.interface, "mesh.interface_cell_size_fraction"
        else:
            return None, ""
        if name in layer_thickness_um and layer_thickness_um[name] / self.layer_cells < size:
            size, key = layer_thickness_um[name] / self.layer_cells, f"{layer_key} / mesh.layer_cells"
        return max(size, self.minimum), key


# -- the element count, estimated before gmsh runs ---------------------------------------------------------
#: A mesh estimated above this is refused before meshing: 5 million tetrahedra with P2 displacements are
#: ~20 million unknowns, past the memory of the machines this runs on (24 GiB); a core-shell shell of 0.001 R
#: meshed for more than 10 minutes before it got there.
MAX_ESTIMATED_CELLS = 5_000_000
#: tetrahedra per (cell size)^3 of volume: gmsh's Delaunay meshes of spheres (coarse, default and fine sizes, an
#: octant), hollow spheres (void 0.5 R and 0.99 R) and a core-shell particle (shell 0.1 R) held 1.05-2.3 x what
#: this gives, so the estimate errs low and does not refuse a mesh that would fit
TETS_PER_SIZE_CUBED = 4.0


def estimate_cells(sizes: Sizes, volume_um3: float, surfaces: dict[str, tuple[float, float, float | None, str]]
                   ) -> tuple[float, str, float, str]:
    """(estimated tetrahedra, the facet region with most of them or "interior", its cell size in um, the key
    that set that size). `surfaces`: name -> (area um^2, radius of curvature um, layer thickness um or None,
    the key of that thickness). Interior cells have the coarse size; within `grading` of each surface the
    size grows linearly from the facet's size (sizing.Sizes, also capped by curvature as gmsh does) to the
    coarse one, which adds A * integral of (1/h(d)^3 - 1/coarse^3) over the graded distance d."""
    coarse, grading = sizes.coarse, sizes.grading
    parts = {"interior": (volume_um3 / coarse**3, coarse, "mesh.cell_size_fraction")}
    for name, (area, curvature_radius, layer, layer_key) in surfaces.items():
        size, key = sizes.facet_size(name, {name: layer} if layer else {}, layer_key)
        curved = 2.0 * math.pi * curvature_radius / sizes.curvature_cells
        if curved < size:
            size, key = max(curved, sizes.minimum), "mesh.curvature_cells"
        size = min(size, coarse)
        if coarse > 1.0001 * size:
            graded = grading / (coarse - size) * (0.5 / size**2 - 0.5 / coarse**2)
        else:
            graded = grading / size**3
        parts[name] = (area * (graded - grading / coarse**3), size, key)
    name = max(parts, key=lambda n: parts[n][0])
    total = TETS_PER_SIZE_CUBED * sum(count for count, _, _ in parts.values())
    return total, name, parts[name][1], parts[name][2]


def apply_size_fields(facet_regions: dict[str, list[int]], sizes: Sizes, layer_thickness_um: dict[str, float]):
    """Install the background size field and global size options on the current gmsh model."""
    import gmsh
    field = gmsh.model.mesh.field
    by_size: dict[float, list[int]] = {}
    for name, surfaces in facet_regions.items():
        size = sizes.for_facet(name, layer_thickness_um)
        if size is not None:
            by_size.setdefault(size, []).extend(surfaces)
    fields = []
    for size, surfaces in sorted(by_size.items()):
        tag = field.add("Constant")
        field.setNumbers(tag, "SurfacesList", sorted(surfaces))
        field.setNumber(tag, "VIn", size)
        field.setNumber(tag, "VOut", sizes.coarse)
        field.setNumber(tag, "IncludeBoundary", 1)
        fields.append(tag)
    graded = sorted(s for surfaces in by_size.values() for s in surfaces)
    if graded:
        tag = field.add("Extend")
        field.setNumbers(tag, "SurfacesList", graded)
        field.setNumber(tag, "DistMax", sizes.grading)
        field.setNumber(tag, "SizeMax", sizes.coarse)
        field.setNumber(tag, "Power", 1.0)
        fields.append(tag)
    if fields:
        tag = field.add("Min")
        field.setNumbers(tag, "FieldsList", fields)
        field.setAsBackgroundMesh(tag)
    set_global_size_options(sizes)


def set_global_size_options(sizes: Sizes) -> None:
    import gmsh
    gmsh.option.setNumber("Mesh.MeshSizeMax", sizes.coarse)
    gmsh.option.setNumber("Mesh.MeshSizeMin", sizes.minimum)
    gmsh.option.setNumber("Mesh.MeshSizeFromCurvature", sizes.curvature_cells)
    gmsh.option.setNumber("Mesh.MeshSizeExtendFromBoundary", 0)
    gmsh.option.setNumber("Mesh.MeshSizeFromPoints", 0)


@functools.lru_cache(maxsize=None)
def reference_sphere_volume_ratio(curvature_cells: float) -> float:
    """Volume of a curvature-meshed unit sphere's surface triangulation over 4 pi / 3.

    Meshed in a scratch gmsh model (gmsh must be initialised); the current model is restored.
    """
    import gmsh
    current = gmsh.model.getCurrent()
    gmsh.model.add("reference_sphere")
    try:
        gmsh.model.occ.addSphere(0.0, 0.0, 0.0, 1.0)
        gmsh.model.occ.synchronize()
        set_global_size_options(Sizes(coarse=10.0, surface=10.0, interface=10.0, minimum=0.0, grading=1.0,
                                      curvature_cells=curvature_cells, layer_cells=1))
        gmsh.model.mesh.generate(2)
        return enclosed_volume(gmsh.model.getEntities(2)) / (4.0 / 3.0 * math.pi)
    finally:
        gmsh.model.remove()
        gmsh.model.setCurrent(current)


def enclosed_volume(surface_dimtags) -> float:
    """|sum over triangles of x . n dA / 3| for a closed triangulated surface (divergence theorem)."""
    import gmsh
    node_tags, coords, _ = gmsh.model.mesh.getNodes()
    xyz = np.zeros((int(node_tags.max()) + 1, 3))
    xyz[node_tags.astype(np.int64)] = coords.reshape(-1, 3)
    total = 0.0
    for dim, tag in surface_dimtags:
        _, _, nodes = gmsh.model.mesh.getElements(dim, tag)
        tri = xyz[nodes[0].astype(np.int64).reshape(-1, 3)]
        total += np.einsum("ij,ij->i", np.cross(tri[:, 0], tri[:, 1]), tri[:, 2]).sum() / 6.0
    return abs(total)
