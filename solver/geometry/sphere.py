"""Dense sphere, full or octant."""
from __future__ import annotations

from solver.geometry.assembly import (RADIUS, SYMMETRY, Assembly, KindSpec, ball_volume, octant_inputs, radius_um,
                                      symmetry_factor)
from solver.geometry.occ import ball, fragment_assign


def build(geometry: dict, mesh: dict) -> Assembly:
    radius = radius_um(geometry)
    inputs = [("particle", ball((0, 0, 0), radius))] + octant_inputs(geometry, radius)
    octant = geometry["symmetry"] == "octant"

    def region(labels):
        return "bulk" if "particle" in labels and (not octant or "octant" in labels) else None

    regions = fragment_assign(inputs, region)
    volume = ball_volume(radius) * symmetry_factor(geometry)
    return Assembly(regions, radius, {"envelope": volume, "bulk": volume}, {"symmetry": geometry["symmetry"]})


SPEC = KindSpec("sphere", [RADIUS, SYMMETRY], build, "dense sphere")
