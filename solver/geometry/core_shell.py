"""Core-shell particle (Li-deficient surface layer) with optional surface islands (RuO2)."""
from __future__ import annotations

import math

import numpy as np

from solver.errors import CaseError
from solver.geometry import islands
from solver.geometry.assembly import (RADIUS, SEED, SYMMETRY, Assembly, KindSpec, ball_volume, forbid_octant_with,
                                      octant_inputs, radius_um, sphere_surface, symmetry_factor)
from solver.geometry.occ import ball, fragment_assign
from solver.schema import (FLOAT, INT, STR, Option, fraction_open, non_negative, positive, require_exactly_one, rule,
                           whole_number)
from solver.units import UM_TO_M

OPTIONS = [
    RADIUS,
    Option("shell_thickness", FLOAT, None, check=positive, dimension="length",
           help="shell thickness (or shell_thickness_fraction)"),
    Option("shell_thickness_fraction", FLOAT, None, check=fraction_open, help="shell thickness / radius"),
    SYMMETRY,
    Option("island_coverage_fraction", FLOAT, 0.0, check=rule(lambda v: 0 <= v <= 0.5, "in [0, 0.5]"),
           help="fraction of the surface covered by islands; 0: no islands"),
    Option("island_thickness", FLOAT, None, check=positive, dimension="length",
           help="radial island thickness (default: the shell thickness)"),
    # islands are placed by random sequential addition, 2000 tries per island
    Option("island_count", INT, None, check=whole_number(1, 1000), help="number of islands (default 12)"),
    Option("island_radius", FLOAT, None, check=positive, dimension="length", help="island footprint radius"),
    Option("island_placement", STR, "surface", choices=("surface", "embedded"),
           help="surface: on top of the particle (r = R .. R + t); embedded: replacing the outer layer"),
    Option("island_gap_fraction", FLOAT, 0.2, check=non_negative,
           help="minimum gap between islands / island angular radius"),
    SEED,
]
DEFAULT_ISLAND_COUNT = 12


def shell_thickness_um(geometry: dict) -> float:
    key = require_exactly_one(geometry, "geometry", ["shell_thickness_m", "shell_thickness_fraction"],
                              ["shell_thickness_um", "shell_thickness_fraction"])
    radius = radius_um(geometry)
    if key == "shell_thickness_m":
        return geometry["shell_thickness_m"] / UM_TO_M
    return geometry["shell_thickness_fraction"] * radius


def check(geometry: dict) -> None:
    radius = radius_um(geometry)
    if shell_thickness_um(geometry) >= radius:
        raise CaseError(f"geometry.shell_thickness_um = {shell_thickness_um(geometry):g}: "
                        f"must be < radius_um = {radius:g}")
    if geometry["island_coverage_fraction"] == 0:
        return
    forbid_octant_with(geometry, "islands")
    if geometry["island_count"] is not None and geometry["island_radius_m"] is not None:
        raise CaseError("geometry: give at most one of island_count, island_radius_um")
    if geometry["island_radius_m"] is not None and geometry["island_radius_m"] > 0.5 * geometry["radius_m"]:
        raise CaseError(f"geometry.island_radius_um = {geometry['island_radius_m'] / UM_TO_M:g}: "
                        "must be <= half the particle radius")
    if island_thickness_um(geometry) >= radius and geometry["island_placement"] == "embedded":
        raise CaseError("geometry.island_thickness_um: embedded islands must be thinner than the radius")


def island_thickness_um(geometry: dict) -> float:
    if geometry["island_thickness_m"] is not None:
        return geometry["island_thickness_m"] / UM_TO_M
    return shell_thickness_um(geometry)


