"""Case sections [kinetics] and [protocol], and the kinetic keys of [material] (validation only, no dolfinx).

    [kinetics]                       Butler-Volmer surface reaction (solver/kinetics.py)
    rate_constant_m2_5_mol0_5_s      k in i0 = F k c_e^a (c_max - c_s)^a c_s^c  (m^2.5 mol^-0.5 s^-1 for a = c = 1/2)
    exchange_current_density_A_m2    or i0 at reference_li_fraction and the electrolyte concentration (one of the two)
    reference_li_fraction            0.5
    alpha_anodic, alpha_cathodic     0.5, 0.5
    electrolyte_concentration_mol_m3 1000 (uniform around the particle: a particle-level model, not a cell model)
    activation_energy_J_mol          0 (Arrhenius temperature dependence of k about 298.15 K)

    [protocol]                       repeated `cycles` times (default 1)
    one_c_current_mA_g               the 1C current; default operation.capacity_li_fraction x theoretical capacity
    steps_per_charge                 time steps a cc step takes per 1C-capacity passed (50); cv/rest steps start at
                                     1/100 of that step and grow by `growth` (1.5) per step up to it
    [[protocol.steps]]               kind = "cc" | "cv" | "rest" | "cccv"; label
        c_rate or current_mA_g, direction = "charge" | "discharge"   (cc, cccv)
        voltage_V                                                     (cv, cccv)
        stop = {voltage_V, current_c_rate, time_s, capacity_mAh_g, li_fraction}   at least one

    [material]: ocp (a named curve of solver/ocp.py) or ocp_table_li_fraction_V ([[x, U_V], ...], falling strictly),
    molar_mass_g_mol (default: the named curve's formula unit), li_per_formula_unit (default: the curve's, else 1).

Without [protocol], a [kinetics] case runs the old Li-fraction window of [operation] as one cc step (c_rate,
direction, stop at li_fraction_end). Kinetics run in every formulation: spherical_1d (solver/kinetics1d.py), 3d,
axisymmetric and section_2d (solver/fields/potential.py, solver/kinetic_run.py). A section_2d model is a prism of unit
thickness charged through its rim: its volume is an area (m^2 per m), its mass, current and charge are per unit
thickness (g/m, A/m, C/m); C-rates, mA/g and mAh/g are ratios of these and keep their meaning.
"""
from __future__ import annotations

from solver import kinetics, ocp, quantities
from solver.errors import CaseError
from solver.schema import (FLOAT, INT, LIST, STR, TABLE, Option, fraction_open, non_negative, positive, rule, shown,
                           validate_table, whole_number)

#: the local Butler-Volmer current density on the wetted surfaces (> 0 anodic = charge; zero inside the particle), a
#: point field of the 3D field files (solver/fields/potential.py offers it, solver/kinetic_run.py writes it)
SURFACE_CURRENT = quantities.Quantity(
    "surface_current_density", "A/m^2", "surface current density", "i", "current_density", "extension",
    "surface_current_density_A_m2", display_unit="A/m^2", cmap="coolwarm", signed=True, aliases=("current",))
quantities.register(SURFACE_CURRENT)

_alpha = rule(lambda v: 0 < v < 1, "in (0, 1)")

# [material] keys of the kinetics (registered in solver.case.MATERIAL_OPTIONS)
MATERIAL_KINETIC_OPTIONS = [
    Option("ocp", STR, None, choices=tuple(ocp.CURVES), help="named open-circuit potential curve U(x) (solver/ocp.py)"),
    # [[li_fraction, U_V], ...]: monotone cubic interpolation; U must fall strictly as li_fraction rises
    Option("ocp_table_li_fraction_V", LIST, None,
           help="or a table [[Li fraction, U in V], ...] with U falling strictly"),
    Option("molar_mass_g_mol", FLOAT, None, check=positive,
           help="molar mass of the formula unit, for capacities in mAh/g (default: the named curve's)"),
    Option("li_per_formula_unit", FLOAT, None, check=positive,
           help="Li per formula unit at c_max (default: the named curve's, else 1)"),
]

