"""Rate capability with Butler-Volmer kinetics in 3D, wetted inner surfaces (docs/science.md#measured-outcomes, seeds 001 and 002).

    python -m solver.studies.rate_capability_3d --out DIR [--seed 001|002] [--quick] [--force]

Seed 002 (LNMO, cases/lnmo_dense_kinetics.toml, lnmo_hollow_kinetics.toml): dense vs hollow 4 um spheres discharged
at 0.5C and 10C to 3.8 V; the hollow sphere with its void wetted and sealed, two other void sizes (the void size is
an assumption) and a finer mesh. Measured: 10C / 0.5C = 78.9 %.

Seed 001 (NCM83, cases/p_ncm83_kinetics.toml, gp_ncm83_kinetics.toml): the P and GP polycrystals with wetted pores
discharged at 1C and 5C (1C = 190 mA/g) to 3.5 V; at 5C also with sealed pores (what the wetted pore area adds) and
on a second, coarser mesh. Measured at 5C: 170.0 (P) vs 176.6 mAh/g (GP).

Every run is a `python -m solver run` subprocess (3D cases keep their own processes), resumable: a finished run is
kept unless --force. --quick runs the dense and hollow (wetted) LNMO spheres only (a smoke test). No input is fitted to the
measured numbers: the inputs and their sources are in the case files. Writes DIR/table.md and DIR/table.json.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from solver.studies import claim_study_folder, run_case_once, study_parser, write_tables

REPO = Path(__file__).resolve().parents[2]
CASES = REPO / "cases"
MEASURED = {"002": {"10C / 0.5C": 0.789, "0.5C mAh/g": 136.7, "10C mAh/g": 107.88},
            "001": {"5C P mAh/g": 170.0, "5C GP mAh/g": 176.6}}
CUT_OFF_V = {"lnmo": 3.8, "ncm83": 3.5}
SEALED = 'operation.wetted_surfaces=["outer_surface"]'


@dataclass(frozen=True)
class Run:
    label: str
    case: str
    c_rate: float
    extra: tuple[str, ...] = ()

    def overrides(self) -> list[str]:
        """The one-step protocol at this C-rate, then the run's own overrides."""
        cut_off = CUT_OFF_V["lnmo" if self.case.startswith("lnmo") else "ncm83"]
        step = (f'protocol.steps=[{{kind="cc", label="discharge", c_rate={self.c_rate!r}, direction="discharge", '
                f'stop={{voltage_V={cut_off!r}}}}}]')
        return [step, *self.extra]


def _pair(label: str, case: str, rates, overrides=()) -> list[Run]:
    return [Run(f"{label} {rate:g}C", case, rate, tuple(overrides)) for rate in rates]


def _mesh_scaled(case: str, scale: float) -> tuple[str, ...]:
    from solver.case import load_case

    mesh = load_case(CASES / f"{case}.toml")["mesh"]
    return tuple(f"mesh.{key}={round(scale * mesh[key], 4)!r}"
                 for key in ("cell_size_fraction", "surface_cell_size_fraction"))


def plan_002(quick: bool = False) -> list[Run]:
    rates = (0.5, 10.0)
    main = _pair("dense", "lnmo_dense_kinetics", rates) + _pair("hollow 0.5R wetted", "lnmo_hollow_kinetics", rates)
    if quick:
        # the case meshes are already coarse (~1.1-1.3k cells); a coarser one (~180 cells) stalled the 10C stop
        return main
    return (main
            + _pair("hollow 0.5R sealed", "lnmo_hollow_kinetics", rates, (SEALED,))
            + _pair("hollow 0.3R wetted", "lnmo_hollow_kinetics", rates, ("geometry.void_radius_fraction=0.3",))
            + _pair("hollow 0.7R wetted", "lnmo_hollow_kinetics", rates, ("geometry.void_radius_fraction=0.7",))
            + _pair("dense, mesh x0.5", "lnmo_dense_kinetics", rates, _mesh_scaled("lnmo_dense_kinetics", 0.5))
            + _pair("hollow 0.5R wetted, mesh x0.5", "lnmo_hollow_kinetics", rates,
                    _mesh_scaled("lnmo_hollow_kinetics", 0.5)))


def plan_001() -> list[Run]:
    coarse_p, coarse_gp = (_mesh_scaled(case, 4.0 / 3.0) for case in ("p_ncm83_kinetics", "gp_ncm83_kinetics"))
    return (_pair("P wetted pores", "p_ncm83_kinetics", (1.0, 5.0))
            + _pair("GP wetted pores", "gp_ncm83_kinetics", (1.0, 5.0))
            + _pair("P sealed pores", "p_ncm83_kinetics", (5.0,), (SEALED,))
            + _pair("GP sealed pores", "gp_ncm83_kinetics", (5.0,), (SEALED,))
            + _pair("P wetted pores, mesh x4/3", "p_ncm83_kinetics", (5.0,), coarse_p)
            + _pair("GP wetted pores, mesh x4/3", "gp_ncm83_kinetics", (5.0,), coarse_gp))


def run_one(run: Run, out: Path, force: bool = False) -> dict | None:
    """The run's summary (run in its own process unless already finished), or None if it failed."""
    folder = out / "runs" / run.label.replace(" ", "_").replace(",", "").replace("/", "_")
    result = run_case_once(CASES / f"{run.case}.toml", folder, run.overrides(), force)
    if result is not None:
        print(f"  done {run.label}: {result['steps'][0]['capacity_mAh_g']:.1f} mAh/g", file=sys.stderr, flush=True)
    return result


