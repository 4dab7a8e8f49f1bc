"""100 charge/discharge cycles of a 2D section with a realistic grain count, with phase-field damage (issue 17
target: under 1 hour on 2 cores).

    .venv/bin/python benchmarks/section_cycles.py [--cycles 100] [--grains 400] [--explicit] [--set KEY=VALUE ...]

Runs cases/section_ncm83_damage_cycles.toml (a P-NCM83 central section, 400 grains of 0.5 um, unscaled pores,
Butler-Volmer kinetics, 1C cc charge to 4.3 V and discharge to 3.5 V, AT1 damage with weaker grain boundaries and
asymptotic fatigue) for --cycles cycles through the command line, in a fresh process (mesh from the cache after a
first meshing run, which is timed apart). With cycle jumping (damage.cycle_jumping = true, the default here;
--explicit solves every cycle). Prints wall and CPU seconds, cycles solved and extrapolated, seconds per solved
cycle, the fracture state at the end, and RATIO lines: the run's time against the 1 h target.
"""
from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_common import REPO, banner

CASE = REPO / "cases" / "section_ncm83_damage_cycles.toml"
TARGET_S = 3600.0


def run(out: Path, overrides: list[str]) -> tuple[dict, float, float]:
    """(summary, wall s, CPU s of the child) of one `python -m solver run` of the case."""
    command = [sys.executable, "-m", "solver", "run", str(CASE), "--out", str(out), "--no-pictures"]
    for override in overrides:
        command += ["--set", override]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    completed = subprocess.run(command, cwd=REPO, capture_output=True, text=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    summary_path = out / "summary.json"
    if not summary_path.exists():
        sys.exit(f"the run wrote no summary (exit {completed.returncode}):\n{completed.stderr[-2000:]}")
    return json.loads(summary_path.read_text()), wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cycles", type=int, default=100)
    parser.add_argument("--grains", type=int, default=None, help="geometry.grain_count (default: the case's 400)")
    parser.add_argument("--explicit", action="store_true", help="solve every cycle (no cycle jumping)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    args = parser.parse_args()
    overrides = ["output.fields=false", "output.snapshots=0", "output.progress=false", *args.overrides]
    if args.grains is not None:
        overrides.append(f"geometry.grain_count={args.grains}")
    banner(f"{args.cycles} cycles of {CASE.name}{' (explicit)' if args.explicit else ' (cycle jumping)'}")
    with tempfile.TemporaryDirectory(prefix="section-cycles-") as scratch:
        scratch = Path(scratch)
        # one cycle first: meshes (cached for the timed run) and gives the cost of one explicit cycle
        one, one_wall, one_cpu = run(scratch / "one", overrides + ["protocol.cycles=1"])
        cycling = [f"protocol.cycles={args.cycles}"]
        if not args.explicit:
            cycling.append("damage.cycle_jumping=true")
        summary, wall, cpu = run(scratch / "cycles", overrides + cycling)
    cycles = summary.get("cycles") or {}
    solved = cycles.get("solved", args.cycles if args.explicit else None)
    extrapolated = cycles.get("extrapolated", 0)
    fracture = summary.get("fracture", {})
    print(f"  mesh: {one['mesh']['cells']} cells; first run (meshing + 1 cycle): {one_wall:.0f} s wall, "
          f"{one_cpu:.0f} s CPU")
    print(f"  {args.cycles} cycles: status {summary['status']}, {wall:.0f} s wall, {cpu:.0f} s CPU; cycles solved "
          f"{solved}, extrapolated {extrapolated}; {cpu / max(solved or 1, 1):.1f} s CPU per solved cycle")
    print(f"  end: state {fracture.get('state')}, crack volume fraction {fracture.get('crack_volume_fraction')}, "
          f"cracked grain-boundary fraction {fracture.get('cracked_grain_boundary_area_fraction')}")
    print(f"RATIO {args.cycles}-cycle section run / 1 h target: wall {wall / TARGET_S:.3f}, CPU {cpu / TARGET_S:.3f} "
          f"(target <= 1)")


if __name__ == "__main__":
    main()
