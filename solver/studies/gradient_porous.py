"""The gradient-porous Ni-rich NCM study (docs/science.md#study-1-gradient-porous-ni-rich-ncm): does the model reproduce the paper's claims?

    python -m solver.studies.gradient_porous --out results/gradient_porous [--sensitivity] [--jobs 2]

runs cases/{p_ncm83, gp_ncm83, p_ni96, gp_ni96}.toml at 0.1C and 1C (each a `python -m solver run`
subprocess, resumable: finished runs are kept unless --force), then writes into --out:

- table.md / table.csv / rows.json: per run the peak tensile (max principal) stress with where (r/R, core
  or outer) and when (state of charge), the core and outer 99th-percentile and mean tension, the peak
  grain-boundary traction with where and when, and the grain-boundary area fraction above the critical
  traction ([grain_boundaries] of the cases), plus the GP/P ratios of the core measures;
- with --sensitivity: the same for several seeds (mean and spread), grain counts and a finer mesh
  (P- and GP-NCM83 at 1C), in sensitivity.md / sensitivity.csv;
- compare_max_principal_<rate>.png and compare_gb_traction_<rate>.png: side-by-side z = 0 sections of
  the four particles (python -m solver.render compare) at the snapshot nearest the grain-boundary peak.

"Core" is r/R < [grain_boundaries].core_radius_fraction (0.5, the paper's 50 % circle).
"""
from __future__ import annotations

import argparse
import csv
import json
import math
import os
import statistics
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from solver.errors import CaseError
from solver.studies import adopt_run_folder, claim_study_folder, computed_something, regular_snapshots

REPO = Path(__file__).resolve().parents[2]
CASES_DIR = REPO / "cases"
CASES = ("p_ncm83", "gp_ncm83", "p_ni96", "gp_ni96")
C_RATES = (0.1, 1.0)
SENSITIVITY_CASES = ("p_ncm83", "gp_ncm83")
SENSITIVITY_C_RATE = 1.0
SENSITIVITY_SEEDS = (1, 2, 3)
# Sensitivity runs are cut to what the peak needs: 3 steps (x = 0.70, 0.45, 0.20 for NCM83; the misfit peak
# is at x = 0.40-0.50) and no field files. Their seed-1 run is the baseline of the grain and mesh rows.
SENSITIVITY_OVERRIDES = ("time.steps=3", "output.fields=false")
SENSITIVITY_GRAIN_COUNTS = (20, 50)
SENSITIVITY_MESH_SCALES = (0.75,)
# A smoke-test size (tests/test_gradient_porous_study): a tiny particle, few grains, pores and steps.
QUICK_OVERRIDES = ["geometry.radius_um=1.0", "geometry.grain_count=5", "geometry.volume_scale=2.0",
                   "mesh.cell_size_fraction=0.3", "mesh.surface_cell_size_fraction=0.2", "time.steps=3",
                   "output.snapshots=2", "mesh.min_quality=0.0001"]


@dataclass(frozen=True)
class Run:
    case: str
    c_rate: float
    seed: int | None = None
    grain_count: int | None = None
    mesh_scale: float = 1.0
    extra: tuple[str, ...] = field(default=(), compare=False)

    @property
    def variant(self) -> str:
        """What this run varies relative to its main run: default, seed, grains or mesh."""
        if self.seed is not None:
            return "seed"
        if self.grain_count is not None:
            return "grains"
        return "mesh" if self.mesh_scale != 1.0 else "default"

    @property
    def label(self) -> str:
        parts = [self.case, f"{self.c_rate:g}C"]
        if self.seed is not None:
            parts.append(f"seed{self.seed}")
        if self.grain_count is not None:
            parts.append(f"g{self.grain_count}")
        if self.mesh_scale != 1.0:
            parts.append(f"mesh{self.mesh_scale:g}")
        return "_".join(parts)

    def overrides(self, case_mesh: dict) -> list[str]:
        # The study puts the pores on grain boundaries (intergranular pores), as its results were computed;
        # the case files default to "sampled" placement, which reproduces the measured section porosity.
        sets = [f"operation.c_rate={self.c_rate}", "output.progress=false", "geometry.pore_placement=grain_boundary"]
        if self.seed is not None:
            sets.append(f"geometry.seed={self.seed}")
        if self.grain_count is not None:
            sets.append(f"geometry.grain_count={self.grain_count}")
        if self.mesh_scale != 1.0:
            for key in ("cell_size_fraction", "surface_cell_size_fraction"):
                sets.append(f"mesh.{key}={case_mesh[key] * self.mesh_scale:.6g}")
        return sets + list(self.extra)


