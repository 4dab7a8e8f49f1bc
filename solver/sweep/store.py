"""The sweep folder: one atomic folder per case, records of failures, and the state of every case.

    DIR/sweep.json                  the expanded sweep (cases with ids and inputs), rewritten per run
    DIR/cases/<id>/                 what `python -m solver run` wrote (summary.json, timeseries.csv, ...)
    DIR/cases/<id>/run.json         how it ran: command, return code, wall time, worker
    DIR/cases/<id>/error.json       instead of run.json when it failed: status, return code, message,
                                    stderr tail (a failed solve also has the solver's summary.json)
    DIR/.jit/<worker>/              each worker's own dolfinx JIT cache (see solver/sweep/jitcache.py)
    DIR/results.csv, .parquet, .png the aggregated table and plot (solver/sweep/aggregate.py)

A case folder appears in one rename (the solver's staging folder, or ours for an error record), so it is
complete or absent. The sweep folder carries the marker of solver/outputs.py: a folder of other files is
refused. A running case holds `cases/.<id>.lock`, so two processes never run (or clean up) one case. A case is finished when its folder holds summary.json or error.json; a rerun skips
finished cases (failed ones too, unless asked to retry them). Nothing here imports dolfinx.
"""
from __future__ import annotations

import contextlib
import json
import os
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path

from solver import outputs
from solver.errors import OutputError
from solver.outputs import LockBusy, write_json_atomic

GOOD_STATUSES = ("completed", "cutoff")  # summary.json statuses of a run that reached a result


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

    def claim(self, create: bool = True) -> None:
        """Check that --out may be a sweep folder (new, empty, or one of ours) and mark it (OutputError)."""
        if create:
            outputs.prepare_output_folder(self.root, "sweep", legacy=_legacy_sweep_folder)
        else:
            outputs.check_output_folder(self.root, "sweep", legacy=_legacy_sweep_folder)
            if not self.root.is_dir():
                raise OutputError(f"--out {self.root}: no sweep folder there (run the sweep first)")

    @contextlib.contextmanager
    def lock(self):
        """Hold DIR/.lock for the life of a sweep run, so two runs never share a folder."""
        self.claim()
        with outputs.held_lock(self.root / ".lock", f"--out {self.root}: another sweep is running in this folder; wait for it or choose another folder"):
            yield

    def case_lock_path(self, case_id: str) -> Path:
        return self.cases_dir / f".{case_id}.lock"

    @contextlib.contextmanager
    def case_lock(self, case_id: str):
        """Held while one process runs a case (LockBusy if another does)."""
        self.cases_dir.mkdir(parents=True, exist_ok=True)
        with outputs.held_lock(self.case_lock_path(case_id), f"case {case_id} is being run by another process"):
            yield

    def clean_staging(self, case_id: str | None = None) -> int:
        """Remove staging leftovers (`.<id>.partial-*`, `.<id>.old-*`) of killed runs; returns how many.

        For one case, call it while holding its case_lock(); without a case id, the leftovers of cases
        that another process is running (their lock is held) are left alone.
        """
        if not self.cases_dir.is_dir():
            return 0
        if case_id is None:  # lock files of killed runs (taking one over and releasing it removes it)
            for path in self.cases_dir.glob(".*.lock"):
                with contextlib.suppress(LockBusy, OutputError):
                    with self.case_lock(path.name[1:-len(".lock")]):
                        pass
        stem = case_id or "*"
        leftovers = [*self.cases_dir.glob(f".{stem}.partial-*"), *self.cases_dir.glob(f".{stem}.old-*")]
        removed = 0
        for path in leftovers:
            owner = path.name[1:].split(".", 1)[0]
            if case_id is None:
                try:
                    with self.case_lock(owner):
                        shutil.rmtree(path, ignore_errors=True)
                except LockBusy:
                    continue
            else:
                shutil.rmtree(path, ignore_errors=True)
            removed += 1
        return removed

    def record(self, case_id: str, name: str, data: dict) -> Path | None:
        """Write run.json or error.json into the case folder; a missing folder appears in one rename.

        A write that fails (disk full, read-only) leaves nothing behind and returns None: the case then
        stays unfinished, so a rerun runs it again.
        """
        folder = self.case_dir(case_id)
        try:
            if not folder.is_dir():
                staging = self.cases_dir / f".{case_id}.partial-rec{uuid.uuid4().hex[:8]}"
                try:
                    outputs.make_staging(staging, "run")
                    write_json_atomic(staging / name, data)
                    os.rename(staging, folder)
                    return folder / name
                except OSError:
                    if folder.is_dir():  # the folder appeared meanwhile: write into it
                        pass
                    else:
                        raise
                finally:
                    shutil.rmtree(staging, ignore_errors=True)
            write_json_atomic(folder / name, data)
            return folder / name
        except (OSError, OutputError):
            return None


def _legacy_sweep_folder(folder: Path) -> bool:
    """A sweep folder written before folders carried markers: its sweep.json lists the cases."""
    manifest = read_json(folder / "sweep.json")
    return isinstance(manifest, dict) and "cases" in manifest and "base_fingerprint" in manifest