KINETICS_OPTIONS = [
    Option("rate_constant_m2_5_mol0_5_s", FLOAT, None, check=positive,
           help="k in i0 = F k c_e^a (c_max - c_s)^a c_s^c (one of k or the exchange current density)"),
    Option("exchange_current_density_A_m2", FLOAT, None, check=positive,
           help="or i0 at reference_li_fraction and the electrolyte concentration"),
    Option("reference_li_fraction", FLOAT, 0.5, check=fraction_open,
           help="surface Li fraction at which exchange_current_density_A_m2 is given"),
    Option("alpha_anodic", FLOAT, 0.5, check=_alpha, help="anodic transfer coefficient"),
    Option("alpha_cathodic", FLOAT, 0.5, check=_alpha, help="cathodic transfer coefficient"),
    Option("electrolyte_concentration_mol_m3", FLOAT, 1000.0, check=positive,
           help="electrolyte Li+ concentration, uniform around the particle (a particle-level model)"),
    Option("activation_energy_J_mol", FLOAT, 0.0, check=non_negative,
           help="Arrhenius temperature dependence of k about 298.15 K"),
]

PROTOCOL_OPTIONS = [
    Option("steps", LIST, help="[[protocol.steps]] tables, run in order (below)"),
    Option("cycles", INT, 1, check=whole_number(1, 10**4), help="how many times the steps repeat"),
    Option("one_c_current_mA_g", FLOAT, None, check=positive,
           help="the 1C current (default: operation.capacity_li_fraction x theoretical capacity)"),
    Option("steps_per_charge", INT, 50, check=whole_number(2, 10**6),
           help="time steps a cc step takes per 1C-capacity passed"),
    Option("growth", FLOAT, 1.5, check=rule(lambda v: 1 < v <= 2, "in (1, 2] (BDF2 needs step ratios < 2.4)"),
           help="cv and rest steps start at 1/100 of the cc step and grow by this factor per step"),
    Option("voltage_tolerance_V", FLOAT, 1e-6, check=rule(lambda v: 0 < v <= 0.01, "in (0, 0.01]"),
           help="how closely a voltage stop condition is hit"),
]

STEP_OPTIONS = [
    Option("kind", STR, choices=("cc", "cv", "rest", "cccv"),
           help="constant current, constant voltage, rest, or constant current then constant voltage"),
    Option("label", STR, "", help="a name for the step in the outputs"),
    Option("c_rate", FLOAT, None, check=positive, help="current as a C-rate (cc, cccv)"),
    Option("current_mA_g", FLOAT, None, check=positive, help="or the current per gram of active material"),
    Option("direction", STR, None, choices=("charge", "discharge"), help="charge delithiates the cathode"),
    Option("voltage_V", FLOAT, None, check=positive, help="the held voltage (cv, cccv)"),
    Option("stop", TABLE, help="stop conditions, at least one (below)"),
]

STOP_OPTIONS = [
    Option("voltage_V", FLOAT, None, check=positive, help="stop when the voltage reaches this"),
    Option("current_c_rate", FLOAT, None, check=positive, help="stop when the current falls below this C-rate"),
    Option("time_s", FLOAT, None, check=positive, help="stop after this long"),
    Option("capacity_mAh_g", FLOAT, None, check=positive, help="stop after this capacity in the step"),
    Option("li_fraction", FLOAT, None, check=fraction_open, help="stop when the mean Li fraction reaches this"),
]

#: which stop conditions make sense for which kind of step
_STOPS_ALLOWED = {"cc": {"voltage_V", "time_s", "capacity_mAh_g", "li_fraction"},
                  "cv": {"current_c_rate", "time_s", "capacity_mAh_g", "li_fraction"},
                  "rest": {"time_s"},
                  "cccv": {"current_c_rate", "time_s", "capacity_mAh_g", "li_fraction"}}


