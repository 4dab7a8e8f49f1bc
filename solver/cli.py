"""Command line: `python -m solver {run,check,mesh,verify} CASE.toml ...`, `python -m solver sweep SWEEP.toml --out DIR`,
`python -m solver keys` (every case key) and `python -m solver materials` (parameter sets); also the
`particle-solver` script."""
from __future__ import annotations

import argparse
import importlib
import json
import sys
from pathlib import Path

from solver.errors import CaseError, OutputError, SolveError, printable
from solver.provenance import program_name
from solver.version import __version__


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=program_name(),
                                     description="3D chemo-mechanics of battery-cathode particles.")
    parser.add_argument("--version", action="version", version=f"particle-solver {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    def case_command(name, help_text):
        command = sub.add_parser(name, help=help_text)
        command.add_argument("case", type=Path, help="case file (TOML)")
        command.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                             help="override a case value, e.g. --set material.young_modulus_GPa=150 (repeatable)")
        return command

    run = case_command("run", "run a case: summary.json, timeseries.csv, fields, pictures")
    run.add_argument("--out", type=Path, required=True,
                     help="result folder: new, empty, or an earlier result folder (replaced atomically)")
    run.add_argument("--no-pictures", action="store_true", help="skip the PyVista pictures")
    run.add_argument("--no-mesh-cache", action="store_true", help="always remesh")
    case_command("check", "validate a case file and print it resolved in SI units")
    verify = case_command("verify", "dense sphere: compare with the analytic (or 1D stress-assisted) reference")
    verify.add_argument("--tau", type=float, action="append", default=None,
                        help="dimensionless times D t / R^2 to compare at (default 0.05 and 0.2)")
    verify.add_argument("--tolerance-percent", type=float, default=1.0,
                        help="largest relative error that passes (default 1 %%, what the shipped meshes reach)")
    mesh = case_command("mesh", "build (or fetch from the cache) the mesh; write geometry.json")
    mesh.add_argument("--out", type=Path, required=True,
    help="folder for geometry.json: new, empty, or an earlier mesh folder")
    mesh.add_argument("--no-mesh-cache", action="store_true", help="always remesh")
    sub.add_parser("materials", help="list the named material parameter sets with their values and sources")
    keys = sub.add_parser("keys", help="every case-file key: type, default, allowed values, unit, help")
    keys.add_argument("section", nargs="?", default=None,
                      help="only this section, e.g. material, geometry, material.layered, oxygen")
    keys.add_argument("--format", choices=("text", "markdown"), default="text",
                      help="markdown: the text of docs/keys.md")
    from solver.sweep.command import add_sweep_parser

    add_sweep_parser(sub)
    return parser


def _mesh_cache(args):
    from solver.pipeline import DEFAULT_MESH_CACHE

    return None if args.no_mesh_cache else DEFAULT_MESH_CACHE


def _command_run(args, case, comm) -> int:
    from solver.pipeline import run_case

    summary = run_case(case, args.out, comm, mesh_cache=_mesh_cache(args), render=False if args.no_pictures else None)
    if comm.rank == 0:
        from solver.pipeline import format_peaks
        print(format_peaks(summary))
        print(f"results in {args.out}")
    return 0 if summary["status"] != "failed" else 3


def _command_mesh(args, case, comm) -> int:
    from solver.geometry import build_particle_mesh
    from solver.outputs import on_root, prepare_output_folder, writing
    from solver.writers import write_json

    on_root(comm, lambda: prepare_output_folder(args.out, "mesh"))  # refused before meshing, not after
    if case["solver"]["formulation"] == "section_2d":   # the 2D central section, not the 3D particle
        from solver.reduced.section_mesh import section_geometry_report
        measured = section_geometry_report(case, comm, _mesh_cache(args))
    else:
        particle = build_particle_mesh(case["geometry"], case["mesh"], comm, cache_dir=_mesh_cache(args))
        measured = particle.measure()
    if comm.rank == 0:
        with writing(args.out):
            write_json(args.out / "geometry.json", measured)
        print(json.dumps({k: v for k, v in measured.items() if not isinstance(v, (list, dict))}, indent=2))
        print(f"geometry.json in {args.out}")
    return 0


def _command_verify(args, case, comm) -> int:
    from solver.verification import verify

    taus = tuple(args.tau or (0.05, 0.2))
    result = verify(case, taus, comm)
    if comm.rank == 0:
        print(f"{case['name']}: {result['cells']} cells, {result['steps']} steps")
        print(f"{'tau':>6} {'hoop(R) FE':>12} {'reference':>12} {'error':>8} {'radial(0) FE':>13} {'reference':>12} {'error':>8}")
        for s in result["samples"]:
            print(f"{s['tau']:6.3f} {s['surface_hoop_Pa'] / 1e6:10.3f}MPa {s['surface_hoop_reference_Pa'] / 1e6:10.3f}MPa "
                  f"{100 * s['surface_hoop_relative_error']:7.3f}% {s['centre_radial_Pa'] / 1e6:11.3f}MPa "
                  f"{s['centre_radial_reference_Pa'] / 1e6:10.3f}MPa {100 * s['centre_radial_relative_error']:7.3f}%")
    worst = max(max(s["surface_hoop_relative_error"], s["centre_radial_relative_error"]) for s in result["samples"])
    passed = worst <= args.tolerance_percent / 100
    if comm.rank == 0:
        print(f"reference: {result['reference']}")
        print(f"{'PASS' if passed else 'FAIL'}: largest error {100 * worst:.3f} % "
              f"{'<=' if passed else '>'} {args.tolerance_percent:g} %")
    return 0 if passed else 1


def _command_reference(args) -> int:
    if args.command == "materials":
        from solver.parameter_sets import listing

        print(listing())
        return 0
    from solver.keyref import key_reference

    try:
        print(key_reference(args.format, args.section), end="")
    except CaseError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "sweep":  # the sweep driver only launches processes: no MPI, no dolfinx here
        from solver.sweep.command import command_sweep

        return command_sweep(args)
    if args.command in ("materials", "keys"):   # reference listings: no MPI, no dolfinx
        return _command_reference(args)
    from mpi4py import MPI

    from solver.case import load_case

    from solver.logs import show_progress
    from solver.outputs import sigterm_as_interrupt

    show_progress()

    if args.command != "check":  # PETSc installs its own SIGTERM handler: first that, then ours replaces it
        importlib.import_module("petsc4py.PETSc")
    comm = MPI.COMM_WORLD
    try:
        with sigterm_as_interrupt():  # `kill` removes the staging folder like Ctrl-C does
            case = load_case(args.case, args.overrides)
            if args.command == "check":
                if comm.rank == 0:
                    print(json.dumps(case, indent=2))
                    print(f"{args.case}: valid", file=sys.stderr)
                return 0
            commands = {"run": _command_run, "verify": _command_verify, "mesh": _command_mesh}
            return commands[args.command](args, case, comm)
    except OutputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except CaseError as exc:
        # the case path is the user's own text: keep the message one line
        print(printable(f"error in case {args.case}: {exc}"), file=sys.stderr)
        return 2
    except SolveError as exc:
        print(f"solve failed: {exc}", file=sys.stderr)
        return 3
    except KeyboardInterrupt:
        print(f"\n{args.command} interrupted: nothing was written to its output folder", file=sys.stderr)
        return 130

if __name__ == "__main__":
    sys.exit(main())
