"""The sweep driver: expand, skip what is finished, run the rest on Dask, aggregate.

The driver only launches and collects: each case runs as `python -m solver run` in a process of its
own started by a Dask task (solver/sweep/task.py), so this process never imports dolfinx and may
write Parquet and draw the plot itself. Cluster: a distributed.LocalCluster (processes, one thread
per worker) by default, or a dask_jobqueue.SLURMCluster (solver/sweep/slurm.py).
"""
from __future__ import annotations

import hashlib
import logging
import os
import shlex
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from solver.errors import CaseError
from solver.sweep.jitcache import default_cache_dir, remove_seed_leftovers
from solver.sweep.progress import ProgressBar
from solver.sweep.spec import Sweep, SweepCase, canonical_json
from solver.outputs import write_json_atomic
from solver.sweep.store import GOOD_STATUSES, SweepFolder, read_json
from solver.sweep.task import CaseTask, note_unrecorded, run_case_task, solver_command

CLUSTERS = ("local", "slurm")
STOPPED_CASE_GRACE_S = 1.0


@dataclass
class SweepReport:
    folder: SweepFolder
    total: int
    skipped: int
    records: list[dict] = field(default_factory=list)  # the cases run this time
    aggregate: object = None                           # solver.sweep.aggregate.Aggregate
    warnings: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        """0 when every case has a result, 3 when some failed (their records say why)."""
        statuses = [row["status"] for row in self.aggregate.rows] if self.aggregate else \
            [r["status"] for r in self.records]
        return 0 if all(s in GOOD_STATUSES for s in statuses) else 3


def base_fingerprint(sweep: Sweep) -> str:
    from solver.case import read_case_file

    return hashlib.sha256(canonical_json(read_case_file(sweep.base)).encode()).hexdigest()[:16]


def write_manifest(folder: SweepFolder, sweep: Sweep) -> list[str]:
    """DIR/sweep.json (the expanded cases); warns when the base case changed since the folder was started."""
    fingerprint = base_fingerprint(sweep)
    previous = read_json(folder.root / "sweep.json")
    warnings = []
    if previous and previous.get("base_fingerprint") not in (None, fingerprint):
        warnings.append(f"the base case {sweep.base} changed since {folder.root} was started: finished cases "
                        "were computed with the old one (use a new --out folder to redo them all)")
    folder.cases_dir.mkdir(parents=True, exist_ok=True)
    write_json_atomic(folder.root / "sweep.json", {
        "name": sweep.name, "description": sweep.description, "base": str(sweep.base),
        "base_fingerprint": fingerprint, "fixed": sweep.fixed, "swept_keys": list(sweep.swept_keys),
        "seed_key": sweep.seed_key,
        "run": asdict(sweep.run), "plot": asdict(sweep.plot), "source": sweep.source,
        "cases": [{"index": c.index, "case_id": c.case_id, "inputs": c.inputs} for c in sweep.cases],
    })
    return warnings


def invalid_cases(sweep: Sweep, cases: list[SweepCase]) -> dict[str, str]:
    """Validate cases here, without dolfinx: {case id: CaseError message} for the invalid ones."""
    from solver.case import load_case

    problems = {}
    for case in cases:
        try:
            load_case(sweep.base, case.override_strings())
        except CaseError as exc:
            problems[case.case_id] = str(exc)
    return problems


def make_task(sweep: Sweep, folder: SweepFolder, case: SweepCase) -> CaseTask:
    seed = default_cache_dir()
    command = solver_command(sweep.base, folder.case_dir(case.case_id), case.set_arguments(), sweep.run.ranks,
                             sweep.run.launcher, sweep.run.pictures)
    return CaseTask(case_id=case.case_id, index=case.index, command=tuple(command), sweep_dir=str(folder.root),
                    timeout_s=sweep.run.timeout_s, jit_seed=str(seed) if seed.is_dir() else None)


