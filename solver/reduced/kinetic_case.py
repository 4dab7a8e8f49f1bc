"""A [kinetics] case in the spherical_1d formulation: case -> particle and protocol in SI -> run -> tables.

build(case) turns a validated case into the numpy-only solver's input (solver/kinetics1d.py): the particle
(radius, D, elasticity from solver/reduced/spherical.py's helpers, Butler-Volmer, OCP) and the protocol steps with
C-rates, mA/g and mAh/g converted to amperes and coulombs through the particle's mass. tabulate(result) gives
the time series (voltage, current, capacity in mAh/g, overpotential, Li fractions, peak stresses per time) and
the per-step records; run_kinetic_case writes them (summary.json, timeseries.csv, voltage.png).
"""
from __future__ import annotations

import csv
import time as wallclock
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from solver import figure_style, kinetics, ocp, quantities, spherical1d
from solver.errors import CaseError
from solver.kinetics1d import KineticParticle, KineticsResult, Step, run_protocol
from solver.protocol import molar_mass_of, ocp_of, reaction_of
from solver.reduced.spherical import property_by_region, radial_diffusivity, radial_cells
from solver.reduced.symmetry import check_reducible
from solver.units import SECONDS_PER_HOUR

MAH_TO_C = 3.6                       # 1 mAh = 3.6 C
CV_FIRST_STEP_FRACTION = 0.01        # cv and rest steps start at this fraction of the 1C step


@dataclass(frozen=True)
class Scales:
    """What turns human units into SI for one particle."""
    mass_g: float
    one_c_current_A: float
    molar_mass_g_mol: float
    theoretical_capacity_mAh_g: float
    exchange_current_density_A_m2: float      # at the reference Li fraction
    charge_transfer_resistance_ohm: float     # R T / (F i0 A) of the wetted area at the reference Li fraction

    def capacity_mAh_g(self, charge_C):
        return np.asarray(charge_C) / (MAH_TO_C * self.mass_g)

    def current_mA_g(self, current_A):
        return np.asarray(current_A) * 1e3 / self.mass_g


def build_particle(case: dict, n_cells: int | None = None) -> tuple[KineticParticle, Scales]:
    layout = check_reducible(case)
    material, operation = case["material"], case["operation"]
    c_max = material["c_max_mol_m3"]
    reaction = reaction_of(case)
    transport = spherical1d.SphericalProblem(
        radius_m=layout.radius_m, diffusivity_m2_s=radial_diffusivity(case, layout),
        c_init_mol_m3=operation["li_fraction_start"] * c_max, surface=spherical1d.SurfaceFlux(0.0),
        elasticity=spherical1d.Elasticity(
            property_by_region(case, layout, "young_modulus_Pa"), property_by_region(case, layout, "poisson_ratio"),
            property_by_region(case, layout, "partial_molar_volume_m3_mol"), material["stress_free_li_fraction"] * c_max),
        inner_radius_m=layout.inner_radius_m, interfaces_m=layout.interfaces_m,
        n_cells=n_cells or radial_cells(case))
    particle = KineticParticle(transport, reaction, ocp_of(material), operation["temperature_K"],
                               tuple(operation["wetted_surfaces"]))
    return particle, scales_of(case, particle.volume_m3, particle.wetted_area_m2)


def scales_of(case: dict, volume_m3: float, wetted_area_m2: float) -> Scales:
    """The particle's mass, 1C current and reference kinetics of a [kinetics] case of this volume and wetted area
    (the 1D particle's, or the measured mesh's in the FE formulations)."""
    material, operation, section = case["material"], case["operation"], case["kinetics"]
    c_max, temperature = material["c_max_mol_m3"], operation["temperature_K"]
    curve = ocp_of(material)
    reaction = reaction_of(case)
    molar_mass = molar_mass_of(material, curve)
    mass_g = c_max * volume_m3 * molar_mass / curve.li_per_formula_unit
    theoretical = ocp.theoretical_capacity_mAh_g(molar_mass, curve.li_per_formula_unit)
    one_c_mA_g = case["protocol"]["one_c_current_mA_g"] or operation["capacity_li_fraction"] * theoretical
    i0 = float(reaction.exchange_current_density(section["reference_li_fraction"] * c_max, temperature))
    return Scales(mass_g, one_c_mA_g * 1e-3 * mass_g, molar_mass, theoretical, i0,
                  kinetics.charge_transfer_resistance_ohm(i0, wetted_area_m2, temperature, reaction.alpha_a,
                                                          reaction.alpha_c))


