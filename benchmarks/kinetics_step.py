"""A Butler-Volmer-coupled 3D step against a prescribed-flux step on the same mesh (target: <= 1.5x).

    PYTHONPATH=. python benchmarks/kinetics_step.py [--cell-size 0.12] [--steps 12] [--repeats 2] [--stress-assisted]

Both problems are cases/ncm811_kinetics_3d.toml on the same full-sphere mesh at 1C charge from x = 0.95, the same
fixed steps: "prescribed" without [kinetics] (the uniform galvanostatic flux of [operation]), "kinetic" with it
(the particle potential of solver/fields/potential.py: V by Newton inside the coupling, the linearised reaction
flux in the transport forms). Timed: problem.advance + accept over the steps (CPU and wall), after one untimed
step (JIT, first assemblies). Each variant runs `--repeats` times in this process; the ratio of the best times and
the spread between the repeats are printed. Without --stress-assisted the prescribed step is one transport and
one mechanics solve, the case that kinetics can make relatively dearest.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from mpi4py import MPI  # noqa: E402

from solver.case import apply_overrides, read_case_file, validate_case  # noqa: E402
from solver.geometry import build_particle_mesh  # noqa: E402
from solver.kinetic_run import FieldStepper  # noqa: E402
from solver.problem import ChemoMechanicalProblem  # noqa: E402
from solver.reduced.kinetic_case import scales_of  # noqa: E402

CASE = REPO / "cases" / "ncm811_kinetics_3d.toml"


def raw_case(cell_size: float, stress_assisted: bool, kinetic: bool) -> dict:
    raw = apply_overrides(read_case_file(CASE), [
        'geometry.symmetry="full"', f"mesh.cell_size_fraction={cell_size}", f"mesh.surface_cell_size_fraction={cell_size}",
        f"coupling.stress_assisted_diffusion={'true' if stress_assisted else 'false'}", "output.progress=false"])
    if not kinetic:
        del raw["kinetics"], raw["protocol"]
    return raw


def timed_steps(problem, advance, steps: int, dt: float) -> tuple[float, float, list]:
    """(CPU s, wall s, [(coupling, transport, mechanics iterations)]) of `steps` steps of dt after the first
    (untimed) one."""
    advance(dt, None)
    cpu, wall, reports = time.process_time(), time.perf_counter(), []
    for _ in range(steps):
        report = advance(dt, dt)
        reports.append((report.coupling_iterations, report.transport_iterations, report.mechanics_iterations))
    return time.process_time() - cpu, time.perf_counter() - wall, reports


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cell-size", type=float, default=0.12, help="uniform cell size, fraction of R")
    parser.add_argument("--steps", type=int, default=12)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--stress-assisted", action="store_true")
    args = parser.parse_args(argv)
    comm = MPI.COMM_WORLD
    kinetic_case = validate_case(raw_case(args.cell_size, args.stress_assisted, True))
    particle = build_particle_mesh(kinetic_case["geometry"], kinetic_case["mesh"], comm, cache_dir=None)
    dt = 3600.0 / kinetic_case["protocol"]["steps_per_charge"]
    results = {"prescribed": [], "kinetic": []}
    for repeat in range(args.repeats):
        for name in results:
            case = kinetic_case if name == "kinetic" else validate_case(raw_case(args.cell_size, args.stress_assisted,
                                                                                 False))
            problem = ChemoMechanicalProblem(case, particle, comm)
            if name == "kinetic":
                stepper = FieldStepper(problem, case["time"]["scheme"])
                current = scales_of(case, problem.volume_m3, problem.wetted_area_m2).one_c_current_A
                stepper.V = stepper.guess_voltage(current)

                def advance(step, previous, stepper=stepper, current=current):
                    stepper.previous_dt = previous
                    stepper.step_controlled(step, 0.0, current_A=current)
                    return stepper.last_report
            else:
                def advance(step, previous, problem=problem, scheme=case["time"]["scheme"]):
                    report = problem.advance(step, previous, scheme)
                    problem.accept_step()
                    return report
            cpu, wall, reports = timed_steps(problem, advance, args.steps, dt)
            results[name].append((cpu, wall))
            coupling, transport, mechanics = (sum(r[k] for r in reports) / args.steps for k in range(3))
            print(f"  run {repeat + 1} {name:<10s} CPU {cpu / args.steps * 1e3:8.1f} ms/step  wall "
                  f"{wall / args.steps * 1e3:8.1f} ms/step  per step: {coupling:.1f} coupling iterations, "
                  f"{transport:.1f} transport and {mechanics:.1f} mechanics linear iterations "
                  f"(rtol {problem.linear_rtol['transport']:g} / {problem.linear_rtol['mechanics']:g})", flush=True)
    from solver import compat
    print(f"{compat.cell_count_global(particle.mesh)} cells, {compat.dof_count_global(problem.V_c)} + "
          f"{compat.dof_count_global(problem.V_u)} dofs, {args.steps} steps of {dt:.0f} s, stress-assisted "
          f"{args.stress_assisted}")
    ratios = [k[0] / p[0] for k, p in zip(results["kinetic"], results["prescribed"])]
    best = min(r[0] for r in results["kinetic"]) / min(r[0] for r in results["prescribed"])
    print(f"  ratio per repeat (CPU): {', '.join(f'{r:.2f}' for r in ratios)}; spread {max(ratios) - min(ratios):.2f}")
    print(f"RATIO kinetic / prescribed-flux CPU time per 3D step = {best:.2f}  (target <= 1.5)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
