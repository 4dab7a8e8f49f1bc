"""One sweep case as a task: launch `python -m solver run` in its own process and record how it ended.

Runs inside a Dask worker (or directly, for a Slurm array task). The case runs in a child process (or
under `mpirun -n K`), so dolfinx/PETSc state never outlives a case and a crash cannot take the worker
down. The child gets its own session (a Ctrl-C in the terminal is the driver's business) and is told
by the kernel to terminate when the worker dies (PR_SET_PDEATHSIG), so killing a sweep leaves no case
running. This module must stay light: it never imports dolfinx.
"""
from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from solver.launcher import mpi_launcher

from solver.sweep.jitcache import prepare_worker_cache
from solver.outputs import LockBusy, adopt
from solver.sweep.store import GOOD_STATUSES, SweepFolder, read_json

STDERR_TAIL_LINES = 40
KILL_GRACE_S = 10.0
EXIT_CASE_ERROR = 2   # solver CLI: invalid case (CaseError)
EXIT_SOLVE_FAILED = 3  # solver CLI: the solve failed (summary.json status "failed")


@dataclass(frozen=True)
class CaseTask:
    """Plain data shipped to a worker: which case, the command, where, and limits."""

    case_id: str
    index: int
    command: tuple[str, ...]
    sweep_dir: str
    timeout_s: float | None = None
    jit_seed: str | None = None


def solver_command(base: Path, case_dir: Path, set_arguments: list[str], ranks: int = 1,
                   launcher: str = "mpirun -n {ranks}", pictures: bool = False,
                   python: str = sys.executable) -> list[str]:
    command = [python, "-m", "solver", "run", str(base), "--out", str(case_dir), *set_arguments]
    if not pictures:
        command.append("--no-pictures")
    if ranks > 1:
        command = shlex.split(launcher.format(ranks=ranks)) + command
    return command


def matching_launcher(command: list[str]) -> list[str]:
    """A bare `mpirun`/`mpiexec` means "the MPI launcher": at launch time (on the machine that runs the case) it
    becomes the one that matches this python's MPI (the PyPI dolfinx wheel's MPICH beside the venv's python;
    Debian's OpenMPI otherwise), since the other one would start singleton jobs."""
    if command and command[0] in ("mpirun", "mpiexec") and mpi_launcher() is not None:
        return [mpi_launcher(), *command[1:]]
    return list(command)


def _die_with_parent():
    """preexec hook: the kernel sends SIGTERM to the child when the launching thread's process dies."""
    try:
        import ctypes

        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):  # not Linux: the worker's own shutdown has to do
        return None
    parent = os.getpid()

    def hook():
        prctl(1, signal.SIGTERM)  # 1 = PR_SET_PDEATHSIG
        if os.getppid() != parent:  # the parent died before the call above
            os._exit(1)
    return hook


def _stop(process: subprocess.Popen) -> None:
    """Terminate the case's whole process group (mpirun and its ranks too), then kill what stays."""
    for sig, wait_s in ((signal.SIGTERM, KILL_GRACE_S), (signal.SIGKILL, None)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(wait_s)
            return
        except subprocess.TimeoutExpired:
            continue


def launch(command, env: dict, timeout_s: float | None) -> tuple[int | None, str, str]:
    """Run the command; returns (return code or None on timeout, stdout, stderr)."""
    process = subprocess.Popen(matching_launcher(command), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                               start_new_session=True, preexec_fn=_die_with_parent())
    try:
        out, err = process.communicate(timeout=timeout_s)
        return process.returncode, out, err
    except subprocess.TimeoutExpired:
        _stop(process)
        out, err = process.communicate()
        return None, out, err
    except BaseException:
        _stop(process)
        raise


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else ""


def classify(return_code: int | None, summary: dict | None, stderr: str, timeout_s: float | None) -> tuple[str, str]:
    """(status, message) of a finished child process."""
    if return_code is None:
        return "timeout", f"stopped after the time limit of {timeout_s:g} s (run.timeout_s)"
    if return_code == 0 and summary is not None:
        return str(summary.get("status", "completed")), str(summary.get("message", ""))
    if return_code == EXIT_SOLVE_FAILED:
        return "failed", str((summary or {}).get("message") or _last_line(stderr))
    if return_code == EXIT_CASE_ERROR:
        return "invalid", _last_line(stderr)
    if return_code < 0:
        return "crashed", f"killed by signal {-return_code} ({signal.Signals(-return_code).name})" \
            if -return_code in signal.valid_signals() else f"killed by signal {-return_code}"
    return "crashed", _last_line(stderr) or f"exit code {return_code} without a summary"


def current_worker_name() -> str:
    try:
        from distributed import get_worker

        return str(get_worker().name)
    except (ImportError, ValueError):
        return f"pid{os.getpid()}"


def run_case_task(task: CaseTask, worker: str | None = None, jit_root: Path | None = None) -> dict:
    """Run one case to its end and leave its record in DIR/cases/<id>; returns the record.

    The case's JIT cache is jit_root/<worker> (default DIR/.jit/<worker>). A case that another process is
    running (its lock is held, e.g. the same Slurm array task twice) is left alone: status "pending".
    """
    folder = SweepFolder(task.sweep_dir)
    worker = worker if worker is not None else current_worker_name()
    try:
        with folder.case_lock(task.case_id):
            return _run_locked(task, folder, worker, jit_root)
    except LockBusy as exc:
        return {"case_id": task.case_id, "index": task.index, "status": "pending", "return_code": None,
                "message": f"not run here: {exc}", "wall_s": 0.0, "worker": worker, "command": shlex.join(task.command)}


def _run_locked(task: CaseTask, folder: SweepFolder, worker: str, jit_root: Path | None) -> dict:
    folder.clean_staging(task.case_id)
    adopt(folder.case_dir(task.case_id), "run")  # a case folder of a sweep folder from before markers
    jit_home = prepare_worker_cache(jit_root or folder.jit_root, worker, Path(task.jit_seed) if task.jit_seed else None)
    env = dict(os.environ, XDG_CACHE_HOME=str(jit_home))
    started = time.time()
    return_code, _, stderr = launch(task.command, env, task.timeout_s)
    summary = read_json(folder.case_dir(task.case_id) / "summary.json")
    status, message = classify(return_code, summary, stderr, task.timeout_s)
    record = {
        "case_id": task.case_id, "index": task.index, "status": status, "return_code": return_code,
        "message": message, "wall_s": round(time.time() - started, 3), "worker": worker,
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(started)),
        "command": shlex.join(task.command),
    }
    if status in GOOD_STATUSES and return_code == 0:
        name = "run.json"
    else:
        name = "error.json"
        record["stderr_tail"] = "\n".join(stderr.splitlines()[-STDERR_TAIL_LINES:])
    return note_unrecorded(folder, record, folder.record(task.case_id, name, record))


def note_unrecorded(folder: SweepFolder, record: dict, written: Path | None) -> dict:
    """Say in the returned record when it could not be written (the case then runs again next time)."""
    if written is None:
        record["message"] = (f"{record['message']} [record not written: cannot write in {folder.cases_dir} "
                             "(disk full or read-only?); the case will run again]")
    return record
