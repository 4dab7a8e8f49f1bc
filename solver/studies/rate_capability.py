"""Rate capability with Butler-Volmer kinetics in 1D (docs/science.md#measured-outcomes, seeds 000 and 002): what the model predicts.

    python -m solver.studies.rate_capability --out DIR

Seed 000, NCM811, R = 5 um (cases/ncm811_particle.toml): 0 T vs 0.32 T. D from the paper's GITT
(1.39e-10 / 6.34e-10 cm^2/s), the exchange current density from its charge-transfer resistance
(83.7 / 46.8 ohm) through R_ct = R T / (F i0 A) with A the active surface of the electrode (ELECTRODE below,
an assumption). Discharge from the charged state (x = 0.25, uniform: a slow charge and rest) at 0.1C, 1C and 5C
(1C = 200 mA/g) to 3.5 V (the Chen 2020 fit ends at 3.49 V at x = 1: 3.0 V lies beyond it and is refused); measured at 5C: 50.9 (0 T) and 118.8 mAh/g (0.32 T). The gap is split into diffusion
and kinetics by swapping one of the two parameters at a time, and "solid diffusion alone" is the same run with
kinetics 1000x faster. Stresses: the peaks of the 1C and 5C discharges and of 1C and 5C charges (from x = 0.95 to
4.3 V) of both.

Seed 002, LNMO, dense 4 um sphere (cases/lnmo_dense.toml): capacity at 10C relative to 0.5C, measured 78.9 %.

Never tuned to the measured capacities: every input is from the papers or stated as an assumption.
Writes DIR/table.json and DIR/table.md.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from solver.case import read_case_file
from solver.kinetics import thermal_voltage_V
from solver.reduced.kinetic_sweep import run_one
from solver.studies import claim_study_folder, write_tables

REPO = Path(__file__).resolve().parents[2]
CASES = REPO / "cases"
T_K = 298.15
# ASSUMPTION (the papers give R_ct of a coin-cell electrode, not its area): 3 mg/cm^2 of active material on a
# 12 mm disc (1.131 cm^2) = 3.39 mg, of dense spheres of R = 5 um and density 4.75 g/cm^3 (c_max x M):
# A = 3 m / (rho R) per gram -> 0.126 m^2/g -> 4.28e-4 m^2 of wetted surface.
ELECTRODE = {"mass_g": 3.0e-3 * 1.131, "density_g_m3": 49000.0 * 97.28, "radius_m": 5e-6}
SEED000 = {"0 T": {"D_m2_s": 1.39e-14, "R_ct_ohm": 83.7, "measured_5C_mAh_g": 50.9},
           "0.32 T": {"D_m2_s": 6.34e-14, "R_ct_ohm": 46.8, "measured_5C_mAh_g": 118.8}}
SEED002 = {"measured_10C_over_0_5C": 0.789, "measured_0_5C_mAh_g": 136.7}
# ASSUMPTION: LNMO exchange current density 1 A/m^2 at x = 0.5 (no R_ct reported by seed 002)
LNMO_I0_A_M2 = 1.0


def electrode_area_m2() -> float:
    e = ELECTRODE
    return e["mass_g"] * 3.0 / (e["density_g_m3"] * e["radius_m"])


def exchange_current_from_rct(r_ct_ohm: float) -> float:
    """i0 = R T / (F R_ct A) (alpha_a + alpha_c = 1)."""
    return float(thermal_voltage_V(T_K) / (r_ct_ohm * electrode_area_m2()))


def _ncm_raw(D: float, i0: float, *, charge: bool, c_rate: float) -> dict:
    raw = read_case_file(CASES / "ncm811_particle.toml")
    raw["name"] = "seed000"
    raw["material"].update(diffusivity_m2_s=D, ocp="nmc811_chen2020")
    raw["coupling"] = {"stress_assisted_diffusion": False}   # the GITT D is already the apparent (effective) one
    raw["solver"] = {"formulation": "spherical_1d"}
    raw["mesh"] = {"cell_size_fraction": 0.1, "surface_cell_size_fraction": 0.1}
    raw["output"] = {"pictures": False, "progress": False}
    raw["operation"].update(li_fraction_start=0.95 if charge else 0.25, li_fraction_end=0.25 if charge else 0.95,
                            direction="charge" if charge else "discharge")
    raw["kinetics"] = {"exchange_current_density_A_m2": i0, "reference_li_fraction": 0.5}
    step = {"kind": "cc", "c_rate": c_rate, "direction": "charge" if charge else "discharge",
            "stop": {"voltage_V": 4.3 if charge else 3.5}}
    raw["protocol"] = {"one_c_current_mA_g": 200.0, "steps_per_charge": 200, "steps": [step]}
    return raw


def _lnmo_raw(c_rate: float) -> dict:
    raw = read_case_file(CASES / "lnmo_dense.toml")
    raw["name"] = "seed002"
    raw["material"]["ocp"] = "lnmo_spinel"
    raw["solver"] = {"formulation": "spherical_1d"}
    raw["mesh"] = {"cell_size_fraction": 0.1, "surface_cell_size_fraction": 0.1}
    raw["output"] = {"pictures": False, "progress": False}
    raw["operation"].update(li_fraction_start=0.03, li_fraction_end=0.98, direction="discharge")
    raw["kinetics"] = {"exchange_current_density_A_m2": LNMO_I0_A_M2}
    raw["protocol"] = {"one_c_current_mA_g": 146.7, "steps_per_charge": 200, "steps": [
        {"kind": "cc", "c_rate": c_rate, "direction": "discharge", "stop": {"voltage_V": 3.8}}]}
    return raw


def _summary(row: dict) -> dict:
    if row["status"] == "error":
        raise RuntimeError(row["message"])
    out = {"capacity_mAh_g": row["capacity_mAh_g"][0], "stop": row["stops"][0],
           "end_voltage_V": row["end_voltage_V"][0], "mean_overpotential_V": row["overpotential"]["time_mean_V"]}
    if "peak" in row:
        for name in ("von_mises", "hoop"):
            peak = row["peak"][name]
            out[f"peak_{name}_MPa"] = peak["value_Pa"] / 1e6
            out[f"peak_{name}_r_over_R"] = peak["radius_fraction"]
            out[f"peak_{name}_voltage_V"] = peak["voltage_V"]
    return out


def seed000() -> dict:
    i0 = {label: exchange_current_from_rct(p["R_ct_ohm"]) for label, p in SEED000.items()}
    D = {label: p["D_m2_s"] for label, p in SEED000.items()}
    runs = {}
    for label in SEED000:
        for rate in (0.1, 1.0, 5.0):
            runs[f"{label} discharge {rate:g}C"] = _summary(run_one(_ncm_raw(D[label], i0[label], charge=False, c_rate=rate), stresses=True))
        for rate in (1.0, 5.0):
            runs[f"{label} charge {rate:g}C"] = _summary(run_one(_ncm_raw(D[label], i0[label], charge=True, c_rate=rate), stresses=True))
        runs[f"{label} discharge 5C, diffusion alone (i0 x 1000)"] = _summary(
            run_one(_ncm_raw(D[label], 1000 * i0[label], charge=False, c_rate=5.0)))
    runs["D 0 T, i0 0.32 T: discharge 5C"] = _summary(run_one(_ncm_raw(D["0 T"], i0["0.32 T"], charge=False, c_rate=5.0)))
    runs["D 0.32 T, i0 0 T: discharge 5C"] = _summary(run_one(_ncm_raw(D["0.32 T"], i0["0 T"], charge=False, c_rate=5.0)))
    return {"inputs": {"electrode_area_m2": electrode_area_m2(), "exchange_current_density_A_m2": i0,
                       "diffusivity_m2_s": D, "electrode_assumption": ELECTRODE}, "runs": runs}


def seed002() -> dict:
    runs = {f"discharge {rate:g}C": _summary(run_one(_lnmo_raw(rate))) for rate in (0.5, 10.0)}
    ratio = runs["discharge 10C"]["capacity_mAh_g"] / runs["discharge 0.5C"]["capacity_mAh_g"]
    return {"inputs": {"exchange_current_density_A_m2": LNMO_I0_A_M2, "diffusivity_m2_s": 1e-15, "radius_m": 2e-6},
            "runs": runs, "predicted_10C_over_0_5C": ratio, "measured_10C_over_0_5C": SEED002["measured_10C_over_0_5C"]}


def markdown(results: dict) -> str:
    lines = ["# Rate capability (1D, Butler-Volmer): model predictions", ""]
    s0 = results["seed000"]
    lines += ["## Seed 000, NCM811, R = 5 um", "",
              f"electrode area (assumed) {s0['inputs']['electrode_area_m2']:.3e} m^2; i0 = " +
              ", ".join(f"{k}: {v:.3f} A/m^2" for k, v in s0["inputs"]["exchange_current_density_A_m2"].items()), "",
              "| run | capacity mAh/g | stop | mean eta V | peak von Mises MPa (r/R, V) | peak hoop MPa (V) |",
              "|---|---|---|---|---|---|"]
    for name, run in s0["runs"].items():
        vm = (f"{run['peak_von_mises_MPa']:.1f} ({run['peak_von_mises_r_over_R']:.2f}, {run['peak_von_mises_voltage_V']:.3f})"
              if "peak_von_mises_MPa" in run else "")
        hoop = f"{run['peak_hoop_MPa']:.1f} ({run['peak_hoop_voltage_V']:.3f})" if "peak_hoop_MPa" in run else ""
        lines.append(f"| {name} | {run['capacity_mAh_g']:.1f} | {run['stop']} | {run['mean_overpotential_V']:.4f} | "
                     f"{vm} | {hoop} |")
    s2 = results["seed002"]
    lines += ["", "## Seed 002, LNMO, R = 2 um", "", "| run | capacity mAh/g | stop |", "|---|---|---|"]
    for name, run in s2["runs"].items():
        lines.append(f"| {name} | {run['capacity_mAh_g']:.1f} | {run['stop']} |")
    lines += ["", f"10C / 0.5C: predicted {100 * s2['predicted_10C_over_0_5C']:.1f} %, measured "
              f"{100 * s2['measured_10C_over_0_5C']:.1f} %"]
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    folder = claim_study_folder(args.out)
    results = {"seed000": seed000(), "seed002": seed002()}
    write_tables(folder, results, markdown(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
