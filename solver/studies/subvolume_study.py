"""The gradient-porous study on sub-volumes: core and rim cubes of P- and GP-NCM83 at a real primary-grain size,
with the particle's unscaled pores, over seeds (issue 16, "sub-volumes").

    python -m solver.studies.subvolume_study --out results/subvolume_study [--seeds 5]

runs cases/subvolume_ncm83_core.toml (a 2 um cube of ~122 Voronoi grains of 0.5 um, the particle-scale Li and
displacement of the homogenised particle on its faces, solver/subvolume.py) with the cube centred at r = 0.25 R
(core: it spans 0.05-0.45 R) and r = 0.75 R (rim: 0.55-0.95 R), for the P-NCM83 (uniform 1.96 %) and GP-NCM83
(18 % at the centre to 3.3 % at the surface) porosity profiles, seeds 1..--seeds (grains, orientations and pores;
the same seed gives the same grains and orientations in P and GP, only the pores differ). Each run is its own
process (solver.studies.run_case_once; resumable: a completed run is kept unless --force). Written into --out:
runs/<label>/ (each run's result folder), rows.csv and table.md with, per run and as mean +- sample std over seeds,
for the cube's centred window (its inner half; the faces' boundary layer stays outside it):

- the volume mean and the 90/99 % quantiles of the max principal stress sigma_1 and the mean hydrostatic stress, at
  the step of the largest mean sigma_1 ("peak") and at the end of charge ("end");
- the grain-boundary area fractions with normal traction above 250 and 745 MPa (745 MPa: the NMC811 grain-boundary
  strength quoted in docs/science.md#literature-values);
- GP - P against the seed spread and paired by seed, with the statistics of solver/studies/section_study.py.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

from solver.studies import claim_study_folder, run_case_once, study_parser
from solver.studies.section_study import comparison_lines, run_lines, write_outputs

REPO = Path(__file__).resolve().parents[2]
CASE = REPO / "cases" / "subvolume_ncm83_core.toml"
POSITIONS = {"core": 0.25, "rim": 0.75}
POROSITY = ("p", "gp")
# Each material as its particle case sets it (cases/p_ncm83.toml is the sub-volume case's own; cases/p_ni96.toml):
# the parameter set, the 1C capacity, the 4.3 V end of charge and steps that sample the misfit peak.
MATERIALS = {
    "ncm83": [],
    "ni96": ['material.name="LiNi0.96Co0.02Mn0.02O2 grains (anisotropic lattice strain, isotropic stiffness)"',
             'material.parameter_set="ni96"', "operation.capacity_li_fraction=0.892", "operation.li_fraction_end=0.11",
             "time.steps=7"],
}
RUN_OVERRIDES = ["output.fields=false", "output.progress=false"]
# A smoke-test size (tests/test_subvolume_study.py): a 1 um cube (15 grains), coarse cells, 2 steps. Not a result.
QUICK_OVERRIDES = ["geometry.edge_um=1.0", "mesh.cell_size_fraction=0.1", "mesh.surface_cell_size_fraction=0.1",
                   "time.steps=2"]
WINDOW = {"s1_mean_MPa": "max_principal_mean_Pa", "s1_p90_MPa": "max_principal_p90_Pa",
          "s1_p99_MPa": "max_principal_p99_Pa", "sh_mean_MPa": "hydrostatic_mean_Pa",
          "particle_sh_MPa": "particle_scale_hydrostatic_at_centre_Pa"}
TABLE_METRICS = tuple(f"{tag}_{m}" for tag in ("peak", "end") for m in (
    "s1_mean_MPa", "s1_p90_MPa", "s1_p99_MPa", "sh_mean_MPa", "gb_above_250MPa", "gb_above_745MPa")) + (
    "porosity",)


def cube_group(position: str, material: str = "ncm83") -> str:
    """The name GP and P are paired under: the position (NCM83, the first study's names) or material_position."""
    return position if material == "ncm83" else f"{material}_{position}"


def run_label(pores: str, position: str, seed: int, material: str = "ncm83") -> str:
    return f"{pores}_{cube_group(position, material)}_seed{seed}"


def run_overrides(pores: str, position: str, seed: int, extra=(), material: str = "ncm83") -> list[str]:
    return [f'geometry.porosity="{pores}_{material}"', f"geometry.centre_radius_fraction={POSITIONS[position]}",
            f"geometry.seed={seed}", *MATERIALS[material], *RUN_OVERRIDES, *extra]


def _window_columns(window: dict, tag: str) -> dict:
    row = {f"{tag}_{short}": window[key] / 1e6 for short, key in WINDOW.items()}
    for threshold in (250, 745):
        row[f"{tag}_gb_above_{threshold}MPa"] = window[f"gb_area_fraction_above_{threshold}MPa"]
    return row


def run_row(pores: str, position: str, seed: int, summary: dict, seconds: float, material: str = "ncm83") -> dict:
    """One table row. "case" and "material" follow section_study's naming (gp_<group>, p_<group>) so that its
    statistics pair P with GP within a position."""
    description = summary["mesh"]["description"]
    interior = summary["grain_boundaries"]["interior"]
    edge_m = description["edge_um"] * 1e-6
    group = cube_group(position, material)
    row = {"case": f"{pores}_{group}", "material": group, "pores": pores.upper(), "seed": seed,
           "grains": description["grain_count"], "pore_count": description["pore_count"],
           "cells": summary["mesh"]["cells"], "status": summary["status"],
           "porosity": 1.0 - summary["particle"]["modelled_volume_m3"] / edge_m**3,
           "profile_porosity": description["porosity_profile_mean_in_cube"],
           "peak_soc": interior["at_peak_mean_max_principal"]["state_of_charge"],
           "seconds": seconds, "run_seconds": summary["timing_s"]["total"]}
    row.update(_window_columns(interior["at_peak_mean_max_principal"], "peak"))
    row.update(_window_columns(interior["final"], "end"))
    return row


def report(rows: list[dict]) -> str:
    """table.md: seed means +- std per cube, GP - P against the spread and paired by seed, and every run."""
    lines = ["# Gradient-porous study on sub-volumes (core and rim cubes)\n",
             "Window = the cube's centred inner half; s1 = max principal stress, sh = hydrostatic stress (volume mean "
             "and quantiles in the window, MPa); particle_sh = the homogenised particle's hydrostatic stress at the "
             "cube's centre; gb = grain-boundary area fraction of the window with normal traction above the "
             "threshold; 'peak' = the step of the largest window mean s1, 'end' = end of charge; porosity = the "
             "meshed cube's.\n"]
    lines += comparison_lines(rows, TABLE_METRICS, ("peak_soc",), group="cube")
    columns = ("case", "seed", "grains", "pore_count", "cells", "porosity", "profile_porosity", "peak_soc",
               "peak_s1_mean_MPa", "peak_s1_p99_MPa", "peak_sh_mean_MPa", "peak_particle_sh_MPa",
               "peak_gb_above_745MPa", "end_s1_mean_MPa", "end_gb_above_745MPa", "seconds")
    return "\n".join(lines + run_lines(rows, columns)) + "\n"


def main(argv=None) -> int:
    parser = study_parser(__doc__, "tiny smoke-test runs: a 1 um cube, 2 steps (not a result)")
    parser.add_argument("--seeds", type=int, default=5, help="seeds 1..N per cube (default 5)")
    parser.add_argument("--positions", nargs="+", default=list(POSITIONS), choices=list(POSITIONS))
    parser.add_argument("--materials", nargs="+", default=["ncm83"], choices=list(MATERIALS),
                        help="the particles' materials and porosity presets (default ncm83)")
    args = parser.parse_args(argv)
    if args.seeds < 1:
        parser.exit(2, f"error: --seeds = {args.seeds}: need >= 1\n")
    out = claim_study_folder(args.out)
    extra = QUICK_OVERRIDES if args.quick else []
    rows = []
    for material in args.materials:
        for position in args.positions:
            for seed in range(1, args.seeds + 1):
                for pores in POROSITY:
                    label = run_label(pores, position, seed, material)
                    started = time.perf_counter()
                    summary = run_case_once(CASE, out / "runs" / label,
                                            run_overrides(pores, position, seed, extra, material), force=args.force)
                    if summary is None:
                        continue
                    rows.append(run_row(pores, position, seed, summary, time.perf_counter() - started, material))
                print(f"  done {label} ({rows[-1]['seconds']:.0f} s)", file=sys.stderr, flush=True)
    table = write_outputs(rows, out, report)
    print(table.read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
