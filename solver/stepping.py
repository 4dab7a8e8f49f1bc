"""Time stepping: fixed or adaptive steps, the surface-limit cut-off, failure handling, progress.

Adaptive steps control a local-error estimate: the difference between the implicit solution and
an explicit linear extrapolation of the last two states (a Milne-type estimate), scaled to the
backward-Euler truncation error and normalised by c_max. It is first-order accurate for both
schemes, hence conservative for BDF2.
"""
from __future__ import annotations

import time as wallclock
from dataclasses import dataclass, field

import numpy as np
from mpi4py import MPI

from solver.errors import SolveError
from solver.logs import LOGGER

_GROWTH_LIMITS = (0.3, 2.0)
_SAFETY = 0.9
_FIRST_STEP_SHRINK_LIMIT = 0.02


@dataclass
class LoopOutcome:
    status: str = "completed"         # completed | cutoff | failed
    message: str = ""
    time_s: float = 0.0
    steps: int = 0
    rejected_steps: int = 0
    timings_s: dict = field(default_factory=lambda: {"transport_and_mechanics": 0.0, "observers": 0.0})


class Progress:
    """One line every few percent of the simulated time (rank 0, the `solver` logger)."""

    def __init__(self, comm, enabled: bool, t_end_s: float, every_fraction: float = 0.05):
        self.enabled = enabled and comm.rank == 0
        self.t_end = t_end_s
        self.every = every_fraction
        self.next_mark = every_fraction
        self.start = wallclock.perf_counter()

    def __call__(self, step: int, t: float, note: str = "") -> None:
        fraction = t / self.t_end
        if not self.enabled or (fraction < self.next_mark and fraction < 1.0):
            return
        while self.next_mark <= fraction:
            self.next_mark += self.every
        elapsed = wallclock.perf_counter() - self.start
        LOGGER.info(f"  [{100 * fraction:5.1f}%] step {step:5d}  t = {t:10.4g} s  {note}  ({elapsed:.1f} s)")


def _surface_limit_crossed(problem) -> str | None:
    # the Li content, not the transported field: in a Li-deficient shell (solver/shell.py) they differ by the deficit
    low, high = problem.li_content_range()
    if low < 0.0:
        return f"Li fraction would fall below 0 (min c = {low:.4g} mol/m^3)"
    if high > problem.c_max:
        return f"Li fraction would exceed 1 (max c = {high:.4g} mol/m^3 > c_max = {problem.c_max:.4g})"
    return None


def _local_error(problem, dt: float, previous_dt: float | None) -> float:
    c = problem.c.x.array
    old = problem.c_old.x.array
    if previous_dt is None:
        estimate = 0.5 * np.abs(c - old)
    else:
        predicted = old + (dt / previous_dt) * (old - problem.c_older.x.array)
        estimate = dt / (2 * dt + previous_dt) * np.abs(c - predicted)
    local = float(estimate.max()) if estimate.size else 0.0
    return problem.comm.allreduce(local, op=MPI.MAX) / problem.c_max


def _step_factor(error: float, tolerance: float, first_step: bool) -> float:
    """Next dt / this dt. The estimate is ~dt^2 after the first step; on the first step it is half the change
    of c, which grows like sqrt(dt) when a flux or a surface concentration is switched on at t = 0 (every
    case here): shrinking by (tolerance / error)^2, down to 1/50, finds an acceptable first step in one retry.
    With the dt^2 rule there, 3-10 first steps were rejected, a full solve each (galvanostatic sphere,
    tolerances 3e-3..1e-4, benchmarks/adaptive_steps.py); now 1-2, with the same accepted steps."""
    ratio = tolerance / max(error, 1e-300)
    if first_step:
        return min(_GROWTH_LIMITS[1], max(_FIRST_STEP_SHRINK_LIMIT, _SAFETY * ratio**2))
    return min(_GROWTH_LIMITS[1], max(_GROWTH_LIMITS[0], _SAFETY * np.sqrt(ratio)))


def run_time_loop(problem, t_end_s: float, time_options: dict, observe, progress: Progress,
                  stop_at_surface_limit: bool = True) -> LoopOutcome:
    """Advance from t = 0 to t_end_s; `observe(step, t, dt, report)` is called after every accepted step.

    A failed solve (SolveError) ends the loop with status "failed" and the message; what was
    observed before stays. Crossing c = 0 or c = c_max ends it with status "cutoff", keeping the
    last physical state (the step that crossed is rejected). `problem` is the 3D problem or a reduced model:
    advance / accept_step / reject_step, the arrays c, c_old, c_older, li_content_range(), comm and c_max.
    """
    outcome = LoopOutcome()
    scheme = time_options["scheme"]
    adaptive = time_options["adaptive"]
    dt = t_end_s / time_options["steps"]
    dt_min = time_options["dt_min_s"] or t_end_s * 1e-9
    dt_max = time_options["dt_max_s"] or t_end_s
    if adaptive:
        dt = min(dt, dt_max) * 0.1
    previous_dt = None
    t = 0.0
    while t < t_end_s * (1 - 1e-12):
        dt = min(dt, t_end_s - t)
        start = wallclock.perf_counter()
        try:
            report = problem.advance(dt, previous_dt, scheme)
        except SolveError as exc:
            problem.reject_step()
            outcome.status, outcome.message = "failed", f"at t = {t:.6g} s, step of {dt:.3g} s: {exc}"
            break
        outcome.timings_s["transport_and_mechanics"] += wallclock.perf_counter() - start
        if adaptive:
            error = _local_error(problem, dt, previous_dt)
            tolerance = time_options["tolerance"]
            factor = _step_factor(error, tolerance, first_step=previous_dt is None)
            if error > tolerance and dt > dt_min:
                problem.reject_step()
                outcome.rejected_steps += 1
                dt = max(dt * factor, dt_min)
                continue
        if stop_at_surface_limit:
            crossed = _surface_limit_crossed(problem)
            if crossed:
                problem.reject_step()
                outcome.status = "cutoff"
                outcome.message = (f"stopped at t = {t:.6g} s: {crossed} in the next step; the particle cannot "
                                   "sustain this rate over the whole window (a voltage cut-off in a cell)")
                break
        problem.accept_step()
        t += dt
        outcome.steps += 1
        start = wallclock.perf_counter()
        note = observe(outcome.steps, t, dt, report)
        outcome.timings_s["observers"] += wallclock.perf_counter() - start
        progress(outcome.steps, t, note or "")
        previous_dt = dt
        if adaptive:
            dt = min(max(dt * factor, dt_min), dt_max)
    outcome.time_s = t
    return outcome
