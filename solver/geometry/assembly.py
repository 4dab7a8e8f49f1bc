"""What a builder hands to the mesher, and the options and pieces several builders share."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from solver.errors import CaseError
from solver.geometry.occ import box
from solver.schema import FLOAT, INT, STR, Option, non_negative, positive
from solver.units import UM_TO_M

RADIUS = Option("radius", FLOAT, check=positive, dimension="length", help="particle radius, e.g. radius_um = 5")
SYMMETRY = Option("symmetry", STR, "full", choices=("full", "octant"),
                  help="octant: the x, y, z >= 0 eighth with symmetry_x|y|z facets")
SEED = Option("seed", INT, 0, check=non_negative)


@dataclass(frozen=True)
class KindSpec:
    """A geometry kind: its options and the function that builds it on the current gmsh model."""
    name: str
    options: list[Option]
    build: Callable
    summary: str
    check: Callable[[dict], None] | None = None   # cross-option checks on the normalised dict


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
