"""Seed 003 with Butler-Volmer kinetics: O2 release tied to the particle potential (docs/science.md#study-2-li-rich-lrmo-with-a-buffer-layer-and-ruo2).

    python -m solver.studies.lrmo_kinetics --out DIR [--quick] [--force]

Runs cases/lrmo_pristine_o2_kinetics.toml and lrmo_ru1_o2_kinetics.toml (each a `python -m solver run`
subprocess, resumable) through a first cycle at 1C: charge to 4.8 V, rest 10 min, discharge to 3.75 V. The [oxygen]
release is switched on by the particle potential at the paper's oxidation onsets (4.4 V pristine, 4.6 V Ru-1);
Ru-1's RuO2 traps sit in an outer 5 nm layer and reduce trapped O2 only while the particle discharges. Reports per
particle and per protocol phase the O2 released, escaped, trapped and reduced, the voltage at which the release
starts, and the peak stress. --quick: a coarser mesh (a smoke test). Writes DIR/table.md and DIR/table.json.
"""
from __future__ import annotations

import csv
import json
from pathlib import Path

from solver.studies import claim_study_folder, run_case_once, study_parser, write_tables

REPO = Path(__file__).resolve().parents[2]
CASES = {"pristine": "lrmo_pristine_o2_kinetics", "Ru-1": "lrmo_ru1_o2_kinetics"}
MEASURED_ONSET_V = {"pristine": 4.4, "Ru-1": 4.6}
QUICK = ("mesh.cell_size_fraction=0.5", "mesh.surface_cell_size_fraction=0.25", "protocol.steps_per_charge=8")
AMOUNTS = ("released_mol", "escaped_mol", "trapped_mol", "reduced_mol", "mobile_mol")


def _rows(path: Path) -> list[dict]:
    with open(path) as handle:
        # the fractions are empty while nothing has been released
        return [{k: v if k == "phase" else (float(v) if v else None) for k, v in row.items()}
                for row in csv.DictReader(handle)]


def phases(folder: Path) -> dict:
    """The O2 amounts (whole particle, mol) at the end of every protocol step, the voltage of the first step that
    released O2, and whether any O2 was reduced before the discharge."""
    li, o2 = _rows(folder / "timeseries.csv"), _rows(folder / "o2_timeseries.csv")
    summary = json.loads((folder / "summary.json").read_text())
    ends, onset_V, reduced_before_discharge = {}, None, 0.0
    for k, (a, b) in enumerate(zip(li, o2)):
        if k and onset_V is None and b["released_mol"] > o2[k - 1]["released_mol"]:
            onset_V = a["voltage_V"]
        if a["step"] >= 0:
            label = summary["steps"][int(a["step"])]["label"] or summary["steps"][int(a["step"])]["kind"]
            ends[label] = {key: b[key] for key in AMOUNTS} | {"voltage_V": a["voltage_V"]}
            if a["current_A"] >= 0:
                reduced_before_discharge = b["reduced_mol"]
    return {"ends": ends, "release_starts_at_V": onset_V, "reduced_before_discharge_mol": reduced_before_discharge,
            "capacity_mAh_g": {s["label"] or s["kind"]: s["capacity_mAh_g"] for s in summary["steps"]},
            "peak_von_mises_MPa": summary["peak"]["von_mises"]["value_Pa"] / 1e6,
            "peak_von_mises_V": summary["peak"]["von_mises"]["voltage_V"],
            "mass_balance_relative": summary["o2"]["mass_balance"]["max_relative_imbalance"],
            "cells": summary["mesh"]["cells"]}


def markdown(results: dict) -> str:
    lines = ["# Seed 003: O2 release tied to the particle potential (first cycle at 1C)", "",
             "O2 amounts in amol (1e-18 mol) per particle; escaped, trapped and reduced at the end of the cycle.", "",
             "| particle | cells | charge / discharge mAh/g | release starts at V (paper onset) | released by the end "
             "of charge | released | escaped | trapped | reduced before discharge | reduced | escaped / released | "
             "peak von Mises MPa (V) |", "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for name, r in results.items():
        charge, last = r["ends"].get("charge", {}), list(r["ends"].values())[-1]
        released = last["released_mol"]
        onset = f"{r['release_starts_at_V']:.3f}" if r["release_starts_at_V"] is not None else "none"
        lines.append(
            f"| {name} | {r['cells']} | {r['capacity_mAh_g'].get('charge', 0):.1f} / "
            f"{r['capacity_mAh_g'].get('discharge', 0):.1f} | {onset} ({MEASURED_ONSET_V[name]}) | "
            f"{charge.get('released_mol', 0) * 1e18:.3g} | {released * 1e18:.3g} | {last['escaped_mol'] * 1e18:.3g} | "
            f"{last['trapped_mol'] * 1e18:.3g} | {r['reduced_before_discharge_mol'] * 1e18:.3g} | "
            f"{last['reduced_mol'] * 1e18:.3g} | {last['escaped_mol'] / released if released else 0:.3f} | "
            f"{r['peak_von_mises_MPa']:.0f} ({r['peak_von_mises_V']:.2f}) |")
    if all(name in results for name in CASES):
        p, ru = (list(results[name]["ends"].values())[-1] for name in CASES)
        if p["released_mol"] > 0:
            lines += ["", f"Ru-1 / pristine: released {ru['released_mol'] / p['released_mol']:.3f}, escaped "
                      f"{ru['escaped_mol'] / p['escaped_mol']:.3f}"]
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = study_parser(__doc__, quick_help="coarser mesh and steps (a smoke test)")
    args = parser.parse_args(argv)
    folder = claim_study_folder(args.out)
    results = {}
    for label, name in CASES.items():
        run = folder / "runs" / name
        if run_case_once(REPO / "cases" / f"{name}.toml", run, QUICK if args.quick else (), args.force) is not None:
            results[label] = phases(run)
    write_tables(folder, results, markdown(results))
    return 0 if len(results) == len(CASES) else 1


if __name__ == "__main__":
    raise SystemExit(main())
