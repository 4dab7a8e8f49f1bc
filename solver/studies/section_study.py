"""The gradient-porous study on 2D central sections at a real primary-grain size, over seeds (issue 16).

    python -m solver.studies.section_study --out results/section_study [--seeds 5] [--grain-size-um 0.5]

runs the central section (solver.formulation = "section_2d", generalised plane strain, unscaled section pores on
the measured porosity profile) of cases/{p_ncm83, gp_ncm83, p_ni96, gp_ni96}.toml with grain_count = section area
/ grain area (a grain of equivalent diameter --grain-size-um; primaries of Ni-rich NCM are ~0.3-0.6 um across,
cases/section_ncm83_1000_grains.toml) for seeds 1..--seeds (grain layout, orientations and pores), and writes into
--out: runs/<label>.json per run (resumable: kept unless --force), rows.csv, and table.md with, per run and as
mean +- sample std over seeds per architecture,

- the core (r < 0.5 R) and rim area fractions above tensile thresholds of the max principal and hoop stress and
  their area-mean tension, at the step of the largest core mean tension and at the end of charge;
- the grain-boundary length fractions (core, rim) with normal traction above thresholds (745 MPa: the NMC811
  grain-boundary strength quoted in docs/science.md#literature-values);
- the GP - P difference of the means and whether it exceeds the seed spread (2 standard errors of the difference),
  and GP - P paired by seed (the same seed gives the same grains and orientations; only the pores differ).

Statistics, not peaks: a section's peaks sit at grain-boundary/pore junctions where the elastic misfit stress is
singular (solver/section_statistics.py). Each run is in this process (serial 2D models take seconds).
"""
from __future__ import annotations

import argparse
import csv
import json
import math
import statistics
import sys
import time
from pathlib import Path

import numpy as np

from solver import section_statistics as stats
from solver.errors import CaseError
from solver.studies import claim_study_folder

REPO = Path(__file__).resolve().parents[2]
CASES_DIR = REPO / "cases"
CASES = ("p_ncm83", "gp_ncm83", "p_ni96", "gp_ni96")
MPA = 1e6
STRESS_THRESHOLDS_PA = (250 * MPA, 500 * MPA, 1000 * MPA)
# 745 MPa: NMC811 grain-boundary strength (docs/science.md#literature-values, second-hand from Sedlatschek et al.)
GB_THRESHOLDS_PA = (250 * MPA, 500 * MPA, 745 * MPA, 1000 * MPA)
GB_STRENGTH_PA = 745 * MPA
CORE_RADIUS_FRACTION = 0.5          # the paper's 50 % circle
# The section's mesh: ~2 cells across a 0.5 um grain, finer at the rim; pores resolved by curvature.
SECTION_OVERRIDES = ['solver.formulation="section_2d"', 'solver.section_axial_strain="free"',
                     "mesh.cell_size_fraction=0.05", "mesh.surface_cell_size_fraction=0.03",
                     "mesh.min_cell_size_fraction=0.003", "mesh.curvature_cells=12", "time.steps=8",
                     "output.progress=false", "output.fields=false", "output.pictures=false"]
# A smoke-test size (tests/test_section_study.py): few grains, coarse cells, 2 steps. Not a result.
QUICK_OVERRIDES = ["mesh.cell_size_fraction=0.15", "mesh.surface_cell_size_fraction=0.1",
                   "mesh.min_cell_size_fraction=0.01", "mesh.curvature_cells=6", "time.steps=2"]


def grain_count(radius_um: float, grain_size_um: float) -> int:
    """Voronoi grains of equivalent (circle) diameter grain_size_um in the section disc: area ratio."""
    return max(1, round((radius_um / (0.5 * grain_size_um)) ** 2))


def section_case(name: str, seed: int, grains: int, extra=()) -> dict:
    """The case of one section run: the preset's material, operation and porosity profile as a section."""
    from solver.case import load_case

    case = load_case(CASES_DIR / f"{name}.toml", [*SECTION_OVERRIDES, f"geometry.seed={seed}",
                                                  f"geometry.grain_count={grains}", *extra])
    # the presets' [grain_boundaries] extension is 3D only; this study measures the section's boundaries itself
    case.pop("grain_boundaries", None)
    return case