def default_workers(ranks: int, pending: int) -> int:
    return max(1, min(pending, (os.cpu_count() or 1) // ranks))


def make_cluster(kind: str, workers: int, ranks: int, slurm=None, folder: SweepFolder | None = None):
    if kind == "local":
        from distributed import LocalCluster

        # TLS with temporary credentials: the scheduler listens on loopback, and without it any local
        # user could connect and run code as us
        return LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None,
                            silence_logs=logging.ERROR, security=True)
    if kind == "slurm":
        from solver.sweep.slurm import SlurmOptions, slurm_cluster

        slurm = slurm or SlurmOptions()
        cluster = slurm_cluster(slurm, ranks, folder.root / "slurm" if folder else None)
        cluster.scale(jobs=slurm.jobs)
        return cluster
    raise CaseError(f"--cluster {kind!r}: must be one of {', '.join(CLUSTERS)}")


def _lost(folder: SweepFolder, task: CaseTask, exc: BaseException) -> dict:
    """A task that raised instead of returning a record (e.g. its worker died repeatedly)."""
    record = {"case_id": task.case_id, "index": task.index, "status": "lost", "return_code": None,
              "message": f"{type(exc).__name__}: {exc}", "wall_s": 0.0, "worker": None,
              "command": shlex.join(task.command)}
    return note_unrecorded(folder, record, folder.record(task.case_id, "error.json", record))


def execute(tasks: list[CaseTask], cluster, folder: SweepFolder, bar: ProgressBar) -> list[dict]:
    from distributed import Client, as_completed

    records = []
    with Client(cluster) as client:
        futures = [client.submit(run_case_task, task, key=f"case-{task.case_id}", pure=False) for task in tasks]
        by_key = {future.key: task for future, task in zip(futures, tasks)}
        for future in as_completed(futures):
            task = by_key[future.key]
            try:
                record = future.result()
            except Exception as exc:  # noqa: BLE001 - recorded for the case, the others go on
                record = _lost(folder, task, exc)
            records.append(record)
            bar.update(record)
    return records


def run_sweep(sweep: Sweep, out: str | Path, *, workers: int | None = None, cluster: str = "local", slurm=None,
              retry_failed: bool = False, progress: bool = True, metric: str | None = None, x: str | None = None,
              plot: bool = True, stream=None) -> SweepReport:
    """Run the unfinished cases of `sweep` into `out`, then write the results table and plot."""
    from solver.sweep.aggregate import aggregate

    stream = stream or sys.stderr
    folder = SweepFolder(out)
    with folder.lock():
        folder.clean_staging()
        remove_seed_leftovers(folder.jit_root)
        warnings = write_manifest(folder, sweep)
        for warning in warnings:
            print(f"warning: {warning}", file=stream)
        pending = [c for c in sweep.cases if folder.needs_run(c.case_id, retry_failed)]
        problems = invalid_cases(sweep, pending)
        if pending and len(problems) == len(pending):
            raise CaseError(f"every case to run is invalid; the first: {problems[pending[0].case_id]}")
        report = SweepReport(folder, len(sweep.cases), len(sweep.cases) - len(pending), warnings=warnings)
        bar = ProgressBar(len(sweep.cases), report.skipped, stream=stream, enabled=progress)
        if pending:
            bar.start()
            tasks = [make_task(sweep, folder, case) for case in pending]
            workers = workers or default_workers(sweep.run.ranks, len(pending))
            try:
                with make_cluster(cluster, workers, sweep.run.ranks, slurm, folder) as dask_cluster:
                    report.records = execute(tasks, dask_cluster, folder, bar)
            except KeyboardInterrupt:
                # the workers are gone and their cases got SIGTERM (task.py); their staging folders
                # are not results: remove them (a rerun would do it too)
                time.sleep(STOPPED_CASE_GRACE_S)
                folder.clean_staging()
                raise
            finally:
                bar.close()
        report.aggregate = aggregate(sweep, folder, metric, x, plot=plot)
    return report


def run_one(sweep: Sweep, out: str | Path, key: str, retry_failed: bool = False) -> dict | None:
    """Run one case here, without Dask (a Slurm array task); None when it is already finished."""
    import tempfile

    folder = SweepFolder(out)
    case = sweep.case(key)
    folder.claim()
    if not folder.needs_run(case.case_id, retry_failed):
        return None
    folder.cases_dir.mkdir(parents=True, exist_ok=True)
    task = make_task(sweep, folder, case)
    # array tasks may share a node: a private JIT cache in node-local scratch, seeded like a worker's
    with tempfile.TemporaryDirectory(prefix="particle-sweep-jit-") as scratch:
        return run_case_task(task, worker="array-task", jit_root=Path(scratch))
