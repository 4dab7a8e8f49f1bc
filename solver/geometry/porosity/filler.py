"""Bins with pore area/volume targets and the greedy acceptance rule used by the placement steps."""
from __future__ import annotations

from typing import Callable

import numpy as np


class Filler:
    """Bins with targets; greedy acceptance by decrease of sum_g D_g^2 / W_g over bin groups.

    Bins of one sequence (radial shells, or the annuli of one plane) that cannot be filled are
    merged with a neighbour so that their unmet deficit is placed next door instead of lost.
    """

    def __init__(self, target, weight, sequences, tol_close, tol_merge, max_fail):
        self.target = np.asarray(target, float)
        self.weight = np.asarray(weight, float)
        nb = self.target.size
        self.placed = np.zeros(nb)
        self.gid = np.arange(nb)
        self.seq_of = np.zeros(nb, int)
        self.pos_of = np.zeros(nb, int)
        self.sequences = [list(s) for s in sequences]
        for q, s in enumerate(self.sequences):
            for p, b in enumerate(s):
                self.seq_of[b], self.pos_of[b] = q, p
        self.is_open = self.target > 0
        self.fails = np.zeros(nb, int)
        self.tol_close, self.tol_merge, self.max_fail = tol_close, tol_merge, max_fail

    def _group_sums(self):
        nb = self.target.size
        D = np.bincount(self.gid, self.target - self.placed, minlength=nb)
        W = np.bincount(self.gid, self.weight, minlength=nb)
        return D, W

    def pick(self) -> int | None:
        D, W = self._group_sums()
        reps = np.nonzero(self.is_open & (np.arange(self.target.size) == self.gid))[0]
        if reps.size == 0:
            return None
        return int(reps[np.argmax(D[reps] / W[reps])])

    def pick_fitting(self, g: int, amount: float, allowed: Callable[[np.ndarray], bool]) -> int | None:
        """Group ``g`` if its deficit holds ``amount`` and ``allowed(members)``; otherwise the open
        group with the largest relative deficit among those that do; None if none does."""
        D, W = self._group_sums()
        if D[g] >= amount and allowed(self.members(g)):
            return g
        reps = np.nonzero(self.is_open & (np.arange(self.target.size) == self.gid))[0]
        reps = reps[D[reps] >= amount]
        for r in reps[np.argsort(-(D[reps] / W[reps]), kind="stable")]:
            if allowed(self.members(int(r))):
                return int(r)
        return None

    def members(self, g: int) -> np.ndarray:
        return np.nonzero(self.gid == g)[0]

    def evaluate(self, contrib: np.ndarray, overshoot_tol: float | None) -> bool:
        """True if adding contrib lowers the objective (and overshoots no group beyond tol)."""
        nb = self.target.size
        D, W = self._group_sums()
        cg = np.bincount(self.gid, contrib, minlength=nb)
        used = cg != 0
        if not np.any(used):
            return False
        Wu = np.where(W[used] > 0, W[used], 1.0)
        delta = np.sum((cg[used] ** 2 - 2.0 * D[used] * cg[used]) / Wu)
        if delta >= 0:
            return False
        if overshoot_tol is not None:
            pos = used & (cg > 0)
            if np.any((D[pos] - cg[pos]) / np.where(W[pos] > 0, W[pos], 1.0) < -overshoot_tol):
                return False
        return True

    def accept(self, g: int, contrib: np.ndarray) -> None:
        self.placed += contrib
        self.fails[g] = 0
        D, W = self._group_sums()
        for r in np.unique(self.gid[contrib != 0]):
            if self.is_open[r] and D[r] / W[r] <= self.tol_close:
                self.is_open[r] = False

    def fail(self, g: int) -> None:
        self.fails[g] += 1
        if self.fails[g] < self.max_fail:
            return
        D, W = self._group_sums()
        if D[g] / W[g] > self.tol_merge:
            mem = self.members(g)
            seq = self.sequences[self.seq_of[mem[0]]]
            pos = sorted(self.pos_of[mem])
            cands = []
            if pos[0] > 0:
                cands.append(self.gid[seq[pos[0] - 1]])
            if pos[-1] < len(seq) - 1:
                cands.append(self.gid[seq[pos[-1] + 1]])
            if cands:
                self.merge(g, int(max(cands, key=lambda c: W[c])))
                return
        self.is_open[g] = False

    def merge(self, g1: int, g2: int) -> int:
        """Join two groups into one open group; returns its id."""
        new = min(g1, g2)
        self.gid[(self.gid == g1) | (self.gid == g2)] = new
        self.is_open[g1] = self.is_open[g2] = False
        self.is_open[new] = True
        self.fails[new] = 0
        return new

    def remaining(self) -> tuple[np.ndarray, np.ndarray]:
        return self._group_sums()
