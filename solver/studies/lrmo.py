"""The Li-rich (LRMO) study, docs/science.md#study-2-li-rich-lrmo-with-a-buffer-layer-and-ruo2: a Li-deficient buffer layer and RuO2 (Ru-1) vs pristine.

    python -m solver.studies.lrmo --out results/lrmo [--quick] [--skip-3d] [--force]

writes into --out:
- table.md / table.json: peak von Mises stress with where (r/R, depth, region) and when, for pristine and Ru-1,
  from the 1D spherical reference (exact for these radially symmetric particles) and from the 3D runs
  (the summary peak, and per region recovered, pointwise and cell-averaged); the ratio Ru-1 / pristine against the paper's 418/567 = 0.737;
  the O2 budget at 40 minutes (retained, trapped, reduced, escaped; uniformity) for both O2 cases.
- sensitivity.md / sensitivity.json and sensitivity.png: the ratio and the peak location under one-at-a-time
  changes of the Ru-1 parameters (1D).
- li_profiles.png, stress_profiles.png (1D radial profiles during the charge), o2_retained_and_profiles.png
  (each line figure also as .pdf and .svg, solver/figure_style.py), and side-by-side 3D sections (python -m
  solver.render compare): li_fraction at every snapshot, von Mises at the end and at each particle's peak, O2 at
  40 minutes.
- runs/<case>/: the four 3D result folders (python -m solver run; kept unless --force).

This process never imports dolfinx: the 3D runs and the pictures run in their own processes.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from solver import oxygen_section  # noqa: F401  (registers the O2 quantities: their titles and units)
from solver import figure_style, quantities, shell_section, spherical1d
from solver.case import end_time_s, load_case
from solver.errors import CaseError
from solver.studies import adopt_run_folder, claim_study_folder, computed_something, regular_snapshots

REPO = Path(__file__).resolve().parents[2]
CASES_DIR = REPO / "cases"
PAPER = {"pristine_peak_MPa": 567.0, "ru1_peak_MPa": 418.0}
PAPER_RATIO = PAPER["ru1_peak_MPa"] / PAPER["pristine_peak_MPa"]
LI_CASES = ("lrmo_pristine", "lrmo_ru1")
O2_CASES = ("lrmo_pristine_o2", "lrmo_ru1_o2")
N_CELLS_1D = 600
REGION_EVALUATIONS = ("recovered", "pointwise", "cell_mean")   # of [region_peaks] (solver/shell.py)
# one-at-a-time changes of the Ru-1 case (label, --set overrides), for the 1D sensitivity table
SENSITIVITY = [
    ("shell thickness 5 nm", ["geometry.shell_thickness_um=0.005"]),
    ("shell thickness 15 nm", ["geometry.shell_thickness_um=0.015"]),
    ("shell thickness 20 nm", ["geometry.shell_thickness_um=0.02"]),
    ("shell lower limit x = 0.10", ["material.regions.shell.li_fraction_min=0.10"]),
    ("shell lower limit x = 0.15", ["material.regions.shell.li_fraction_min=0.15"]),
    ("shell lower limit x = 0.25", ["material.regions.shell.li_fraction_min=0.25"]),
    ("shell lower limit x = 0.30", ["material.regions.shell.li_fraction_min=0.30"]),
    ("no lower limit", ["material.regions.shell.li_fraction_min=0.0"]),
    ("shell D = bulk D", ["material.regions.shell.diffusivity_m2_s=1.9e-18"]),
    ("shell D = 3x bulk", ["material.regions.shell.diffusivity_m2_s=5.7e-18"]),
    ("shell D = 30x bulk", ["material.regions.shell.diffusivity_m2_s=5.7e-17"]),
    ("shell Omega 0.9x", ["material.regions.shell.partial_molar_volume_m3_mol=6.151e-7"]),
    ("shell Omega 1.1x", ["material.regions.shell.partial_molar_volume_m3_mol=7.517e-7"]),
    ("shell Omega 0.75x", ["material.regions.shell.partial_molar_volume_m3_mol=5.126e-7"]),
    ("shell Omega 1.25x", ["material.regions.shell.partial_molar_volume_m3_mol=8.543e-7"]),
    ("shell E 0.9x (135 GPa)", ["material.regions.shell.young_modulus_GPa=135"]),
    ("shell E 1.1x (165 GPa)", ["material.regions.shell.young_modulus_GPa=165"]),
    ("surface Li fraction 0.7", ["initial.shell_li_fraction_surface=0.7"]),
    ("surface Li fraction 0.9", ["initial.shell_li_fraction_surface=0.9"]),
    ("erf profile", ["initial.shell_profile=\"erf\""]),
    ("diffusing (non-structural) deficit", ["initial.shell_deficit=\"diffusing\""]),
    ("bulk Omega as pristine (no XRD reduction)", ["material.partial_molar_volume_m3_mol=9.197e-7"]),
    ("bulk Omega as pristine, 20 nm shell", ["material.partial_molar_volume_m3_mol=9.197e-7",
                                             "geometry.shell_thickness_um=0.02"]),
    ("bulk Omega as pristine, 20 nm shell, x_s 0.9, limit 0.1",
     ["material.partial_molar_volume_m3_mol=9.197e-7", "geometry.shell_thickness_um=0.02",
      "initial.shell_li_fraction_surface=0.9", "material.regions.shell.li_fraction_min=0.1"]),
]
QUICK_3D = ["mesh.cell_size_fraction=0.3", "mesh.surface_cell_size_fraction=0.12", "geometry.shell_thickness_um=0.03",
            "time.steps=6", "output.snapshots=2"]


# --------------------------------------------------------------------------------------------
# 1D reference
# --------------------------------------------------------------------------------------------

def shell_inner_radius_m(case: dict) -> float:
    geometry = case["geometry"]
    thickness = geometry["shell_thickness_m"]
    if thickness is None:
        thickness = geometry["shell_thickness_fraction"] * geometry["radius_m"]
    return geometry["radius_m"] - thickness


def reference_1d(case: dict, n_times: int | None = None) -> dict:
    """Peak von Mises stress (where, when, which region) and radial profiles of the 1D reference of a case."""
    radius = case["geometry"]["radius_m"]
    inner = shell_inner_radius_m(case)
    problem, deficit = shell_section.radial_reference(case, inner, radius, n_cells=N_CELLS_1D)
    t_end = end_time_s(case, radius)
    steps = case["time"]["steps"]
    times = np.linspace(0.0, t_end, (n_times or steps) + 1)
    result = spherical1d.solve(problem, times, dt_max_s=t_end / max(steps, 60))
    von_mises = result.field("von_mises")
    it, ir = np.unravel_index(np.argmax(von_mises), von_mises.shape)
    r = result.r_m[ir]
    tolerance = 1e-9 * radius

    def at(radius_m):
        return abs(r - radius_m) <= tolerance

    first_interface = int(np.flatnonzero(np.abs(result.r_m - inner) <= tolerance)[0])
    region = "shell" if r > inner + tolerance or (ir > first_interface and at(inner)) else "bulk"
    if at(radius):
        where = "surface"
    elif at(inner):
        sides = von_mises[it, first_interface:first_interface + 2]
        if abs(sides[0] - sides[1]) <= 1e-3 * abs(sides).max():
            where = "shell/bulk interface (inner edge of the shell)"
        else:
            where = f"shell/bulk interface ({region} side)"
    else:
        where = f"inside the {region}"
    c_max = case["material"]["c_max_mol_m3"]
    content = result.c_mol_m3 - deficit(result.r_m)[None, :]
    return {
        "peak_von_mises_Pa": float(von_mises[it, ir]), "radius_fraction": float(r / radius),
        "depth_nm": float((radius - r) * 1e9), "time_s": float(result.t_s[it]), "region": region, "where": where,
        "peak_hoop_Pa": float(result.field("hoop").max()),
        "shell_inner_radius_fraction": inner / radius,
        "profiles": {"t_s": result.t_s.tolist(), "r_over_R": (result.r_m / radius).tolist(),
                     "li_fraction": (content / c_max).tolist(), "von_mises_Pa": von_mises.tolist(),
                     "hoop_Pa": result.field("hoop").tolist()},
        "mean_volume_change": _mean_volume_change(case, result),
    }


def _mean_volume_change(case: dict, result) -> float:
    """Volume-averaged chemical volume strain at the end: sum Omega (c - c_ref) over the particle."""
    inner = shell_inner_radius_m(case)
    material = case["material"]
    omega_shell = material["regions"].get("shell", {}).get("partial_molar_volume_m3_mol",
                                                           material["partial_molar_volume_m3_mol"])
    r = result.r_m
    change = result.c_mol_m3[-1] - result.c_mol_m3[0]           # u-space differences: deficits cancel
    omega = np.where(r < inner, material["partial_molar_volume_m3_mol"], omega_shell)
    weights = np.gradient(r**3)
    return float(np.sum(omega * change * weights) / np.sum(weights))


def sensitivity_1d() -> list[dict]:
    """Ratio and location under one-at-a-time changes of the Ru-1 parameters (1D)."""
    pristine = reference_1d(load_case(CASES_DIR / "lrmo_pristine.toml"))
    rows = []
    for label, overrides in [("Ru-1 as in cases/lrmo_ru1.toml", [])] + SENSITIVITY:
        ref = reference_1d(load_case(CASES_DIR / "lrmo_ru1.toml", overrides))
        ratio = ref["peak_von_mises_Pa"] / pristine["peak_von_mises_Pa"]
        rows.append({"change": label, "overrides": overrides, "peak_MPa": ref["peak_von_mises_Pa"] / 1e6,
                     "ratio": ratio, "within_0.05": abs(ratio - PAPER_RATIO) <= 0.05, "where": ref["where"],
                     "depth_nm": ref["depth_nm"], "time_s": ref["time_s"]})
    return rows


# --------------------------------------------------------------------------------------------
# 3D runs (subprocesses) and pictures
# --------------------------------------------------------------------------------------------

def run_3d(name: str, out: Path, overrides: list[str], force: bool) -> dict | None:
    folder = out / "runs" / name
    if force or not (folder / "summary.json").exists():
        adopt_run_folder(folder)
        command = [sys.executable, "-m", "solver", "run", str(CASES_DIR / f"{name}.toml"), "--out", str(folder)]
        for item in overrides:
            command += ["--set", item]
        print(" ".join(command), file=sys.stderr, flush=True)
        done = subprocess.run(command, cwd=REPO)
        if done.returncode not in (0,):
            print(f"warning: {name} ended with exit code {done.returncode}", file=sys.stderr)
    path = folder / "summary.json"
    summary = json.loads(path.read_text()) if path.exists() else None
    return summary if computed_something(summary) else None


def compare_pictures(out: Path, names: tuple[str, str], labels: tuple[str, str], field: str, png: str,
                     snapshot: str = "final") -> str | None:
    env = dict(os.environ, VTK_DEFAULT_OPENGL_WINDOW=os.environ.get("VTK_DEFAULT_OPENGL_WINDOW",
                                                                    "vtkOSOpenGLRenderWindow"))
    command = [sys.executable, "-m", "solver.render", "compare", *[str(out / "runs" / n) for n in names],
               "--labels", *labels, "--field", field, "--out", str(out / png), "--snapshot", snapshot]
    done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        print(f"warning: {png} not made: {done.stderr.strip().splitlines()[-1:]}", file=sys.stderr)
        return None
    return png


def _snapshot_tags(out: Path, name: str) -> list[str]:
    """Tags of the regular field snapshots of a run ("000", "001", ..., "final")."""
    return [Path(entry["file"]).stem.removeprefix("fields_") for entry in regular_snapshots(out / "runs" / name)]


# --------------------------------------------------------------------------------------------
# figures (matplotlib, the house style of solver/figure_style.py: PNG + PDF + SVG) and tables
# --------------------------------------------------------------------------------------------

def plot_profiles(out: Path, refs: dict) -> list[str]:
    """li_profiles.png and stress_profiles.png: the 1D radial profiles at seven times of the charge, one panel per
    case, the shell/bulk interface dashed."""
    li, von_mises = quantities.get("li_fraction"), quantities.get("von_mises")
    written = []
    for key, quantity, png in (("li_fraction", li, "li_profiles.png"), ("von_mises_Pa", von_mises,
                                                                       "stress_profiles.png")):
        with figure_style.style():
            fig, axes = figure_style.figure("page", height_in=2.8, ncols=2, sharey=True)
            for ax, (name, ref) in zip(axes, refs.items()):
                profiles = ref["profiles"]
                t = np.array(profiles["t_s"])
                values = np.array(profiles[key]) * quantity.display_scale
                picks = np.unique(np.round(np.linspace(0, len(t) - 1, 7)).astype(int))
                for i, k in enumerate(picks):
                    ax.plot(profiles["r_over_R"], values[k], label=f"{t[k] / 60:.0f} min",
                            **figure_style.series_style(i, len(picks), len(profiles["r_over_R"])))
                ax.axvline(ref["shell_inner_radius_fraction"], color=figure_style.NEUTRAL_COLOUR, lw=0.6, ls="--")
                ax.set_title(f"{name} (1D)")
                ax.set_xlabel("r / R")
            axes[0].set_ylabel(figure_style.quantity_label(quantity))
            axes[1].legend(title="time", loc="center left", bbox_to_anchor=(1.02, 0.5))
            figure_style.save(fig, out / png)
        written.append(png)
    return written


def plot_sensitivity(out: Path, rows: list[dict]) -> str:
    """sensitivity.png: the Ru-1 / pristine ratio of each one-at-a-time change, coded (with a legend) by whether it
    lies within 0.05 of the paper's ratio, in the palette's blue and vermillion (not red against green)."""
    within = [row["within_0.05"] for row in rows]
    with figure_style.style():
        fig, ax = figure_style.figure("page", height_in=0.17 * len(rows) + 1.0)
        y = np.arange(len(rows))
        for inside, colour, hatch, text in ((True, figure_style.PASS_COLOUR, "", "within 0.05 of the paper's ratio"),
                                            (False, figure_style.FAIL_COLOUR, "////", "more than 0.05 away")):
            chosen = [i for i, w in enumerate(within) if w == inside]
            if chosen:
                ax.barh(y[chosen], [rows[i]["ratio"] for i in chosen], color=colour, hatch=hatch,
                        edgecolor="white", linewidth=0.0, label=text)
        ax.axvline(PAPER_RATIO, color="black", lw=0.8, label=f"paper: {PAPER['ru1_peak_MPa']:.0f} / "
                                                             f"{PAPER['pristine_peak_MPa']:.0f} = {PAPER_RATIO:.3f}")
        ax.axvspan(PAPER_RATIO - 0.05, PAPER_RATIO + 0.05, color=figure_style.NEUTRAL_COLOUR, alpha=0.2, lw=0,
                   label="paper ± 0.05")
        ax.set_yticks(y, [row["change"] for row in rows])
        ax.tick_params(axis="y", which="both", left=False, right=False)
        ax.invert_yaxis()
        ax.set_xlabel("peak von Mises stress, Ru-1 / pristine (1D)")
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.6 / (0.17 * len(rows) + 1.0)), ncol=2)
        figure_style.save(fig, out / "sensitivity.png")
    return "sensitivity.png"


def plot_o2(out: Path, summaries: dict) -> list[str]:
    """o2_retained_and_profiles.png: the retained fraction of released mobile O2 over time, and the mobile O2
    profile at the end, one series per case."""
    mobile = quantities.get("o2_mobile")
    with figure_style.style():
        fig, (ax1, ax2) = figure_style.figure("page", height_in=2.8, ncols=2)
        for i, (name, summary) in enumerate(summaries.items()):
            o2 = summary["o2"]
            series = [(t / 60, f) for t, f in o2["retained_fraction_vs_time"] if f is not None]
            if series:
                ax1.plot(*zip(*series), label=name, **figure_style.series_style(i, len(summaries), len(series)))
            profile = o2["final_profile"]
            points = [(r, c) for r, c in zip(profile["r_over_R"], profile["mobile_mol_m3"]) if c is not None]
            ax2.plot(*zip(*points), label=name, **figure_style.series_style(i, len(summaries), len(points)))
        ax1.set_xlabel("time (min)")
        ax1.set_ylabel(figure_style.name_text("mobile O2 retained / released"))
        ax2.set_xlabel("r / R")
        ax2.set_ylabel(figure_style.label(f"mobile {mobile.title} at the end", mobile.display_unit))
        for ax in (ax1, ax2):
            ax.legend()
        figure_style.save(fig, out / "o2_retained_and_profiles.png")
    return ["o2_retained_and_profiles.png"]


def _region_of_3d_peak(summary: dict) -> dict:
    """The region holding the largest von Mises peak of each [region_peaks] evaluation."""
    out = {}
    peaks = summary.get("region_peaks", {})
    for evaluation in REGION_EVALUATIONS:
        best = max(((region, data[evaluation]["von_mises"]) for region, data in peaks.items()
                    if "von_mises" in data.get(evaluation, {})), key=lambda item: item[1]["value_Pa"], default=None)
        if best:
            out[evaluation] = {"region": best[0], **best[1]}
    return out


def stress_rows(refs: dict, summaries: dict) -> list[dict]:
    rows = []
    for name in LI_CASES:
        ref = refs[name]
        row = {"case": name, "1d_peak_MPa": ref["peak_von_mises_Pa"] / 1e6, "1d_where": ref["where"],
               "1d_r_over_R": ref["radius_fraction"], "1d_depth_nm": ref["depth_nm"], "1d_time_s": ref["time_s"],
               "1d_mean_volume_change": ref["mean_volume_change"]}
        summary = summaries.get(name)
        if summary:
            peak = summary["peak"]["von_mises"]
            row.update({"3d_peak_MPa": peak["value_Pa"] / 1e6, "3d_peak_evaluation": summary["peak_stress_evaluation"],
                        "3d_peak_r_over_R": peak["radius_fraction"], "3d_peak_time_s": peak["time_s"]})
            for evaluation, data in _region_of_3d_peak(summary).items():
                row.update({f"3d_{evaluation}_peak_MPa": data["value_Pa"] / 1e6,
                            f"3d_{evaluation}_region": data["region"],
                            f"3d_{evaluation}_r_over_R": data["radius_fraction"],
                            f"3d_{evaluation}_time_s": data["time_s"]})
        rows.append(row)
    pristine, ru1 = rows
    keys = ("1d_peak_MPa", "3d_peak_MPa", *(f"3d_{evaluation}_peak_MPa" for evaluation in REGION_EVALUATIONS))
    ratios = {key: ru1[key] / pristine[key] for key in keys if key in ru1 and key in pristine}
    return rows + [{"case": "ratio Ru-1 / pristine", **ratios}]


def o2_rows(summaries: dict) -> list[dict]:
    rows = []
    for name in O2_CASES:
        summary = summaries.get(name)
        if not summary:
            continue
        o2 = summary["o2"]
        budget, spread = o2["budget"], o2["uniformity"]
        rows.append({"case": name, "time_min": o2["time_s"] / 60,
                     **{f"{k}_fraction": budget[f"{k}_fraction"]
                        for k in ("retained", "trapped", "reduced", "escaped", "kept_in_particle")},
                     "mean_mobile_mol_m3": spread["mean_mol_m3"],
                     "coefficient_of_variation": spread["coefficient_of_variation"],
                     "min_over_max": spread["min_over_max"],
                     "max_relative_imbalance": o2["mass_balance"]["max_relative_imbalance"]})
    return rows


def _markdown(rows: list[dict], columns: list[str]) -> str:
    def cell(value):
        if isinstance(value, float):
            return f"{value:.4g}"
        return "" if value is None else str(value)

    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(cell(row.get(c)) for c in columns) + " |" for row in rows]
    return "\n".join(lines)


def write_tables(out: Path, stress: list[dict], oxygen: list[dict], sensitivity: list[dict] | None) -> None:
    stress_columns = ["case", "1d_peak_MPa", "1d_where", "1d_depth_nm", "1d_time_s", "1d_mean_volume_change",
                      "3d_peak_MPa", "3d_peak_evaluation", "3d_peak_r_over_R", "3d_peak_time_s",
                      *(f"3d_{evaluation}_{what}" for evaluation in REGION_EVALUATIONS
                        for what in ("peak_MPa", "region", "r_over_R", "time_s"))]
    o2_columns = ["case", "time_min", "retained_fraction", "trapped_fraction", "reduced_fraction",
                  "escaped_fraction", "kept_in_particle_fraction", "coefficient_of_variation", "min_over_max",
                  "max_relative_imbalance"]
    text = [f"# LRMO study: pristine vs Ru-1 (paper: {PAPER['pristine_peak_MPa']:.0f} vs "
            f"{PAPER['ru1_peak_MPa']:.0f} MPa, ratio {PAPER_RATIO:.3f})", "",
            "## Peak von Mises stress during the 1C first charge", "", _markdown(stress, stress_columns), "",
            "## O2 at 40 minutes (fractions of the O2 released)", "", _markdown(oxygen, o2_columns), ""]
    (out / "table.md").write_text("\n".join(text))
    (out / "table.json").write_text(json.dumps({"paper": {**PAPER, "ratio": PAPER_RATIO}, "stress": stress,
                                                "o2": oxygen}, indent=2) + "\n")
    if sensitivity is not None:
        columns = ["change", "peak_MPa", "ratio", "within_0.05", "where", "depth_nm", "time_s"]
        (out / "sensitivity.md").write_text("# 1D sensitivity of the Ru-1 / pristine peak ratio (paper 0.737)\n\n"
                                            + _markdown(sensitivity, columns) + "\n")
        (out / "sensitivity.json").write_text(json.dumps(sensitivity, indent=2) + "\n")


# --------------------------------------------------------------------------------------------
# command
# --------------------------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m solver.studies.lrmo", description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--quick", action="store_true", help="tiny 3D meshes and few steps (a smoke test)")
    parser.add_argument("--skip-3d", action="store_true", help="only the 1D reference and the sensitivity")
    parser.add_argument("--no-sensitivity", action="store_true")
    parser.add_argument("--force", action="store_true", help="rerun 3D cases whose results exist")
    args = parser.parse_args(argv)
    try:
        out = claim_study_folder(args.out)
    except CaseError as exc:
        parser.exit(2, f"error: {exc}\n")

    refs = {name: reference_1d(load_case(CASES_DIR / f"{name}.toml")) for name in LI_CASES}
    figures = plot_profiles(out, {"pristine": refs["lrmo_pristine"], "Ru-1": refs["lrmo_ru1"]})
    sensitivity = None if args.no_sensitivity else sensitivity_1d()
    if sensitivity:
        figures.append(plot_sensitivity(out, sensitivity))

    summaries = {}
    if not args.skip_3d:
        extra = QUICK_3D if args.quick else []
        for name in LI_CASES + O2_CASES:
            summaries[name] = run_3d(name, out, extra, args.force)
        labels = ("pristine", "Ru-1")
        for tag in _snapshot_tags(out, "lrmo_ru1"):
            figures.append(compare_pictures(out, LI_CASES, labels, "li_fraction", f"compare_li_{tag}.png",
                                            snapshot=tag))
        figures.append(compare_pictures(out, LI_CASES, labels, "von_mises_Pa", "compare_von_mises_final.png"))
        figures.append(compare_pictures(out, LI_CASES, labels, "von_mises_Pa", "compare_von_mises_peak.png",
                                        snapshot="peak"))   # each particle at the time of its own peak
        figures.append(compare_pictures(out, O2_CASES, labels, "o2_mol_m3", "compare_o2_40min.png"))
        o2 = {n: s for n, s in summaries.items() if n in O2_CASES and s and "o2" in s}
        if o2:
            figures += plot_o2(out, o2)
    stress = stress_rows(refs, summaries)
    oxygen = o2_rows(summaries)
    write_tables(out, stress, oxygen, sensitivity)
    (out / "study.json").write_text(json.dumps({
        "figures": [f for f in figures if f], "reference_1d": {k: {kk: vv for kk, vv in v.items() if kk != "profiles"}
                                                               for k, v in refs.items()},
        "quick": args.quick}, indent=2) + "\n")
    print((out / "table.md").read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
