"""Hollow sphere: a central void (Kirkendall / LNMO hollow interior), optionally with a porous shell."""
from __future__ import annotations

import numpy as np

from solver.errors import CaseError
from solver.geometry import pores as pore_tools
from solver.geometry.assembly import (RADIUS, SEED, SYMMETRY, Assembly, KindSpec, ball_volume, forbid_octant_with,
                                      octant_inputs, outer_surface, radius_um, sphere_surface, symmetry_factor)
from solver.geometry.occ import ball, fragment_assign
from solver.schema import FLOAT, Option, rule

# gmsh meshed a void of 0.99 R with the default sizes (a 0.01 R shell); 0.999 fell below the quality gate and
# 0.9999 stopped gmsh with "PLC Error: A segment and a facet intersect"
VOID = Option("void_radius_fraction", FLOAT, 0.4, check=rule(lambda v: 0 < v <= 0.99, "in (0, 0.99]"),
              help="void radius / particle radius")


def check(geometry: dict) -> None:
    if pore_tools.has_pores(geometry):
        forbid_octant_with(geometry, "pores")
    pore_tools.check_pore_options(geometry)


def build(geometry: dict, mesh: dict) -> Assembly:
    radius = radius_um(geometry)
    void = geometry["void_radius_fraction"] * radius
    pores = _pores_outside_void(geometry, radius, void)
    inputs = ([("particle", ball((0, 0, 0), radius)), ("void", ball((0, 0, 0), void))]
              + octant_inputs(geometry, radius) + pore_tools.pore_inputs(pores, mesh, radius))
    octant = geometry["symmetry"] == "octant"

    def region(labels):
        if "particle" not in labels or labels & {"void", "pore"} or (octant and "octant" not in labels):
            return None
        return "bulk"

    regions = fragment_assign(inputs, region)
    volume = (ball_volume(radius) - ball_volume(void)) * symmetry_factor(geometry)
    description = {"symmetry": geometry["symmetry"], "void_radius_um": void,
                   **pore_tools.summary(pores)}
    return Assembly(regions, radius, {"envelope": volume}, description, inner_radius_um=void, pores=pores)


def _pores_outside_void(geometry: dict, radius: float, void: float):
    """Sampled pores, minus those that would touch the void (keeping the sampler's gap to it)."""
    pores = pore_tools.sample(geometry, radius)
    if pores is None:
        return None
    gap, _ = pore_tools.gaps_um(geometry, radius)
    clear = np.linalg.norm(pores.centers_um, axis=1) - pores.bounding_radii_um() >= void + gap
    if not clear.any():
        raise CaseError(f"geometry.void_radius_fraction = {geometry['void_radius_fraction']}: "
                        "no sampled pore fits in the shell around the void")
    return pore_tools.subset(pores, clear)


def surfaces(geometry: dict) -> dict[str, tuple]:
    return {**outer_surface(geometry), "inner_surface": sphere_surface(
        geometry, geometry["void_radius_fraction"] * radius_um(geometry))}


SPEC = KindSpec("hollow_sphere", [RADIUS, VOID, SYMMETRY, SEED, *pore_tools.PORE_OPTIONS], build,
                "sphere with a central void (inner_surface), optionally porous", check=check, surfaces=surfaces)