def reference_1d(run: Run) -> float:
    """The capacity (mAh/g) of the same run in the spherical_1d formulation (in-process, milliseconds): the
    converged radial answer the 3D meshes approach (dense and hollow spheres are radially symmetric)."""
    from solver.case import parse_override, read_case_file
    from solver.reduced.kinetic_sweep import apply_indexed_overrides, run_one as run_1d

    raw = read_case_file(CASES / f"{run.case}.toml")
    raw["geometry"]["symmetry"] = "full"
    raw["solver"]["formulation"] = "spherical_1d"
    raw["mesh"] = {"cell_size_fraction": 0.05, "surface_cell_size_fraction": 0.05}
    overrides = [text for text in run.overrides() if not parse_override(text)[0][0] == "mesh"]
    result = run_1d(apply_indexed_overrides(raw, overrides))
    if result["status"] != "completed":
        raise RuntimeError(f"1D reference of {run.label}: {result['message']}")
    return result["capacity_mAh_g"][0]


def row(run: Run, summary: dict) -> dict:
    step, particle = summary["steps"][0], summary["particle"]
    return {"run": run.label, "c_rate": run.c_rate, "cells": summary["mesh"]["cells"],
            "capacity_mAh_g": step["capacity_mAh_g"], "stop": step["stop"],
            "mean_overpotential_V": step["overpotential_mean_V"],
            "wetted_area_m2": particle["wetted_area_m2"], "volume_m3": particle["volume_m3"],
            # wetted area per volume: what the current density (and so the overpotential) scales with
            "area_per_volume_1_um": particle["wetted_area_m2"] / particle["volume_m3"] * 1e-6,
            "peak_von_mises_MPa": summary["peak"]["von_mises"]["value_Pa"] / 1e6}


def retention(rows: list[dict], slow: float, fast: float) -> dict[str, float]:
    """{architecture: capacity at `fast` / capacity at `slow`} of the architectures run at both rates."""
    by = {}
    for r in rows:
        by.setdefault(r["run"].rsplit(" ", 1)[0], {})[r["c_rate"]] = r["capacity_mAh_g"]
    return {name: caps[fast] / caps[slow] for name, caps in by.items() if slow in caps and fast in caps}


def markdown(results: dict) -> str:
    lines = ["# Rate capability in 3D (Butler-Volmer, wetted inner surfaces): model predictions", ""]
    head = ["| run | cells | capacity mAh/g | stop | mean eta V | wetted area um^2 | area/volume 1/um | peak von Mises MPa |",
            "|---|---|---|---|---|---|---|---|"]
    for seed, title in (("002", "Seed 002, LNMO 4 um spheres, discharge to 3.8 V"),
                        ("001", "Seed 001, NCM83 polycrystals, discharge to 3.5 V")):
        if seed not in results:
            continue
        lines += [f"## {title}", "", *head]
        for r in results[seed]["rows"]:
            lines.append(f"| {r['run']} | {r['cells']} | {r['capacity_mAh_g']:.1f} | {r['stop']} | "
                         f"{r['mean_overpotential_V']:.4f} | {r['wetted_area_m2'] * 1e12:.2f} | "
                         f"{r['area_per_volume_1_um']:.2f} | {r['peak_von_mises_MPa']:.0f} |")
        lines += ["", "measured: " + ", ".join(f"{k} {v:g}" for k, v in MEASURED[seed].items())]
        if "retention" in results[seed]:
            one_d = {name.replace(" (1D)", ""): value for name, value in results[seed]["retention_1d"].items()}
            lines += ["", "| architecture | 10C / 0.5C, 3D | 1D (spherical_1d) |", "|---|---|---|"]
            lines += [f"| {name} | {100 * value:.1f} % | "
                      f"{'' if name not in one_d else f'{100 * one_d[name]:.1f} %'} |"
                      for name, value in results[seed]["retention"].items()]
        if "gp_minus_p_5C_mAh_g" in results[seed]:
            lines += ["", f"GP - P at 5C (wetted pores, main mesh): predicted "
                      f"{results[seed]['gp_minus_p_5C_mAh_g']:.1f} mAh/g, measured "
                      f"{MEASURED['001']['5C GP mAh/g'] - MEASURED['001']['5C P mAh/g']:.1f}"]
        lines.append("")
    return "\n".join(lines)


def study(seed: str, out: Path, quick: bool, force: bool) -> dict:
    plan = plan_002(quick) if seed == "002" else plan_001()
    rows = [row(run, s) for run in plan if (s := run_one(run, out, force)) is not None]
    result = {"rows": rows}
    if seed == "002":
        result["retention"] = retention(rows, 0.5, 10.0)
        # the 1D references of the main-mesh runs (the mesh variants share them)
        reference = [{"run": f"{run.label.rsplit(' ', 1)[0]} (1D) {run.c_rate:g}C", "c_rate": run.c_rate,
                      "capacity_mAh_g": reference_1d(run)}
                     for run in plan if "mesh" not in run.label]
        result["reference_1d"] = reference
        result["retention_1d"] = retention(reference, 0.5, 10.0)
    else:
        cap = {r["run"]: r["capacity_mAh_g"] for r in rows}
        if {"P wetted pores 5C", "GP wetted pores 5C"} <= cap.keys():
            result["gp_minus_p_5C_mAh_g"] = cap["GP wetted pores 5C"] - cap["P wetted pores 5C"]
    return result


def main(argv=None) -> int:
    parser = study_parser(__doc__, quick_help="seed 002, dense and hollow (wetted) only (a smoke test)")
    parser.add_argument("--seed", choices=("001", "002"), action="append",
                        help="which seed's runs (default both; 001 takes ~25 min on 2 cores, 002 ~3 min)")
    args = parser.parse_args(argv)
    folder = claim_study_folder(args.out)
    seeds = ["002"] if args.quick else (args.seed or ["002", "001"])
    results = {seed: study(seed, folder, args.quick, args.force) for seed in seeds}
    write_tables(folder, results, markdown(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
