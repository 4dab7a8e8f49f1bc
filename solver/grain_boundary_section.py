"""[grain_boundaries], the dolfinx-free half: the case keys, their checks and the zone statistics (numpy).
What is computed on the mesh, and the outputs: solver/grain_boundaries.py.

Case section (extension, see solver/extensions.py):

    [grain_boundaries]
    critical_traction_MPa = 150.0     # required: boundary area with t_n above it is reported
    core_radius_fraction = 0.5        # r / R below which a point is "core" (the paper's 50 % circle)
    point_field = true                # add gb_normal_traction_Pa to the field snapshots (pictures)
    report_thresholds_MPa = [250.0, 500.0, 1000.0, 2000.0]   # area fractions also reported at these
"""
from __future__ import annotations

import numpy as np

from solver import quantities
from solver.schema import BOOL, FLOAT, LIST, Option, fraction_open, is_number, rule, validate_table
from solver.units import MPA_TO_PA

SECTION = "grain_boundaries"
# its point field (solver/grain_boundaries.py, point_fields()): name, label and colour map of the snapshots and pictures
NORMAL_TRACTION = quantities.Quantity(
    "gb_normal_traction", "Pa", "grain-boundary normal traction", "t_n", "stress", "extension", "gb_normal_traction_Pa",
    summary_key=f"{SECTION}.peak_normal_traction", display_unit="MPa", display_scale=1e-6, cmap="coolwarm", signed=True,
    aliases=("gb_normal_traction",))
quantities.register(NORMAL_TRACTION)
ZONES = ("core", "outer")


def _positive_numbers_MPa(values) -> str | None:
    return None if all(is_number(v) and v > 0 for v in values) else "must be a list of numbers > 0 (MPa)"


_positive_numbers_MPa.allowed = "a list of numbers > 0 (MPa)"


OPTIONS = [
    Option("core_radius_fraction", FLOAT, 0.5, check=fraction_open,
           help="r / R below which a grain-boundary point counts as core"),
    Option("point_field", BOOL, True, help="add gb_normal_traction_Pa to the field snapshots"),
    # written in MPa, stored in Pa (after the keys above: the resolved section keeps its key order); a default
    # is already in SI
    Option("critical_traction", FLOAT, check=rule(lambda v: v > 0, "> 0 (MPa)"), dimension="pressure",
           units=("_MPa",), help="boundary area with normal traction above it is reported (per zone)"),
    Option("report_thresholds", LIST, [v * MPA_TO_PA for v in (250.0, 500.0, 1000.0, 2000.0)],
           check=_positive_numbers_MPa, dimension="pressure", units=("_MPa",),
           help="further tractions at which the area fractions are reported"),
]


def zone_of(radius_fraction: np.ndarray, core_radius_fraction: float) -> np.ndarray:
    """Boolean mask of the core (r / R < core_radius_fraction)."""
    return np.asarray(radius_fraction) < core_radius_fraction


def weighted_quantile(values: np.ndarray, weights: np.ndarray, q: float) -> float:
    """The smallest value v with (weight of values <= v) >= q * total weight; nan when empty."""
    if values.size == 0 or weights.sum() <= 0:
        return float("nan")
    order = np.argsort(values)
    cumulative = np.cumsum(weights[order])
    return float(values[order][np.searchsorted(cumulative, q * cumulative[-1])])


def validate(table) -> dict:
    """The [grain_boundaries] table checked and normalised, tractions in Pa (solver.extensions calls it)."""
    values = validate_table(table, OPTIONS, SECTION)
    values["report_thresholds_Pa"] = sorted(values["report_thresholds_Pa"])
    return values