def build_steps(case: dict, scales: Scales) -> list[Step]:
    protocol = case["protocol"]
    one_c_step_s = SECONDS_PER_HOUR / protocol["steps_per_charge"]
    steps = []
    for index, raw in enumerate(protocol["steps"]):
        current = 0.0
        if raw["kind"] in ("cc", "cccv"):
            current = raw["c_rate"] * scales.one_c_current_A if raw["c_rate"] is not None else \
                raw["current_mA_g"] * 1e-3 * scales.mass_g
            current *= 1.0 if raw["direction"] == "charge" else -1.0
        stops = {}
        for key, value in raw["stop"].items():
            if key == "current_c_rate":
                stops["current_A"] = value * scales.one_c_current_A
            elif key == "capacity_mAh_g":
                stops["charge_C"] = value * MAH_TO_C * scales.mass_g
            else:
                stops[key] = value
        dt_max = one_c_step_s * (scales.one_c_current_A / abs(current) if current else 1.0)
        steps.append(Step(raw["kind"], stops, current, raw["voltage_V"], dt_max_s=dt_max,
                          dt_initial_s=None if raw["kind"] in ("cc", "cccv") else CV_FIRST_STEP_FRACTION * dt_max,
                          growth=protocol["growth"], label=raw["label"] or f"{raw['kind']} {index}",
                          tolerances={"voltage_V": protocol["voltage_tolerance_V"]}))
    return steps


def run(case: dict, keep_profiles: bool = True, n_cells: int | None = None, stop_on_failure: bool = True):
    """(result, scales) of a validated [kinetics] case."""
    if "kinetics" not in case:
        raise CaseError("[kinetics]: missing; this case has no surface reaction")
    particle, scales = build_particle(case, n_cells)
    result = run_protocol(particle, build_steps(case, scales), case["protocol"]["cycles"], case["time"]["scheme"],
                          keep_profiles=keep_profiles, stop_on_failure=stop_on_failure)
    return result, scales


# ------------------------------------------------------------------------------------------------------------------
# tables
# ------------------------------------------------------------------------------------------------------------------

def step_table(result: KineticsResult, scales: Scales) -> list[dict]:
    return [{"index": r.index, "cycle": r.cycle, "kind": r.kind, "label": r.label, "stop": r.stop,
             "t_start_s": r.t_start_s, "duration_s": r.t_end_s - r.t_start_s,
             "capacity_mAh_g": float(abs(scales.capacity_mAh_g(r.charge_C))),
             "charge_mAh_g": float(scales.capacity_mAh_g(r.charge_C)),
             "end_voltage_V": r.end_voltage_V, "overpotential_min_V": r.overpotential_min_V if r.steps else 0.0,
             "overpotential_max_V": r.overpotential_max_V if r.steps else 0.0,
             "overpotential_mean_V": r.overpotential_mean_V, "time_steps": r.steps, "rejected_steps": r.rejected_steps}
            for r in result.steps]


def stress_fields(result: KineticsResult) -> tuple[np.ndarray, dict]:
    """(radii, {measure: (time, radius) array}) of the stress quantities of the 3D summary (solver/quantities.py)."""
    radii, sigma_r, sigma_t = result.stresses()
    return radii, quantities.spherical_measures(sigma_r, sigma_t, radii)


def peaks_with_voltage(result: KineticsResult, radius_m: float) -> tuple[dict, dict]:
    """Peak of each measure over space and time, with where, when and at which voltage/step; and per-time maxima."""
    radii, fields = stress_fields(result)
    voltage, step, cycle = result.column("voltage_V"), result.column("step"), result.column("cycle")
    times = result.column("time_s")
    peaks, per_time = {}, {}
    for name, values in fields.items():
        picked = quantities.get(name).ranked(values)   # each peak by its rule in the quantity registry
        it, ir = np.unravel_index(np.argmax(picked), values.shape)
        peaks[name] = {"value_Pa": float(values[it, ir]), "radius_m": float(radii[ir]),
                       "radius_fraction": float(radii[ir] / radius_m), "time_s": float(times[it]),
                       "voltage_V": float(voltage[it]), "step": int(step[it]), "cycle": int(cycle[it])}
        per_time[name] = values[np.arange(values.shape[0]), np.argmax(picked, axis=1)]
    return peaks, per_time