def plan(cases=CASES, c_rates=C_RATES, sensitivity: bool = False, extra=()) -> tuple[list[Run], list[Run]]:
    """(main runs, sensitivity runs). Sensitivity runs vary one thing at a time around the main runs."""
    extra = tuple(extra)
    main = [Run(case, rate, extra=extra) for rate in c_rates for case in cases]
    more: list[Run] = []
    if sensitivity:
        cut = SENSITIVITY_OVERRIDES + extra
        for case in SENSITIVITY_CASES:
            more += [Run(case, SENSITIVITY_C_RATE, seed=s, extra=cut) for s in SENSITIVITY_SEEDS]
            more += [Run(case, SENSITIVITY_C_RATE, grain_count=g, extra=cut) for g in SENSITIVITY_GRAIN_COUNTS]
            more += [Run(case, SENSITIVITY_C_RATE, mesh_scale=m, extra=cut) for m in SENSITIVITY_MESH_SCALES]
    return main, more


# ------------------------------------------------------------------------------------ running
def _case_mesh(case: str) -> dict:
    from solver.case import load_case

    return load_case(CASES_DIR / f"{case}.toml")["mesh"]


def run_one(run: Run, out: Path, force: bool = False) -> Path:
    """Run one case in its own process (as a user would); returns the result folder."""
    folder = out / "runs" / run.label
    summary = folder / "summary.json"
    if summary.exists() and not force and json.loads(summary.read_text()).get("status") != "failed":
        return folder
    folder.parent.mkdir(parents=True, exist_ok=True)
    adopt_run_folder(folder)
    command = [sys.executable, "-m", "solver", "run", str(CASES_DIR / f"{run.case}.toml"), "--out", str(folder),
               "--no-pictures"]
    for text in run.overrides(_case_mesh(run.case)):
        command += ["--set", text]
    log = out / "runs" / f"{run.label}.log"
    with open(log, "w") as stream:
        done = subprocess.run(command, stdout=stream, stderr=subprocess.STDOUT, cwd=REPO)
    if done.returncode not in (0, 3) or not summary.exists() or not computed_something(json.loads(summary.read_text())):
        raise RuntimeError(f"run {run.label} failed (exit {done.returncode}); see {log}")
    return folder


def run_all(runs: list[Run], out: Path, jobs: int = 1, force: bool = False) -> dict[Run, Path]:
    """Result folders of the runs that finished; a failed run (e.g. a mesh that cannot be made) is reported
    and left out, so one bad seed does not lose the rest of the study."""
    print(f"{len(runs)} runs, {jobs} at a time, results in {out / 'runs'}", file=sys.stderr, flush=True)

    def one(run):
        try:
            folder = run_one(run, out, force)
        except RuntimeError as exc:
            print(f"  FAILED {run.label}: {exc}", file=sys.stderr, flush=True)
            return None
        print(f"  done {run.label}", file=sys.stderr, flush=True)
        return folder

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        return {run: folder for run, folder in zip(runs, pool.map(one, runs)) if folder is not None}


# ------------------------------------------------------------------------------------ reading results
def _soc_at(timeseries: list[dict], time_s: float) -> float:
    best = min(timeseries, key=lambda row: abs(float(row["time_s"]) - time_s))
    return float(best["state_of_charge"])


def _read_timeseries(folder: Path) -> list[dict]:
    with open(folder / "timeseries.csv", newline="") as stream:
        return list(csv.DictReader(stream))


