"""Particle geometries: gmsh builders per kind, meshing to dolfinx, the mesh cache and measurements.

    from solver.geometry import validate_geometry, validate_mesh_options, build_particle_mesh
    particle = build_particle_mesh({"kind": "sphere", "radius_um": 5.0}, {}, MPI.COMM_WORLD)
    particle.facet_regions["outer_surface"]; particle.measure()["volume_relative_error"]

Kinds (GEOMETRY_KINDS; options in each module's OPTIONS / SPEC, listed on a typo):
sphere.py, hollow.py (hollow_sphere), core_shell.py (+ islands.py), porous.py (+ pores.py and the
sampler package porosity/), polycrystal.py (+ voronoi.py, orientations.py). Shared machinery: assembly.py
(KindSpec, options several kinds share; the Option tables are solver/schema.py), schema.py (registry, [mesh]
options), occ.py (OCC booleans, surface naming), sizing.py (size fields), meshing.py (gmsh meshing, quality,
dolfinx conversion), cache.py, build.py, measure.py.

Regions are addressed by name (cell: bulk, shell, islands, grain_<i>; facet: outer_surface,
pore_surface, inner_surface, shell_interface, island_interface, island_surface, grain_boundary,
symmetry_x|y|z); the integer tags behind the names are this package's business.
"""
from solver.errors import CaseError
from solver.geometry.build import build_particle_mesh
from solver.geometry.meshing import MeshQualityError
from solver.geometry.particle_mesh import ParticleMesh
from solver.geometry.schema import GEOMETRY_KINDS, MESH_OPTIONS, validate_geometry, validate_mesh_options

__all__ = ["CaseError", "GEOMETRY_KINDS", "MESH_OPTIONS", "MeshQualityError", "ParticleMesh",
           "build_particle_mesh", "validate_geometry", "validate_mesh_options"]