def ocp_of(material: dict, key_prefix: str = "material") -> ocp.OcpCurve:
    """The OCP curve a validated [material] names, with its molar mass and Li per formula unit applied."""
    from dataclasses import replace

    name, table = material.get("ocp"), material.get("ocp_table_li_fraction_V")
    if (name is None) == (table is None):
        raise CaseError(f"{key_prefix}.ocp / {key_prefix}.ocp_table_li_fraction_V: give exactly one with [kinetics] "
                        f"(named curves: {', '.join(ocp.CURVES)})")
    curve = ocp.ocp_curve(name, f"{key_prefix}.ocp") if name is not None else \
        ocp.table_curve(table, f"{key_prefix}.ocp_table_li_fraction_V")
    if material.get("li_per_formula_unit") is not None:
        curve = replace(curve, li_per_formula_unit=material["li_per_formula_unit"])
    return curve


def reaction_of(case: dict) -> kinetics.ButlerVolmer:
    """The Butler-Volmer reaction of a validated case with [kinetics] (k from i0 at the reference Li fraction when
    the case gives the exchange current density)."""
    section, c_max = case["kinetics"], case["material"]["c_max_mol_m3"]
    alpha_a, alpha_c = section["alpha_anodic"], section["alpha_cathodic"]
    c_e = section["electrolyte_concentration_mol_m3"]
    k = section["rate_constant_m2_5_mol0_5_s"]
    if k is None:
        k = kinetics.rate_constant_from_exchange_current(section["exchange_current_density_A_m2"],
                                                         section["reference_li_fraction"] * c_max, c_e, c_max,
                                                         alpha_a, alpha_c)
    return kinetics.ButlerVolmer(k, c_e, c_max, alpha_a, alpha_c, section["activation_energy_J_mol"])


def molar_mass_of(material: dict, curve: ocp.OcpCurve) -> float:
    if material.get("molar_mass_g_mol") is not None:
        return material["molar_mass_g_mol"]
    if not curve.composition:
        raise CaseError("material.molar_mass_g_mol: missing; required with material.ocp_table_li_fraction_V "
                        "(capacities are reported in mAh/g)")
    return curve.molar_mass_g_mol


def _validate_step(raw, index: int, curve: ocp.OcpCurve, temperature_K: float) -> dict:
    prefix = f"protocol.steps[{index}]"
    step = validate_table(raw, STEP_OPTIONS, prefix)
    kind = step["kind"]
    step["stop"] = {key: value for key, value in validate_table(step["stop"], STOP_OPTIONS, f"{prefix}.stop").items()
                    if value is not None}
    if not step["stop"]:
        raise CaseError(f"{prefix}.stop = {{}}: give at least one of {', '.join(sorted(_STOPS_ALLOWED[kind]))}")
    wrong = sorted(set(step["stop"]) - _STOPS_ALLOWED[kind])
    if wrong:
        raise CaseError(f"{prefix}.stop.{wrong[0]} = {shown(step['stop'][wrong[0]])}: not a stop of a {kind} step; "
                        f"allowed: {', '.join(sorted(_STOPS_ALLOWED[kind]))}")
    has_current = kind in ("cc", "cccv")
    given = [key for key in ("c_rate", "current_mA_g") if step[key] is not None]
    if has_current and len(given) != 1:
        raise CaseError(f"{prefix}: a {kind} step needs exactly one of c_rate, current_mA_g (got "
                        f"{', '.join(given) or 'none'})")
    if not has_current and given:
        raise CaseError(f"{prefix}.{given[0]} = {step[given[0]]}: a {kind} step has no applied current")
    if has_current and step["direction"] is None:
        raise CaseError(f"{prefix}.direction: missing; a {kind} step needs \"charge\" or \"discharge\"")
    if not has_current and step["direction"] is not None:
        raise CaseError(f"{prefix}.direction = {step['direction']!r}: only cc and cccv steps have a direction")
    needs_voltage = kind in ("cv", "cccv")
    if needs_voltage != (step["voltage_V"] is not None):
        raise CaseError(f"{prefix}.voltage_V" + (": missing; required for a {kind} step" if needs_voltage else
                                                 f" = {step['voltage_V']}: only cv and cccv steps hold a voltage"))
    low, high = curve.voltage_range_V(temperature_K)
    if needs_voltage and not low < step["voltage_V"] < high:
        raise CaseError(f"{prefix}.voltage_V = {step['voltage_V']}: unreachable; must lie within the open-circuit "
                        f"range of {curve.name} ({low:.3f} .. {high:.3f} V)")
    if "voltage_V" in step["stop"] and not low < step["stop"]["voltage_V"] < high:
        raise CaseError(f"{prefix}.stop.voltage_V = {step['stop']['voltage_V']}: unreachable cut-off; must lie within "
                        f"the open-circuit range of {curve.name} ({low:.3f} .. {high:.3f} V)")
    return step


