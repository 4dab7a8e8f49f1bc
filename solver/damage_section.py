"""[damage], the dolfinx-free half: the case keys of the phase-field damage field, their checks, the models'
closed forms (strength, crack-band constants) and its output quantity. The field itself (forms, staggered solve,
history, outputs): solver/fields/damage.py.

Case section (a field, registered in solver/fields/registry.py):

    [damage]
    model = "AT2"                       # "AT1" (elastic until the strength) or "AT2" (damage from the first load)
    length_scale_um = 1.0               # required: l, the width of the diffuse crack; cells need h <= l / 2
    fracture_energy_J_m2 = 0.5          # required: Gc, the energy per crack area
    residual_stiffness = 1e-6           # k in g(d) = (1 - d)^2 + k: what a fully broken point keeps
    grain_boundary_toughness_factor = 1.0   # Gc in cells touching a grain_boundary facet, relative to Gc
    energy_split = "volumetric_deviatoric"  # what drives cracks: the tensile energy (Amor) or all of it ("none")
    staggered_tolerance = 1e-4          # alternate minimisation u <-> d until max |d_k+1 - d_k| is below it
    staggered_max_iterations = 200
    crack_damage = 0.95                 # d above it counts as cracked (crack_volume_fraction)
    initiation_damage = 0.95            # d above it anywhere, for the first time: the crack initiates
    broken_piece_fraction = 0.1         # "broken": cracks cut the central section into pieces of >= this area
    fatigue = "none"                    # "asymptotic" or "logarithmic": Gc_eff = f(alpha_bar) Gc (below)
    fatigue_threshold_J_m3 = 2e5        # alpha_T (required with fatigue): f = 1 while alpha_bar <= alpha_T
    fatigue_log_slope = 0.5             # kappa of the logarithmic f (required there)
    cycle_jumping = false               # extrapolate over blocks of protocol cycles (needs fatigue and [kinetics])
    jump_fit_cycles = 2                 # explicit cycles whose ends fit the per-cycle increments
    jump_max_damage_increment = 0.05    # no node's d rises more within one jump
    jump_max_toughness_drop = 0.2       # no cell's Gc_eff falls by more than this fraction within one jump
    jump_max_cycles = 1000              # the longest jump

The strength of a homogeneous bar in uniaxial stress follows from the model (Pham, Amor, Marigo & Maurini,
Int. J. Damage Mech. 20 (2011) 618; Tanne, Li, Bourdin, Marigo & Maurini, J. Mech. Phys. Solids 110 (2018) 80):

    AT1: sigma_c = sqrt(3 E Gc / (8 l))        AT2: sigma_c = sqrt(27 E Gc / (256 l))

so l is a material parameter once Gc and the strength are known: l = 3 E Gc / (8 sigma_c^2) (AT1).

Fatigue (Carrara, Ambati, Alessi & De Lorenzis, Comput. Methods Appl. Mech. Engrg. 361 (2020) 112731): the toughness
degrades with a cumulated history variable, Gc_eff = f(alpha_bar) Gc, where alpha = g(d) psi+ (the degraded
driving energy, J/m^3) and alpha_bar = the sum of its positive increments over the accepted steps (loading counts,
unloading does not), with their two fatigue degradation functions of the threshold alpha_T:

    asymptotic:   f = 1 (alpha_bar <= alpha_T),  (2 alpha_T / (alpha_bar + alpha_T))^2 beyond
    logarithmic:  f = 1 (alpha_bar <= alpha_T),  (1 - kappa log10(alpha_bar / alpha_T))^2 up to
                  alpha_T 10^(1 / kappa), 0 beyond

alpha_T and kappa are material parameters fitted to a Woehler curve; none is known for NMC, so both are required
with fatigue (no default). Below alpha_T nothing changes: the model is then the monotonic one exactly.

Cycle jumping (solver/cycle_jumping.py; the jump_* keys are its CycleJumping, with its defaults): a [kinetics] case
with [protocol] cycles solves blocks of explicit cycles and extrapolates the damage, the peak driving energy and
alpha_bar over the cycles between (solver/kinetic_run.py). Only fatigue makes one cycle differ from the next once
the first load has passed (without it a repeated load adds no damage, and a jump would extrapolate nothing), so
jumping needs damage.fatigue; and it needs more protocol cycles than the block it fits.

Parameters for NCM811 (what the shipped case uses, and how sure each is):
- Gc ~ 0.5 J/m^2 and a grain-boundary strength of ~745 MPa are the values issue 17 quotes for NMC811; the strength is
  quoted second-hand from Sedlatschek et al. (docs/science.md#measured-outcomes). Neither primary source could
  be checked here: both are *assumed* values, which is why fracture_energy_J_m2 and length_scale_um have no
  default. With E = 150 GPa (the ncm811 set) and Gc = 0.5 J/m^2, a strength of 745 MPa means l = 0.051 um (AT1) or
  0.014 um (AT2): meshes of h <= 25 nm, far below what a whole 10 um particle can be meshed with. A coarse mesh
  needs a larger l, i.e. a lower strength (sigma_c ~ 1/sqrt(l)); the shipped case states the strength its l gives.
- The grain-boundary toughness factor is a free (assumed) parameter: intergranular cracking dominates in
  polycrystalline NCM (Parks et al., J. Mater. Chem. A 11 (2023) 21322), i.e. boundaries are weaker than grains,
  but no measured ratio is known to us.
"""
from __future__ import annotations