def timeseries_rows(result: KineticsResult, scales: Scales, per_time_peaks: dict | None = None) -> list[dict]:
    series = result.series
    capacity = scales.capacity_mAh_g(result.column("charge_C"))
    rows = []
    for k in range(len(series["time_s"])):
        current = series["current_A"][k]
        row = {"time_s": series["time_s"][k], "cycle": series["cycle"][k], "step": series["step"][k],
               "phase": series["phase"][k], "voltage_V": series["voltage_V"][k], "current_A": current,
               "current_mA_g": current * 1e3 / scales.mass_g, "c_rate": current / scales.one_c_current_A,
               "capacity_mAh_g": float(capacity[k]), "overpotential_V": series["overpotential_V"][k],
               "ocv_surface_V": series["ocv_surface_V"][k], "surface_li_fraction": series["surface_li_fraction"][k],
               "mean_li_fraction": series["mean_li_fraction"][k]}
        for name, values in (per_time_peaks or {}).items():
            row[f"peak_{name}_Pa"] = float(values[k])
        rows.append(row)
    return rows


def overpotential_statistics(result: KineticsResult) -> dict:
    eta, t = result.column("overpotential_V"), result.column("time_s")
    duration = t[-1] - t[0]
    mean = float(np.sum(0.5 * (eta[1:] + eta[:-1]) * np.diff(t)) / duration) if duration > 0 else 0.0
    return {"min_V": float(eta.min()), "max_V": float(eta.max()), "time_mean_V": mean,
            "time_mean_abs_V": float(np.sum(0.5 * np.abs(eta[1:] + eta[:-1]) * np.diff(t)) / duration)
            if duration > 0 else 0.0}


# ------------------------------------------------------------------------------------------------------------------
# the result folder
# ------------------------------------------------------------------------------------------------------------------

def write_csv(path: Path, rows: list[dict]) -> None:
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def draw_voltage(path: Path, rows: list[dict], title: str) -> list[Path]:
    """Voltage vs time and vs capacity (per step, so that charge and discharge read as separate curves), in the house
    style (solver/figure_style.py): voltage.png with its PDF and SVG."""
    t = np.array([row["time_s"] for row in rows]) / SECONDS_PER_HOUR
    v = np.array([row["voltage_V"] for row in rows])
    keys = sorted({(row["cycle"], row["step"]) for row in rows if row["step"] >= 0})
    steps = []
    for cycle, step in keys:
        chosen = [row for row in rows if (row["cycle"], row["step"]) == (cycle, step) and row["phase"] != "rest"]
        if len(chosen) > 1:
            steps.append((f"cycle {cycle} step {step}", chosen))
    voltage_label = figure_style.label("voltage vs Li/Li+", "V")
    with figure_style.style():
        fig, (left, right) = figure_style.figure("page", height_in=2.8, ncols=2)
        left.plot(t, v, **{**figure_style.series_style(0), "marker": None})
        left.set_xlabel(figure_style.label("time", "h"))
        left.set_ylabel(voltage_label)
        for i, (label, chosen) in enumerate(steps):
            q0 = chosen[0]["capacity_mAh_g"]
            right.plot([abs(row["capacity_mAh_g"] - q0) for row in chosen], [row["voltage_V"] for row in chosen],
                       label=label, **figure_style.series_style(i, len(steps), len(chosen)))
        right.set_xlabel(figure_style.label("capacity in the step", "mAh/g"))
        right.set_ylabel(voltage_label)
        if 0 < len(steps) <= 8:
            right.legend(loc="center left", bbox_to_anchor=(1.02, 0.5))
        fig.suptitle(title)
        return figure_style.save(fig, path)


