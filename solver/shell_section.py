"""The Li-deficient shell, dolfinx-free half: the radial deficit profile, region Li bounds, the 1D spherical
reference of a shell case (numpy), and the [region_peaks] keys. The model on the mesh: solver/fields/shell_content.py.

Case keys
    [initial] shell_li_fraction_surface = 0.8   Li fraction at r = R; it rises to operation.li_fraction_start
              shell_profile = "linear" | "erf"  at the shell's inner radius (geometry kind core_shell)
              shell_deficit = "structural" | "diffusing"
    [material.regions.<region>] li_fraction_min / li_fraction_max   bounds of that region's Li content
    [region_peaks] regions = []                   cell regions whose stress peaks are reported (solver/shell.py)
"""
from __future__ import annotations

import math

import numpy as np
from scipy.special import erf

from solver import spherical1d, units
from solver.errors import CaseError
from solver.schema import LIST, Option, validate_table

ERF_STEEPNESS = 2.0          # erf profile: 0.5 (1 + erf(k (2 s - 1)) / erf(k)), s = depth fraction of the shell


# --------------------------------------------------------------------------------------------
# numpy: the radial deficit profile and the 1D spherical reference of a shell case
# --------------------------------------------------------------------------------------------

def deficit_shape(r_m, inner_radius_m: float, outer_radius_m: float, profile: str = "linear") -> np.ndarray:
    """0 at the shell's inner radius and inside, 1 at the outer radius (and beyond): linear or erf rise."""
    s = np.clip((np.asarray(r_m, dtype=float) - inner_radius_m) / (outer_radius_m - inner_radius_m), 0.0, 1.0)
    if profile == "linear":
        return s
    if profile == "erf":
        k = ERF_STEEPNESS
        return np.clip(0.5 * (1.0 + erf(k * (2.0 * s - 1.0)) / math.erf(k)), 0.0, 1.0)
    raise CaseError(f"initial.shell_profile = {profile!r}: must be 'linear' or 'erf'")


def shell_profile(case: dict) -> dict | None:
    """The initial shell profile of a case in SI (None: uniform start)."""
    initial = case.get("initial", {})
    x_surface = initial.get("shell_li_fraction_surface")
    if x_surface is None:
        return None
    c_max = case["material"]["c_max_mol_m3"]
    x0 = case["operation"]["li_fraction_start"]
    return {"deficit_surface_mol_m3": (x0 - x_surface) * c_max, "profile": initial["shell_profile"],
            "structural": initial["shell_deficit"] == "structural"}


def region_bounds(case: dict) -> dict[str, tuple[float, float]]:
    """{region: (c_lo, c_hi)} in mol/m^3 for the regions with li_fraction_min/max."""
    c_max = case["material"]["c_max_mol_m3"]
    out = {}
    for region, values in case["material"].get("regions", {}).items():
        low, high = values.get("li_fraction_min"), values.get("li_fraction_max")
        if low is not None or high is not None:
            out[region] = (-math.inf if low is None else low * c_max, math.inf if high is None else high * c_max)
    return out


def radial_reference(case: dict, shell_inner_radius_m: float, radius_m: float, n_cells: int = 400):
    """The 1D spherical problem (solver.spherical1d) equivalent to a core_shell case without islands.

    Returns (problem, deficit) with deficit(r) in mol/m^3. In the structural model the 1D solver runs with
    u uniform and the shell's lower bound shifted by the deficit (c_min = c_lo + d, per element); its
    reported concentration is then u-space, and the Li content is that minus d(r). The stress needs no
    correction: content - reference = clip(u) - c_sf with the deficit cancelling.
    """
    material, op = case["material"], case["operation"]
    if op["mode"] != "galvanostatic" or op["wetted_surfaces"] != ["outer_surface"]:
        raise CaseError("radial_reference: needs galvanostatic operation through the outer surface only")
    c_max = material["c_max_mol_m3"]
    regions = material.get("regions", {})
    interfaces = [shell_inner_radius_m]

    def by_region(key):
        return spherical1d.piecewise_constant(
            interfaces, [regions.get(name, {}).get(key, material[key]) for name in ("bulk", "shell")])

    profile = shell_profile(case)
    if profile is None:
        def deficit(r):
            return np.zeros_like(np.asarray(r, dtype=float))
    else:
        def deficit(r):
            return profile["deficit_surface_mol_m3"] * deficit_shape(r, shell_inner_radius_m, radius_m,
                                                                     profile["profile"])
    structural = profile is not None and profile["structural"]
    bounds = region_bounds(case)
    c0 = op["li_fraction_start"] * c_max
    c_sf = material["stress_free_li_fraction"] * c_max
    bulk_lo, bulk_hi = bounds.get("bulk", (-math.inf, math.inf))
    shell_lo, shell_hi = bounds.get("shell", (-math.inf, math.inf))
    shift = deficit if structural else (lambda r: 0.0 * np.asarray(r))

    def c_min(r):
        return np.where(np.asarray(r) < shell_inner_radius_m, bulk_lo, shell_lo + shift(r))

    def c_max_of(r):
        return np.where(np.asarray(r) < shell_inner_radius_m, bulk_hi, shell_hi + shift(r))

    diffusivity = by_region("diffusivity_m2_s")
    flux = units.galvanostatic_flux_mol_m2_s(
        c_rate=op["c_rate"], capacity_li_fraction=op["capacity_li_fraction"], c_max_mol_m3=c_max,
        volume_m3=radius_m**3 / 3.0, area_m2=radius_m**2, extracting=op["direction"] == "charge")
    elasticity = spherical1d.Elasticity(
        by_region("young_modulus_Pa"), by_region("poisson_ratio"), by_region("partial_molar_volume_m3_mol"),
        c_sf if structural else (lambda r: c_sf - deficit(r)))
    problem = spherical1d.SphericalProblem(
        radius_m, lambda c, r: diffusivity(r), c0 if structural else (lambda r: c0 - deficit(r)),
        spherical1d.SurfaceFlux(flux), elasticity, interfaces_m=tuple(interfaces),
        c_min_mol_m3=c_min if bounds else None, c_max_mol_m3=c_max_of if bounds else None, n_cells=n_cells)
    return problem, (deficit if structural else (lambda r: 0.0 * np.asarray(r)))


REGION_PEAK_KINDS = ("von_mises", "hoop", "max_principal")
REGION_PEAKS_OPTIONS = [
    Option("regions", LIST, [], help="cell regions (e.g. [\"bulk\", \"shell\"]) whose von Mises, hoop and max "
                                     "principal peaks are reported, pointwise and cell-averaged"),
]


def validate_region_peaks(table) -> dict:
    """The [region_peaks] table checked (solver.extensions calls it for a case with [region_peaks])."""
    values = validate_table(table, REGION_PEAKS_OPTIONS, "region_peaks")
    if not all(isinstance(name, str) for name in values["regions"]):
        raise CaseError(f"region_peaks.regions = {values['regions']!r}: must be a list of cell region names")
    return values