import math

import numpy as np

from solver import quantities
from solver.cycle_jumping import CycleJumping
from solver.errors import CaseError
from solver.schema import (BOOL, FLOAT, INT, STR, Option, all_of, fraction_open, fraction_unit, positive, rule,
                           validate_table, whole_number)

SECTION = "damage"
JUMPING = CycleJumping()            # the defaults of the jump_* keys
MODELS = ("AT1", "AT2")
SPLITS = ("volumetric_deviatoric", "none")
FATIGUE = ("none", "asymptotic", "logarithmic")

# the point field of the damage field (solver/fields/damage.py, point_fields()): snapshots and pictures
DAMAGE = quantities.Quantity("damage", "", "damage", "d", "fraction", "extension", "damage",
                             cmap="inferno", aliases=("d",))
quantities.register(DAMAGE)

# the per-cycle table the field writes (solver/fields/damage.py) and the sweep's census reads (solver/sweep/census.py)
CYCLES_FILE = "fracture_cycles.csv"
CYCLE_COLUMNS = ("cycle", "extrapolated", "crack_volume_fraction", "cracked_grain_boundary_area_fraction",
                 "max_damage", "state")

OPTIONS = [
    Option("model", STR, "AT2", choices=MODELS,
           help="AT1: linear crack density, elastic until the strength; AT2: quadratic, damage from the first load"),
    Option("length_scale", FLOAT, check=rule(lambda v: v > 0, "> 0 (um)"), dimension="length", units=("_um",),
           help="l, the width of the diffuse crack (sets the strength with Gc and E); cells need h <= l / 2"),
    Option("fracture_energy_J_m2", FLOAT, check=positive, help="Gc, the energy dissipated per crack area (J/m^2)"),
    Option("residual_stiffness", FLOAT, 1e-6, check=fraction_open,
           help="k in g(d) = (1 - d)^2 + k: the stiffness a fully broken point keeps (keeps mechanics solvable)"),
    Option("grain_boundary_toughness_factor", FLOAT, 1.0, check=fraction_unit,
           help="Gc of the cells touching a grain_boundary facet, relative to fracture_energy_J_m2"),
    Option("energy_split", STR, "volumetric_deviatoric", choices=SPLITS,
           help="crack driving energy: the tensile part (Amor volumetric-deviatoric; compression does not crack) "
                "or all of it"),
    Option("staggered_tolerance", FLOAT, 1e-4, check=all_of(positive, rule(lambda v: v < 1, "< 1")),
           help="alternate minimisation u <-> d per step until max |d_k+1 - d_k| is below it (d is in [0, 1])"),
    Option("staggered_max_iterations", INT, 200, check=whole_number(1, 10**5),
           help="at most this many damage solves per coupling solve (else the step fails)"),
    Option("crack_damage", FLOAT, 0.95, check=fraction_open,
           help="d above it counts as cracked (fracture.crack_volume_fraction, state)"),
    Option("initiation_damage", FLOAT, 0.95, check=fraction_open,
           help="the crack initiates where and when d first exceeds it (fracture.initiation)"),
    Option("broken_piece_fraction", FLOAT, 0.1, check=fraction_open,
           help="fracture.state 'broken': the cracks cut the central section (z = 0) into >= 2 pieces of at least "
                "this fraction of its area each (solver/crack_census.py)"),
    Option("fatigue", STR, "none", choices=FATIGUE,
           help="fatigue degradation of the toughness with the cumulated driving energy (Carrara et al. 2020): "
                "none, asymptotic or logarithmic"),
    Option("fatigue_threshold_J_m3", FLOAT, None, check=positive,
           help="alpha_T: the cumulated degraded driving energy (J/m^3) below which fatigue leaves Gc unchanged "
                "(required with fatigue)"),
    Option("fatigue_log_slope", FLOAT, None, check=positive,
           help="kappa of the logarithmic fatigue function f = (1 - kappa log10(alpha_bar / alpha_T))^2 "
                "(required with fatigue = 'logarithmic')"),
    Option("cycle_jumping", BOOL, False,
           help="extrapolate the damage over blocks of protocol cycles instead of solving each (needs fatigue and a "
                "[kinetics] case whose protocol.cycles exceed jump_fit_cycles)"),
    Option("jump_fit_cycles", INT, JUMPING.fit_cycles, check=whole_number(2, 100),
           help="explicit cycles before each jump, whose ends fit the per-cycle increments (with cycle_jumping)"),
    Option("jump_max_damage_increment", FLOAT, JUMPING.max_damage_increment, check=fraction_unit,
           help="a jump stops before any node's damage rises by more than this (with cycle_jumping)"),
    Option("jump_max_toughness_drop", FLOAT, JUMPING.max_toughness_drop, check=fraction_open,
           help="a jump stops before any cell's toughness falls by more than this fraction (with cycle_jumping)"),
    Option("jump_max_cycles", INT, JUMPING.max_jump_cycles, check=whole_number(1, 10**6),
           help="the most cycles one jump extrapolates over (with cycle_jumping)"),
    Option("stop_when_broken", BOOL, False,
           help="end the protocol's cycles at the first cycle end whose state is 'broken' (a broken particle stays "
                "broken: the census counts it so at later cycles); saves a population study the cycles it does "
                "not need (needs a [kinetics] case with a [protocol])"),
]
JUMP_KEYS = ("jump_fit_cycles", "jump_max_damage_increment", "jump_max_toughness_drop", "jump_max_cycles")

