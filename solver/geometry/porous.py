"""Porous secondary particle: a sphere minus thousands of sampled pores, all removed in one OCC boolean."""
from __future__ import annotations

from solver.errors import CaseError
from solver.geometry import pores as pore_tools
from solver.geometry.assembly import RADIUS, SEED, Assembly, KindSpec, ball_volume, radius_um
from solver.geometry.occ import ball, fragment_assign


def check(geometry: dict) -> None:
    if not pore_tools.has_pores(geometry):
        raise CaseError(f"geometry.porosity = {geometry.get('porosity')!r}: the porous kind needs a porosity "
                        "preset (gp_ncm83, p_ncm83, gp_ni96, p_ni96), a uniform value or a profile table")
    pore_tools.check_pore_options(geometry)


def build(geometry: dict, mesh: dict) -> Assembly:
    radius = radius_um(geometry)
    pores = pore_tools.sample(geometry, radius)
    inputs = [("particle", ball((0, 0, 0), radius))] + pore_tools.pore_inputs(pores, mesh, radius)
    regions = fragment_assign(inputs, lambda labels: None if "pore" in labels else "bulk")
    return Assembly(regions, radius, {"envelope": ball_volume(radius)}, pore_tools.summary(pores), pores=pores)


SPEC = KindSpec("porous", [RADIUS, SEED, *pore_tools.PORE_OPTIONS], build,
                "sphere with sampled internal pores (pore_surface)", check=check)
