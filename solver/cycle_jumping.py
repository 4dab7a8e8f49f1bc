"""Cycle jumping for the damage field under repeated load (numpy only): extrapolate the damage and the fatigue
history over blocks of cycles instead of solving every cycle.

The scheme (Cojocaru & Karlsson, Int. J. Fatigue 28 (2006) 1677; as used for phase-field fatigue by Loew, Peters &
Beex, Mech. Mater. 142 (2020) 103282; both quoted from memory, the volume and page not re-checked here):

1. solve `fit_cycles` (>= 2) cycles explicitly and keep the field's state at the end of each (`cycle_state()`:
   the damage, the peak driving energy and the cumulated fatigue variable alpha_bar, per node or cell);
2. fit the per-cycle increment of each quantity by least squares over those cycle ends (a straight line: the
   increments change slowly from one cycle to the next once the first cycles' transient is over);
3. jump N cycles: every quantity moves by N times its increment, where N is the largest number of cycles (at most
   `max_jump_cycles`) for which no node's damage rises by more than `max_damage_increment` and no cell's toughness
   falls by more than the fraction `max_toughness_drop` (the field's fatigue function of the extrapolated
   alpha_bar), the two caps that bound the error of the linear extrapolation where the evolution accelerates;
4. go back to 1 from the extrapolated state (its first explicit cycle re-equilibrates d with the new toughness).

A jump never lowers a quantity (they only grow) and keeps d <= 1 (the field's `jump`). What the scheme cannot see:
an event inside a jump (a crack crossing a new region); the caps keep each jump small where anything moves fast.

`run_cycles(field, run_cycle, cycles, jumping)` drives it with any callable that solves one cycle (a cycling
protocol, or a test's load path): the field needs `cycle_state()`, `toughness_fraction(cumulated)`,
`jump(state, cycles)`, `end_cycle(cycle, extrapolated)` and `comm` (solver/fields/damage.py, DamageField).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np


@dataclass(frozen=True)
class CycleJumping:
    """The block size and the caps of one jump (module docstring). The defaults reach the explicit cycles to
    failure of the fatigued bar within 4 % for about a fifth of its cycles (tests/test_fatigue.py); a block of two
    cycles fits best there, as the first cycle after a jump re-equilibrates and biases a longer fit."""

    fit_cycles: int = 2
    max_damage_increment: float = 0.05
    max_toughness_drop: float = 0.2
    max_jump_cycles: int = 1000

    def __post_init__(self):
        if self.fit_cycles < 2:
            raise ValueError(f"fit_cycles = {self.fit_cycles}: a per-cycle increment needs >= 2 cycle ends")
        if not (0 < self.max_damage_increment <= 1 and 0 < self.max_toughness_drop < 1 and self.max_jump_cycles >= 1):
            raise ValueError(f"{self}: needs 0 < max_damage_increment <= 1, 0 < max_toughness_drop < 1, "
                             f"max_jump_cycles >= 1")


def per_cycle_increment(ends: list[np.ndarray]) -> np.ndarray:
    """The least-squares slope of the values at successive cycle ends, per entry, never negative."""
    values = np.asarray(ends, dtype=float)
    cycles = np.arange(len(values), dtype=float)
    centred = cycles - cycles.mean()
    slope = np.tensordot(centred, values - values.mean(axis=0), axes=1) / np.dot(centred, centred)
    return np.maximum(slope, 0.0)


def jump_length(state: dict, increments: dict, toughness_fraction: Callable, jumping: CycleJumping,
                remaining: int) -> int:
    """The largest N <= min(max_jump_cycles, remaining) within both caps (0: not even one cycle)."""
    largest = min(jumping.max_jump_cycles, remaining)
    damage_rate = float(increments["damage"].max(initial=0.0))
    if damage_rate > 0:
        largest = min(largest, int(jumping.max_damage_increment / damage_rate))
    now = toughness_fraction(state["cumulated"])

    def within(n: int) -> bool:
        later = toughness_fraction(state["cumulated"] + n * increments["cumulated"])
        return bool(np.all(later >= (1 - jumping.max_toughness_drop) * now))

    # the toughness only falls as N grows: bisect for the largest N within the cap
    low, high = 0, largest
    while low < high:
        middle = (low + high + 1) // 2
        low, high = (middle, high) if within(middle) else (low, middle - 1)
    return low


@dataclass
class CycleLog:
    """What run_cycles did: the cycles solved explicitly and the jumps (cycle reached, cycles skipped)."""

    explicit_cycles: int = 0
    jumps: list = None
    cycles: int = 0
    stopped_at: int | None = None

    def __post_init__(self):
        self.jumps = [] if self.jumps is None else self.jumps


def run_cycles(field, run_cycle: Callable[[int], None], cycles: int, jumping: CycleJumping | None = None,
               stop: Callable[[], bool] | None = None) -> CycleLog:
    """Cycle `field` up to `cycles` cycles: `run_cycle(k)` solves cycle k (1-based) explicitly; with `jumping`,
    blocks of explicit cycles alternate with jumps. Stops early at the first cycle after which `stop()` holds (a
    failure criterion, or the end a study needs: log.stopped_at; after a jump that is the next explicit cycle's
    end)."""
    log = CycleLog()
    ends = []
    while log.cycles < cycles:
        log.cycles += 1
        run_cycle(log.cycles)
        log.explicit_cycles += 1
        field.end_cycle(log.cycles, extrapolated=False)
        if stop is not None and stop():
            log.stopped_at = log.cycles
            break
        if jumping is None:
            continue
        ends.append(field.cycle_state())
        if len(ends) < jumping.fit_cycles:
            continue
        state = ends[-1]
        increments = {key: per_cycle_increment([end[key] for end in ends]) for key in state}
        local = jump_length(state, increments, field.toughness_fraction, jumping, cycles - log.cycles)
        skip = min(field.comm.allgather(local))          # every rank jumps the same number of cycles
        ends = []
        if skip > 0:
            field.jump({key: state[key] + skip * increments[key] for key in state}, skip)
            log.cycles += skip
            log.jumps.append((log.cycles, skip))
            field.end_cycle(log.cycles, extrapolated=True)
    return log