def protocol_summary(case: dict, result: KineticsResult, scales: Scales, reaction, curve, peaks: dict,
                     particle: dict, mesh: dict, seconds: float) -> dict:
    """summary.json of a kinetic run of any formulation: `particle` (geometry) and `mesh` are the formulation's."""
    return {
        "case_name": case["name"], "case": case, "formulation": case["solver"]["formulation"],
        "model": "particle-level kinetics (uniform electrolyte concentration and potential around the particle; "
                 "not a cell model)",
        "status": result.status, "message": result.message,
        "steps": step_table(result, scales), "overpotential": overpotential_statistics(result), "peak": peaks,
        "final": {"voltage_V": float(result.column("voltage_V")[-1]),
                  "mean_li_fraction": float(result.column("mean_li_fraction")[-1]),
                  "time_s": float(result.column("time_s")[-1])},
        "particle": {**particle, "mass_g": scales.mass_g, "molar_mass_g_mol": scales.molar_mass_g_mol,
                     "theoretical_capacity_mAh_g": scales.theoretical_capacity_mAh_g,
                     "one_c_current_A": scales.one_c_current_A,
                     "one_c_current_mA_g": scales.one_c_current_A * 1e3 / scales.mass_g},
        "kinetics": {"rate_constant_m2_5_mol0_5_s": reaction.rate_constant, "alpha_anodic": reaction.alpha_a,
                     "alpha_cathodic": reaction.alpha_c, "electrolyte_concentration_mol_m3": reaction.c_e_mol_m3,
                     "exchange_current_density_at_reference_A_m2": scales.exchange_current_density_A_m2,
                     "charge_transfer_resistance_at_reference_ohm": scales.charge_transfer_resistance_ohm},
        "ocp": {"name": curve.name, "source": curve.source},
        "mesh": mesh,
        "final_li_fraction_mean": float(result.column("mean_li_fraction")[-1]),
        "time": {"t_reached_s": float(result.column("time_s")[-1]), "steps": len(result.column("time_s")) - 1,
                 "rejected_steps": int(sum(r.rejected_steps for r in result.steps))},
        "timing_s": {"total": seconds},
    }


def summary_of(case: dict, result: KineticsResult, scales: Scales, peaks: dict, seconds: float) -> dict:
    particle = result.particle
    geometry = {"radius_m": particle.transport.radius_m, "inner_radius_m": particle.transport.inner_radius_m,
                "volume_m3": particle.volume_m3, "wetted_area_m2": particle.wetted_area_m2}
    return protocol_summary(case, result, scales, particle.reaction, particle.ocp, peaks, geometry,
                            {"radial_cells": int(result.mesh.h_m.size)}, seconds)


def run_kinetic_case(case: dict, out_dir, comm=None, *, render: bool | None = None) -> dict:
    """Run a validated [kinetics] case and write summary.json, timeseries.csv and voltage.png into out_dir."""
    from mpi4py import MPI

    from solver.runs import run_serial

    def solve(folder) -> dict:
        from solver.provenance import provenance
        from solver.writers import write_json

        started = wallclock.perf_counter()
        result, scales = run(case)
        peaks, per_time = peaks_with_voltage(result, result.particle.transport.radius_m)
        rows = timeseries_rows(result, scales, per_time)
        write_csv(folder.path("timeseries.csv"), rows)
        summary = summary_of(case, result, scales, peaks, wallclock.perf_counter() - started)
        summary["provenance"] = provenance(case)
        write_json(folder.path("summary.json"), summary)
        if (case["output"]["pictures"] if render is None else render) and len(rows) > 1:
            draw_voltage(folder.path("voltage.png"), rows, case["name"])
        return summary

    # pictures: voltage.png above (matplotlib); there are no field files for the PyVista renderer
    return run_serial(case, out_dir, comm or MPI.COMM_WORLD, solve, render=False)


def format_summary(summary: dict) -> str:
    lines = [f"{summary['case_name']}: {summary['status']}" + (f" ({summary['message']})" if summary["message"] else "")]
    for step in summary["steps"]:
        lines.append(f"  cycle {step['cycle']} {step['label']:<14s} {step['capacity_mAh_g']:8.2f} mAh/g  "
                     f"stop {step['stop']:<16s} end {step['end_voltage_V']:.4f} V")
    for name, peak in summary["peak"].items():
        lines.append(f"  peak {name:<14s} {peak['value_Pa'] / 1e6:9.2f} MPa at r/R = {peak['radius_fraction']:.3f} "
                     f"t = {peak['time_s']:.4g} s V = {peak['voltage_V']:.4f} V")
    return "\n".join(lines)


__all__ = ["Scales", "build_particle", "build_steps", "run", "run_kinetic_case"]
