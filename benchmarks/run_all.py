"""Every benchmark in one go, each in its own process, then the RATIO lines collected at the end.

    .venv/bin/python benchmarks/run_all.py [--quick] [--only pipeline amg scaling mpi mesh meshscale reduced gaps adaptive kinetics damage sectioncycles]
    make benchmarks            (the same, full sizes; `make benchmarks-quick` for the small ones)

Full sizes take ~85-115 minutes on a 2-core machine (estimated; the 1M-unknown scaling points on 1 and 2 ranks
and LU at 500k dominate); --quick runs every benchmark on small sizes in a few minutes (a smoke test of the scripts, not the
targets). Numbers are noisy on shared machines: the ratios inside one run are what count.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
BENCHMARKS = {
    # name: (script, full-size arguments, quick arguments)
    "pipeline": ("pipeline_overhead.py", [], ["--steps", "10", "--cell-size", "0.2", "--surface-size", "0.1"]),
    # LU's cap at full size is what makes ">= 10x at >= 500k" measurable: GAMG takes ~50 s there
    "amg": ("amg_vs_lu.py", ["--unknowns", "5e4", "1.5e5", "5.2e5", "--timeout", "900"], ["--unknowns", "2e4", "5e4"]),
    # sphere and 100-grain polycrystal, 1 and 2 ranks at every size (the 1 -> 2 rank speed-ups included);
    # quick: the sphere only (the porous polycrystal's coarsest mesh already has ~1.2e5 unknowns)
    # (the ends of the range: the ratios need them; scaling.py's default adds 3e5)
    "scaling": ("scaling.py", ["--unknowns", "1e5", "1e6"], ["--particles", "sphere", "--unknowns", "1e4", "2e4",
                                                             "--steps", "1"]),
    # one size, any rank counts (scaling.py measures 1 vs 2 ranks at every size): not in the default run
    "mpi": ("mpi_ranks.py", ["--unknowns", "1.5e5"], ["--unknowns", "3e4", "--steps", "2"]),
    "mesh": ("mesh_vs_pores.py", ["--counts", "50", "200", "500", "1000"], ["--counts", "20", "50"]),
    # ~8 min full (the unscaled GP mesh, ~2-3.5 min, twice); quick: small grain and scaled-pore points
    "meshscale": ("mesh_scaling.py", [], ["--grains", "20", "40", "--pores", "gp_ncm83_unscaled:20",
                                          "gp_ncm83_unscaled:8"]),
    "reduced": ("reduced_speedup.py", [], ["--geometries", "dense"]),
    "gaps": ("reduced_speedup.py", ["--gaps", "--geometry-orders", "2", "--levels", "0.07/0.035", "0.05/0.035",
                                    "--set", 'output.peak_stress="recovered"'],
             ["--gaps", "--geometries", "dense", "--geometry-orders", "1", "--levels", "0.25/0.12",
              "--set", 'output.peak_stress="recovered"']),
    "adaptive": ("adaptive_steps.py", ["--3d"], ["--fixed", "20", "80", "--tolerances", "1e-2", "1e-3"]),
    "kinetics": ("kinetics_step.py", [], ["--cell-size", "0.25", "--steps", "4"]),
    # one damage solve vs one mechanics solve on the shipped damage particle and a 30-grain polycrystal (~5 min)
    "damage": ("damage_cost.py", [], ["--particles", "dense"]),
    # 100 cycles of the 400-grain damage section with cycle jumping (~4 min CPU; target < 1 h)
    "sectioncycles": ("section_cycles.py", [], ["--cycles", "4", "--grains", "40"]),
}
DEFAULT = [name for name in BENCHMARKS if name != "mpi"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes: checks the scripts, not the targets")
    parser.add_argument("--only", nargs="+", choices=list(BENCHMARKS), default=DEFAULT,
                        help=f"benchmarks to run (default: all but {', '.join(sorted(set(BENCHMARKS) - set(DEFAULT)))})")
    args = parser.parse_args()
    ratios = []
    for name in args.only:
        script, full, quick = BENCHMARKS[name]
        command = [sys.executable, str(HERE / script), *(quick if args.quick else full)]
        print(f"\n##### {name}: {' '.join(command[1:])}", flush=True)
        started = time.perf_counter()
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                   env=dict(os.environ, PYTHONUNBUFFERED="1"), cwd=HERE.parent)
        for line in process.stdout:
            if line.lstrip().startswith("["):      # progress lines of the solver
                continue
            print(line, end="", flush=True)
            if line.startswith("RATIO"):
                ratios.append(f"[{name}] {line.strip()}")
        process.wait()
        status = "ok" if process.returncode == 0 else f"FAILED (exit {process.returncode})"
        print(f"##### {name}: {status} in {time.perf_counter() - started:.0f} s", flush=True)
        if process.returncode != 0:
            ratios.append(f"[{name}] FAILED (exit {process.returncode})")
    print("\n##### all ratios")
    print("\n".join(ratios))


if __name__ == "__main__":
    main()