# crack-band constants c_w of w(d) = d (AT1) and d^2 (AT2): the crack energy is Gc / c_w (w / l + l |grad d|^2)
NORMALISATION = {"AT1": 8.0 / 3.0, "AT2": 2.0}


def strength_Pa(model: str, young_modulus_Pa: float, fracture_energy_J_m2: float, length_scale_m: float) -> float:
    """The peak uniaxial stress of a homogeneous bar (module docstring)."""
    factor = {"AT1": 3.0 / 8.0, "AT2": 27.0 / 256.0}[model]
    return math.sqrt(factor * young_modulus_Pa * fracture_energy_J_m2 / length_scale_m)


def elastic_limit_J_m3(model: str, fracture_energy_J_m2: float, length_scale_m: float) -> float:
    """The energy density below which the model does not damage: 3 Gc / (16 l) for AT1, 0 for AT2."""
    return 3.0 * fracture_energy_J_m2 / (16.0 * length_scale_m) if model == "AT1" else 0.0


def fatigue_factor(kind: str, cumulated_J_m3, threshold_J_m3: float, log_slope: float | None = None):
    """f(alpha_bar) of the module docstring (numpy, elementwise): the factor on Gc."""
    cumulated = np.asarray(cumulated_J_m3, dtype=float)
    if kind == "none":
        return np.ones_like(cumulated)
    above = np.maximum(cumulated, threshold_J_m3)       # f = 1 at and below the threshold
    if kind == "asymptotic":
        return (2 * threshold_J_m3 / (above + threshold_J_m3)) ** 2
    return np.maximum(1 - log_slope * np.log10(above / threshold_J_m3), 0.0) ** 2


