"""Pore sizes: the measured volume classes, the radius-dependent class mix, expected pore counts and
the ``volume_scale`` for a wanted count.

Pore sizes (FIB-SEM, voxel 20 nm, pores < 0.002 um^3 treated as noise): ~80 % of pores in
0.002-0.010 um^3, ~16 % in 0.010-0.030 um^3, ~4 % above 0.030 um^3, log-uniform inside each class.
The open top class is closed at 0.2 um^3 (equivalent diameter 0.73 um, 7 % of a 10 um particle)
because (i) it makes the count-weighted mean pore volume 0.0105 um^3, the ~0.01 um^3 of the
scale check of docs/science.md#study-1-gradient-porous-ni-rich-ncm, (ii) the paper singles out only two larger pores (3.779 and 1.123 um^3, at
the centre; pass them as ``central_pores_um3``), so ordinary pores should stay well below 1.1 um^3,
(iii) a 0.3 bound would put 40 % of the pore volume in the 4 % class.  The measured count fractions
hold for the whole particle; per radius the class mix is tilted (``size_bias``) so that small pores
sit nearer the surface and large ones inside (as measured), with the global fractions recalibrated
to 80/16/4.

Faithful versus runnable (``volume_scale``, ``max_pores``)
---------------------------------------------------------
A faithful 10 um (R = 5 um) GP-NCM83 particle holds ~36 um^3 of pores (3D 6.96 %), i.e. ~3500 pores
of the measured sizes; gmsh turns 2000-5000 pores into 1-2.3 M tets (docs/science.md#study-1-gradient-porous-ni-rich-ncm).  A case meant
for a laptop needs a few hundred pores: ``volume_scale`` multiplies every class volume (not the
explicit ``central_pores_um3``), so the same porosity profile is made of fewer, larger pores
(count ~ 1 / volume_scale; GP-NCM83 R = 5 um: scale 1 -> ~3500, scale 6 -> ~600, scale 7 -> ~500).
The price: larger pores are coarser than the measured ones (stress concentrations, pore-to-pore
ligaments and the near-surface small-pore layer are less faithful), while the porosity profile and
the section measurements stay on target.  :func:`volume_scale_for_pore_count` gives the scale for a
wanted count.  ``max_pores`` caps the count: the request is refused up front (ValueError) when the
expected count exceeds it, and again if the cap is hit before the targets are met.
"""
from __future__ import annotations

import numpy as np

from solver.geometry.porosity.checks import bad, finite_float
from solver.geometry.porosity.profiles import PorosityProfile
from solver.geometry.porosity.profiles import porosity_profile as as_profile

#: FIB-SEM pore-volume classes (v_min_um3, v_max_um3, count_fraction); top class closed at 0.2 um^3.
MEASURED_VOLUME_CLASSES: tuple[tuple[float, float, float], ...] = (
    (0.002, 0.010, 0.80),
    (0.010, 0.030, 0.16),
    (0.030, 0.200, 0.04),
)
#: The two largest pores of a ~10 um GP-NCM83 particle, found at its centre (FIB-SEM).
MEASURED_CENTRAL_PORES_UM3: tuple[float, ...] = (3.779, 1.123)


def validate_classes(volume_classes, volume_scale: float) -> np.ndarray:
    """Volume classes as an (n, 3) array (v_min_um3, v_max_um3, count_fraction), checked, fractions
    normalised to sum 1, volumes multiplied by `volume_scale`."""
    try:
        arr = np.asarray(volume_classes, dtype=float)
    except (TypeError, ValueError):
        raise bad("volume_classes", volume_classes,
                   "must be a list of (v_min_um3, v_max_um3, count_fraction)") from None
    if arr.ndim != 2 or arr.shape[1] != 3 or arr.shape[0] < 1:
        raise bad("volume_classes", volume_classes, "must be a list of (v_min_um3, v_max_um3, count_fraction)")
    if not np.all(np.isfinite(arr)) or np.any(arr[:, 0] <= 0) or np.any(arr[:, 1] <= arr[:, 0]):
        raise bad("volume_classes", volume_classes, "each class needs 0 < v_min_um3 < v_max_um3")
    if np.any(arr[:, 2] <= 0) or abs(arr[:, 2].sum() - 1.0) > 1e-3:
        raise bad("volume_classes", volume_classes, "count fractions must be > 0 and sum to 1")
    arr = arr.copy()
    arr[:, 2] /= arr[:, 2].sum()
    arr[:, :2] *= volume_scale
    return arr


def _class_mean_volume(cl: np.ndarray) -> np.ndarray:
    return (cl[:, 1] - cl[:, 0]) / np.log(cl[:, 1] / cl[:, 0])  # log-uniform


def _class_mean_cbrt(cl: np.ndarray) -> np.ndarray:
    return 3.0 * (np.cbrt(cl[:, 1]) - np.cbrt(cl[:, 0])) / np.log(cl[:, 1] / cl[:, 0])


def _size_scores(cl: np.ndarray) -> np.ndarray:
    lm = np.log(np.sqrt(cl[:, 0] * cl[:, 1]))
    if cl.shape[0] == 1 or np.ptp(lm) == 0:
        return np.zeros(cl.shape[0])
    return 2.0 * (lm - lm.min()) / np.ptp(lm) - 1.0


