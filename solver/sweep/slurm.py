"""The Slurm paths of a sweep: a dask-jobqueue SLURMCluster, or an sbatch job array (one case per task).

SLURMCluster: each Slurm job books `cores` CPUs and runs cores // ranks Dask workers of one thread each;
a worker runs one case at a time (under `mpirun -n ranks` when ranks > 1), so a job never
oversubscribes its CPUs. dask-jobqueue does not launch MPI itself; the case task does.

Job array: `--emit-slurm-array FILE` writes an sbatch script whose tasks each run
`python -m solver sweep SWEEP --out DIR --case $SLURM_ARRAY_TASK_ID` (same records, same skipping);
afterwards `python -m solver sweep SWEEP --out DIR --aggregate-only` writes the table.
"""
from __future__ import annotations

import math
import re
import shlex
import sys
from dataclasses import dataclass, field
from pathlib import Path

from solver.errors import CaseError

# a Slurm job name: what sbatch, squeue and file names take without quoting
ARRAY_SCRIPT_MARK = "# written by particle-solver (sweep --emit-slurm-array); it may rewrite this file"
JOB_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.+-]{0,127}")


@dataclass
class SlurmOptions:
    queue: str | None = None        # partition
    account: str | None = None
    cores: int = 1                  # CPUs per Slurm job
    memory: str = "4GB"             # memory per Slurm job
    walltime: str = "01:00:00"
    job_extra: list[str] = field(default_factory=list)   # more #SBATCH directives, e.g. "--qos=long"
    prologue: list[str] = field(default_factory=list)    # shell lines before the worker, e.g. "module load openmpi"
    jobs: int = 1                   # Slurm jobs to start (SLURMCluster)
    max_parallel: int | None = None  # array tasks running at once (job array)


def one_line(what: str, value) -> str:
    """A value written into a job script: one line of printable text, or CaseError (no injected lines)."""
    text = str(value)
    if not text.isprintable():
        raise CaseError(f"{what} = {text!r}: must be one line of printable characters (it goes into a job script)")
    return text


def check_job_name(name: str) -> str:
    if not JOB_NAME.fullmatch(str(name)):
        raise CaseError(f"name = {name!r}: a sweep name must be letters, digits and _ . + - (at most 128, "
                        "starting with a letter or digit): it becomes the Slurm job name")
    return name


def check_options(options: SlurmOptions) -> SlurmOptions:
    """Every option that goes into a job script is one line; extra directives are options (start with -)."""
    for what in ("queue", "account", "memory", "walltime"):
        if getattr(options, what) is not None:
            one_line(f"--{what}", getattr(options, what))
    for directive in options.job_extra:
        if not one_line("--job-extra", directive).startswith("-"):
            raise CaseError(f"--job-extra {directive!r}: must be an sbatch option such as --qos=long")
    for line in options.prologue:
        one_line("--prologue", line)
    return options


def workers_per_job(options: SlurmOptions, ranks: int) -> int:
    return max(1, options.cores // ranks)


def slurm_cluster(options: SlurmOptions, ranks: int, log_directory: Path | None = None, python: str = sys.executable):
    """A dask_jobqueue.SLURMCluster sized so that each worker owns `ranks` CPUs (nothing submitted yet)."""
    from dask_jobqueue import SLURMCluster

    check_options(options)
    workers = workers_per_job(options, ranks)
    return SLURMCluster(
        job_name="particle-sweep", queue=options.queue, account=options.account,
        cores=workers, processes=workers, job_cpu=options.cores, memory=options.memory,
        walltime=options.walltime, job_extra_directives=list(options.job_extra),
        job_script_prologue=list(options.prologue), python=python,
        log_directory=str(log_directory) if log_directory else None,
        scheduler_options={"dashboard_address": None},
    )


def index_ranges(indices: list[int]) -> str:
    """[0, 1, 2, 5, 7, 8] -> "0-2,5,7-8" (Slurm --array syntax)."""
    parts, run = [], []
    for i in sorted(indices):
        if run and i != run[-1] + 1:
            parts.append(f"{run[0]}-{run[-1]}" if len(run) > 1 else str(run[0]))
            run = []
        run.append(i)
    if run:
        parts.append(f"{run[0]}-{run[-1]}" if len(run) > 1 else str(run[0]))
    return ",".join(parts)


def slurm_memory(text: str) -> str:
    """"4GB" / "3.5GiB" / "4000M" -> megabytes as sbatch wants them ("3815M")."""
    from dask.utils import parse_bytes

    return f"{math.ceil(parse_bytes(text) / 2**20)}M"


def array_script(sweep_file: Path, out_dir: Path, indices: list[int], options: SlurmOptions, ranks: int,
                 name: str = "particle-sweep", python: str = sys.executable, workdir: Path | None = None) -> str:
    """An sbatch script running the given case indices of the sweep, one array task per case.

    The caller creates out_dir/slurm (Slurm opens the --output files before the script runs).
    """
    check_job_name(name)
    check_options(options)
    quote = shlex.quote
    array = index_ranges(indices) + (f"%{int(options.max_parallel)}" if options.max_parallel else "")
    directives = [f"--job-name={name}", f"--array={array}", f"--ntasks={int(ranks)}", "--cpus-per-task=1",
                  f"--mem={slurm_memory(options.memory)}", f"--time={quote(options.walltime)}",
                  f"--output={quote(one_line('--out', out_dir / 'slurm' / '%A_%a.log'))}"]
    if options.queue:
        directives.append(f"--partition={quote(options.queue)}")
    if options.account:
        directives.append(f"--account={quote(options.account)}")
    directives += list(options.job_extra)
    paths = [one_line("python", python), one_line("sweep file", sweep_file), one_line("--out", out_dir)]
    run_case = shlex.join([paths[0], "-m", "solver", "sweep", paths[1], "--out", paths[2], "--case"])
    aggregate = shlex.join([paths[0], "-m", "solver", "sweep", paths[1], "--out", paths[2], "--aggregate-only"])
    lines = ["#!/usr/bin/env bash", *(f"#SBATCH {d}" for d in directives),
             f"# {len(indices)} case(s) of sweep {name}, one per array task; finished cases are skipped.",
             ARRAY_SCRIPT_MARK,
             "# When all tasks are done (or as a dependent job: sbatch --dependency=afterany:JOBID):",
             f"#   {aggregate}",
             "set -euo pipefail", *options.prologue,
             f"cd {quote(one_line('working folder', workdir or Path.cwd()))}",
             f'exec {run_case} "$SLURM_ARRAY_TASK_ID"', ""]
    return "\n".join(lines)
