"""Command line: `python -m solver {run,check,mesh} CASE.toml ...` (also the `particle-solver` script)."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from solver.errors import CaseError, SolveError


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m solver",
                                     description="3D chemo-mechanics of battery-cathode particles.")
    sub = parser.add_subparsers(dest="command", required=True)

    def case_command(name, help_text):
        command = sub.add_parser(name, help=help_text)
        command.add_argument("case", type=Path, help="case file (TOML)")
        command.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                             help="override a case value, e.g. --set material.young_modulus_GPa=150 (repeatable)")
        return command

    run = case_command("run", "run a case: summary.json, timeseries.csv, fields, pictures")
    run.add_argument("--out", type=Path, required=True, help="result folder (replaced atomically)")
    run.add_argument("--no-pictures", action="store_true", help="skip the PyVista pictures")
    run.add_argument("--no-mesh-cache", action="store_true", help="always remesh")
    case_command("check", "validate a case file and print it resolved in SI units")
    mesh = case_command("mesh", "build (or fetch from the cache) the mesh; write geometry.json")
    mesh.add_argument("--out", type=Path, required=True, help="folder for geometry.json")
    mesh.add_argument("--no-mesh-cache", action="store_true", help="always remesh")
    return parser


def _mesh_cache(args):
    from solver.run import DEFAULT_MESH_CACHE

    return None if args.no_mesh_cache else DEFAULT_MESH_CACHE


def _command_run(args, case, comm) -> int:
    from solver.run import run_case

    summary = run_case(case, args.out, comm, mesh_cache=_mesh_cache(args), render=False if args.no_pictures else None)
    if comm.rank == 0:
        from solver.run import format_peaks
        print(format_peaks(summary))
        print(f"results in {args.out}")
    return 0 if summary["status"] != "failed" else 3


def _command_mesh(args, case, comm) -> int:
    from solver.geometry import build_particle_mesh
    from solver.writers import write_json

    particle = build_particle_mesh(case["geometry"], case["mesh"], comm, cache_dir=_mesh_cache(args))
    measured = particle.measure()
    if comm.rank == 0:
        args.out.mkdir(parents=True, exist_ok=True)
        write_json(args.out / "geometry.json", measured)
        print(json.dumps({k: v for k, v in measured.items() if not isinstance(v, (list, dict))}, indent=2))
        print(f"geometry.json in {args.out}")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    from mpi4py import MPI

    from solver.case import load_case

    comm = MPI.COMM_WORLD
    try:
        case = load_case(args.case, args.overrides)
        if args.command == "check":
            if comm.rank == 0:
                print(json.dumps(case, indent=2))
                print(f"{args.case}: valid", file=sys.stderr)
            return 0
        if args.command == "run":
            return _command_run(args, case, comm)
        return _command_mesh(args, case, comm)
    except CaseError as exc:
        print(f"error in case {args.case}: {exc}", file=sys.stderr)
        return 2
    except SolveError as exc:
        print(f"solve failed: {exc}", file=sys.stderr)
        return 3


if __name__ == "__main__":
    sys.exit(main())