class SizeModel:
    """Class probabilities per radius: p_k(x) ~ f'_k exp(size_bias s_k (0.5 - x)); f' calibrated
    so that the expected class fractions of the whole particle are the requested ones."""

    def __init__(self, cl: np.ndarray, size_bias: float, x_mid: np.ndarray, shell_volume_targets: np.ndarray):
        self.cl = cl
        self.bias = size_bias
        self.score = _size_scores(cl)
        self.vmean = _class_mean_volume(cl)
        self.cbrt_mean = _class_mean_cbrt(cl)
        f = cl[:, 2].copy()
        base = f.copy()
        if shell_volume_targets.sum() > 0:
            for _ in range(200):
                p = self._raw(x_mid, base)
                n_shell = shell_volume_targets / (p @ self.vmean)
                counts = (p * n_shell[:, None]).sum(axis=0)
                frac = counts / counts.sum()
                base = base * (f / frac)
                base /= base.sum()
                if np.max(np.abs(frac - f)) < 1e-10:
                    break
        self.base = base

    def _raw(self, x, base):
        x = np.atleast_1d(np.asarray(x, float))
        w = base[None, :] * np.exp(self.bias * self.score[None, :] * (0.5 - x[:, None]))
        return w / w.sum(axis=1, keepdims=True)

    def probs(self, x) -> np.ndarray:
        return self._raw(x, self.base)

    def mean_volume(self, x) -> np.ndarray:
        return self.probs(x) @ self.vmean

    def draw(self, rng: np.random.Generator, x: float, extent_weighted: bool) -> tuple[int, float]:
        p = self.probs(x)[0]
        if extent_weighted:
            p = p * self.cbrt_mean
            p /= p.sum()
        k = int(np.searchsorted(np.cumsum(p), rng.random() * 1.0, side="right"))
        k = min(k, p.size - 1)
        vmin, vmax = self.cl[k, 0], self.cl[k, 1]
        u = rng.random()
        if extent_weighted:  # log-uniform density times v^(1/3)
            v = (np.cbrt(vmin) + u * (np.cbrt(vmax) - np.cbrt(vmin))) ** 3
        else:
            v = vmin * (vmax / vmin) ** u
        return k, float(v)


def shell_targets(R: float, profile: PorosityProfile, n_shells: int):
    """Radial shell edges (r/R), shell volumes and target pore volumes (porosity x volume) of `n_shells`
    equal-width shells of a particle of radius R."""
    edges = np.linspace(0.0, 1.0, n_shells + 1)
    vol = 4.0 / 3.0 * np.pi * R ** 3 * (edges[1:] ** 3 - edges[:-1] ** 3)
    tgt = np.array([profile.shell_mean(a, b) for a, b in zip(edges[:-1], edges[1:])]) * vol
    return edges, vol, tgt


def expected_pore_count(*, particle_radius_um: float, porosity_profile, volume_classes=MEASURED_VOLUME_CLASSES,
                        volume_scale: float = 1.0, size_bias: float = 1.5, central_pores_um3=(),
                        n_shells: int = 20) -> float:
    """Expected number of sampled pores (central pores included) for these settings."""
    R = finite_float("particle_radius_um", particle_radius_um)
    if R <= 0:
        raise bad("particle_radius_um", particle_radius_um, "must be > 0")
    vs = finite_float("volume_scale", volume_scale)
    if vs <= 0:
        raise bad("volume_scale", volume_scale, "must be > 0")
    prof = as_profile(porosity_profile)
    cl = validate_classes(volume_classes, vs)
    edges, vol, tgt = shell_targets(R, prof, n_shells)
    xm = 0.5 * (edges[1:] + edges[:-1])
    model = SizeModel(cl, float(size_bias), xm, tgt)
    central = np.asarray(central_pores_um3, float).ravel()
    remaining = max(tgt.sum() - central.sum(), 0.0)
    scale = remaining / tgt.sum() if tgt.sum() > 0 else 0.0
    return float(np.sum(tgt * scale / model.mean_volume(xm)) + central.size)


def volume_scale_for_pore_count(target_count: float, *, particle_radius_um: float, porosity_profile,
                                volume_classes=MEASURED_VOLUME_CLASSES, size_bias: float = 1.5,
                                central_pores_um3=()) -> float:
    """The ``volume_scale`` at which :func:`sample_pores` is expected to place ~target_count pores."""
    tc = finite_float("target_count", target_count)
    if tc < 1:
        raise bad("target_count", target_count, "must be >= 1")
    n1 = expected_pore_count(particle_radius_um=particle_radius_um, porosity_profile=porosity_profile,
                             volume_classes=volume_classes, volume_scale=1.0, size_bias=size_bias,
                             central_pores_um3=central_pores_um3)
    nc = len(tuple(central_pores_um3))
    if n1 - nc <= 0:
        raise bad("porosity_profile", porosity_profile, "has no pore volume to place")
    return float((n1 - nc) / max(tc - nc, 1.0))