def row_from_summary(run: Run, summary: dict, timeseries: list[dict]) -> dict:
    """One table row (MPa, fractions) from a run's summary.json and timeseries.csv."""
    gb = summary["grain_boundaries"]
    core_fraction = gb["core_radius_fraction"]
    peak = summary["peak"]["max_principal"]
    zones = gb["by_zone"]
    description = summary["mesh"]["description"]
    mpa = 1e-6
    row = {
        "run": run.label, "variant": run.variant, "case": run.case, "material": run.case.split("_", 1)[1],
        "pores": "GP" if run.case.startswith("gp_") else "P", "c_rate": run.c_rate,
        "seed": summary["case"]["geometry"]["seed"], "grain_count": summary["case"]["geometry"]["grain_count"],
        "mesh_scale": run.mesh_scale, "cells": summary["mesh"]["cells"],
        "pore_count": description.get("pore_count", 0),
        "porosity_sampled": description.get("porosity_volume_sampled", 0.0),
        "status": summary["status"], "final_li_fraction": summary["final_li_fraction_mean"],
        "peak_max_principal_MPa": peak["value_Pa"] * mpa, "peak_r_over_R": peak["radius_fraction"],
        "peak_zone": "core" if peak["radius_fraction"] < core_fraction else "outer",
        "peak_soc": _soc_at(timeseries, peak["time_s"]),
        "gb_peak_MPa": gb["peak_normal_traction"]["value_Pa"] * mpa,
        "gb_peak_r_over_R": gb["peak_normal_traction"]["radius_fraction"],
        "gb_peak_zone": gb["peak_normal_traction"]["zone"],
        "gb_peak_soc": gb["peak_normal_traction"]["state_of_charge"],
        "critical_MPa": gb["critical_traction_Pa"] * mpa,
        "gb_area_above_critical": gb["max_area_fraction_above_critical"]["value"],
        "gb_area_above_critical_core": zones["core"]["gb_area_fraction_above_critical"]["value"],
        "gb_area_above_critical_outer": zones["outer"]["gb_area_fraction_above_critical"]["value"],
        "gb_side_mismatch_MPa": gb["max_side_mismatch_rms"]["value_Pa"] * mpa,
    }
    for zone in ("core", "outer"):
        row[f"{zone}_peak_MPa"] = zones[zone]["max_principal_peak_Pa"]["value"] * mpa
        row[f"{zone}_p99_MPa"] = zones[zone]["max_principal_p99_Pa"]["value"] * mpa
        row[f"{zone}_mean_tension_MPa"] = zones[zone]["max_principal_mean_tension_Pa"]["value"] * mpa
        row[f"{zone}_gb_peak_MPa"] = zones[zone]["gb_peak_normal_traction_Pa"]["value"] * mpa
    row["core_over_outer_p99"] = row["core_p99_MPa"] / row["outer_p99_MPa"]
    row["core_over_outer_mean_tension"] = row["core_mean_tension_MPa"] / row["outer_mean_tension_MPa"]
    row["p99_soc"] = zones["core"]["max_principal_p99_Pa"]["state_of_charge"]
    for entry in gb.get("max_area_fraction_above_thresholds", []):
        row[f"gb_area_above_{entry['threshold_Pa'] * mpa:g}MPa"] = entry["value"]
    return row


def read_rows(results: dict[Run, Path]) -> list[dict]:
    rows = []
    for run, folder in results.items():
        summary = json.loads((folder / "summary.json").read_text())
        rows.append(row_from_summary(run, summary, _read_timeseries(folder)))
    return rows


def add_gp_ratios(rows: list[dict]) -> None:
    """GP / P ratios of the core measures for the same material, C-rate, seed, grains and mesh."""
    key = lambda r: (r["material"], r["c_rate"], r["seed"], r["grain_count"], r["mesh_scale"])  # noqa: E731
    dense = {key(r): r for r in rows if r["pores"] == "P"}
    for row in rows:
        partner = dense.get(key(row))
        for name in ("core_p99_MPa", "core_mean_tension_MPa", "gb_area_above_critical_core"):
            ratio = row[name] / partner[name] if partner and partner[name] else float("nan")
            row[f"gp_over_p_{name.removesuffix('_MPa')}"] = ratio if row["pores"] == "GP" else float("nan")


def aggregate(rows: list[dict], by: tuple[str, ...], metrics: tuple[str, ...]) -> list[dict]:
    """Mean, sample standard deviation and count of each metric over rows sharing the `by` keys."""
    groups: dict[tuple, list[dict]] = {}
    for row in rows:
        groups.setdefault(tuple(row[k] for k in by), []).append(row)
    out = []
    for values, members in groups.items():
        entry = dict(zip(by, values), n=len(members))
        for metric in metrics:
            data = [m[metric] for m in members if isinstance(m[metric], (int, float)) and math.isfinite(m[metric])]
            entry[f"{metric}_mean"] = statistics.fmean(data) if data else float("nan")
            entry[f"{metric}_std"] = statistics.stdev(data) if len(data) > 1 else float("nan")
        out.append(entry)
    return out


