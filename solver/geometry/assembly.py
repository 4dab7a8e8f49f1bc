"""What a builder hands to the mesher, and the options and pieces several builders share."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from solver.errors import CaseError
from solver.geometry.occ import box
from solver.schema import FLOAT, INT, STR, Option, all_of, non_negative, positive, rule
from solver.units import UM_TO_M

# gmsh works in micrometres and OCC merges features closer than its tolerance (1e-7 model units): at
# radius_um = 1e-6 a hollow sphere's void vanished without a word and an octant failed to mesh. From 0.01 um
# the finest default cells (1e-3 R) stay two orders above that tolerance. No electrode particle is 10 mm.
RADIUS_RANGE_UM = (0.01, 1e4)
RADIUS = Option("radius", FLOAT, dimension="length", help="particle radius, e.g. radius_um = 5",
                check=all_of(positive, rule(lambda v: RADIUS_RANGE_UM[0] <= v / UM_TO_M <= RADIUS_RANGE_UM[1],
                                            f"in [{RADIUS_RANGE_UM[0]:g}, {RADIUS_RANGE_UM[1]:g}] um "
                                            "(gmsh's OCC tolerance is 1e-7 um)")))
SYMMETRY = Option("symmetry", STR, "full", choices=("full", "octant"),
                  help="octant: the x, y, z >= 0 eighth with symmetry_x|y|z facets")
SEED = Option("seed", INT, 0, check=non_negative,
              help="random-number seed of the sampled geometry (same seed, same mesh)")


def sphere_surface(geometry: dict, radius: float, layer_um: float | None = None, layer_key: str = "") -> tuple:
    """(area um^2, radius of curvature um, thickness of the thin layer it bounds or None, that thickness's key)
    of a spherical facet region: what the element-count estimate (sizing.estimate_cells) needs."""
    return 4.0 * math.pi * radius**2 * symmetry_factor(geometry), radius, layer_um, layer_key


def outer_surface(geometry: dict) -> dict[str, tuple]:
    return {"outer_surface": sphere_surface(geometry, radius_um(geometry))}


@dataclass(frozen=True)
class KindSpec:
    """A geometry kind: its options and the function that builds it on the current gmsh model."""
    name: str
    options: list[Option]
    build: Callable
    summary: str
    check: Callable[[dict], None] | None = None   # cross-option checks on the normalised dict
    # the sized spherical facet regions, from the normalised dict, before anything is built (sphere_surface);
    # pores and grain boundaries are left out, so the element-count estimate errs low
    surfaces: Callable[[dict], dict[str, tuple]] = outer_surface
    # the meshed volume in um^3 from the normalised dict (None: the ball, or its octant)
    volume_um3: Callable[[dict], float] | None = None


@dataclass
class Assembly:
    """A built (synchronised) gmsh model: named volumes plus what meshing and measuring need."""
    cell_regions: dict[str, list[int]]
    radius_um: float
    nominal_volume_um3: dict[str, float]  # "envelope" (particle without its pores) and per region
    description: dict
    inner_radius_um: float | None = None           # hollow void radius (names inner_surface)
    layer_thickness_um: dict[str, float] = field(default_factory=dict)  # facet name -> thin layer it bounds
    pores: object | None = None                    # PoreSet actually meshed (nominal sizes)
    grain_orientations: np.ndarray | None = None
    exterior_planes: tuple = ()                    # (axis, value_um, facet name) of planar exterior faces


def radius_um(geometry: dict) -> float:
    return geometry["radius_m"] / UM_TO_M


def octant_inputs(geometry: dict, radius: float) -> list:
    """The clipping box of an octant model (empty list for a full particle)."""
    if geometry.get("symmetry", "full") != "octant":
        return []
    return [("octant", box((0.0, 0.0, 0.0), (1.5 * radius,) * 3))]


def symmetry_factor(geometry: dict) -> float:
    return 0.125 if geometry.get("symmetry", "full") == "octant" else 1.0


def ball_volume(radius: float) -> float:
    return 4.0 / 3.0 * math.pi * radius**3


def forbid_octant_with(geometry: dict, what: str) -> None:
    if geometry.get("symmetry") == "octant":
        raise CaseError(f"geometry.symmetry = 'octant': not available with {what}; use 'full'")