def _step_statistics(model, cell_grain: np.ndarray) -> dict:
    """Zone statistics of the current state: sigma_1 and hoop areas (core, rim) and grain-boundary lengths."""
    from solver.quantities import stress_measures

    tensors, points = model.stress_at_nodes()
    cells = len(model.cell_nodes)
    measures = stress_measures(tensors, points, model.radius_m)
    corners = points.reshape(cells, 3, 3)
    area = stats.triangle_areas(corners)
    r = np.linalg.norm(corners.mean(axis=1)[:, :2], axis=1) / model.radius_m
    out = {}
    for name in ("max_principal", "hoop"):
        cell_mean = measures[name].reshape(cells, 3).mean(axis=1)     # exact mean of the linear field per cell
        out[name] = stats.zone_statistics(cell_mean, area, r, STRESS_THRESHOLDS_PA, CORE_RADIUS_FRACTION)
    edges = stats.grain_boundary_edges(model.cell_nodes, cell_grain)
    traction, mismatch, length, middle = stats.grain_boundary_tractions(edges, tensors.reshape(cells, 3, 3, 3),
                                                                         corners)
    out["gb_normal_traction"] = stats.zone_statistics(traction, length, np.linalg.norm(middle, axis=1) / model.radius_m,
                                                      GB_THRESHOLDS_PA, CORE_RADIUS_FRACTION)
    out["gb_side_mismatch_rms_Pa"] = stats.rms(mismatch, length)
    return out


def run_section(case: dict) -> dict:
    """Run one section case in this process; returns per accepted step the state of charge and the statistics."""
    from mpi4py import MPI

    from solver.case import end_time_s
    from solver.reduced.section import SectionModel
    from solver.reduced.symmetry import check_section
    from solver.runs import march, state_of_charge

    started = time.perf_counter()
    radius_m = check_section(case)
    model = SectionModel(case)
    tags = model.particle.cell_tags
    cell_grain = np.full(len(model.cells), -1, dtype=np.int64)
    cell_grain[tags.indices] = tags.values
    steps: list[dict] = []

    def observe(step, t, dt, report):
        x = model.concentration()["mean_mol_m3"] / model.c_max
        steps.append({"time_s": t, "state_of_charge": state_of_charge(case, x), "li_fraction": x,
                      **_step_statistics(model, cell_grain[model.cells])})
        return ""

    outcome = march(model, case, end_time_s(case, radius_m), observe, MPI.COMM_SELF, False, {})
    mesh = model.mesh_summary()
    return {"status": outcome.status, "steps": steps, "cells": mesh["cells"],
            "grains": int(case["geometry"]["grain_count"]),
            "section_porosity": mesh["description"].get("section_porosity_meshed"),
            "seconds": time.perf_counter() - started}


# ------------------------------------------------------------------------------------ rows and tables
def state_columns(state: dict, tag: str) -> dict:
    row = {}
    for name, short in (("max_principal", "s1"), ("hoop", "hoop"), ("gb_normal_traction", "gb")):
        for zone in stats.ZONES:
            entry = state[name][zone]
            row[f"{tag}_{short}_{zone}_mean_tension_MPa"] = entry["mean_tension_Pa"] / MPA
            for threshold, value in entry["fraction_above"].items():
                row[f"{tag}_{short}_{zone}_above_{float(threshold) / MPA:g}MPa"] = value
    # runs written before the mismatch was recorded have none
    row[f"{tag}_gb_side_mismatch_rms_MPa"] = state.get("gb_side_mismatch_rms_Pa", float("nan")) / MPA
    return row


def run_row(name: str, seed: int, result: dict) -> dict:
    """One table row: the statistics at the step of the largest core mean sigma_1 tension ("peak") and at the end."""
    steps = result["steps"][1:] or result["steps"]          # t = 0 is stress-free
    peak = max(steps, key=lambda s: s["max_principal"]["core"]["mean_tension_Pa"])
    row = {"case": name, "material": name.split("_", 1)[1], "pores": "GP" if name.startswith("gp_") else "P",
           "seed": seed, "grains": result["grains"], "cells": result["cells"], "status": result["status"],
           "section_porosity": result["section_porosity"], "seconds": result["seconds"],
           "peak_soc": peak["state_of_charge"], "end_soc": steps[-1]["state_of_charge"]}
    row.update(state_columns(peak, "peak"))
    row.update(state_columns(steps[-1], "end"))
    return row


def seed_summary(rows: list[dict], metrics) -> list[dict]:
    """Per case: n, and mean and sample std over seeds of each metric."""
    out = []
    for name in dict.fromkeys(r["case"] for r in rows):
        members = [r for r in rows if r["case"] == name]
        entry = {"case": name, "n": len(members)}
        for metric in metrics:
            data = [m[metric] for m in members if math.isfinite(m[metric])]
            entry[f"{metric}_mean"] = statistics.fmean(data) if data else float("nan")
            entry[f"{metric}_std"] = statistics.stdev(data) if len(data) > 1 else float("nan")
        out.append(entry)
    return out