# ------------------------------------------------------------------------------------ writing
MAIN_COLUMNS = (
    ("case", "case", "{}"), ("c_rate", "C-rate", "{:g}"), ("peak_max_principal_MPa", "peak σ1 (MPa)", "{:.0f}"),
    ("peak_r_over_R", "at r/R", "{:.2f}"), ("peak_zone", "zone", "{}"), ("peak_soc", "SOC", "{:.2f}"),
    ("core_p99_MPa", "core σ1 P99", "{:.0f}"), ("outer_p99_MPa", "outer σ1 P99", "{:.0f}"),
    ("core_mean_tension_MPa", "core mean tension", "{:.0f}"), ("outer_mean_tension_MPa", "outer mean tension", "{:.0f}"),
    ("gb_peak_MPa", "GB t_n peak (MPa)", "{:.0f}"), ("gb_peak_r_over_R", "at r/R", "{:.2f}"),
    ("gb_peak_soc", "SOC", "{:.2f}"), ("gb_area_above_critical", "GB area > crit", "{:.3f}"),
    ("gb_area_above_critical_core", "core", "{:.3f}"), ("gb_area_above_critical_outer", "outer", "{:.3f}"),
    ("gp_over_p_core_p99", "GP/P core P99", "{:.2f}"), ("gp_over_p_core_mean_tension", "GP/P core mean", "{:.2f}"),
)
SENSITIVITY_METRICS = ("peak_max_principal_MPa", "core_p99_MPa", "outer_p99_MPa", "core_mean_tension_MPa",
                       "outer_mean_tension_MPa", "core_over_outer_p99", "gb_peak_MPa", "gb_area_above_critical",
                       "gb_area_above_critical_core", "gb_area_above_critical_outer")


def _fmt(value, pattern: str) -> str:
    if isinstance(value, float) and not math.isfinite(value):
        return "-"
    return pattern.format(value)


def markdown_table(rows: list[dict], columns) -> str:
    head = "| " + " | ".join(title for _, title, _ in columns) + " |"
    rule = "|" + "|".join("---" for _ in columns) + "|"
    body = ["| " + " | ".join(_fmt(row.get(key, float("nan")), fmt) for key, _, fmt in columns) + " |"
            for row in rows]
    return "\n".join([head, rule, *body])


def write_csv(path: Path, rows: list[dict]) -> None:
    keys = list(dict.fromkeys(k for row in rows for k in row))
    with open(path, "w", newline="") as stream:
        writer = csv.DictWriter(stream, fieldnames=keys)
        writer.writeheader()
        writer.writerows(rows)


def sensitivity_tables(rows: list[dict]) -> str:
    """Markdown: seeds (mean +/- std), grain counts and mesh scales, each around the default runs."""
    parts = []
    seeds = [r for r in rows if r["variant"] == "seed"]
    stats = aggregate(seeds, ("case",), SENSITIVITY_METRICS)
    columns = [("case", "case", "{}"), ("n", "seeds", "{}")] + [
        (metric, metric.replace("_MPa", " (MPa)").replace("_", " "), "{}") for metric in SENSITIVITY_METRICS]
    lines = []
    for entry in stats:
        cells = [entry["case"], str(entry["n"])]
        for metric in SENSITIVITY_METRICS:
            cells.append(f"{_fmt(entry[metric + '_mean'], '{:.3g}')} ± {_fmt(entry[metric + '_std'], '{:.2g}')}")
        lines.append("| " + " | ".join(cells) + " |")
    parts.append("### Seeds (grain layout, orientations and pores), mean ± sample std\n\n"
                 + "| " + " | ".join(t for _, t, _ in columns) + " |\n|" + "|".join("---" for _ in columns) + "|\n"
                 + "\n".join(lines))
    sweep_columns = [("run", "run", "{}"), ("grain_count", "grains", "{}"), ("mesh_scale", "mesh scale", "{:g}"),
                     ("cells", "cells", "{}"), ("peak_max_principal_MPa", "peak σ1", "{:.0f}"),
                     ("core_p99_MPa", "core P99", "{:.0f}"), ("outer_p99_MPa", "outer P99", "{:.0f}"),
                     ("core_mean_tension_MPa", "core mean", "{:.0f}"), ("outer_mean_tension_MPa", "outer mean", "{:.0f}"),
                     ("gb_peak_MPa", "GB peak", "{:.0f}"), ("gb_area_above_critical", "GB > crit", "{:.3f}"),
                     ("gb_side_mismatch_MPa", "GB side mismatch", "{:.0f}")]
    sweep = [r for r in rows if r["variant"] in ("grains", "mesh") or (r["variant"] == "seed" and r["seed"] == 1)]
    sweep.sort(key=lambda r: (r["case"], r["grain_count"], -r["mesh_scale"]))
    parts.append("### Grain count and mesh size (seed 1)\n\n" + markdown_table(sweep, sweep_columns))
    return "\n\n".join(parts)


