"""[oxygen], the dolfinx-free half: the case keys, their checks and closed forms. The model (released O2
diffusing, escaping, trapped by RuO2, reduced back), its discretisation and bookkeeping: solver/fields/oxygen.py
(the field), solver/physics/oxygen.py (its forms).

Case section (a field section, solver/fields/registry.py):

    [oxygen]
    diffusivity_m2_s = 1e-18          # required; no literature value for LRMO: a calibrated parameter
    release_per_li = 0.05             # mol O2 released per mol Li extracted while x_Li < the threshold
    release_below_li_fraction = 0.67  # oxygen redox (the 4.5 V plateau) once the TM redox is used up
    release_onset_V = 4.4             # with [kinetics]: release while the particle potential is >= this instead
    initial_mol_m3 = 0.0              # uniform O2 at t = 0 (counted as released at t = 0; verification)
    escape = "sink"                   # "sink" (c = 0), "robin" (-D dc/dn = h c) or "none"
    escape_surfaces = ["outer_surface"]
    mass_transfer_m_s = 0.0           # h of the Robin surface
    trap_regions = []                 # cell regions holding RuO2 (e.g. ["shell"] or ["islands"])
    trap_rate_1_s = 0.0               # capture rate of mobile O2 on free RuO2 sites
    trap_capacity_mol_m3 = 780.0      # sites per volume of trap region (Langmuir blocking); omit: unlimited
    reduction_rate_1_s = 0.0          # catalytic reduction of trapped O2 back to lattice oxygen
    reduction_during = "always"       # or "discharge" (with [kinetics]): only while the particle discharges
    profile_bins = 20                 # radial bins of the final profile
    point_field = true                # o2_mol_m3 and o2_trapped_mol_m3 in the field snapshots
"""
from __future__ import annotations

import math

from solver import quantities
from solver.errors import CaseError
from solver.schema import (BOOL, INT, LIST, NUMBER, STR, Option, fraction_closed, non_negative, positive, rule,
                           validate_table, whole_number)

SECTION = "oxygen"
# its point fields (solver/fields/oxygen.py, point_fields()): names, labels, colour maps of snapshots and pictures
QUANTITIES = (
    quantities.Quantity("o2_mobile", "mol/m^3", "O2 concentration", "c_O2", "concentration", "extension", "o2_mol_m3",
                        summary_key="o2.budget.mobile_mol", display_unit="mol/m^3", aliases=("o2",)),
    quantities.Quantity("o2_trapped", "mol/m^3", "trapped O2 concentration", "c_O2_trapped", "concentration",
                        "extension", "o2_trapped_mol_m3", summary_key="o2.budget.trapped_mol",
                        display_unit="mol/m^3", aliases=("o2_trapped",)),
)
quantities.register(*QUANTITIES)

BOLTZMANN_eV_K = 8.617333262e-5


def _at_least_zero(unit: str):
    return rule(lambda v: v >= 0, f">= 0 ({unit})")