def gp_minus_p(summary: list[dict], metrics) -> list[dict]:
    """Per material and metric: GP - P of the seed means, the standard error of that difference
    (sqrt(s_GP^2 / n_GP + s_P^2 / n_P)), and whether |difference| > 2 standard errors."""
    by_case = {entry["case"]: entry for entry in summary}
    out = []
    for material in dict.fromkeys(name.split("_", 1)[1] for name in by_case):
        gp, p = by_case.get(f"gp_{material}"), by_case.get(f"p_{material}")
        if gp is None or p is None:
            continue
        for metric in metrics:
            difference = gp[f"{metric}_mean"] - p[f"{metric}_mean"]
            error = math.sqrt(gp[f"{metric}_std"] ** 2 / gp["n"] + p[f"{metric}_std"] ** 2 / p["n"])
            out.append({"material": material, "metric": metric, "gp_minus_p": difference, "standard_error": error,
                        "exceeds_spread": bool(abs(difference) > 2 * error) if math.isfinite(error) else None})
    return out


def paired_differences(rows: list[dict], metrics) -> list[dict]:
    """Per material and metric: GP - P run by run over the seeds both have (same seed: same grains and orientations,
    only the pores differ), its mean, sample std and whether |mean| > 2 standard errors (std / sqrt(n))."""
    runs = {(r["case"], r["seed"]): r for r in rows}
    out = []
    for material in dict.fromkeys(r["material"] for r in rows):
        seeds = sorted(seed for case, seed in runs if case == f"gp_{material}" and (f"p_{material}", seed) in runs)
        if not seeds:
            continue
        for metric in metrics:
            data = [runs[f"gp_{material}", s][metric] - runs[f"p_{material}", s][metric] for s in seeds]
            mean = statistics.fmean(data)
            spread = statistics.stdev(data) if len(data) > 1 else float("nan")
            error = spread / math.sqrt(len(data))
            out.append({"material": material, "metric": metric, "n": len(data), "mean": mean, "std": spread,
                        "exceeds_spread": bool(abs(mean) > 2 * error) if math.isfinite(error) else None})
    return out


TABLE_METRICS = tuple(f"{tag}_{m}" for tag in ("peak", "end") for m in (
    "s1_core_mean_tension_MPa", "s1_rim_mean_tension_MPa", "s1_core_above_500MPa", "s1_rim_above_500MPa",
    "hoop_core_mean_tension_MPa", "hoop_rim_mean_tension_MPa", "hoop_core_above_500MPa", "hoop_rim_above_500MPa",
    "gb_core_above_250MPa", "gb_rim_above_250MPa", "gb_core_above_745MPa", "gb_rim_above_745MPa"))


def format_number(value) -> str:
    return "-" if not isinstance(value, (int, float)) or not math.isfinite(value) else f"{value:.3g}"


def report(rows: list[dict]) -> str:
    """table.md: the seed means +- std per case, the GP - P differences against the spread, and every run."""
    lines = ["# Gradient-porous study on 2D central sections\n",
             f"core = r/R < {CORE_RADIUS_FRACTION}; s1 = max principal stress; fractions are of area (s1, hoop) or "
             "grain-boundary length (gb: normal traction); mean tension = area mean of max(s1, 0) in MPa; 'peak' = "
             "the step of the largest core mean tension, 'end' = end of charge.\n"]
    lines += comparison_lines(rows, TABLE_METRICS, ("peak_soc",))
    columns = ("case", "seed", "grains", "cells", "section_porosity", "peak_soc", "peak_s1_core_mean_tension_MPa",
               "peak_s1_rim_mean_tension_MPa", "peak_s1_core_above_500MPa", "peak_s1_rim_above_500MPa",
               "peak_gb_core_above_745MPa", "peak_gb_rim_above_745MPa", "end_s1_core_mean_tension_MPa",
               "end_s1_rim_mean_tension_MPa", "peak_gb_side_mismatch_rms_MPa", "seconds")
    return "\n".join(lines + run_lines(rows, columns)) + "\n"