def render_comparisons(results: dict[Run, Path], out: Path, c_rates, cases) -> list[Path]:
    """compare_max_principal_<rate>.png and compare_gb_traction_<rate>.png per C-rate (own process)."""
    written = []
    env = dict(os.environ, VTK_DEFAULT_OPENGL_WINDOW=os.environ.get("VTK_DEFAULT_OPENGL_WINDOW",
                                                                    "vtkOSOpenGLRenderWindow"))
    for rate in c_rates:
        folders = [results[Run(case, rate)] for case in cases if Run(case, rate) in results]
        if not folders:
            continue
        snapshot = common_snapshot(folders)
        for field_name, stem in (("max_principal_Pa", "compare_max_principal"),
                                 ("gb_normal_traction_Pa", "compare_gb_traction")):
            png = out / f"{stem}_{rate:g}C.png"
            command = [sys.executable, "-m", "solver.render", "compare", *map(str, folders), "--labels",
                       *[f"{f.name.split('_')[0].upper()}-{f.name.split('_')[1].upper()} {rate:g}C" for f in folders],
                       "--field", field_name, "--snapshot", snapshot, "--out", str(png)]
            done = subprocess.run(command, env=env, capture_output=True, text=True, cwd=REPO)
            if done.returncode == 0:
                written.append(png)
            else:
                print(f"warning: {png.name} not made: {done.stderr.strip()[-300:]}", file=sys.stderr)
    return written


RADIAL_BIN_EDGES = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)


def radial_tension_profile(folder: Path, snapshot: str, edges=RADIAL_BIN_EDGES,
                           field_name: str = "max_principal_Pa") -> list[float]:
    """Volume-weighted mean tension (mean of max(sigma_1, 0) over the cells, Pa) in radial shells r/R in
    [edges[i], edges[i+1]) of a field snapshot (the nodal, lumped-projected field of the VTU; cell value = mean
    of its 4 vertices). Read with meshio: no dolfinx in this process."""
    import meshio
    import numpy as np

    mesh = meshio.read(folder / f"fields_{snapshot}.vtu")
    tets = mesh.cells_dict["tetra"]
    points = mesh.points[tets]                                          # (n, 4, 3)
    volume = np.abs(np.einsum("ni,ni->n", np.cross(points[:, 1] - points[:, 0], points[:, 2] - points[:, 0]),
                              points[:, 3] - points[:, 0])) / 6.0
    radius = np.linalg.norm(mesh.points, axis=1).max()
    r = np.linalg.norm(points.mean(axis=1), axis=1) / radius
    tension = np.maximum(mesh.point_data[field_name][tets].mean(axis=1), 0.0)
    shell = np.clip(np.digitize(r, edges) - 1, 0, len(edges) - 2)
    return [float(volume[shell == k] @ tension[shell == k] / volume[shell == k].sum()) if (shell == k).any()
            else float("nan") for k in range(len(edges) - 1)]


def profile_table(results: dict[Run, Path], c_rates, cases) -> tuple[str, list[dict]]:
    """Markdown and rows: radial mean-tension profiles at the snapshot nearest the grain-boundary peak."""
    rows = []
    for rate in c_rates:
        runs = [Run(case, rate) for case in cases if Run(case, rate) in results]
        if not runs:
            continue
        snapshot = common_snapshot([results[r] for r in runs])
        for run in runs:
            profile = radial_tension_profile(results[run], snapshot)
            row = {"case": run.case, "c_rate": rate, "snapshot": snapshot}
            row.update({f"r{lo:g}-{hi:g}": v * 1e-6 for lo, hi, v in zip(RADIAL_BIN_EDGES, RADIAL_BIN_EDGES[1:],
                                                                          profile)})
            rows.append(row)
    columns = [("case", "case", "{}"), ("c_rate", "C-rate", "{:g}"), ("snapshot", "snapshot", "{}")] + [
        (f"r{lo:g}-{hi:g}", f"r/R {lo:g}-{hi:g}", "{:.0f}") for lo, hi in zip(RADIAL_BIN_EDGES, RADIAL_BIN_EDGES[1:])]
    return markdown_table(rows, columns), rows