def build(geometry: dict, mesh: dict) -> Assembly:
    radius = radius_um(geometry)
    shell = shell_thickness_um(geometry)
    core = radius - shell
    octant = geometry["symmetry"] == "octant"
    inputs = [("particle", ball((0, 0, 0), radius)), ("core", ball((0, 0, 0), core))]
    inputs += octant_inputs(geometry, radius)
    layout = _island_layout(geometry, radius)
    if layout:
        inputs.append(("island", islands.cap_solids(layout["axes"], layout["alpha"], *layout["span_um"])))

    def region(labels):
        if octant and "octant" not in labels:
            return None
        if "island" in labels:
            return "islands"
        if "core" in labels:
            return "bulk"
        return "shell" if "particle" in labels else None

    regions = fragment_assign(inputs, region)
    factor = symmetry_factor(geometry)
    volumes = {"envelope": ball_volume(radius) * factor, "bulk": ball_volume(core) * factor,
               "shell": (ball_volume(radius) - ball_volume(core)) * factor}
    description = {"symmetry": geometry["symmetry"], "core_radius_um": core, "shell_inner_radius_um": core,
                   "shell_outer_radius_um": radius, "shell_thickness_um": shell}
    layers = {name: layer for name, (_, _, layer, _) in surfaces(geometry).items()}
    if layout:
        _account_islands(layout, volumes, core, radius)
        description["islands"] = {k: v for k, v in layout.items() if k != "axes"}
        description["islands"]["centres_unit"] = layout["axes"].tolist()
        thickness = layout["span_um"][1] - layout["span_um"][0]
        layers.update({"island_surface": thickness, "island_interface": thickness})
    return Assembly(regions, radius, volumes, description, layer_thickness_um=layers)


def _island_layout(geometry: dict, radius: float) -> dict | None:
    coverage = geometry["island_coverage_fraction"]
    if coverage == 0:
        return None
    footprint = geometry["island_radius_m"] / UM_TO_M if geometry["island_radius_m"] is not None else None
    count = geometry["island_count"] or (None if footprint else DEFAULT_ISLAND_COUNT)
    count, alpha = islands.half_angle(radius, coverage, count, footprint)
    rng = np.random.default_rng([geometry["seed"], 7])
    axes = islands.directions(rng, count, alpha, geometry["island_gap_fraction"])
    thickness = island_thickness_um(geometry)
    span = (radius, radius + thickness) if geometry["island_placement"] == "surface" else (radius - thickness, radius)
    return {"axes": axes, "alpha": alpha, "count": count, "span_um": span, "placement": geometry["island_placement"],
            "half_angle_deg": math.degrees(alpha), "footprint_radius_um": radius * math.sin(alpha),
            "coverage_fraction": count * (1.0 - math.cos(alpha)) / 2.0, "thickness_um": thickness}


def _account_islands(layout: dict, volumes: dict, core: float, radius: float) -> None:
    """Analytic island volumes; embedded islands take theirs out of the shell (and core)."""
    r_in, r_out = layout["span_um"]
    each = islands.cap_volume(layout["alpha"], r_in, r_out)
    volumes["islands"] = layout["count"] * each
    if layout["placement"] == "surface":
        volumes["envelope"] += volumes["islands"]
        return
    from_core = layout["count"] * islands.cap_volume(layout["alpha"], r_in, core) if r_in < core else 0.0
    volumes["bulk"] -= from_core
    volumes["shell"] -= volumes["islands"] - from_core


def surfaces(geometry: dict) -> dict[str, tuple]:
    """The outer surface and the shell interface, both sized to put mesh.layer_cells across the shell."""
    radius, shell = radius_um(geometry), shell_thickness_um(geometry)
    key = "geometry." + ("shell_thickness_um" if geometry["shell_thickness_m"] is not None
                         else "shell_thickness_fraction")
    return {"outer_surface": sphere_surface(geometry, radius, shell, key),
            "shell_interface": sphere_surface(geometry, radius - shell, shell, key)}


SPEC = KindSpec("core_shell", OPTIONS, build, "core (bulk) + shell, optional surface islands", check=check,
                surfaces=surfaces)