def comparison_lines(rows: list[dict], metrics, described=(), group: str = "material") -> list[str]:
    """The markdown tables of a GP / P comparison: seed means +- std per case (of `described` and `metrics`), GP - P
    of the means against the seed spread, and GP - P paired by seed; `group` heads the pairing column (rows pair
    gp_<material> with p_<material>)."""
    summary = seed_summary(rows, tuple(metrics) + tuple(described))
    lines = ["## Mean ± sample std over seeds\n",
             "| metric | " + " | ".join(f"{e['case']} (n={e['n']})" for e in summary) + " |",
             "|---|" + "---|" * len(summary)]
    for metric in tuple(described) + tuple(metrics):
        lines.append(f"| {metric} | " + " | ".join(
            f"{format_number(e[metric + '_mean'])} ± {format_number(e[metric + '_std'])}" for e in summary) + " |")
    lines += ["\n## GP - P (difference of seed means; exceeds spread = |diff| > 2 standard errors)\n",
              f"| {group} | metric | GP - P | std. error | exceeds spread |", "|---|---|---|---|---|"]
    for entry in gp_minus_p(summary, metrics):
        verdict = {True: "yes", False: "no", None: "-"}[entry["exceeds_spread"]]
        lines.append(f"| {entry['material']} | {entry['metric']} | {format_number(entry['gp_minus_p'])} | "
                     f"{format_number(entry['standard_error'])} | {verdict} |")
    lines += ["\n## GP - P paired by seed (same grains and orientations, other pores; significant = |mean| > 2 std / "
              f"sqrt(n))\n", f"| {group} | metric | n | mean GP - P | std | significant |", "|---|---|---|---|---|---|"]
    for entry in paired_differences(rows, metrics):
        verdict = {True: "yes", False: "no", None: "-"}[entry["exceeds_spread"]]
        lines.append(f"| {entry['material']} | {entry['metric']} | {entry['n']} | {format_number(entry['mean'])} | "
                     f"{format_number(entry['std'])} | {verdict} |")
    return lines


def run_lines(rows: list[dict], columns) -> list[str]:
    """The markdown table of every run's `columns`."""
    lines = ["\n## Runs\n", "| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for row in rows:
        lines.append("| " + " | ".join(str(row[c]) if isinstance(row[c], str) else format_number(row[c])
                                       for c in columns) + " |")
    return lines


def write_outputs(rows: list[dict], out: Path, render=None) -> Path:
    """rows.csv and table.md (drawn by `render`, default this study's report) in `out`; returns table.md's path."""
    keys = list(dict.fromkeys(k for row in rows for k in row))
    with open(out / "rows.csv", "w", newline="") as stream:
        writer = csv.DictWriter(stream, fieldnames=keys)
        writer.writeheader()
        writer.writerows(rows)
    path = out / "table.md"
    path.write_text((render or report)(rows))
    return path


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m solver.studies.section_study", description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=REPO / "results" / "section_study")
    parser.add_argument("--cases", nargs="+", default=list(CASES), choices=CASES)
    parser.add_argument("--seeds", type=int, default=5, help="seeds 1..N per case (default 5)")
    parser.add_argument("--grain-size-um", type=float, default=0.5,
                        help="equivalent primary-grain diameter (um); grain_count = section area / grain area")
    parser.add_argument("--force", action="store_true", help="rerun finished runs")
    parser.add_argument("--quick", action="store_true", help="tiny smoke-test runs (not a result)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="extra case override for every run (repeatable)")
    args = parser.parse_args(argv)
    if args.seeds < 1 or not args.grain_size_um > 0:
        parser.exit(2, f"error: --seeds = {args.seeds}, --grain-size-um = {args.grain_size_um}: need >= 1 and > 0\n")
    extra = (QUICK_OVERRIDES if args.quick else []) + args.overrides
    try:
        out = claim_study_folder(args.out)
        (out / "runs").mkdir(exist_ok=True)
        rows = []
        for name in args.cases:
            radius_um = section_case(name, 1, 2, extra)["geometry"]["radius_m"] * 1e6
            grains = grain_count(radius_um, args.grain_size_um)
            for seed in range(1, args.seeds + 1):
                path = out / "runs" / f"{name}_seed{seed}_g{grains}.json"
                if path.exists() and not args.force:
                    result = json.loads(path.read_text())
                else:
                    result = run_section(section_case(name, seed, grains, extra))
                    path.write_text(json.dumps(result) + "\n")
                rows.append(run_row(name, seed, result))
                print(f"  done {path.stem} ({result['seconds']:.0f} s)", file=sys.stderr, flush=True)
    except CaseError as exc:
        parser.exit(2, f"error: {exc}\n")
    table = write_outputs(rows, out)
    print(table.read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
