"""`python -m solver sweep SWEEP.toml --out DIR ...`: argument parsing and the command itself.

Kept free of dolfinx and of MPI initialisation: solver/cli.py dispatches here before importing mpi4py,
because the driver starts worker processes and (for ranks > 1) `mpirun` children.
"""
from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from solver.errors import CaseError, OutputError
from solver.outputs import sigterm_as_interrupt, writing
from solver.sweep.engine import CLUSTERS


def add_sweep_parser(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "sweep", help="run a parameter sweep on Dask: one process per case, finished cases skipped",
        description="Run the cases of a sweep file (docs/sweeps.md) into DIR/cases/<id>, skipping finished ones, "
                    "then write DIR/results.csv, DIR/results.parquet and a plot.")
    parser.add_argument("sweep", type=Path, help="sweep file (TOML)")
    parser.add_argument("--out", type=Path, required=True, help="sweep folder (created; reused to resume)")
    parser.add_argument("--workers", type=int, help="local worker processes (default: CPUs // ranks per case)")
    parser.add_argument("--cluster", choices=CLUSTERS, default="local", help="where the workers run")
    parser.add_argument("--dry-run", action="store_true",
                        help="list the cases, their state and validity and the first command; run nothing")
    parser.add_argument("--emit-slurm-array", type=Path, metavar="FILE",
                        help="write an sbatch job-array script for the unfinished cases instead of running")
    parser.add_argument("--case", metavar="ID_OR_INDEX", help="run this one case here without Dask (array tasks)")
    parser.add_argument("--aggregate-only", action="store_true",
                        help="only rewrite the table and plot (and a damage sweep's census)")
    parser.add_argument("--retry-failed", action="store_true", help="run failed and invalid cases again")
    parser.add_argument("--metric", help="table column to plot (default: [plot] metric or peak.von_mises.value_Pa)")
    parser.add_argument("--x", help="swept key on the plot's x axis (default: the first swept key)")
    parser.add_argument("--no-plot", action="store_true", help="skip the PNG")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    slurm = parser.add_argument_group("Slurm (--cluster slurm, --emit-slurm-array)")
    slurm.add_argument("--queue", help="partition")
    slurm.add_argument("--account")
    slurm.add_argument("--cores", type=int, default=1, help="CPUs per Slurm job (workers per job = cores // ranks)")
    slurm.add_argument("--memory", default="4GB", help="memory per Slurm job, e.g. 16GB")
    slurm.add_argument("--walltime", default="01:00:00", help="time limit per Slurm job")
    slurm.add_argument("--job-extra", action="append", default=[], metavar="DIRECTIVE",
                       help="extra #SBATCH directive, e.g. --job-extra=--qos=long (repeatable)")
    slurm.add_argument("--prologue", action="append", default=[], metavar="LINE",
                       help="shell line run before the worker, e.g. 'module load openmpi' (repeatable)")
    slurm.add_argument("--jobs", type=int, default=1, help="Slurm jobs to start (--cluster slurm)")
    slurm.add_argument("--max-parallel", type=int, help="array tasks running at once (--emit-slurm-array)")
    return parser


def slurm_options(args):
    from solver.sweep.slurm import SlurmOptions

    return SlurmOptions(queue=args.queue, account=args.account, cores=args.cores, memory=args.memory,
                        walltime=args.walltime, job_extra=list(args.job_extra), prologue=list(args.prologue),
                        jobs=args.jobs, max_parallel=args.max_parallel)


def _inputs_text(inputs: dict) -> str:
    return "  ".join(f"{k}={v!r}" for k, v in inputs.items()) or "(base case)"


def dry_run(sweep, args) -> int:
    from solver.sweep.engine import invalid_cases, make_task
    from solver.sweep.store import SweepFolder

    folder = SweepFolder(args.out)
    problems = invalid_cases(sweep, list(sweep.cases))
    print(f"sweep {sweep.name}: {len(sweep.cases)} case(s) of {sweep.base}"
          f"; swept: {', '.join(sweep.swept_keys) or 'nothing'}; {sweep.run.ranks} rank(s) per case")
    pending = []
    for case in sweep.cases:
        state = folder.state(case.case_id)
        to_run = folder.needs_run(case.case_id, args.retry_failed)
        pending += [case] if to_run else []
        note = f"   INVALID: {problems[case.case_id]}" if case.case_id in problems else ""
        print(f"  {case.index:4d}  {case.case_id}  {state.status + (' (run)' if to_run and state.finished else ''):<12}"
              f"  {_inputs_text(case.inputs)}{note}")
    print(f"{len(pending)} to run, {len(sweep.cases) - len(pending)} finished, {len(problems)} invalid")
    if pending:
        print("first command:\n  " + shlex.join(make_task(sweep, folder, pending[0]).command))
    if args.cluster == "slurm":
        from solver.sweep.slurm import slurm_cluster

        with slurm_cluster(slurm_options(args), sweep.run.ranks, folder.root / "slurm") as cluster:
            print("Slurm job script (one per --jobs):\n" + cluster.job_script())
    return 0