def common_snapshot(folders: list[Path]) -> str:
    """The snapshot tag (same for all folders) nearest the median state of charge of the GB-traction peaks."""
    socs, snapshots = [], None
    for folder in folders:
        summary = json.loads((folder / "summary.json").read_text())
        socs.append(summary["grain_boundaries"]["peak_normal_traction"]["state_of_charge"])
        listed = regular_snapshots(folder)
        snapshots = snapshots or [(Path(s["file"]).stem.removeprefix("fields_"), s["state_of_charge"]) for s in listed]
    target = statistics.median(socs)
    return min(snapshots, key=lambda item: abs(item[1] - target))[0]


def write_report(rows_main: list[dict], rows_more: list[dict], out: Path, pictures: list[Path],
                 profiles: str = "") -> Path:
    add_gp_ratios(rows_main + rows_more)
    out.mkdir(parents=True, exist_ok=True)
    write_csv(out / "table.csv", rows_main)
    (out / "rows.json").write_text(json.dumps({"main": rows_main, "sensitivity": rows_more}, indent=1) + "\n")
    critical = {f"{r['critical_MPa']:g}" for r in rows_main}
    text = [f"# Gradient-porous Ni-rich NCM study\n",
            f"σ1 = max principal stress; P99 = volume-weighted 99th percentile; core = r/R < 0.5; "
            f"GB t_n = normal traction across grain boundaries; critical traction {', '.join(sorted(critical))} MPa. "
            "Peaks are over the charge; SOC = state of charge when they occur.\n",
            markdown_table(rows_main, MAIN_COLUMNS)]
    if profiles:
        text += ["\n## Radial profile of the mean tension (MPa, volume mean of max(σ1, 0) of the nodal field)\n",
                 profiles]
    if rows_more:
        write_csv(out / "sensitivity.csv", rows_more)
        sens = sensitivity_tables(rows_more)
        (out / "sensitivity.md").write_text(sens + "\n")
        text += [f"\n## Sensitivity (P/GP-NCM83, {SENSITIVITY_C_RATE:g}C, {', '.join(SENSITIVITY_OVERRIDES)})\n", sens]
    text += ["\n## Pictures\n"] + [f"- {p.name}" for p in pictures]
    report = out / "table.md"
    report.write_text("\n".join(text) + "\n")
    return report


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m solver.studies.gradient_porous", description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=REPO / "results" / "gradient_porous")
    parser.add_argument("--cases", nargs="+", default=list(CASES), choices=CASES)
    parser.add_argument("--c-rates", nargs="+", type=float, default=list(C_RATES))
    parser.add_argument("--sensitivity", action="store_true",
                        help=f"add seeds {SENSITIVITY_SEEDS}, grain counts {SENSITIVITY_GRAIN_COUNTS} and mesh scales "
                             f"{SENSITIVITY_MESH_SCALES} for {', '.join(SENSITIVITY_CASES)} at {SENSITIVITY_C_RATE:g}C")
    parser.add_argument("--jobs", type=int, default=1, help="runs at a time (each is one process)")
    parser.add_argument("--force", action="store_true", help="rerun finished runs")
    parser.add_argument("--no-pictures", action="store_true")
    parser.add_argument("--quick", action="store_true", help="tiny smoke-test runs (not a result)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="extra case override for every run (repeatable)")
    args = parser.parse_args(argv)
    extra = (QUICK_OVERRIDES if args.quick else []) + args.overrides
    try:
        claim_study_folder(args.out)
    except CaseError as exc:
        parser.exit(2, f"error: {exc}\n")
    main_runs, more_runs = plan(args.cases, args.c_rates, args.sensitivity, extra)
    results = run_all(main_runs + more_runs, args.out, args.jobs, args.force)
    pictures = [] if args.no_pictures else render_comparisons(results, args.out, args.c_rates, args.cases)
    main_results = {r: results[r] for r in main_runs if r in results}
    profiles = profile_table(main_results, args.c_rates, args.cases)[0] if main_results else ""
    report = write_report(read_rows(main_results), read_rows({r: results[r] for r in more_runs if r in results}),
                          args.out, pictures, profiles)
    print(report.read_text())
    print(f"table and pictures in {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