# NUMBER, not FLOAT: these values have always been kept as written (an int stays an int).
OPTIONS = [
    Option("diffusivity_m2_s", NUMBER, check=rule(lambda v: v > 0, "> 0 (m^2/s)"),
           help="O2 diffusivity in the particle (no literature value for LRMO: a calibrated parameter)"),
    Option("release_per_li", NUMBER, 0.0, check=_at_least_zero("mol O2 per mol Li"),
           help="mol O2 released per mol Li extracted below release_below_li_fraction"),
    Option("release_below_li_fraction", NUMBER, 0.67, check=fraction_closed,
           help="Li fraction below which lattice oxygen is oxidised (the oxygen-redox plateau)"),
    Option("release_onset_V", NUMBER, None, check=rule(lambda v: v > 0, "> 0 (V)"),
           help="with [kinetics]: release while the particle potential is at or above this (V), in place of "
                "release_below_li_fraction (the oxidation onset of lattice oxygen); absent: the Li-fraction rule"),
    Option("initial_mol_m3", NUMBER, 0.0, check=non_negative,
           help="uniform O2 at t = 0 (counted as released at t = 0)"),
    Option("escape", STR, "sink", choices=("sink", "robin", "none"),
           help="sink: c = 0 on escape_surfaces; robin: -D dc/dn = h c; none: sealed"),
    Option("escape_surfaces", LIST, ["outer_surface"], help="facet regions O2 leaves through"),
    Option("mass_transfer_m_s", NUMBER, 0.0, check=_at_least_zero("m/s"),
           help='h of the Robin surface (escape = "robin")'),
    Option("trap_regions", LIST, [], help='cell regions holding traps (RuO2), e.g. ["shell"]'),
    Option("trap_rate_1_s", NUMBER, 0.0, check=_at_least_zero("1/s"),
           help="capture rate of mobile O2 on free trap sites"),
    Option("trap_capacity_mol_m3", NUMBER, None, check=positive,
           help="trap sites per volume of trap region (Langmuir blocking); absent: unlimited"),
    Option("reduction_rate_1_s", NUMBER, 0.0, check=_at_least_zero("1/s"),
           help="first-order rate of the catalytic reduction of trapped O2 back to lattice oxygen"),
    Option("reduction_during", STR, "always", choices=("always", "discharge"),
           help='when trapped O2 is reduced: "always", or "discharge" (with [kinetics]: only while the particle '
                'current is a discharge, not during charge or rest)'),
    Option("profile_bins", INT, 20, check=whole_number(2, 10**4), help="radial bins of the final O2 profile"),
    Option("point_field", BOOL, True, help="add o2_mol_m3 and o2_trapped_mol_m3 to the field snapshots"),
]


def partition_constant(binding_energy_eV: float, reference_binding_energy_eV: float,
                       temperature_K: float = 298.15) -> float:
    """Equilibrium partition exp(-(E_ads - E_ref) / kT) of a species between two adsorbents."""
    return math.exp(-(binding_energy_eV - reference_binding_energy_eV) / (BOLTZMANN_eV_K * temperature_K))


def validate(table) -> dict:
    """The [oxygen] table checked and normalised (solver.fields.registry calls it for a case with [oxygen])."""
    values = validate_table(table, OPTIONS, SECTION)
    for key in ("escape_surfaces", "trap_regions"):
        if not all(isinstance(name, str) for name in values[key]):
            raise CaseError(f"oxygen.{key} = {values[key]!r}: must be a list of region names")
    if values["escape"] == "robin" and values["mass_transfer_m_s"] <= 0:
        raise CaseError(f"oxygen.mass_transfer_m_s = {values['mass_transfer_m_s']}: must be > 0 with "
                        "oxygen.escape = 'robin'")
    if values["escape"] != "none" and not values["escape_surfaces"]:
        raise CaseError("oxygen.escape_surfaces = []: name at least one surface, or set oxygen.escape = 'none'")
    if values["trap_rate_1_s"] > 0 and not values["trap_regions"]:
        raise CaseError("oxygen.trap_regions = []: a trap rate needs the regions that hold the traps")
    return values


#: the keys that read the particle potential or current, i.e. need [kinetics] (solver/fields/potential.py)
NEEDS_KINETICS = {"release_onset_V": lambda v: v is not None, "reduction_during": lambda v: v != "always"}


def check_with_kinetics(oxygen: dict, has_kinetics: bool) -> None:
    """A CaseError naming the key when an [oxygen] key that reads the particle potential is set without [kinetics]
    (without it the particle has no potential: the Li-fraction rule and "always" are today's behaviour)."""
    if has_kinetics:
        return
    for key, is_set in NEEDS_KINETICS.items():
        if is_set(oxygen[key]):
            raise CaseError(f"oxygen.{key} = {oxygen[key]!r}: reads the particle potential, so it needs a [kinetics] "
                            f"section (Butler-Volmer kinetics and a [protocol]); leave it out without one")
