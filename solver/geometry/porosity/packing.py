"""Accepted pores and candidates: random orientations, the cell-list packing, candidate pores, the
Perram-Wertheim non-overlap test and candidate sections by the central planes."""
from __future__ import annotations

import math

import numpy as np


def random_rotation(rng: np.random.Generator) -> np.ndarray:
    """A uniformly random 3x3 rotation matrix (from a normalised Gaussian quaternion)."""
    q = rng.normal(size=4)
    q /= np.linalg.norm(q)
    w, x, y, z = q
    return np.array([
        [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
        [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
        [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
    ])


def unit_vector(rng: np.random.Generator) -> np.ndarray:
    """A uniformly random unit 3-vector."""
    v = rng.normal(size=3)
    return v / np.linalg.norm(v)


class Packing:
    """Growing arrays of accepted pores plus a cell list for neighbour queries."""

    def __init__(self, R, gap, surface_gap, cell_size):
        self.R, self.gap, self.sgap = R, gap, surface_gap
        self.cell = cell_size
        self.n = 0
        cap = 1024
        self.c = np.zeros((cap, 3))
        self.a = np.zeros((cap, 3))
        self.rot = np.zeros((cap, 3, 3))
        self.Ainf = np.zeros((cap, 3, 3))  # inflated shape matrices (gap/2 included)
        self.Q = np.zeros((cap, 3, 3))  # inverse shape matrices (true pore)
        self.binf = np.zeros(cap)  # inflated bounding radius
        self.sph = np.zeros(cap, bool)
        self.vol = np.zeros(cap)
        self.cluster = np.full(cap, -1, np.int64)
        self.parent = np.full(cap, -1, np.int64)
        self.cls = np.full(cap, -1, np.int64)
        self.grid: dict[tuple[int, int, int], list[int]] = {}
        self.big: list[int] = []
        self.n_clusters = 0

    def _grow(self):
        for name in ("c", "a", "rot", "Ainf", "Q", "binf", "sph", "vol", "cluster", "parent", "cls"):
            arr = getattr(self, name)
            new = np.zeros((2 * arr.shape[0],) + arr.shape[1:], arr.dtype)
            if name in ("cluster", "parent", "cls"):
                new[:] = -1
            new[: arr.shape[0]] = arr
            setattr(self, name, new)

    def _key(self, c):
        return (int(math.floor(c[0] / self.cell)), int(math.floor(c[1] / self.cell)), int(math.floor(c[2] / self.cell)))

    def neighbours(self, c) -> list[int]:
        i, j, k = self._key(c)
        out = list(self.big)
        g = self.grid
        for di in (-1, 0, 1):
            for dj in (-1, 0, 1):
                for dk in (-1, 0, 1):
                    lst = g.get((i + di, j + dj, k + dk))
                    if lst:
                        out.extend(lst)
        return out

    def clear(self, cand: "Candidate", exclude: int = -1) -> bool:
        nb = self.neighbours(cand.c)
        if exclude >= 0 and nb:
            nb = [q for q in nb if q != exclude]
        if not nb:
            return True
        idx = np.fromiter(nb, dtype=np.int64, count=len(nb))
        d = np.sqrt(np.sum((self.c[idx] - cand.c) ** 2, axis=1))
        close = d < self.binf[idx] + cand.binf
        if not np.any(close):
            return True
        idx = idx[close]
        if cand.sph and np.all(self.sph[idx]):
            return False  # bounding spheres are the spheres themselves
        return _pw_separated(cand.c, cand.Ainf, self.c[idx], self.Ainf[idx])

    def add(self, cand: "Candidate", cls: int, parent: int = -1) -> int:
        if self.n == self.c.shape[0]:
            self._grow()
        q = self.n
        self.c[q], self.a[q], self.rot[q] = cand.c, cand.a, cand.rot
        self.Ainf[q], self.Q[q], self.binf[q] = cand.Ainf, cand.Q, cand.binf
        self.sph[q], self.vol[q], self.cls[q] = cand.sph, cand.vol, cls
        self.parent[q] = parent
        if parent >= 0:
            if self.cluster[parent] < 0:
                self.cluster[parent] = self.n_clusters
                self.n_clusters += 1
            self.cluster[q] = self.cluster[parent]
        if 2.0 * cand.binf > self.cell:
            self.big.append(q)
        else:
            self.grid.setdefault(self._key(cand.c), []).append(q)
        self.n += 1
        return q


class Candidate:
    """A candidate pore with everything the checks need."""

    __slots__ = ("c", "a", "rot", "Ainf", "Q", "A", "binf", "bound", "sph", "vol", "h")

    def __init__(self, c, a, rot, gap, sph):
        self.c = np.asarray(c, float)
        self.a = a
        self.rot = rot
        self.sph = sph
        self.vol = 4.0 / 3.0 * math.pi * float(a[0] * a[1] * a[2])
        self.bound = float(a.max())
        if sph:
            r = float(a[0])
            self.A = np.eye(3) * r * r
            self.Q = np.eye(3) / (r * r)
            self.Ainf = np.eye(3) * (r + 0.5 * gap) ** 2
            self.binf = r + 0.5 * gap
            self.h = np.full(3, r)
        else:
            self.A = rot @ np.diag(a ** 2) @ rot.T
            self.Q = rot @ np.diag(1.0 / a ** 2) @ rot.T
            f = 1.0 + 0.5 * gap / float(a.min())
            self.Ainf = self.A * f * f
            self.binf = self.bound * f
            self.h = np.sqrt(np.diag(self.A))

    def move(self, c):
        self.c = np.asarray(c, float)
        return self

    def radial_extent(self, u) -> float:
        """Distance from the centre to the pore boundary along unit vector u."""
        return 1.0 / math.sqrt(float(u @ self.Q @ u))


def _pw_separated(c0, A0, C, A, n_lambda: int = 33) -> bool:
    """Perram-Wertheim: True if the ellipsoid (c0, A0) is separated from every (C[i], A[i]).

    F(l) = l (1 - l) r^T [(1 - l) A0 + l A]^-1 r; a pair is separated iff max_l F >= 1.  With
    A0 = L L^T and L^-1 A L^-T = V diag(mu) V^T, F(l) = l (1 - l) sum_k s_k^2 / (1 - l + l mu_k),
    s = V^T L^-1 r: a scalar function, maximised by a grid search plus golden-section refinement.
    Undecided pairs count as overlapping (conservative).
    """
    r = C - c0
    L = np.linalg.cholesky(A0)
    Li = np.linalg.inv(L)
    Ap = np.einsum("ij,mjk,lk->mil", Li, A, Li)
    mu, V = np.linalg.eigh(Ap)
    sv = np.einsum("mji,mj->mi", V, r @ Li.T) ** 2  # (m, 3)

    def F(lv):  # lv (m, L) or (m,)
        lv3 = lv[..., None]
        den = (1.0 - lv3) + lv3 * (mu if lv.ndim == 1 else mu[:, None, :])
        num = sv if lv.ndim == 1 else sv[:, None, :]
        return lv * (1.0 - lv) * np.sum(num / den, axis=-1)

    lam = np.linspace(0.0, 1.0, n_lambda + 2)[1:-1]
    Fv = F(np.broadcast_to(lam, (r.shape[0], lam.size)))
    best = Fv.max(axis=1)
    if np.all(best >= 1.0):
        return True
    if np.any(best < 0.7):
        return False
    todo = best < 1.0
    mu, sv = mu[todo], sv[todo]
    j = np.argmax(Fv[todo], axis=1)
    step = lam[1] - lam[0]
    lo = np.clip(lam[j] - step, 1e-12, 1 - 1e-12)
    hi = np.clip(lam[j] + step, 1e-12, 1 - 1e-12)
    g = 0.5 * (math.sqrt(5.0) - 1.0)
    x1, x2 = hi - g * (hi - lo), lo + g * (hi - lo)
    f1, f2 = F(x1), F(x2)
    fbest = np.maximum(f1, f2)
    for _ in range(40):
        left = f1 > f2
        hi = np.where(left, x2, hi)
        lo = np.where(left, lo, x1)
        x1, x2 = hi - g * (hi - lo), lo + g * (hi - lo)
        f1, f2 = F(x1), F(x2)
        fbest = np.maximum(fbest, np.maximum(f1, f2))
        if np.all(fbest >= 1.0):
            return True
    return bool(np.all(fbest >= 1.0))


def candidate_section(cand: Candidate, axis: int):
    """Section of a candidate pore with the central plane normal to ``axis``: (w0 (2,), M (2,2)) or None."""
    if abs(cand.c[axis]) >= cand.h[axis]:
        return None
    p, q = IN_PLANE_AXES[axis]
    if cand.sph:
        r = math.sqrt(cand.a[0] ** 2 - cand.c[axis] ** 2)
        return np.array([cand.c[p], cand.c[q]]), np.eye(2) * r
    # plane x_axis = 0, in-plane coordinates w = (x_p, x_q); y = w - c_pq:
    # y^T P y - 2 c_a b^T y + c_a^2 Q_aa <= 1, P = Q[pq, pq], b = Q[pq, a]
    Q = cand.Q
    ca = cand.c[axis]
    P = np.array([[Q[p, p], Q[p, q]], [Q[q, p], Q[q, q]]])
    bvec = np.array([Q[p, axis], Q[q, axis]])
    y0 = ca * np.linalg.solve(P, bvec)
    kappa = ca * ca * Q[axis, axis] - ca * float(bvec @ y0)
    if kappa >= 1.0:
        return None
    lam, V = np.linalg.eigh(P)
    Mq = V * np.sqrt((1.0 - kappa) / lam)[None, :]
    if np.linalg.det(Mq) < 0:
        Mq[:, 1] *= -1
    return np.array([cand.c[p], cand.c[q]]) + y0, Mq


IN_PLANE_AXES = {2: (0, 1), 0: (1, 2), 1: (2, 0)}
PLANE_NORMAL_AXES = (2, 0, 1)  # xy, yz, zx: the order of CENTRAL_PLANES
