"""One damage solve against one mechanics solve on the same 3D mesh (issue 17 target: <= 2x), and the staggered
u-d iterations per step.

    PYTHONPATH=. python benchmarks/damage_cost.py [--particles dense polycrystal] [--repeats 2] [--steps N]
                                                  [--damage-preset cg_hypre] [--set KEY=VALUE ...]

Particles: "dense" is cases/ncm811_damage.toml as shipped (octant, AT1, l = 2 um, cells of l / 2, P1
displacement); "polycrystal" is cases/p_ncm83.toml (30 Voronoi grains, pores) with the same [damage] table, l =
2.5 um (the case's 1.25 um cells are l / 2), grain boundaries at half the toughness and P1 displacement as the
damage case uses (with P2 a mechanics solve costs ~5x more and the ratio only falls).

What is timed: each repeat builds the problem afresh on the same mesh and runs the case's time loop (fixed steps,
problem.advance + accept), timing every damage solve (DamageField.solve_damage: driving energy, history, matrix
and vector assembly, KSP) and every mechanics solve (MechanicsField.solve_displacement: the degraded stiffness
reassembled, vector, KSP) as the staggered iteration makes them, warm starts included; the KSP part of each is
timed apart (solver.linalg.solve). Printed per repeat: solves, mean ms per solve (assembly + KSP), linear
iterations; the ratio of the means, its spread over the repeats, and the staggered iterations per step.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from mpi4py import MPI  # noqa: E402

from solver import compat, linalg  # noqa: E402
from solver.case import apply_overrides, end_time_s, read_case_file, validate_case  # noqa: E402
from solver.geometry import build_particle_mesh  # noqa: E402
from solver.problem import ChemoMechanicalProblem  # noqa: E402

DAMAGE_CASE = REPO / "cases" / "ncm811_damage.toml"
PARTICLES = {
    "dense": (DAMAGE_CASE, []),
    "polycrystal": (REPO / "cases" / "p_ncm83.toml",
                    ["solver.displacement_degree=1", "coupling.stress_assisted_diffusion=false",
                     # the start of the charge, where the first cracks form (a full 1C charge in a few steps
                     # breaks most grain boundaries at once: hundreds of staggered iterations per step)
                     "operation.li_fraction_end=0.8", "time.steps=4", "damage.staggered_max_iterations=2000",
                     'damage.model="AT1"', "damage.fracture_energy_J_m2=0.5", "damage.length_scale_um=2.5",
                     "damage.grain_boundary_toughness_factor=0.5"]),
}


class SolveTimer:
    """Wall time of every call of a bound method (one field's solve) and of the KSP solves made for that field
    (solver.linalg.solve, told apart by its `what` argument)."""

    def __init__(self):
        self.total = defaultdict(list)
        self.ksp = defaultdict(list)
        self.iterations = defaultdict(list)
        self._solve = linalg.solve

    def wrap(self, field, method: str, name: str) -> None:
        original = getattr(field, method)

        def timed(*args, **kwargs):
            started = time.perf_counter()
            iterations = original(*args, **kwargs)
            self.total[name].append(time.perf_counter() - started)
            self.iterations[name].append(iterations)
            return iterations
        setattr(field, method, timed)

    def ksp_solve(self, ksp, rhs, solution, what):
        started = time.perf_counter()
        try:
            return self._solve(ksp, rhs, solution, what)
        finally:
            self.ksp[what].append(time.perf_counter() - started)

    def __enter__(self):
        # the fields call linalg.solve through the module: one wrapper times the KSP part of both
        linalg.solve = self.ksp_solve
        return self

    def __exit__(self, *exc):
        linalg.solve = self._solve


def case_of(particle: str, overrides: list[str]) -> dict:
    path, own = PARTICLES[particle]
    raw = read_case_file(path)
    if "damage" not in raw:
        raw["damage"] = dict(read_case_file(DAMAGE_CASE)["damage"])
    return validate_case(apply_overrides(raw, [*own, "output.progress=false", *overrides]))


def run_once(case: dict, particle_mesh, comm, damage_preset: str | None) -> dict:
    """The case's time loop on a fresh problem with every damage and mechanics solve timed."""
    solvers = {"damage": ("damage_bench_", damage_preset)} if damage_preset else None
    problem = ChemoMechanicalProblem(case, particle_mesh, comm, solvers=solvers)
    damage, mechanics = problem.fields["damage"], problem.fields["mechanics"]
    steps = case["time"]["steps"]
    dt = end_time_s(case, particle_mesh.radius_m) / steps
    with SolveTimer() as timer:
        timer.wrap(damage, "solve_damage", "damage")
        timer.wrap(mechanics, "solve_displacement", "mechanics")
        started, previous = time.perf_counter(), None
        for step in range(steps):
            problem.advance(dt, previous, case["time"]["scheme"])
            problem.accept_step()
            previous = dt
            print(f"    step {step + 1}/{steps}: {damage.staggered_iterations[-1]} staggered iterations, "
                  f"{time.perf_counter() - started:.0f} s", flush=True)
        loop_s = time.perf_counter() - started
    return {"timer": timer, "loop_s": loop_s, "staggered": list(damage.staggered_iterations),
            "max_damage": damage.max_damage(), "cells": compat.cell_count_global(particle_mesh.mesh),
            "dofs": (compat.dof_count_global(damage.space), compat.dof_count_global(mechanics.space))}


def mean_ms(values: list) -> float:
    return 1e3 * sum(values) / len(values) if values else float("nan")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--particles", nargs="+", choices=list(PARTICLES), default=list(PARTICLES))
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--steps", type=int, help="time steps (default: the case's)")
    parser.add_argument("--damage-preset", choices=sorted(linalg.PRESETS),
                        help="KSP preset of the damage solve (default: the field's own)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    args = parser.parse_args(argv)
    comm = MPI.COMM_WORLD
    overrides = args.overrides + ([f"time.steps={args.steps}"] if args.steps else [])
    ratios_all = {}
    for particle in args.particles:
        case = case_of(particle, overrides)
        particle_mesh = build_particle_mesh(case["geometry"], case["mesh"], comm)
        print(f"\n=== {particle}: {case['name']}, {compat.cell_count_global(particle_mesh.mesh)} cells ===",
              flush=True)
        ratios = []
        for repeat in range(args.repeats):
            run = run_once(case, particle_mesh, comm, args.damage_preset)
            timer = run["timer"]
            d, u = timer.total["damage"], timer.total["mechanics"]
            ratio = (sum(d) / len(d)) / (sum(u) / len(u))
            ratios.append(ratio)
            if repeat == 0:
                print(f"  {run['cells']} cells, damage {run['dofs'][0]} dofs (P1), displacement {run['dofs'][1]} "
                      f"dofs (P{case['solver']['displacement_degree']}); max d at the end {run['max_damage']:.3f}")
                staggered = run["staggered"]
                print(f"  staggered u-d iterations per step: {staggered} (mean {statistics.mean(staggered):.1f})")
            for name, times in (("damage", d), ("mechanics", u)):
                its = timer.iterations[name]
                print(f"  run {repeat + 1} {name:<9s} {len(times):5d} solves  {mean_ms(times):8.2f} ms/solve "
                      f"(KSP {mean_ms(timer.ksp[name]):8.2f} ms, assembly and the rest "
                      f"{mean_ms(times) - mean_ms(timer.ksp[name]):7.2f} ms)  {sum(its) / len(its):6.1f} its/solve",
                      flush=True)
            print(f"  run {repeat + 1} time loop {run['loop_s']:.1f} s; damage / mechanics per solve {ratio:.2f}",
                  flush=True)
        ratios_all[particle] = ratios
    for particle, ratios in ratios_all.items():
        print(f"RATIO damage solve / mechanics solve ({particle}) = {statistics.median(ratios):.2f} (target <= 2; "
              f"{len(ratios)} repeats: {min(ratios):.2f} - {max(ratios):.2f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
