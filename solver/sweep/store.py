"""The sweep folder: one atomic folder per case, records of failures, and the state of every case.

    DIR/sweep.json                  the expanded sweep (cases with ids and inputs), rewritten per run
    DIR/cases/<id>/                 what `python -m solver run` wrote (summary.json, timeseries.csv, ...)
    DIR/cases/<id>/run.json         how it ran: command, return code, wall time, worker
    DIR/cases/<id>/error.json       instead of run.json when it failed: status, return code, message,
                                    stderr tail (a failed solve also has the solver's summary.json)
    DIR/.jit/<worker>/              each worker's own dolfinx JIT cache (see solver/sweep/jitcache.py)
    DIR/results.csv, .parquet, .png the aggregated table and plot (solver/sweep/aggregate.py)

A case folder appears in one rename (the solver's staging folder, or ours for an error record), so it is
complete or absent. A case is finished when its folder holds summary.json or error.json; a rerun skips
finished cases (failed ones too, unless asked to retry them). Nothing here imports dolfinx.
"""
from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path

from solver.errors import CaseError

GOOD_STATUSES = ("completed", "cutoff")  # summary.json statuses of a run that reached a result


def write_json_atomic(path: Path, data) -> None:
    """Write JSON next to `path` under a private name, then rename it into place."""
    path = Path(path)
    scratch = path.with_name(f".{path.name}.{os.getpid()}-{uuid.uuid4().hex[:6]}")
    try:
        scratch.write_text(json.dumps(data, indent=2, default=str) + "\n")
        os.replace(scratch, path)
    finally:
        scratch.unlink(missing_ok=True)


def read_json(path: Path) -> dict | None:
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return None


@dataclass(frozen=True)
class CaseState:
    """What the folder of one case says: status, and the records found there."""

    status: str                     # pending | completed | cutoff | failed | invalid | crashed | timeout | lost
    summary: dict | None = None
    error: dict | None = None
    run: dict | None = None

    @property
    def finished(self) -> bool:
        return self.status != "pending"

    @property
    def good(self) -> bool:
        return self.status in GOOD_STATUSES


class SweepFolder:
    def __init__(self, root: str | Path):
        self.root = Path(root).resolve()
        self.cases_dir = self.root / "cases"
        self.jit_root = self.root / ".jit"

    def case_dir(self, case_id: str) -> Path:
        return self.cases_dir / case_id

    def state(self, case_id: str) -> CaseState:
        folder = self.case_dir(case_id)
        summary = read_json(folder / "summary.json")
        error = read_json(folder / "error.json")
        run = read_json(folder / "run.json")
        if summary is not None:
            return CaseState(str(summary.get("status", "completed")), summary, error, run)
        if error is not None:
            return CaseState(str(error.get("status", "crashed")), None, error, run)
        return CaseState("pending")

    def needs_run(self, case_id: str, retry_failed: bool = False) -> bool:
        state = self.state(case_id)
        return not state.finished or (retry_failed and not state.good)

    @contextlib.contextmanager
    def lock(self):
        """Hold DIR/.lock for the life of a sweep run, so two runs never share a folder."""
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / ".lock", "a+") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.seek(0)
                raise CaseError(f"--out {self.root}: another sweep is running in this folder "
                                f"(pid {handle.read().strip() or '?'}); wait for it or choose another folder") from None
            except OSError:  # a file system without locks: run unguarded
                pass
            handle.seek(0)
            handle.truncate()
            handle.write(str(os.getpid()))
            handle.flush()
            yield

    def clean_staging(self, case_id: str | None = None) -> int:
        """Remove staging leftovers (`.<id>.partial-*`, `.<id>.old-*`) of killed runs; returns how many.

        Only call this while no process writes the case(s): under `lock()`, before any is launched, or
        for one case from the task that is about to launch it.
        """
        if not self.cases_dir.is_dir():
            return 0
        stem = case_id or "*"
        leftovers = [*self.cases_dir.glob(f".{stem}.partial-*"), *self.cases_dir.glob(f".{stem}.old-*")]
        for path in leftovers:
            shutil.rmtree(path, ignore_errors=True)
        return len(leftovers)

    def record(self, case_id: str, name: str, data: dict) -> Path:
        """Write run.json or error.json into the case folder; a missing folder appears in one rename."""
        folder = self.case_dir(case_id)
        if not folder.is_dir():
            staging = self.cases_dir / f".{case_id}.partial-rec{uuid.uuid4().hex[:8]}"
            staging.mkdir(parents=True)
            write_json_atomic(staging / name, data)
            try:
                os.rename(staging, folder)
                return folder / name
            except OSError:  # the folder appeared meanwhile: write into it
                shutil.rmtree(staging, ignore_errors=True)
        write_json_atomic(folder / name, data)
        return folder / name