def emit_slurm_array(sweep, args) -> int:
    from solver.sweep.slurm import ARRAY_SCRIPT_MARK, array_script
    from solver.sweep.store import SweepFolder

    folder = SweepFolder(args.out)
    folder.claim()
    indices = [c.index for c in sweep.cases if folder.needs_run(c.case_id, args.retry_failed)]
    if not indices:
        print(f"every case of {sweep.name} is finished in {folder.root}; nothing to submit", file=sys.stderr)
        return 0
    target = args.emit_slurm_array
    ours = target.is_file() and not target.is_symlink() and ARRAY_SCRIPT_MARK in target.read_text(errors="replace")
    if (target.exists() or target.is_symlink()) and not ours:
        raise OutputError(f"--emit-slurm-array {target}: exists and is not a job script of this tool; "
                          "nothing was changed: choose a new file name")
    (folder.root / "slurm").mkdir(parents=True, exist_ok=True)
    args.emit_slurm_array.write_text(array_script(args.sweep.resolve(), folder.root, indices, slurm_options(args),
                                                  sweep.run.ranks, name=sweep.name))
    print(f"{args.emit_slurm_array}: {len(indices)} array task(s); submit with: sbatch {args.emit_slurm_array}")
    return 0


def report_text(report) -> str:
    aggregate = report.aggregate
    counts = ", ".join(f"{status} {n}" for status, n in sorted(aggregate.counts().items()))
    lines = [f"sweep: {report.total} case(s): {counts} ({report.skipped} skipped as already finished)",
             f"table: {aggregate.csv} and {aggregate.parquet.name}",
             f"plot: {aggregate.plot} ({aggregate.plot_note})" if aggregate.plot else f"plot: none ({aggregate.plot_note})"]
    if aggregate.census is not None:
        fracture = aggregate.census
        drawn = f" and {fracture.plot.name}" if fracture.plot else f" ({fracture.note})"
        lines.append(f"census: {fracture.csv}{drawn}")
        lines.extend(f"  {problem}" for problem in fracture.problems)
    failed = [row for row in aggregate.rows if row["status"] not in ("completed", "cutoff", "pending")]
    for row in failed:
        lines.append(f"  {row['status']}: {report.folder.root / row['case_dir'] / 'error.json'}: {row['message']}")
    return "\n".join(lines)


def command_sweep(args) -> int:
    try:
        with writing(args.out), sigterm_as_interrupt():
            return _command_sweep(args)
    except OutputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except CaseError as exc:
        print(f"error in sweep {args.sweep}: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"\nsweep interrupted: finished cases are kept in {args.out}; run the same command again to resume",
              file=sys.stderr)
        return 130


def _command_sweep(args) -> int:
    from solver.sweep.spec import load_sweep

    sweep = load_sweep(args.sweep)
    if args.dry_run:
        return dry_run(sweep, args)
    if args.emit_slurm_array:
        return emit_slurm_array(sweep, args)
    if args.case is not None:
        from solver.sweep.engine import run_one

        record = run_one(sweep, args.out, args.case, args.retry_failed)
        print(f"case {args.case}: " + ("already finished" if record is None else
                                       f"{record['status']} (exit {record['return_code']})"
                                       + (f": {record['message']}" if record["status"] == "pending" else "")))
        return 0 if record is None or record["status"] in ("completed", "cutoff") else 3
    if args.aggregate_only:
        from solver.sweep.aggregate import aggregate
        from solver.sweep.engine import SweepReport
        from solver.sweep.store import SweepFolder

        folder = SweepFolder(args.out)
        folder.claim(create=False)
        report = SweepReport(folder, len(sweep.cases), len(sweep.cases))
        report.aggregate = aggregate(sweep, folder, args.metric, args.x, plot=not args.no_plot)
    else:
        from solver.sweep.engine import run_sweep

        report = run_sweep(sweep, args.out, workers=args.workers, cluster=args.cluster,
                           slurm=slurm_options(args), retry_failed=args.retry_failed,
                           progress=not args.no_progress, metric=args.metric, x=args.x,
                           plot=not args.no_plot)
    print(report_text(report))
    return report.exit_code