def _first_step_reachable(step: dict, curve: ocp.OcpCurve, li_fraction_start: float, temperature_K: float) -> None:
    """The first step's voltage cut-off must lie on the side the current moves the voltage to."""
    cut = step["stop"].get("voltage_V", step["voltage_V"] if step["kind"] == "cccv" else None)
    if cut is None or step["direction"] is None:
        return
    ocv = float(curve(li_fraction_start, temperature_K))
    charge = step["direction"] == "charge"
    if (charge and cut <= ocv) or (not charge and cut >= ocv):
        key = "stop.voltage_V" if "voltage_V" in step["stop"] else "voltage_V"
        raise CaseError(f"protocol.steps[0].{key} = {cut}: unreachable cut-off; a {step['direction']} starts at the "
                        f"open-circuit voltage {ocv:.4f} V (operation.li_fraction_start = {li_fraction_start}) and "
                        f"must end {'above' if charge else 'below'} it")


def window_protocol(operation: dict) -> dict:
    """The old Li-fraction window of [operation] as a one-step protocol (galvanostatic only)."""
    if operation["mode"] != "galvanostatic":
        raise CaseError("operation.mode = 'potentiostatic' with [kinetics]: give a [protocol] with a cv step "
                        "(the surface Li fraction is no longer prescribed)")
    step = {"kind": "cc", "label": "window", "c_rate": operation["c_rate"], "current_mA_g": None,
            "direction": operation["direction"], "voltage_V": None,
            "stop": {"li_fraction": operation["li_fraction_end"]}}
    return {"steps": [step], "cycles": 1, "one_c_current_mA_g": None, "steps_per_charge": 50, "growth": 1.5,
            "voltage_tolerance_V": 1e-6}


def validate_kinetic_sections(raw: dict, case: dict) -> dict:
    """Validated [kinetics] and [protocol] for `case` (its other sections already validated), or {} without them."""
    if "kinetics" not in raw:
        if "protocol" in raw:
            raise CaseError("[protocol]: needs a [kinetics] section (the electrode potential comes from the surface "
                            "reaction)")
        return {}
    kinetics = validate_table(raw["kinetics"], KINETICS_OPTIONS, "kinetics")
    given = [key for key in ("rate_constant_m2_5_mol0_5_s", "exchange_current_density_A_m2") if kinetics[key] is not None]
    if len(given) != 1:
        raise CaseError("kinetics: give exactly one of rate_constant_m2_5_mol0_5_s, exchange_current_density_A_m2 "
                        f"(got {', '.join(given) or 'none'})")
    material, operation = case["material"], case["operation"]
    curve = ocp_of(material)
    molar_mass_of(material, curve)
    temperature = operation["temperature_K"]
    if "protocol" in raw:
        protocol = validate_table(raw["protocol"], PROTOCOL_OPTIONS, "protocol")
        if not protocol["steps"]:
            raise CaseError("protocol.steps = []: give at least one [[protocol.steps]] table")
        protocol["steps"] = [_validate_step(step, i, curve, temperature) for i, step in enumerate(protocol["steps"])]
        _first_step_reachable(protocol["steps"][0], curve, operation["li_fraction_start"], temperature)
    else:
        protocol = window_protocol(operation)
    return {"kinetics": kinetics, "protocol": protocol}