def validate(table) -> dict:
    """The [damage] table checked and normalised (solver/fields/registry.py calls it for a case with [damage])."""
    values = validate_table(table, OPTIONS, SECTION)
    fatigue = values["fatigue"]
    if fatigue != "none" and values["fatigue_threshold_J_m3"] is None:
        raise CaseError(f"damage.fatigue = {fatigue!r}: needs damage.fatigue_threshold_J_m3 (alpha_T, J/m^3; no "
                        f"default: it is fitted to a Woehler curve)")
    if fatigue == "logarithmic" and values["fatigue_log_slope"] is None:
        raise CaseError("damage.fatigue = 'logarithmic': needs damage.fatigue_log_slope (kappa, > 0)")
    for key, used in (("fatigue_threshold_J_m3", fatigue != "none"), ("fatigue_log_slope", fatigue == "logarithmic")):
        if values[key] is not None and not used:
            raise CaseError(f"damage.{key} = {values[key]}: has no effect with damage.fatigue = {fatigue!r}; "
                            f"remove it or choose a fatigue model that uses it")
    if values["cycle_jumping"] and fatigue == "none":
        raise CaseError("damage.cycle_jumping = true: needs damage.fatigue = 'asymptotic' or 'logarithmic' (without "
                        "fatigue a repeated load adds no damage after the first cycle: there is nothing to extrapolate)")
    unused = [key for key in JUMP_KEYS if key in table and not values["cycle_jumping"]]
    if unused:
        raise CaseError(f"damage.{unused[0]} = {values[unused[0]]}: has no effect without damage.cycle_jumping = "
                        f"true; remove it or switch cycle jumping on")
    if values["initiation_damage"] > values["crack_damage"]:
        raise CaseError(f"damage.initiation_damage = {values['initiation_damage']}: must be <= damage.crack_damage "
                        f"({values['crack_damage']}); a crack initiates before it counts as cracked")
    return values


def jumping_of(damage: dict) -> CycleJumping | None:
    """The CycleJumping of a validated [damage] table (None: cycle_jumping off)."""
    if not damage["cycle_jumping"]:
        return None
    return CycleJumping(damage["jump_fit_cycles"], damage["jump_max_damage_increment"],
                        damage["jump_max_toughness_drop"], damage["jump_max_cycles"])


def check_with_protocol(damage: dict, protocol: dict | None) -> None:
    """A CaseError naming the key when cycle jumping has no protocol cycles to jump (`protocol`: the validated
    [protocol] of a [kinetics] case, None without [kinetics])."""
    if damage["stop_when_broken"] and protocol is None:
        raise CaseError("damage.stop_when_broken = true: needs a [kinetics] case with a [protocol] (it ends the "
                        "protocol's cycles); leave it out without one")
    if not damage["cycle_jumping"]:
        return
    if protocol is None:
        raise CaseError("damage.cycle_jumping = true: needs a [kinetics] case with a [protocol] of cycles (the "
                        "protocol's cycles are what it jumps); leave it out without one")
    if protocol["cycles"] <= damage["jump_fit_cycles"]:
        raise CaseError(f"damage.cycle_jumping = true: protocol.cycles = {protocol['cycles']} leaves no cycle to jump; "
                        f"it needs more than damage.jump_fit_cycles = {damage['jump_fit_cycles']} cycles")
