"""The meshed particle handed to the physics: dolfinx mesh (metres), named tags and what was built."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class ParticleMesh:
    mesh: object                      # dolfinx.mesh.Mesh, coordinates in metres, centred at the origin
    cell_tags: object                 # dolfinx.mesh.MeshTags (cells)
    facet_tags: object                # dolfinx.mesh.MeshTags (facets)
    cell_regions: dict[str, int]      # name -> tag: bulk, shell, islands, grain_<i>
    facet_regions: dict[str, int]     # name -> tag: outer_surface, pore_surface, ... (only those present)
    radius_m: float
    description: dict                 # kind, parameters, pores, grains, gmsh version, cache key, seconds, quality
    grain_orientations: np.ndarray | None = None   # (n_grains, 3, 3), crystal -> sample, row i = grain_i
    pores: object | None = None       # the PoreSet that was meshed (nominal sizes), None without pores
    nominal_volume_m3: dict = field(default_factory=dict)  # "envelope" and per region where analytic

    def measure(self) -> dict:
        """Geometry measurements (geometry.json): volumes, porosity overall / by ring / on a section, quality.

        Collective under MPI: every rank must call it.
        """
        from solver.geometry.measure import measure_particle
        return measure_particle(self)
