"""Pore placement for gradient-porous (GP) and uniformly porous (P) NCM secondary particles.

Pure numpy.  Units are micrometres (um, um^2, um^3) throughout this module because gmsh builds the
particle in micrometres; porosities are fractions (0.0819, not 8.19).  The particle is a ball of
radius R centred at the origin.  This module only decides WHERE the pores are and MEASURES the
result; turning a :class:`PoreSet` into a gmsh solid (one OCC cut of all pores) is done elsewhere.

What the paper measured and how it is read here
-----------------------------------------------
SEM cross-sections of 25 particles (science.md section 1): mean porosity GP-NCM83 8.19 %, P-NCM83
1.96 % (uniform), GP-Ni96 6.92 %, P-Ni96 2.25 %; a concentric-circle analysis with circles of radius
50 %..100 % of the particle radius in which GP-NCM83 "falls from 13.11 % at the centre to 8.11 % at
the exterior".

Interpretation (stated so that it can be disputed): the concentric-circle numbers are CUMULATIVE,
i.e. the porosity inside the circle of radius a*R of a central section,
``P(a) = int_0^a phi(s) 2 s ds / a^2``, with phi the local porosity at s = r/R.  "Centre" is the
50 % circle (P(0.5) = 13.11 %) and "exterior" is the 100 % circle, i.e. the whole section, which is
the same quantity as the mean section porosity: P(1) = 8.11 % there versus 8.19 % +/- 0.19 % over the
25 particles, the same number within its scatter.  The alternative reading (13.11 % in the 0-50 %
disk, 8.11 % in the 90-100 % annulus) is inconsistent with the 8.19 % mean: with 13.11 % on the
inner quarter of the section area, the outer 50-100 % annulus would have to average
(8.19 - 0.25 * 13.11) / 0.75 = 6.55 %, below its own claimed 8.11 % minimum.
We therefore target P(0.5) = 13.11 % and P(1) = 8.19 % (the better-sampled mean; 8.11 % is 0.08
points away) with the simplest law that meets both, a LINEAR local porosity
``phi(x) = alpha + beta x`` (x = r/R): P(a) = alpha + 2 beta a / 3 gives beta = 3 (P(1) - P(0.5)),
alpha = 2 P(0.5) - P(1), i.e. for GP-NCM83 phi = 18.03 % at the centre falling to 3.27 % at the
surface.  The local porosity on a central section at in-plane radius s is the same phi(s) (the
plane passes through the centre; Delesse: area fraction = volume fraction), so the same law drives
3D placement and the section targets.  Because sections weight the core more than volume does
(2 s ds versus 3 x^2 dx), the 3D pore volume fraction of a GP particle is LOWER than its section
porosity: 6.96 % for GP-NCM83 (section 8.19 %).  GP-Ni96 has only its mean (6.92 %): we assume the
same centre/mean ratio as GP-NCM83 (P(0.5) = 6.92 * 13.11 / 8.19 = 11.08 %), an assumption, not a
paper number.  P-NCM83 (1.96 %) and P-Ni96 (2.25 %) are uniform.

Pore sizes (FIB-SEM, voxel 20 nm, pores < 0.002 um^3 treated as noise): ~80 % of pores in
0.002-0.010 um^3, ~16 % in 0.010-0.030 um^3, ~4 % above 0.030 um^3, log-uniform inside each class.
The open top class is closed at 0.2 um^3 (equivalent diameter 0.73 um, 7 % of a 10 um particle)
because (i) it makes the count-weighted mean pore volume 0.0105 um^3, the ~0.01 um^3 of the
science.md scale check, (ii) the paper singles out only two larger pores (3.779 and 1.123 um^3, at
the centre; pass them as ``central_pores_um3``), so ordinary pores should stay well below 1.1 um^3,
(iii) a 0.3 bound would put 40 % of the pore volume in the 4 % class.  The measured count fractions
hold for the whole particle; per radius the class mix is tilted (``size_bias``) so that small pores
sit nearer the surface and large ones inside (as measured), with the global fractions recalibrated
to 80/16/4.

Placement
---------
Random sequential addition with a cell-list neighbour search, driven by per-bin deficits:

1. ``central_pores_um3`` first, the largest at the origin, the next ones touching it (plus gap).
2. Section control (``control_sections=True``, default): the three central planes xy, yz, zx
   (the planes :func:`measure_porosity` cuts) are split into annuli 0-0.1, ..., 0.9-1.0 R with
   target pore areas phi x annulus area.  Pores crossing a plane are drawn first: sizes weighted by
   their extent (a plane hits a pore with probability ~ its size), centres uniform in the annulus,
   offset uniform in (-h, h) from the plane, i.e. the statistics of the pores a plane hits in an
   isotropic random structure.  (a) A plan of such pores worth ~90 % of each annulus target is
   placed largest first; (b) a greedy loop adds pores while they lower the area-weighted squared
   deficit; (c) one or a few "tuning" pores (smallest class, offset chosen so that the section area
   equals the residual) close each annulus.  No annulus is overshot by more than 0.025 points.
   The pore areas are exact (closed form for circles, Green's theorem for ellipses).  Without this
   step a central section of a particle with a few hundred pores is noisy (several points per
   0.1-wide annulus), because only the few tens of pores straddling the plane are seen; with it the
   three sections measure the profile to ~0.1 point.
3. Volume control: the particle is split into ``n_shells`` spherical shells with target pore
   volume int phi dV (shells whose middle no pore centre can reach because of the surface gap join
   the next shell inward).  (a) A plan worth ~97 % of the remaining deficit is drawn per shell,
   with the class mix of each shell set to its expected class counts minus the pores already there
   (so that, with the extent-weighted section pores, the whole particle has the measured 80/16/4),
   and placed largest first in its shell (or a neighbouring one if it does not fit); (b) a greedy
   top-up fills the shells still short, never beyond the total target.  With section control on,
   these pores never cross the three central planes, so the sections measure exactly step 2.
   Each pore's volume is split across shells exactly (ball-ball lens; equal-volume sphere for
   ellipsoids).  Placing sizes in decreasing order keeps the large pores (which fit badly late in
   a random sequential addition) and thus the measured class fractions.

Non-overlap: every pair of pores keeps ``min_gap_um`` (spheres: exact; ellipsoids: each is inflated
by the factor (1 + gap / (2 a_min)), which contains its gap/2 parallel body, and the inflated pair is
tested with the Perram-Wertheim contact function, so the true gap is at least ``min_gap_um``, up to
a_max/a_min times larger along long axes).  Every pore keeps ``surface_gap_um`` to the outer surface
(|c| + a_max <= R - gap; exact for spheres, conservative for ellipsoids) so that no pore cuts the
surface into a sliver.  Clusters (``cluster_fraction`` > 0): that fraction of pores is placed as
children deliberately overlapping ONE parent (coral-like interconnection; overlap depth 30-90 % of
the smaller radial extent) and keeping the gap to every other pore, siblings included; overlaps
therefore form trees and no three pores share a point, which makes the union volume and the union
section areas exact by pairwise inclusion-exclusion.  Clusters keep the surface gap and the gap to
other clusters.

Central pores: with ``central_pores_um3`` the central section is dominated by them (3.779 um^3 alone
is 15 % of the 50 % circle of a 10 um particle, above the 13.11 % target).  Their excess is taken
back inside the 50 % circle where possible; the paper's rings (50-100 %) keep their targets, and the
overall section porosity then exceeds the profile by the unavoidable excess (e.g. GP-NCM83, R = 5
um: 16 % inside the 50 % circle, 8.9 % overall).

Measured result (R = 5 um, gaps 0.03 / 0.1 um, spheres): with ~600 or ~3000 pores the plane-averaged
central sections hit the overall porosity within 0.02 point and every 50-100 % ring within 0.1
point, the 3D pore volume fraction within 0.01 point, the class mix 80/16/4 within ~2 points; with
100-300 coarse pores (volume_scale ~10) the rings stay within 0.5 point.

Faithful versus runnable (``volume_scale``, ``max_pores``)
---------------------------------------------------------
A faithful 10 um (R = 5 um) GP-NCM83 particle holds ~36 um^3 of pores (3D 6.96 %), i.e. ~3500 pores
of the measured sizes; gmsh turns 2000-5000 pores into 1-2.3 M tets (environment.md).  A case meant
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

import math
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from solver.errors import CaseError

__all__ = [
    "PoreSet",
    "PorosityProfile",
    "porosity_profile",
    "sample_pores",
    "section_porosity",
    "measure_porosity",
    "expected_pore_count",
    "volume_scale_for_pore_count",
    "circle_disk_area",
    "circle_annulus_area",
    "ellipse_disk_area",
    "ellipse_annulus_area",
    "MEASURED_VOLUME_CLASSES",
    "MEASURED_CENTRAL_PORES_UM3",
    "PRESETS",
]

#: FIB-SEM pore-volume classes (v_min_um3, v_max_um3, count_fraction); top class closed at 0.2 um^3.
MEASURED_VOLUME_CLASSES: tuple[tuple[float, float, float], ...] = (
    (0.002, 0.010, 0.80),
    (0.010, 0.030, 0.16),
    (0.030, 0.200, 0.04),
)
#: The two largest pores of a ~10 um GP-NCM83 particle, found at its centre (FIB-SEM).
MEASURED_CENTRAL_PORES_UM3: tuple[float, ...] = (3.779, 1.123)

PAPER_RING_EDGES: tuple[float, ...] = (0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
FULL_RING_EDGES: tuple[float, ...] = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
CENTRAL_PLANES: dict[str, tuple[float, float, float]] = {
    "xy": (0.0, 0.0, 1.0),
    "yz": (1.0, 0.0, 0.0),
    "zx": (0.0, 1.0, 0.0),
}
_MAX_LOCAL_POROSITY = 0.30  # random sequential addition with gaps jams well below 0.38


def _bad(name: str, value: Any, allowed: str) -> CaseError:
    return CaseError(f"{name} = {value!r}: {allowed}")


def _finite_float(name: str, value: Any) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise _bad(name, value, "must be a number") from None
    if not math.isfinite(v):
        raise _bad(name, value, "must be finite")
    return v


# ---------------------------------------------------------------------------------------------
# Radial porosity law
# ---------------------------------------------------------------------------------------------
class PorosityProfile:
    """Local pore volume fraction phi(x) versus x = r/R in [0, 1], piecewise linear.

    Calling it returns phi (fraction).  The same law is the local area fraction on a central section
    at in-plane radius s = x R, so :meth:`annulus_mean` / :meth:`disk_mean` are the section targets
    and :meth:`volume_mean` the 3D pore volume fraction.
    """

    def __init__(self, r_fraction: Sequence[float], porosity: Sequence[float], *, name: str = "table",
                 source: str = "") -> None:
        x = np.asarray(r_fraction, dtype=float).ravel()
        p = np.asarray(porosity, dtype=float).ravel()
        if x.size == 0 or x.size != p.size:
            raise _bad("porosity_profile", list(zip(x.tolist(), p.tolist())),
                       "needs at least one (r_fraction, porosity) pair")
        if not (np.all(np.isfinite(x)) and np.all(np.isfinite(p))):
            raise _bad("porosity_profile", list(zip(x.tolist(), p.tolist())), "values must be finite")
        if np.any(x < 0.0) or np.any(x > 1.0) or np.any(np.diff(x) <= 0.0):
            raise _bad("porosity_profile.r_fraction", x.tolist(),
                       "must be strictly increasing within [0, 1]")
        if np.any(p < 0.0) or np.any(p > _MAX_LOCAL_POROSITY):
            raise _bad("porosity_profile.porosity", p.tolist(),
                       f"must be fractions within [0, {_MAX_LOCAL_POROSITY}] (8.19 % is 0.0819)")
        if x[0] > 0.0:
            x, p = np.concatenate([[0.0], x]), np.concatenate([[p[0]], p])
        if x[-1] < 1.0:
            x, p = np.concatenate([x, [1.0]]), np.concatenate([p, [p[-1]]])
        x.setflags(write=False)
        p.setflags(write=False)
        self.r_fraction = x
        self.porosity = p
        self.name = name
        self.source = source

    def __call__(self, r_fraction):
        return np.interp(np.clip(r_fraction, 0.0, 1.0), self.r_fraction, self.porosity)

    def __repr__(self) -> str:
        pts = ", ".join(f"({a:.3g}, {b:.4g})" for a, b in zip(self.r_fraction, self.porosity))
        return f"PorosityProfile({self.name!r}: {pts})"

    def _moment(self, x0: float, x1: float, power: int) -> float:
        """Exact int_{x0}^{x1} phi(x) x^power dx for the piecewise linear phi."""
        x0, x1 = float(np.clip(x0, 0, 1)), float(np.clip(x1, 0, 1))
        if x1 <= x0:
            return 0.0
        knots = self.r_fraction[(self.r_fraction > x0) & (self.r_fraction < x1)]
        pts = np.concatenate([[x0], knots, [x1]])
        total = 0.0
        for a, b in zip(pts[:-1], pts[1:]):
            pa, pb = self(a), self(b)
            slope = (pb - pa) / (b - a)
            icpt = pa - slope * a
            k = power
            total += icpt * (b ** (k + 1) - a ** (k + 1)) / (k + 1) + slope * (b ** (k + 2) - a ** (k + 2)) / (k + 2)
        return float(total)

    def annulus_mean(self, x0: float, x1: float) -> float:
        """Area-weighted mean porosity of the section annulus x0 <= s/R <= x1 (central section)."""
        return self._moment(x0, x1, 1) / (0.5 * (x1 ** 2 - x0 ** 2))

    def disk_mean(self, x: float) -> float:
        """Porosity inside the circle of radius x R on a central section (the paper's circles)."""
        return self.annulus_mean(0.0, x)

    def shell_mean(self, x0: float, x1: float) -> float:
        """Volume-weighted mean porosity of the spherical shell x0 <= r/R <= x1."""
        return self._moment(x0, x1, 2) / ((x1 ** 3 - x0 ** 3) / 3.0)

    @property
    def section_mean(self) -> float:
        """Mean porosity of a central section (what SEM cross-sections report)."""
        return self.disk_mean(1.0)

    @property
    def volume_mean(self) -> float:
        """3D pore volume fraction of the particle."""
        return self.shell_mean(0.0, 1.0)

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "source": self.source,
            "r_fraction": [float(v) for v in self.r_fraction],
            "porosity": [float(v) for v in self.porosity],
            "section_mean": self.section_mean,
            "volume_mean": self.volume_mean,
        }


def _linear_from_circles(p_half: float, p_full: float) -> tuple[float, float]:
    """Local porosity at x = 0 and x = 1 of the linear law with disk means P(0.5), P(1)."""
    beta = 3.0 * (p_full - p_half)
    alpha = 2.0 * p_half - p_full
    return alpha, alpha + beta


_GP_NI96_HALF = 0.0692 * 0.1311 / 0.0819
PRESETS: dict[str, dict] = {
    "gp_ncm83": {"kind": "circles", "within_half": 0.1311, "overall": 0.0819,
                 "source": "GP-NCM83 SEM: 13.11 % inside the 50 % circle, 8.19 % whole section "
                           "(8.11 % at the 100 % circle, same number within +/-0.19 %)"},
    "p_ncm83": {"kind": "uniform", "porosity": 0.0196, "source": "P-NCM83 SEM: 1.96 % uniform"},
    "gp_ni96": {"kind": "circles", "within_half": _GP_NI96_HALF, "overall": 0.0692,
                "source": "GP-Ni96 SEM mean 6.92 %; gradient assumed with the GP-NCM83 "
                          "centre/mean ratio 13.11/8.19"},
    "p_ni96": {"kind": "uniform", "porosity": 0.0225, "source": "P-Ni96 SEM: 2.25 % uniform"},
}


def porosity_profile(kind, *, porosity: float | None = None, centre: float | None = None,
                     surface: float | None = None, within_half: float | None = None,
                     overall: float | None = None) -> PorosityProfile:
    """Build a radial porosity law phi(r/R) (fractions).

    kind:
      - a preset name: ``"gp_ncm83"`` (phi 18.03 % -> 3.27 %, section 8.19 %, 13.11 % inside the
        50 % circle), ``"p_ncm83"`` (1.96 %), ``"gp_ni96"`` (15.23 % -> 2.76 %, section 6.92 %),
        ``"p_ni96"`` (2.25 %);
      - ``"uniform"`` with ``porosity``;
      - ``"linear"`` with the LOCAL values ``centre`` (r = 0) and ``surface`` (r = R);
      - ``"circles"`` with the paper's concentric-circle numbers ``within_half`` (porosity inside the
        50 % circle of a central section) and ``overall`` (whole section): the linear law meeting both;
      - a table: sequence of (r_fraction, porosity) pairs, linearly interpolated (constant beyond);
      - a :class:`PorosityProfile` (returned unchanged).
    """
    if isinstance(kind, PorosityProfile):
        return kind
    if isinstance(kind, str):
        key = kind.strip().lower()
        if key in PRESETS:
            spec = dict(PRESETS[key])
            src = spec.pop("source")
            sub = spec.pop("kind")
            prof = porosity_profile(sub, **spec)
            return PorosityProfile(prof.r_fraction, prof.porosity, name=key, source=src)
        if key == "uniform":
            if porosity is None:
                raise _bad("porosity", porosity, "kind='uniform' needs porosity (fraction)")
            v = _finite_float("porosity", porosity)
            return PorosityProfile([0.0, 1.0], [v, v], name="uniform")
        if key == "linear":
            if centre is None or surface is None:
                raise _bad("centre/surface", (centre, surface), "kind='linear' needs both local values")
            return PorosityProfile([0.0, 1.0], [_finite_float("centre", centre),
                                               _finite_float("surface", surface)], name="linear")
        if key == "circles":
            if within_half is None or overall is None:
                raise _bad("within_half/overall", (within_half, overall),
                           "kind='circles' needs the porosity inside the 50 % circle and overall")
            a, b = _linear_from_circles(_finite_float("within_half", within_half),
                                        _finite_float("overall", overall))
            if a > _MAX_LOCAL_POROSITY or b < 0.0:
                raise _bad("within_half/overall", (within_half, overall),
                           f"the implied linear law {a:.4f} -> {b:.4f} leaves [0, {_MAX_LOCAL_POROSITY}]")
            return PorosityProfile([0.0, 1.0], [a, b], name="circles")
        allowed = sorted(PRESETS) + ["uniform", "linear", "circles"]
        raise _bad("porosity_profile", kind, f"must be one of {allowed} or a table of (r_fraction, porosity)")
    try:
        table = np.asarray(kind, dtype=float)
    except (TypeError, ValueError):
        raise _bad("porosity_profile", kind, "must be a preset name or a table of (r_fraction, porosity)") from None
    if table.ndim != 2 or table.shape[1] != 2:
        raise _bad("porosity_profile", kind, "a table must be a sequence of (r_fraction, porosity) pairs")
    return PorosityProfile(table[:, 0], table[:, 1], name="table")


_as_profile = porosity_profile


# ---------------------------------------------------------------------------------------------
# The pore set
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class PoreSet:
    """Pores of one particle (micrometres).

    Pore i is ``{x : |diag(1/a_i) R_i^T (x - c_i)| <= 1}`` with c = ``centers_um[i]``,
    a = ``semi_axes_um[i]`` and R = ``rotations[i]`` (columns: principal axes in the particle frame).
    ``cluster_ids``: pores overlapping on purpose share an id >= 0, isolated pores have -1.
    ``parent_ids``: for a cluster child, the index of the one pore it overlaps; -1 otherwise.
    ``class_ids``: volume class index (-1 for central pores and hand-made sets).
    """

    centers_um: np.ndarray
    semi_axes_um: np.ndarray
    rotations: np.ndarray
    cluster_ids: np.ndarray
    particle_radius_um: float
    parent_ids: np.ndarray | None = None
    class_ids: np.ndarray | None = None
    meta: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        c = np.ascontiguousarray(self.centers_um, dtype=float).reshape(-1, 3)
        n = c.shape[0]
        a = np.ascontiguousarray(self.semi_axes_um, dtype=float).reshape(n, 3)
        rot = np.ascontiguousarray(self.rotations, dtype=float).reshape(n, 3, 3)
        cid = np.ascontiguousarray(self.cluster_ids, dtype=np.int64).reshape(n)
        par = (np.full(n, -1, np.int64) if self.parent_ids is None
               else np.ascontiguousarray(self.parent_ids, dtype=np.int64).reshape(n))
        cls = (np.full(n, -1, np.int64) if self.class_ids is None
               else np.ascontiguousarray(self.class_ids, dtype=np.int64).reshape(n))
        R = _finite_float("particle_radius_um", self.particle_radius_um)
        if R <= 0:
            raise _bad("particle_radius_um", self.particle_radius_um, "must be > 0")
        if n and not np.all(a > 0):
            raise _bad("semi_axes_um", a[~np.all(a > 0, axis=1)][:3].tolist(), "must all be > 0")
        for arr in (c, a, rot, cid, par, cls):
            arr.setflags(write=False)
        object.__setattr__(self, "centers_um", c)
        object.__setattr__(self, "semi_axes_um", a)
        object.__setattr__(self, "rotations", rot)
        object.__setattr__(self, "cluster_ids", cid)
        object.__setattr__(self, "parent_ids", par)
        object.__setattr__(self, "class_ids", cls)
        object.__setattr__(self, "particle_radius_um", R)

    def __len__(self) -> int:
        return self.centers_um.shape[0]

    def __eq__(self, other) -> bool:  # bitwise identity of the geometry
        if not isinstance(other, PoreSet):
            return NotImplemented
        return (self.particle_radius_um == other.particle_radius_um
                and all(np.array_equal(getattr(self, k), getattr(other, k))
                        for k in ("centers_um", "semi_axes_um", "rotations", "cluster_ids", "parent_ids")))

    __hash__ = None  # type: ignore[assignment]

    @property
    def count(self) -> int:
        return len(self)

    @property
    def is_spherical(self) -> np.ndarray:
        a = self.semi_axes_um
        return (a.max(axis=1) - a.min(axis=1)) <= 1e-12 * a.max(axis=1)

    def volumes_um3(self) -> np.ndarray:
        """Volume of each pore (um^3), overlaps not removed."""
        return 4.0 / 3.0 * np.pi * np.prod(self.semi_axes_um, axis=1)

    def bounding_radii_um(self) -> np.ndarray:
        return self.semi_axes_um.max(axis=1)

    def shape_matrices_um2(self) -> np.ndarray:
        """A_i = R_i diag(a_i^2) R_i^T (pore i is (x-c)^T A_i^-1 (x-c) <= 1)."""
        return np.einsum("nij,nj,nkj->nik", self.rotations, self.semi_axes_um ** 2, self.rotations)

    def _candidate_pairs(self) -> list[tuple[int, int]]:
        """Pairs that may overlap: parent-child pairs, plus every pair inside a cluster that has
        members without a recorded parent (hand-made sets)."""
        pairs = set()
        cid, par = self.cluster_ids, self.parent_ids
        for q in np.nonzero(par >= 0)[0]:
            pairs.add((min(int(q), int(par[q])), max(int(q), int(par[q]))))
        for c in np.unique(cid[cid >= 0]):
            idx = np.nonzero(cid == c)[0]
            if np.sum(par[idx] >= 0) == len(idx) - 1:  # a tree: only parent-child pairs overlap
                continue
            for ii in range(len(idx)):
                for jj in range(ii + 1, len(idx)):
                    pairs.add((int(idx[ii]), int(idx[jj])))
        return sorted(pairs)

    def overlap_pairs(self) -> tuple[np.ndarray, np.ndarray]:
        """Overlapping pore pairs (m, 2) and their intersection volumes (m,) in um^3."""
        pairs, vols = [], []
        for i, j in self._candidate_pairs():
            v = _pair_volume(self, i, j)
            if v > 0.0:
                pairs.append((i, j))
                vols.append(v)
        return np.asarray(pairs, dtype=np.int64).reshape(-1, 2), np.asarray(vols, dtype=float)

    def total_volume_um3(self) -> float:
        """Union volume of the pores (um^3).

        Sum of the volumes minus the pairwise intersections of overlapping cluster pores: exact
        when no three pores share a point, which :func:`sample_pores` guarantees (a cluster child
        overlaps only its parent).  Pair volumes: analytic lens for spheres, 48-point Gauss
        quadrature of exact slice areas for ellipsoids.
        """
        _, vols = self.overlap_pairs()
        return float(self.volumes_um3().sum() - vols.sum())

    def to_json_dict(self) -> dict:
        return {
            "particle_radius_um": self.particle_radius_um,
            "centers_um": self.centers_um.tolist(),
            "semi_axes_um": self.semi_axes_um.tolist(),
            "rotations": self.rotations.tolist(),
            "cluster_ids": self.cluster_ids.tolist(),
            "parent_ids": self.parent_ids.tolist(),
            "class_ids": self.class_ids.tolist(),
            "meta": dict(self.meta),
        }

    @classmethod
    def from_json_dict(cls, d: Mapping[str, Any]) -> "PoreSet":
        return cls(centers_um=np.asarray(d["centers_um"], float).reshape(-1, 3),
                   semi_axes_um=np.asarray(d["semi_axes_um"], float).reshape(-1, 3),
                   rotations=np.asarray(d["rotations"], float).reshape(-1, 3, 3),
                   cluster_ids=np.asarray(d["cluster_ids"], int),
                   particle_radius_um=float(d["particle_radius_um"]),
                   parent_ids=np.asarray(d.get("parent_ids", [-1] * len(d["cluster_ids"])), int),
                   class_ids=np.asarray(d.get("class_ids", [-1] * len(d["cluster_ids"])), int),
                   meta=dict(d.get("meta", {})))


# ---------------------------------------------------------------------------------------------
# Exact geometry: areas and volumes
# ---------------------------------------------------------------------------------------------
def circle_disk_area(radius, center_distance, disk_radius):
    """Area of a circle (radius a, centre at distance d from the origin) inside the disk |x| <= r.

    Closed form (circle-circle lens), broadcast over the arguments.
    """
    a = np.asarray(radius, dtype=float)
    d = np.asarray(center_distance, dtype=float)
    r = np.asarray(disk_radius, dtype=float)
    a, d, r = np.broadcast_arrays(a, d, r)
    out = np.zeros(a.shape)
    inside = d <= np.abs(r - a)
    out[inside] = np.pi * np.minimum(a, r)[inside] ** 2
    lens = (~inside) & (d < a + r)
    if np.any(lens):
        aa, dd, rr = a[lens], d[lens], r[lens]
        # lens = circular segment of each circle; half-angles from atan2 and a series for thin
        # segments keep full relative precision when one circle is much larger than the other
        k = np.sqrt(np.maximum((-dd + aa + rr) * (dd + aa - rr) * (dd - aa + rr) * (dd + aa + rr), 0.0))
        alpha_a = np.arctan2(k, dd * dd + aa * aa - rr * rr)
        alpha_r = np.arctan2(k, dd * dd + rr * rr - aa * aa)
        out[lens] = aa * aa * _segment_factor(alpha_a) + rr * rr * _segment_factor(alpha_r)
    return out if out.ndim else float(out)


def _segment_factor(alpha: np.ndarray) -> np.ndarray:
    """alpha - sin(2 alpha) / 2: area of a circular segment of half-angle alpha on the unit circle."""
    x = 2.0 * alpha
    small = np.abs(x) < 0.05
    out = alpha - 0.5 * np.sin(x)
    xs = x[small]
    out[small] = xs ** 3 / 12.0 - xs ** 5 / 240.0 + xs ** 7 / 10080.0
    return out


def _ball_volume_inside(radius, center_distance, ball_radius):
    """Volume of a sphere (radius a, centre at distance d) inside the ball |x| <= r (closed form)."""
    a = np.asarray(radius, dtype=float)
    d = np.asarray(center_distance, dtype=float)
    r = np.asarray(ball_radius, dtype=float)
    a, d, r = np.broadcast_arrays(a, d, r)
    out = np.zeros(a.shape)
    inside = d <= np.abs(r - a)
    out[inside] = 4.0 / 3.0 * np.pi * np.minimum(a, r)[inside] ** 3
    lens = (~inside) & (d < a + r)
    if np.any(lens):
        aa, dd, rr = a[lens], d[lens], r[lens]
        out[lens] = np.pi * (aa + rr - dd) ** 2 * (dd * dd + 2 * dd * (aa + rr) - 3 * (aa - rr) ** 2) / (12 * dd)
    return out


def _intersection_area(C: np.ndarray, M: np.ndarray, n_grid: int = 128) -> np.ndarray:
    """Area of the intersection of k filled ellipses, batched.

    C (B, k, 2) centres, M (B, k, 2, 2) boundary maps: ellipse j is {c_j + M_j u : |u| <= 1}, with
    det M_j > 0.  Green's theorem on the boundary of the intersection: the part of ellipse i's
    boundary inside all the others, integrated exactly (closed-form antiderivative of
    (x dy - y dx) / 2 along the ellipse).  Along ellipse i, "inside ellipse j" is g_ij(t) < 0 with
    g_ij a trigonometric polynomial of degree 2 (closed-form coefficients); its roots are bracketed
    by sign changes on an ``n_grid`` grid and polished by safeguarded Newton to ~1e-15 rad.  Exact up
    to two crossings closer than one grid cell (a sliver of relative area < 1e-6).
    """
    C = np.asarray(C, dtype=float)
    M = np.asarray(M, dtype=float)
    B, k = C.shape[:2]
    det = M[..., 0, 0] * M[..., 1, 1] - M[..., 0, 1] * M[..., 1, 0]
    if k == 1 or B == 0:
        return np.pi * det[:, 0] if B else np.zeros(0)
    Minv = np.linalg.inv(M)
    t = np.linspace(0.0, 2.0 * np.pi, n_grid + 1)
    basis = np.stack([np.ones_like(t), np.cos(t), np.sin(t), np.cos(2 * t), np.sin(2 * t)])  # (5, N+1)
    total = np.zeros(B)

    def coeffs(i: int, j: int) -> np.ndarray:
        """(B, 5) coefficients of g_ij(t) = |Minv_j (p_i(t) - c_j)|^2 - 1 in (1, cos t, sin t, cos 2t, sin 2t)."""
        d = C[:, i] - C[:, j]
        N = Minv[:, j]
        e = np.einsum("bxy,by->bx", N, d)
        f = np.einsum("bxy,by->bx", N, M[:, i, :, 0])
        h = np.einsum("bxy,by->bx", N, M[:, i, :, 1])
        ff, hh = np.sum(f * f, 1), np.sum(h * h, 1)
        return np.stack([np.sum(e * e, 1) + 0.5 * (ff + hh) - 1.0, 2 * np.sum(e * f, 1), 2 * np.sum(e * h, 1),
                         0.5 * (ff - hh), np.sum(f * h, 1)], axis=1)

    def evaluate(cf: np.ndarray, tt: np.ndarray) -> np.ndarray:
        return (cf[:, 0] + cf[:, 1] * np.cos(tt) + cf[:, 2] * np.sin(tt) + cf[:, 3] * np.cos(2 * tt)
                + cf[:, 4] * np.sin(2 * tt))

    def derivative(cf: np.ndarray, tt: np.ndarray) -> np.ndarray:
        return (-cf[:, 1] * np.sin(tt) + cf[:, 2] * np.cos(tt) - 2 * cf[:, 3] * np.sin(2 * tt)
                + 2 * cf[:, 4] * np.cos(2 * tt))

    for i in range(k):
        others = [j for j in range(k) if j != i]
        roots, cfs = [], []
        for j in others:
            cf = coeffs(i, j)
            cfs.append(cf)
            G = cf @ basis  # (B, N+1)
            ins = G < 0.0
            change = ins[:, :-1] != ins[:, 1:]
            rj = np.full((B, n_grid), np.nan)
            rows, cells = np.nonzero(change)
            if rows.size:
                c_r = cf[rows]
                lo, hi = t[cells].copy(), t[cells + 1].copy()
                g_lo, g_hi = G[rows, cells], G[rows, cells + 1]
                s_lo = g_lo < 0.0
                x = lo - g_lo * (hi - lo) / np.where(g_hi != g_lo, g_hi - g_lo, 1.0)
                x = np.clip(x, lo, hi)
                best_x, best_g = x.copy(), np.full(x.shape, np.inf)
                for _ in range(10):
                    gx = evaluate(c_r, x)
                    better = np.abs(gx) < best_g
                    best_x = np.where(better, x, best_x)
                    best_g = np.where(better, np.abs(gx), best_g)
                    same = (gx < 0.0) == s_lo
                    lo = np.where(same, x, lo)
                    hi = np.where(same, hi, x)
                    dg = derivative(c_r, x)
                    xn = x - gx / np.where(dg != 0.0, dg, 1.0)
                    bad = (dg == 0.0) | ~(xn >= lo) | ~(xn <= hi)
                    x = np.where(gx == 0.0, x, np.where(bad, 0.5 * (lo + hi), xn))
                rj[rows, cells] = best_x
            roots.append(rj)
        t_lo = np.broadcast_to(t[:-1], (B, n_grid))[..., None]
        t_hi = np.broadcast_to(t[1:], (B, n_grid))[..., None]
        Rr = np.stack(roots, axis=-1)
        Rr = np.where(np.isnan(Rr), t_hi, Rr)
        bp = np.sort(np.concatenate([t_lo, Rr, t_hi], axis=-1), axis=-1)  # (B, N, k+1)
        mids = 0.5 * (bp[..., :-1] + bp[..., 1:])  # (B, N, k)
        flat = mids.reshape(B, -1)
        inside = np.ones(flat.shape, dtype=bool)
        cos1, sin1, cos2, sin2 = np.cos(flat), np.sin(flat), np.cos(2 * flat), np.sin(2 * flat)
        for cf in cfs:
            inside &= (cf[:, 0:1] + cf[:, 1:2] * cos1 + cf[:, 2:3] * sin1
                       + cf[:, 3:4] * cos2 + cf[:, 4:5] * sin2) < 0.0
        inside = inside.reshape(mids.shape)
        ci, Mi = C[:, i], M[:, i]
        cx0 = ci[:, 0] * Mi[:, 1, 0] - ci[:, 1] * Mi[:, 0, 0]  # c x m0
        cx1 = ci[:, 0] * Mi[:, 1, 1] - ci[:, 1] * Mi[:, 0, 1]  # c x m1
        H = 0.5 * (det[:, i][:, None, None] * bp + np.cos(bp) * cx0[:, None, None]
                   + np.sin(bp) * cx1[:, None, None])
        total += np.sum(np.where(inside, H[..., 1:] - H[..., :-1], 0.0), axis=(1, 2))
    return total


def ellipse_boundary_map(semi_axes, angle=0.0) -> np.ndarray:
    a, b = semi_axes
    c, s = math.cos(angle), math.sin(angle)
    return np.array([[c * a, -s * b], [s * a, c * b]])


def ellipse_disk_area(center, boundary_map, disk_radius) -> np.ndarray:
    """Area of the ellipse {center + M u : |u| <= 1} inside the disk |x| <= r, for each r.

    center (2,), boundary_map M (2, 2), disk_radius scalar or (E,).  Exact up to root refinement
    (Green's theorem, see ``_intersection_area``).
    """
    w0 = np.asarray(center, dtype=float).reshape(1, 2)
    Mm = np.asarray(boundary_map, dtype=float).reshape(1, 2, 2)
    if np.linalg.det(Mm[0]) < 0:
        Mm = Mm.copy()
        Mm[0, :, 1] *= -1
    r = np.atleast_1d(np.asarray(disk_radius, dtype=float))
    return _ellipses_in_disks(w0, Mm, r)[0]


def circle_annulus_area(radius, center_distance, r_inner, r_outer):
    """Area of a circle (radius a, centre at distance d from the origin) inside the annulus
    r_inner <= |x| <= r_outer (closed form)."""
    return np.asarray(circle_disk_area(radius, center_distance, r_outer)) - np.asarray(
        circle_disk_area(radius, center_distance, r_inner))


def ellipse_annulus_area(center, boundary_map, r_inner: float, r_outer: float) -> float:
    """Area of the ellipse {center + M u : |u| <= 1} inside the annulus r_inner <= |x| <= r_outer."""
    a = ellipse_disk_area(center, boundary_map, [r_inner, r_outer])
    return float(a[1] - a[0])


def _ellipses_in_disks(w0: np.ndarray, M: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """(m, E) area of ellipse i inside the disk of radius edges[e] (centred at the origin)."""
    m, E = w0.shape[0], edges.size
    out = np.zeros((m, E))
    if m == 0:
        return out
    full = np.pi * np.abs(M[:, 0, 0] * M[:, 1, 1] - M[:, 0, 1] * M[:, 1, 0])
    sv = np.linalg.svd(M, compute_uv=False)  # semi-axes
    amax, amin = sv[:, 0], sv[:, 1]
    d = np.hypot(w0[:, 0], w0[:, 1])
    rr = edges[None, :]
    out = np.where(d[:, None] + amax[:, None] <= rr, full[:, None], 0.0)
    straddle = (d[:, None] + amax[:, None] > rr) & (d[:, None] - amax[:, None] < rr) & (rr > 0)
    circ = (amax - amin) <= 1e-12 * amax
    sc = straddle & circ[:, None]
    if np.any(sc):
        ii, ee = np.nonzero(sc)
        out[ii, ee] = circle_disk_area(amax[ii], d[ii], edges[ee])
    se = straddle & ~circ[:, None]
    if np.any(se):
        ii, ee = np.nonzero(se)
        Cb = np.zeros((ii.size, 2, 2))
        Mb = np.zeros((ii.size, 2, 2, 2))
        Cb[:, 1] = w0[ii]
        Mb[:, 0, 0, 0] = Mb[:, 0, 1, 1] = edges[ee]
        Mb[:, 1] = M[ii]
        out[ii, ee] = _intersection_area(Cb, Mb)
    return out


def _pairs_in_disks(w0a, Ma, w0b, Mb, edges) -> np.ndarray:
    """(m, E) area of (ellipse a  intersect ellipse b) inside each disk."""
    m, E = w0a.shape[0], edges.size
    out = np.zeros((m, E))
    if m == 0:
        return out
    ra = np.linalg.svd(Ma, compute_uv=False)[:, 0]
    rb = np.linalg.svd(Mb, compute_uv=False)[:, 0]
    da = np.hypot(w0a[:, 0], w0a[:, 1])
    db = np.hypot(w0b[:, 0], w0b[:, 1])
    touch = np.hypot(*(w0a - w0b).T) < ra + rb
    if not np.any(touch):
        return out
    # pair area with no disk limit
    idx = np.nonzero(touch)[0]
    Cp = np.stack([w0a[idx], w0b[idx]], axis=1)
    Mp = np.stack([Ma[idx], Mb[idx]], axis=1)
    pair_full = np.zeros(m)
    pair_full[idx] = _intersection_area(Cp, Mp)
    rr = edges[None, :]
    lo = np.maximum(da - ra, db - rb)  # the lens lies inside both: outside radius >= this
    hi = np.minimum(da + ra, db + rb)
    out = np.where(hi[:, None] <= rr, pair_full[:, None], 0.0)
    need = touch[:, None] & (pair_full[:, None] > 0) & (hi[:, None] > rr) & (lo[:, None] < rr) & (rr > 0)
    if np.any(need):
        ii, ee = np.nonzero(need)
        Cb = np.zeros((ii.size, 3, 2))
        Mq = np.zeros((ii.size, 3, 2, 2))
        Cb[:, 1], Cb[:, 2] = w0a[ii], w0b[ii]
        Mq[:, 0, 0, 0] = Mq[:, 0, 1, 1] = edges[ee]
        Mq[:, 1], Mq[:, 2] = Ma[ii], Mb[ii]
        out[ii, ee] = _intersection_area(Cb, Mq)
    return out


def _plane_basis(normal) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n = np.asarray(normal, dtype=float).reshape(3)
    nn = np.linalg.norm(n)
    if not np.isfinite(nn) or nn == 0:
        raise _bad("plane_normal", tuple(np.asarray(normal).tolist()), "must be a nonzero finite 3-vector")
    n = n / nn
    helper = np.eye(3)[int(np.argmin(np.abs(n)))]
    s1 = helper - helper.dot(n) * n
    s1 /= np.linalg.norm(s1)
    s2 = np.cross(n, s1)
    return n, s1, s2


def _sections(centers, semi, rot, normal, offset) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sections of ellipsoids by the plane n.x = offset.

    Returns (idx, w0, M): indices of the cut pores, in-plane centres (m, 2) relative to the point
    offset*n in the basis (s1, s2), boundary maps (m, 2, 2) with det > 0.
    """
    n, s1, s2 = _plane_basis(normal)
    centers = np.asarray(centers, float).reshape(-1, 3)
    if centers.shape[0] == 0:
        return np.zeros(0, int), np.zeros((0, 2)), np.zeros((0, 2, 2))
    S = np.stack([s1, s2], axis=1)  # (3, 2)
    Q = np.einsum("nij,nj,nkj->nik", rot, 1.0 / semi ** 2, rot)
    dc = offset * n - centers
    P = np.einsum("ia,nij,jb->nab", S, Q, S)
    gv = np.einsum("ia,nij,nj->na", S, Q, dc)
    h = np.einsum("ni,nij,nj->n", dc, Q, dc)
    w0 = -np.linalg.solve(P, gv[..., None])[..., 0]
    kappa = h + np.einsum("na,na->n", gv, w0)
    cut = kappa < 1.0
    idx = np.nonzero(cut)[0]
    lam, V = np.linalg.eigh(P[idx])
    scale = np.sqrt((1.0 - kappa[idx])[:, None] / lam)
    M = V * scale[:, None, :]
    neg = np.linalg.det(M) < 0
    M[neg, :, 1] *= -1
    # in-plane centre w: position = offset*n + S w  (w0 already relative to offset*n)
    return idx, w0[idx], M


def _section_arrays(pores: PoreSet, normal, offset):
    return _sections(pores.centers_um, pores.semi_axes_um, pores.rotations, normal, offset)


def _pair_volume(pores: PoreSet, i: int, j: int) -> float:
    """Intersection volume of pores i and j (um^3)."""
    ci, cj = pores.centers_um[i], pores.centers_um[j]
    ai, aj = pores.semi_axes_um[i], pores.semi_axes_um[j]
    d = float(np.linalg.norm(ci - cj))
    if d >= ai.max() + aj.max():
        return 0.0
    sph = pores.is_spherical
    if sph[i] and sph[j]:
        return float(_ball_volume_inside(ai[0], d, aj[0]))
    return _ellipsoid_pair_volume(ci, ai, pores.rotations[i], cj, aj, pores.rotations[j])


def _z_slices(c, a, rot, zs):
    """Sections of one ellipsoid by the planes z = zs: centres (n, 2), boundary maps (n, 2, 2), valid (n,).

    With P = Q[:2, :2], b = Q[:2, 2] (Q = R diag(a^-2) R^T) the slice at z is
    (y - y0)^T P (y - y0) <= 1 - kappa, y0 = -(z - c_z) P^-1 b, kappa = (z - c_z)^2 (Q_zz - b^T P^-1 b):
    scaled copies of one ellipse.
    """
    Q = rot @ np.diag(1.0 / np.asarray(a) ** 2) @ rot.T
    P, b = Q[:2, :2], Q[:2, 2]
    Pib = np.linalg.solve(P, b)
    dz = np.asarray(zs, float) - c[2]
    kappa = dz * dz * (Q[2, 2] - b @ Pib)
    valid = kappa < 1.0
    lam, V = np.linalg.eigh(P)
    unit = V / np.sqrt(lam)[None, :]
    if np.linalg.det(unit) < 0:
        unit[:, 1] *= -1
    scale = np.sqrt(np.clip(1.0 - kappa, 0.0, None))
    centres = c[:2][None, :] - dz[:, None] * Pib[None, :]
    return centres, unit[None] * scale[:, None, None], valid


def _ellipsoid_pair_volume(ci, ai, Ri, cj, aj, Rj, n_nodes: int = 48) -> float:
    """Intersection volume of two ellipsoids: Gauss-Legendre in z of exact slice-intersection areas."""
    hi_ = math.sqrt(float((Ri[2] ** 2) @ (np.asarray(ai) ** 2)))
    hj_ = math.sqrt(float((Rj[2] ** 2) @ (np.asarray(aj) ** 2)))
    z0 = max(ci[2] - hi_, cj[2] - hj_)
    z1 = min(ci[2] + hi_, cj[2] + hj_)
    if z1 <= z0:
        return 0.0
    xg, wg = np.polynomial.legendre.leggauss(n_nodes)
    zs = 0.5 * (z0 + z1) + 0.5 * (z1 - z0) * xg
    wi, Mi, vi = _z_slices(np.asarray(ci, float), ai, Ri, zs)
    wj, Mj, vj = _z_slices(np.asarray(cj, float), aj, Rj, zs)
    ok = vi & vj
    areas = np.zeros(n_nodes)
    if np.any(ok):
        areas[ok] = _intersection_area(np.stack([wi[ok], wj[ok]], axis=1), np.stack([Mi[ok], Mj[ok]], axis=1))
    return float(0.5 * (z1 - z0) * np.dot(wg, areas))


# ---------------------------------------------------------------------------------------------
# Measurement "like the paper"
# ---------------------------------------------------------------------------------------------
def _section_pore_area_in_disks(pores: PoreSet, normal, offset_um: float, radii_um: np.ndarray):
    """Union pore area (um^2) inside each disk radius on the plane, and the number of cut pores."""
    idx, w0, M = _section_arrays(pores, normal, offset_um)
    areas = _ellipses_in_disks(w0, M, radii_um).sum(axis=0)
    pairs = pores._candidate_pairs()
    if pairs:
        loc = {int(p): q for q, p in enumerate(idx)}
        pa = [loc[i] for i, j in pairs if i in loc and j in loc]
        pb = [loc[j] for i, j in pairs if i in loc and j in loc]
        if pa:
            pa, pb = np.array(pa), np.array(pb)
            areas -= _pairs_in_disks(w0[pa], M[pa], w0[pb], M[pb], radii_um).sum(axis=0)
    return areas, int(idx.size)


def _check_edges(name: str, edges) -> np.ndarray:
    try:
        e = np.asarray(edges, dtype=float).ravel()
    except (TypeError, ValueError):
        raise _bad(name, edges, "must be strictly increasing fractions within [0, 1]") from None
    if e.size < 1 or np.any(~np.isfinite(e)) or np.any(e < 0) or np.any(e > 1) or np.any(np.diff(e) <= 0):
        raise _bad(name, tuple(e.tolist()), "must be strictly increasing fractions within [0, 1]")
    return e


def _section_areas(pores: PoreSet, normal, offset_um: float, fractions: np.ndarray):
    """Section radius R_s, {fraction: union pore area (um^2) inside the circle fraction * R_s}, pores cut."""
    R = pores.particle_radius_um
    off = _finite_float("offset_um", offset_um)
    if abs(off) >= R:
        raise _bad("offset_um", offset_um, f"must satisfy |offset_um| < particle radius {R:g}")
    n, _, _ = _plane_basis(normal)
    Rs = math.sqrt(R * R - off * off)
    fr = np.unique(np.concatenate([np.asarray(fractions, float), [1.0]]))
    areas, ncut = _section_pore_area_in_disks(pores, n, off, fr * Rs)
    return n, off, Rs, {round(float(f), 12): float(a) for f, a in zip(fr, areas)}, ncut


def _ring_porosity(areas: dict, Rs: float, a: float, b: float) -> float:
    inner = areas[round(float(a), 12)] if a > 0 else 0.0
    return (areas[round(float(b), 12)] - inner) / (np.pi * Rs * Rs * (b * b - a * a))


def _circle_porosity(areas: dict, Rs: float, x: float) -> float:
    return areas[round(float(x), 12)] / (np.pi * (x * Rs) ** 2)


def section_porosity(pores: PoreSet, *, plane_normal=(0.0, 0.0, 1.0), offset_um: float = 0.0,
                     ring_edges_fraction: Sequence[float] = PAPER_RING_EDGES) -> dict:
    """Exact pore area fractions of one planar cross-section, overall and in concentric rings.

    The plane is {x : n.x = offset_um}; its section of the particle is a disk of radius
    R_s = sqrt(R^2 - offset^2), and ring edges are fractions of R_s (circles drawn on an SEM
    image).  Pore sections are exact circles/ellipses; their areas inside each circle are closed
    form (circle-circle lens) or exact by Green's theorem (ellipses); overlapping cluster pairs are
    subtracted (pairwise inclusion-exclusion, exact for the sampler's tree-shaped clusters).

    Returns ``{"plane_normal", "offset_um", "section_radius_um", "pores_cut", "porosity",
    "rings": [{"r_inner_fraction", "r_outer_fraction", "porosity"}, ...] (annuli between
    consecutive edges), "circles": [{"r_fraction", "porosity"}, ...] (inside each edge circle, the
    paper's cumulative concentric-circle quantity)}``.
    """
    edges = _check_edges("ring_edges_fraction", ring_edges_fraction)
    n, off, Rs, areas, ncut = _section_areas(pores, plane_normal, offset_um, edges)
    return {
        "plane_normal": [float(v) for v in n],
        "offset_um": off,
        "section_radius_um": Rs,
        "pores_cut": ncut,
        "porosity": _circle_porosity(areas, Rs, 1.0),
        "rings": [{"r_inner_fraction": float(a), "r_outer_fraction": float(b),
                   "porosity": float(_ring_porosity(areas, Rs, a, b))} for a, b in zip(edges[:-1], edges[1:])],
        "circles": [{"r_fraction": float(x), "porosity": float(_circle_porosity(areas, Rs, x))}
                    for x in edges if x > 0],
    }


def measure_porosity(pores: PoreSet, *,
                     planes: Mapping[str, Sequence[float]] | Sequence[Sequence[float]] = CENTRAL_PLANES,
                     rings_paper: Sequence[float] = PAPER_RING_EDGES,
                     rings_full: Sequence[float] = FULL_RING_EDGES) -> dict:
    """Porosity measured as in the paper (central SEM sections), plus 3D numbers for geometry.json.

    Every quantity from sections is the average over ``planes`` (default: the central xy, yz, zx
    sections, the ones :func:`sample_pores` controls; other planes, e.g. ``section_porosity`` with
    an offset or an oblique normal, show the natural section-to-section scatter).  Keys:
      ``porosity_overall``          mean section porosity (the paper's 8.19 % for GP-NCM83);
      ``porosity_overall_by_plane`` per plane;
      ``porosity_volume``           3D union pore volume / particle volume;
      ``porosity_by_ring``          annuli between consecutive ``rings_paper`` edges (50-60 %, ...,
                                    90-100 % of the radius), [{r_inner_fraction, r_outer_fraction, porosity}];
      ``porosity_within_circle``    inside each ``rings_paper`` circle, [{r_fraction, porosity}]: the
                                    paper's cumulative concentric-circle numbers (13.11 % at 0.5,
                                    8.11 % at 1.0 for GP-NCM83, see the module docstring);
      ``porosity_profile_full``     annuli between consecutive ``rings_full`` edges (0-10 %, ..., 90-100 %);
      ``pore_count``, ``cluster_count``, ``pores_in_clusters``;
      ``pore_volume_um3``           {min, p10, p50, p90, max} of the individual pore volumes;
      ``pore_volume_total_um3``     union pore volume.
    """
    if isinstance(planes, Mapping):
        named = [(str(k), v) for k, v in planes.items()]
    else:
        named = [(f"plane{q}", v) for q, v in enumerate(planes)]
    if not named:
        raise _bad("planes", planes, "needs at least one plane normal")
    paper = _check_edges("rings_paper", rings_paper)
    full = _check_edges("rings_full", rings_full)
    sections = [_section_areas(pores, nv, 0.0, np.concatenate([paper, full])) for _, nv in named]

    def ring(a, b):
        return float(np.mean([_ring_porosity(ar, Rs, a, b) for _, _, Rs, ar, _ in sections]))

    def circle(x):
        return float(np.mean([_circle_porosity(ar, Rs, x) for _, _, Rs, ar, _ in sections]))

    by_plane = {name: _circle_porosity(sec[3], sec[2], 1.0) for (name, _), sec in zip(named, sections)}
    vols = pores.volumes_um3()
    union = pores.total_volume_um3()
    q = np.quantile(vols, [0.0, 0.1, 0.5, 0.9, 1.0]) if vols.size else np.zeros(5)
    cid = pores.cluster_ids
    return {
        "porosity_overall": float(np.mean(list(by_plane.values()))),
        "porosity_overall_by_plane": by_plane,
        "porosity_volume": float(union / (4.0 / 3.0 * np.pi * pores.particle_radius_um ** 3)),
        "porosity_by_ring": [{"r_inner_fraction": float(a), "r_outer_fraction": float(b), "porosity": ring(a, b)}
                             for a, b in zip(paper[:-1], paper[1:])],
        "porosity_within_circle": [{"r_fraction": float(x), "porosity": circle(x)} for x in paper if x > 0],
        "porosity_profile_full": [{"r_inner_fraction": float(a), "r_outer_fraction": float(b), "porosity": ring(a, b)}
                                  for a, b in zip(full[:-1], full[1:])],
        "pore_count": len(pores),
        "cluster_count": int(np.unique(cid[cid >= 0]).size),
        "pores_in_clusters": int(np.sum(cid >= 0)),
        "pore_volume_um3": dict(zip(("min", "p10", "p50", "p90", "max"), (float(v) for v in q))),
        "pore_volume_total_um3": float(union),
    }


# ---------------------------------------------------------------------------------------------
# Size classes
# ---------------------------------------------------------------------------------------------
def _validate_classes(volume_classes, volume_scale: float) -> np.ndarray:
    try:
        arr = np.asarray(volume_classes, dtype=float)
    except (TypeError, ValueError):
        raise _bad("volume_classes", volume_classes,
                   "must be a list of (v_min_um3, v_max_um3, count_fraction)") from None
    if arr.ndim != 2 or arr.shape[1] != 3 or arr.shape[0] < 1:
        raise _bad("volume_classes", volume_classes, "must be a list of (v_min_um3, v_max_um3, count_fraction)")
    if not np.all(np.isfinite(arr)) or np.any(arr[:, 0] <= 0) or np.any(arr[:, 1] <= arr[:, 0]):
        raise _bad("volume_classes", volume_classes, "each class needs 0 < v_min_um3 < v_max_um3")
    if np.any(arr[:, 2] <= 0) or abs(arr[:, 2].sum() - 1.0) > 1e-3:
        raise _bad("volume_classes", volume_classes, "count fractions must be > 0 and sum to 1")
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


class _SizeModel:
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


def _shell_targets(R: float, profile: PorosityProfile, n_shells: int):
    edges = np.linspace(0.0, 1.0, n_shells + 1)
    vol = 4.0 / 3.0 * np.pi * R ** 3 * (edges[1:] ** 3 - edges[:-1] ** 3)
    tgt = np.array([profile.shell_mean(a, b) for a, b in zip(edges[:-1], edges[1:])]) * vol
    return edges, vol, tgt


def expected_pore_count(*, particle_radius_um: float, porosity_profile, volume_classes=MEASURED_VOLUME_CLASSES,
                        volume_scale: float = 1.0, size_bias: float = 1.5, central_pores_um3=(),
                        n_shells: int = 20) -> float:
    """Expected number of sampled pores (central pores included) for these settings."""
    R = _finite_float("particle_radius_um", particle_radius_um)
    if R <= 0:
        raise _bad("particle_radius_um", particle_radius_um, "must be > 0")
    vs = _finite_float("volume_scale", volume_scale)
    if vs <= 0:
        raise _bad("volume_scale", volume_scale, "must be > 0")
    prof = _as_profile(porosity_profile)
    cl = _validate_classes(volume_classes, vs)
    edges, vol, tgt = _shell_targets(R, prof, n_shells)
    xm = 0.5 * (edges[1:] + edges[:-1])
    model = _SizeModel(cl, float(size_bias), xm, tgt)
    central = np.asarray(central_pores_um3, float).ravel()
    remaining = max(tgt.sum() - central.sum(), 0.0)
    scale = remaining / tgt.sum() if tgt.sum() > 0 else 0.0
    return float(np.sum(tgt * scale / model.mean_volume(xm)) + central.size)


def volume_scale_for_pore_count(target_count: float, *, particle_radius_um: float, porosity_profile,
                                volume_classes=MEASURED_VOLUME_CLASSES, size_bias: float = 1.5,
                                central_pores_um3=()) -> float:
    """The ``volume_scale`` at which :func:`sample_pores` is expected to place ~target_count pores."""
    tc = _finite_float("target_count", target_count)
    if tc < 1:
        raise _bad("target_count", target_count, "must be >= 1")
    n1 = expected_pore_count(particle_radius_um=particle_radius_um, porosity_profile=porosity_profile,
                             volume_classes=volume_classes, volume_scale=1.0, size_bias=size_bias,
                             central_pores_um3=central_pores_um3)
    nc = len(tuple(central_pores_um3))
    if n1 - nc <= 0:
        raise _bad("porosity_profile", porosity_profile, "has no pore volume to place")
    return float((n1 - nc) / max(tc - nc, 1.0))


# ---------------------------------------------------------------------------------------------
# Sampling machinery
# ---------------------------------------------------------------------------------------------
def _random_rotation(rng: np.random.Generator) -> np.ndarray:
    q = rng.normal(size=4)
    q /= np.linalg.norm(q)
    w, x, y, z = q
    return np.array([
        [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
        [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
        [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
    ])


def _unit_vector(rng: np.random.Generator) -> np.ndarray:
    v = rng.normal(size=3)
    return v / np.linalg.norm(v)


class _Filler:
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


class _Packing:
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

    def clear(self, cand: "_Cand", exclude: int = -1) -> bool:
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

    def add(self, cand: "_Cand", cls: int, parent: int = -1) -> int:
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


class _Cand:
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


def _cand_section(cand: _Cand, axis: int):
    """Section of a candidate pore with the central plane normal to ``axis``: (w0 (2,), M (2,2)) or None."""
    if abs(cand.c[axis]) >= cand.h[axis]:
        return None
    p, q = _INPLANE[axis]
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


_INPLANE = {2: (0, 1), 0: (1, 2), 1: (2, 0)}
_PLANE_AXES = (2, 0, 1)  # xy, yz, zx: the order of CENTRAL_PLANES


@dataclass
class _Settings:
    R: float
    gap: float
    sgap: float
    shape_sphere: bool
    aspect: tuple[float, float]
    cluster_fraction: float
    control: bool
    max_pores: int | None


def sample_pores(*, particle_radius_um: float, porosity_profile, seed: int, min_gap_um: float,
                 surface_gap_um: float, volume_classes=MEASURED_VOLUME_CLASSES, shape: str = "sphere",
                 aspect_ratio_range: tuple[float, float] = (1.0, 1.0), central_pores_um3=(),
                 cluster_fraction: float = 0.0, volume_scale: float = 1.0, max_pores: int | None = None,
                 size_bias: float = 1.5, control_sections: bool = True, n_shells: int = 20) -> PoreSet:
    """Place pores in a particle of radius R so that the porosity profile and section targets are met.

    Arguments (micrometres, fractions):
      particle_radius_um  R > 0.
      porosity_profile    a preset name, table or :class:`PorosityProfile` (see :func:`porosity_profile`);
                          the local porosity phi(r/R).
      seed                int >= 0; the same seed gives a bitwise identical PoreSet.
      min_gap_um          >= 0, smallest distance between pores (cluster child-parent pairs excepted).
      surface_gap_um      >= 0, smallest distance from any pore to the outer surface.
      volume_classes      [(v_min_um3, v_max_um3, count_fraction), ...]; default the FIB-SEM classes.
      shape               "sphere" or "ellipsoid" (triaxial, semi-axes r sqrt(q), r, r / sqrt(q) with
                          q drawn uniformly in ``aspect_ratio_range``, random orientation, same volume).
      central_pores_um3   volumes placed at the centre first (e.g. MEASURED_CENTRAL_PORES_UM3 for a
                          ~10 um particle); not scaled by volume_scale; they count toward the targets.
      cluster_fraction    in [0, 0.5]: probability that a pore is placed as a child overlapping one
                          nearby existing pore (coral-like interconnected clusters; children are
                          placed only where a parent exists, so the realised fraction is a bit lower).
      volume_scale        > 0, multiplies the class volumes: fewer, larger pores at the same profile
                          (see the module docstring: ~3500 pores at 1.0 for a 5 um GP-NCM83 particle,
                          a few hundred at 6-7).
      max_pores           None or int >= 1: refuse (ValueError) if more pores would be needed.
      size_bias           tilt of the class mix with radius (0: none; 1.5 default: the largest class is
                          e^1.5 = 4.5 times likelier, relative to the smallest, at the centre than at
                          the surface; small pores near the surface as measured).
      control_sections    place the pores cut by the xy, yz, zx central planes so that those sections
                          measure exactly the profile (see module docstring).
      n_shells            radial shells for the 3D volume control (>= 4).

    Raises ValueError (:class:`solver.errors.CaseError`) naming the argument, its value and the
    allowed range for bad input, and refuses results that miss the targets (3D pore volume off by
    more than 2 % or half the largest class volume; a central section's overall porosity off by more
    than 0.2 point).  A plane-averaged ring (50-100 %) or the 50 % circle off by more than 1 point,
    e.g. when ``surface_gap_um`` leaves no room for pores in the outer ring or ``volume_scale``
    makes pores too coarse for a small particle, gives a RuntimeWarning; ``meta["section_errors"]``
    records those errors for every result.

    Returns a :class:`PoreSet` whose ``meta`` records the settings, the targets and how many pores
    each step placed (``pores_by_step``).
    """
    R = _finite_float("particle_radius_um", particle_radius_um)
    if R <= 0:
        raise _bad("particle_radius_um", particle_radius_um, "must be > 0")
    prof = _as_profile(porosity_profile)
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise _bad("seed", seed, "must be an int >= 0")
    gap = _finite_float("min_gap_um", min_gap_um)
    if gap < 0 or gap > 0.1 * R:
        raise _bad("min_gap_um", min_gap_um, f"must be within [0, {0.1 * R:g}] (0.1 R)")
    sgap = _finite_float("surface_gap_um", surface_gap_um)
    if sgap < 0 or sgap > 0.25 * R:
        raise _bad("surface_gap_um", surface_gap_um, f"must be within [0, {0.25 * R:g}] (0.25 R)")
    if shape not in ("sphere", "ellipsoid"):
        raise _bad("shape", shape, "must be 'sphere' or 'ellipsoid'")
    try:
        q_lo, q_hi = (float(v) for v in aspect_ratio_range)
    except (TypeError, ValueError):
        raise _bad("aspect_ratio_range", aspect_ratio_range, "must be (low, high) with 1 <= low <= high <= 5") from None
    if not (1.0 <= q_lo <= q_hi <= 5.0):
        raise _bad("aspect_ratio_range", aspect_ratio_range, "must be (low, high) with 1 <= low <= high <= 5")
    if shape == "sphere" and q_hi != 1.0:
        raise _bad("aspect_ratio_range", aspect_ratio_range, "must be (1, 1) for shape='sphere'")
    cf = _finite_float("cluster_fraction", cluster_fraction)
    if not 0.0 <= cf <= 0.5:
        raise _bad("cluster_fraction", cluster_fraction, "must be within [0, 0.5]")
    vs = _finite_float("volume_scale", volume_scale)
    if not 0.0 < vs <= 1e4:
        raise _bad("volume_scale", volume_scale, "must be within (0, 1e4]")
    if max_pores is not None and (isinstance(max_pores, bool) or not isinstance(max_pores, (int, np.integer))
                                  or max_pores < 1):
        raise _bad("max_pores", max_pores, "must be None or an int >= 1")
    bias = _finite_float("size_bias", size_bias)
    if abs(bias) > 10:
        raise _bad("size_bias", size_bias, "must be within [-10, 10]")
    if not isinstance(n_shells, (int, np.integer)) or isinstance(n_shells, bool) or not 4 <= n_shells <= 200:
        raise _bad("n_shells", n_shells, "must be an int within [4, 200]")
    cl = _validate_classes(volume_classes, vs)
    try:
        central = np.asarray(central_pores_um3, dtype=float).ravel()
    except (TypeError, ValueError):
        raise _bad("central_pores_um3", central_pores_um3, "must be a sequence of volumes > 0 (um^3)") from None
    if np.any(~np.isfinite(central)) or np.any(central <= 0):
        raise _bad("central_pores_um3", central_pores_um3, "must be a sequence of volumes > 0 (um^3)")
    q_max_axis = math.sqrt(q_hi)
    r_big = (3 * cl[:, 1].max() / (4 * math.pi)) ** (1 / 3) * q_max_axis
    if r_big + sgap >= 0.5 * R:
        raise _bad("volume_scale", volume_scale,
                   f"makes the largest pore (bounding radius {r_big:.3g} um) too big for R = {R:g} um; "
                   f"must keep it below {0.5 * R - sgap:.3g} um")
    Vp = 4.0 / 3.0 * math.pi * R ** 3

    edges_f, shell_vol, shell_tgt = _shell_targets(R, prof, int(n_shells))
    if central.sum() > 0.9 * shell_tgt.sum():
        raise _bad("central_pores_um3", central.tolist(),
                   f"total {central.sum():.4g} um^3 exceeds 90 % of the profile's pore volume "
                   f"{shell_tgt.sum():.4g} um^3")
    xm = 0.5 * (edges_f[1:] + edges_f[:-1])
    model = _SizeModel(cl, bias, xm, shell_tgt)
    n_expected = expected_pore_count(particle_radius_um=R, porosity_profile=prof, volume_classes=volume_classes,
                                     volume_scale=vs, size_bias=bias, central_pores_um3=central,
                                     n_shells=int(n_shells))
    if n_expected > 100_000:
        raise _bad("volume_scale", volume_scale,
                   f"gives about {n_expected:.0f} pores (at most 100000 are supported); "
                   f"use volume_scale >= {vs * n_expected / 100_000:.3g}")
    if max_pores is not None and n_expected > 1.05 * max_pores:
        need = vs * n_expected / max_pores
        raise _bad("max_pores", int(max_pores),
                   f"the profile needs about {n_expected:.0f} pores at volume_scale={vs:g}; "
                   f"raise max_pores or use volume_scale >= {need:.3g}")

    rng = np.random.default_rng(int(seed))
    st = _Settings(R, gap, sgap, shape == "sphere", (q_lo, q_hi), cf, bool(control_sections),
                   None if max_pores is None else int(max_pores))
    # inflated bounding radius of any class pore is at most a_max + gap * q / 2 (see _Cand)
    cell = 2.0 * r_big + gap * q_hi + 1e-9
    pack = _Packing(R, gap, sgap, cell)

    def make(v: float) -> tuple[np.ndarray, np.ndarray, bool]:
        r = (3.0 * v / (4.0 * math.pi)) ** (1.0 / 3.0)
        if st.shape_sphere:
            return np.full(3, r), np.eye(3), True
        q = q_lo if q_hi == q_lo else float(rng.uniform(q_lo, q_hi))
        sq = math.sqrt(q)
        return np.array([r * sq, r, r / sq]), _random_rotation(rng), False

    def fits_surface(cand: _Cand) -> bool:
        return float(np.linalg.norm(cand.c)) + cand.bound <= R - sgap

    shell_edges_um = edges_f * R
    shell_lists: list[list[int]] = [[] for _ in range(int(n_shells))]

    def shell_contrib(cand: _Cand, vol_eff: float) -> np.ndarray:
        r_eq = (3.0 * cand.vol / (4.0 * math.pi)) ** (1.0 / 3.0)
        vin = _ball_volume_inside(r_eq, float(np.linalg.norm(cand.c)), shell_edges_um)
        return np.diff(vin) * (vol_eff / cand.vol)

    def lens_volume(cand: _Cand, parent: int) -> float:
        if cand.sph and pack.sph[parent]:
            dist = float(np.linalg.norm(cand.c - pack.c[parent]))
            return float(_ball_volume_inside(cand.a[0], dist, pack.a[parent, 0]))
        return _ellipsoid_pair_volume(cand.c, cand.a, cand.rot, pack.c[parent], pack.a[parent], pack.rot[parent],
                                      n_nodes=24)

    def register(cand: _Cand, cls: int, parent: int) -> int:
        q = pack.add(cand, cls, parent)
        j = min(int(np.linalg.norm(cand.c) / R * n_shells), int(n_shells) - 1)
        shell_lists[j].append(q)
        if st.max_pores is not None and pack.n > st.max_pores:
            raise _bad("max_pores", st.max_pores,
                       f"reached before the porosity targets were met (volume_scale={vs:g}); "
                       f"raise max_pores or volume_scale")
        return q

    # ---- section bins (3 central planes x 10 annuli)
    n_ann = 10
    ann_edges_um = np.linspace(0.0, 1.0, n_ann + 1) * R
    ann_area = np.pi * np.diff(ann_edges_um ** 2)
    ann_frac = ann_edges_um / R
    ann_tgt = np.array([prof.annulus_mean(a, b) for a, b in zip(ann_frac[:-1], ann_frac[1:])]) * ann_area
    sec_tgt = np.tile(ann_tgt, 3)
    sec_w = np.tile(ann_area, 3)
    bin_lists: list[list[int]] = [[] for _ in range(3 * n_ann)]

    def section_contrib(cand: _Cand, parent: int = -1, filler: _Filler | None = None,
                        tol: float = 0.0) -> np.ndarray | None:
        """Pore area added to each (plane, annulus) bin.  With ``filler``: None as soon as one
        plane's whole section area exceeds the positive deficits (+ tol) of the groups it can
        touch (a cheap exact pre-check of the no-overshoot rule)."""
        secs = [(pi_, axis, _cand_section(cand, axis)) for pi_, axis in enumerate(_PLANE_AXES)]
        if filler is not None and parent < 0:
            D, W = filler.remaining()
            for pi_, axis, sec in secs:
                if sec is None:
                    continue
                w0, M = sec
                area = math.pi * abs(float(np.linalg.det(M)))
                d = math.hypot(w0[0], w0[1])
                m_lo = max(int((d - cand.bound) / R * n_ann), 0)
                m_hi = min(int((d + cand.bound) / R * n_ann), n_ann - 1)
                grp = np.unique(filler.gid[pi_ * n_ann + m_lo: pi_ * n_ann + m_hi + 1])
                if area > float(np.maximum(D[grp], 0.0).sum() + tol * W[grp].sum()):
                    return None
        out = np.zeros(3 * n_ann)
        for pi_, axis, sec in secs:
            if sec is None:
                continue
            w0, M = sec
            a_in = _ellipses_in_disks(w0[None], M[None], ann_edges_um)[0]
            if parent >= 0:
                pc = _Cand(pack.c[parent], pack.a[parent], pack.rot[parent], gap, bool(pack.sph[parent]))
                psec = _cand_section(pc, axis)
                if psec is not None:
                    a_in = a_in - _pairs_in_disks(w0[None], M[None], psec[0][None], psec[1][None], ann_edges_um)[0]
            out[pi_ * n_ann:(pi_ + 1) * n_ann] = np.diff(a_in)
        return out

    def neediest_annulus(mem: np.ndarray) -> tuple[float, float]:
        """Radial range of a member annulus drawn with probability ~ its missing pore area (merged
        groups keep trying the annuli that are short, e.g. the outermost one, not the whole range)."""
        short = np.maximum(fill.target[mem] - fill.placed[mem], 0.0)
        if mem.size == 1 or short.sum() <= 0:
            m = int(mem[0] % n_ann) if mem.size == 1 else int(mem[int(rng.integers(mem.size))] % n_ann)
        else:
            cum = np.cumsum(short)
            m = int(mem[min(int(np.searchsorted(cum, rng.random() * cum[-1], side="right")), mem.size - 1)] % n_ann)
        return float(ann_edges_um[m]), float(ann_edges_um[m + 1])

    def crosses_planes(cand: _Cand) -> bool:
        return bool(np.any(np.abs(cand.c) < cand.h))

    def place_child(cand: _Cand, parent: int) -> None:
        """Move cand so that it overlaps pore ``parent``: along a random direction u the two boundaries
        overlap by 30-90 % of the smaller radial extent, so neither pore swallows the other's centre."""
        u = _unit_vector(rng)
        rho_p = 1.0 / math.sqrt(float(u @ pack.Q[parent] @ u))
        rho_c = cand.radial_extent(-u)
        depth = float(rng.uniform(0.3, 0.9)) * min(rho_p, rho_c)  # overlap depth along u
        cand.move(pack.c[parent] + (rho_p + rho_c - depth) * u)

    n_positions = 25
    plan_fraction_sections = 0.9
    plan_fraction_volume = 0.97

    # ---- 1. central pores
    central_sorted = np.sort(central)[::-1]
    for v in central_sorted:
        a, rot, sph = make(float(v))
        cand = _Cand(np.zeros(3), a, rot, gap, sph)
        placed = False
        if pack.n == 0:
            placed = fits_surface(cand) and pack.clear(cand)
        else:
            for attempt in range(400):
                u = _unit_vector(rng)
                base = pack.c[0]
                rho0 = 1.0 / math.sqrt(float(u @ pack.Q[0] @ u))
                dist = (rho0 + cand.radial_extent(-u) + gap) * (1.0 + 0.01 * attempt)
                cand.move(base + dist * u)
                if fits_surface(cand) and pack.clear(cand):
                    placed = True
                    break
        if not placed:
            raise _bad("central_pores_um3", central.tolist(),
                       f"pore of {v:g} um^3 does not fit at the centre of R = {R:g} um with the given gaps")
        register(cand, -1, -1)
    central_n = pack.n
    n_after_sections = central_n

    shell_placed0 = np.zeros(int(n_shells))
    sec_placed0 = np.zeros(3 * n_ann)
    for q in range(central_n):
        cand = _Cand(pack.c[q], pack.a[q], pack.rot[q], gap, bool(pack.sph[q]))
        shell_placed0 += shell_contrib(cand, cand.vol)
        sec_placed0 += section_contrib(cand)

    max_fail = 150
    budget = int(60 * n_expected + 20000)

    # ---- 2. section control
    if st.control:
        sec_seq = [list(range(p * n_ann, (p + 1) * n_ann)) for p in range(3)]
        fill = _Filler(sec_tgt, sec_w, sec_seq, tol_close=2e-4, tol_merge=1.5e-3, max_fail=max_fail)
        fill.placed += sec_placed0
        # annuli overfilled by the central pores join their outer neighbours inside the 50 % circle,
        # so the excess is taken back there; beyond 0.5 R (the paper's rings) targets stay as they are
        m_half = int(round(0.5 * n_ann))
        for pi_ in range(3):
            for m in range(m_half - 1):
                D, W = fill.remaining()
                g = int(fill.gid[pi_ * n_ann + m])
                if D[g] < 0:
                    fill.merge(g, int(fill.gid[pi_ * n_ann + m + 1]))
        D, W = fill.remaining()
        for g in np.unique(fill.gid):
            fill.is_open[g] = D[g] > 0
        sec_excess = np.zeros(3)  # area the central pores put beyond the targets, per plane
        for g in np.unique(fill.gid):
            sec_excess[int(g) // n_ann] += max(-float(D[g]), 0.0)
        overshoot = 2.5e-4
        # 2a. planned pores, largest first: sizes are drawn per annulus up to ~90 % of its target,
        # then placed in decreasing size, so that the class mix is the measured one and large pores
        # find room; the greedy loop and the tuning pores below close the remaining deficits.
        plan = []
        for b in range(3 * n_ann):
            m = b % n_ann
            lo, hi = ann_edges_um[m], ann_edges_um[m + 1]
            need = plan_fraction_sections * (sec_tgt[b] - sec_placed0[b])
            acc = 0.0
            while acc < need:
                s_r = math.sqrt(lo * lo + rng.random() * (hi * hi - lo * lo))
                k, v = model.draw(rng, s_r / R, True)
                t = 2.0 * rng.random() - 1.0
                acc += math.pi * (3.0 * v / (4.0 * math.pi)) ** (2.0 / 3.0) * (1.0 - t * t)
                plan.append((v, k, b, t))
        plan.sort(key=lambda e: -e[0])
        for v, k, b, t in plan:
            a, rot, sph = make(v)
            cand = _Cand(np.zeros(3), a, rot, gap, sph)
            want_child = cf > 0 and rng.random() < cf
            pidx, m0 = divmod(b, n_ann)
            axis = _PLANE_AXES[pidx]
            p, qd = _INPLANE[axis]
            done = False
            for m in (m0, m0 - 1, m0 + 1):
                if done or not 0 <= m < n_ann:
                    continue
                lo, hi = ann_edges_um[m], ann_edges_um[m + 1]
                if lo + cand.bound >= R - sgap:
                    continue
                parents = bin_lists[pidx * n_ann + m] if want_child else []
                for _ in range(n_positions):
                    parent = -1
                    if parents:
                        parent = parents[int(rng.integers(len(parents)))]
                        place_child(cand, parent)
                    else:
                        s_r = math.sqrt(lo * lo + rng.random() * (hi * hi - lo * lo))
                        th = 2.0 * math.pi * rng.random()
                        c = np.zeros(3)
                        c[p], c[qd] = s_r * math.cos(th), s_r * math.sin(th)
                        c[axis] = t * cand.h[axis]
                        cand.move(c)
                    if not (fits_surface(cand) and pack.clear(cand, exclude=parent)):
                        continue
                    contrib = section_contrib(cand, parent, fill, overshoot)
                    if contrib is None or not fill.evaluate(contrib, overshoot):
                        continue
                    q = register(cand, k, parent)
                    fill.accept(int(fill.gid[int(np.argmax(contrib))]), contrib)
                    bin_lists[int(np.argmax(contrib))].append(q)
                    done = True
                    break
        proposals = 0
        while True:
            g = fill.pick()
            if g is None:
                break
            proposals += 1
            if proposals > budget:
                raise CaseError("sample_pores: section control did not converge; use a larger volume_scale "
                                "or smaller min_gap_um/surface_gap_um")
            mem = fill.members(g)
            pidx = int(mem[0] // n_ann)
            axis = _PLANE_AXES[pidx]
            lo, hi = neediest_annulus(mem)
            parent = -1
            parents = [q for b in mem for q in bin_lists[b]]
            if cf > 0 and parents and rng.random() < cf:
                parent = parents[int(rng.integers(len(parents)))]
                k, v = model.draw(rng, float(np.linalg.norm(pack.c[parent])) / R, True)
            else:
                s_r = math.sqrt(lo * lo + rng.random() * (hi * hi - lo * lo))
                k, v = model.draw(rng, s_r / R, True)
            a, rot, sph = make(v)
            cand = _Cand(np.zeros(3), a, rot, gap, sph)
            if parent < 0:
                # a pore too big for this annulus (its residual, or the room left by the surface gap)
                # goes to the neediest annulus where it fits, so that hard-to-fill annuli do not bias
                # the size distribution toward small pores
                lim = R - sgap - cand.bound
                g2 = fill.pick_fitting(g, math.pi * float(np.prod(np.sort(a)[1:])) * 2.0 / 3.0,
                                       lambda mm: ann_edges_um[int(mm.min() % n_ann)] < lim)
                if g2 is None:
                    fill.fail(g)
                    continue
                if g2 != g:
                    g = g2
                    mem = fill.members(g)
                    axis = _PLANE_AXES[int(mem[0] // n_ann)]
                    lo, hi = neediest_annulus(mem)
            # keep the drawn size and retry positions: rejecting sizes would bias toward small pores
            ok = False
            for _ in range(n_positions):
                if parent >= 0:
                    place_child(cand, parent)
                else:
                    s_r = math.sqrt(lo * lo + rng.random() * (hi * hi - lo * lo))
                    th = 2.0 * math.pi * rng.random()
                    p, qd = _INPLANE[axis]
                    c = np.zeros(3)
                    c[p], c[qd] = s_r * math.cos(th), s_r * math.sin(th)
                    c[axis] = (2.0 * rng.random() - 1.0) * cand.h[axis]
                    cand.move(c)
                if fits_surface(cand) and pack.clear(cand, exclude=parent):
                    ok = True
                    break
            if not ok:
                fill.fail(g)
                continue
            contrib = section_contrib(cand, parent, fill, overshoot)
            if contrib is None or not fill.evaluate(contrib, overshoot):
                fill.fail(g)
                continue
            q = register(cand, k, parent)
            fill.accept(g, contrib)
            bin_lists[int(np.argmax(contrib))].append(q)
        n_after_sections = pack.n
        # tuning: smallest-class pores whose offset is chosen so that the section area is the residual
        def tune(g: int, attempts: int) -> None:
            for _ in range(attempts):
                D, W = fill.remaining()
                if D[g] / W[g] <= 5e-5:
                    return
                mem = fill.members(g)
                axis = _PLANE_AXES[int(mem[0] // n_ann)]
                lo, hi = neediest_annulus(mem)
                v = float(cl[0, 0] * (cl[0, 1] / cl[0, 0]) ** rng.random())
                a, rot, sph = make(v)
                cand = _Cand(np.zeros(3), a, rot, gap, sph)
                b = cand.bound
                if hi - lo > 2.2 * b:  # keep the tuning pore inside its annulus
                    s_lo, s_hi = lo + 1.1 * b, hi - 1.1 * b
                    s_r = math.sqrt(s_lo ** 2 + rng.random() * (s_hi ** 2 - s_lo ** 2))
                else:
                    s_r = 0.5 * (lo + hi)
                th = 2.0 * math.pi * rng.random()
                p, qd = _INPLANE[axis]
                c = np.zeros(3)
                c[p], c[qd] = s_r * math.cos(th), s_r * math.sin(th)
                cand.move(c)
                A0 = math.pi * abs(float(np.linalg.det(_cand_section(cand, axis)[1])))
                frac = min(D[g] / A0, 1.0)
                side = 1.0 if rng.random() < 0.5 else -1.0
                c[axis] = side * cand.h[axis] * math.sqrt(max(1.0 - frac, 0.0))  # section area = frac A0
                cand.move(c)
                if not fits_surface(cand) or not pack.clear(cand):
                    continue
                contrib = section_contrib(cand, -1, fill, overshoot)
                if contrib is None or not fill.evaluate(contrib, overshoot):
                    continue
                q = register(cand, 0, -1)
                fill.accept(g, contrib)
                bin_lists[int(np.argmax(contrib))].append(q)

        for g in np.nonzero(np.arange(fill.gid.size) == fill.gid)[0]:
            tune(int(g), 300)
        # a plane still short overall (annuli narrower than the smallest pore, in small particles):
        # one last pass over the whole plane, where a ring may take what its neighbour cannot
        for pi_ in range(3):
            D, W = fill.remaining()
            sl = slice(pi_ * n_ann, (pi_ + 1) * n_ann)
            if (fill.target[sl] - fill.placed[sl]).sum() / sec_w[sl].sum() > 1e-4:
                g = int(fill.gid[pi_ * n_ann])
                for b in range(pi_ * n_ann + 1, (pi_ + 1) * n_ann):
                    if fill.gid[b] != g:
                        g = fill.merge(g, int(fill.gid[b]))
                tune(g, 300)
        sec_placed = fill.placed
        n_after_tuning = pack.n
    else:
        n_after_tuning = pack.n
        sec_placed = sec_placed0

    # ---- 3. volume control in shells
    shell_placed = shell_placed0.copy()
    for q in range(central_n, pack.n):
        cand = _Cand(pack.c[q], pack.a[q], pack.rot[q], gap, bool(pack.sph[q]))
        par = int(pack.parent[q])
        veff = cand.vol - (lens_volume(cand, par) if par >= 0 else 0.0)
        shell_placed += shell_contrib(cand, veff)
    ns = int(n_shells)
    sfill = _Filler(shell_tgt, shell_vol, [list(range(ns))], tol_close=1e-3, tol_merge=3e-3, max_fail=max_fail)
    sfill.placed += shell_placed
    # Shells whose middle no pore centre can reach (surface gap plus a typical near-surface pore
    # radius) cannot hold their share: they join the next shell inward from the start, so their
    # pore volume goes just inside instead of being chased by spill from neighbours.
    r_typ = (3.0 * float(model.mean_volume(0.95)[0]) / (4.0 * math.pi)) ** (1.0 / 3.0)
    for j in range(ns - 1, 0, -1):
        if 0.5 * (shell_edges_um[j] + shell_edges_um[j + 1]) > R - sgap - r_typ:
            sfill.merge(int(sfill.gid[j]), int(sfill.gid[j - 1]))
    for g in np.unique(sfill.gid):
        D, W = sfill.remaining()
        if D[g] <= 0:
            sfill.is_open[g] = False

    def group_range(g: int) -> tuple[float, float]:
        mem = sfill.members(g)
        return float(shell_edges_um[mem.min()]), float(shell_edges_um[mem.max() + 1])

    # 3a. planned pores, largest first (as in 2a): ~97 % of the total deficit, shared among the groups
    # in proportion to their positive deficits (groups already over target by the section pores get
    # none); the overshoot of a group's last pore is carried to the next group, so the planned total
    # is exact to one small (outermost) pore.
    plan = []
    D, W = sfill.remaining()
    reps = np.unique(sfill.gid)
    pos_def = np.maximum(D[reps], 0.0)
    share = (max(float(D[reps].sum()), 0.0) / pos_def.sum()) if pos_def.sum() > 0 else 0.0
    # Class mix of the plan: the expected class counts of each group (from its full target) minus
    # the pores already there.  Section pores are extent-weighted (as those a plane hits are), so
    # the complement keeps the whole particle at the measured 80/16/4.
    ncls = cl.shape[0]
    x_sh = 0.5 * (shell_edges_um[1:] + shell_edges_um[:-1]) / R
    expect = (shell_tgt / model.mean_volume(x_sh))[:, None] * model.probs(x_sh)  # (shells, classes)
    have = np.zeros((ns, ncls))
    for q in range(pack.n):
        if pack.cls[q] >= 0:
            have[min(int(np.linalg.norm(pack.c[q]) / R * ns), ns - 1), pack.cls[q]] += 1
    carry = 0.0
    for g, dpos in zip(reps, pos_def):
        lo, hi = group_range(int(g))
        mem = sfill.members(int(g))
        left = np.maximum(expect[mem].sum(axis=0) - have[mem].sum(axis=0), 0.0)
        probs = left / left.sum() if left.sum() > 0 else model.probs(0.5 * (lo + hi) / R)[0]
        cum = np.cumsum(probs)
        need = plan_fraction_volume * dpos * share - carry
        last = g == reps[-1]
        acc = 0.0
        while acc < need:
            k = min(int(np.searchsorted(cum, rng.random() * cum[-1], side="right")), ncls - 1)
            v = float(cl[k, 0] * (cl[k, 1] / cl[k, 0]) ** rng.random())
            if last and acc + v - need > need - acc:  # the very last pore only if it helps
                break
            acc += v
            plan.append((v, k, int(g)))
        carry = max(acc - need, 0.0) if need > 0 else -need
    plan.sort(key=lambda e: -e[0])
    groups_sorted = [int(g) for g in np.unique(sfill.gid)]
    for v, k, g in plan:
        a, rot, sph = make(v)
        cand = _Cand(np.zeros(3), a, rot, gap, sph)
        want_child = cf > 0 and rng.random() < cf
        done = False
        pos = groups_sorted.index(g)
        for gg in (groups_sorted[q] for q in (pos, pos - 1, pos + 1, pos - 2, pos + 2) if 0 <= q < len(groups_sorted)):
            if done:
                break
            lo, hi = group_range(gg)
            r_max = min(hi, R - sgap - cand.bound)
            parents = [q for b in sfill.members(gg) for q in shell_lists[b]] if want_child else []
            if r_max <= lo and not parents:
                continue
            for _ in range(n_positions):
                parent = -1
                if parents:
                    parent = parents[int(rng.integers(len(parents)))]
                    place_child(cand, parent)
                else:
                    r_c = (lo ** 3 + rng.random() * (r_max ** 3 - lo ** 3)) ** (1.0 / 3.0)
                    cand.move(r_c * _unit_vector(rng))
                if (st.control and crosses_planes(cand)) or not fits_surface(cand) \
                        or not pack.clear(cand, exclude=parent):
                    continue
                veff = cand.vol - (lens_volume(cand, parent) if parent >= 0 else 0.0)
                sfill.placed += shell_contrib(cand, veff)
                register(cand, k, parent)
                done = True
                break
    n_planned_volume = pack.n - n_after_tuning
    for g in np.unique(sfill.gid):
        D, W = sfill.remaining()
        if D[g] / W[g] <= sfill.tol_close:
            sfill.is_open[g] = False

    # 3b. greedy top-up of the groups still short, never beyond the total target
    total_target = float(shell_tgt.sum())
    proposals = 0
    while True:
        g = sfill.pick()
        if g is None:
            break
        proposals += 1
        if proposals > budget:
            raise CaseError("sample_pores: volume filling did not converge; use a larger volume_scale "
                            "or smaller min_gap_um/surface_gap_um")
        lo, hi = group_range(g)
        mem = sfill.members(g)
        parent = -1
        parents = [q for b in mem for q in shell_lists[b]]
        if cf > 0 and parents and rng.random() < cf:
            parent = parents[int(rng.integers(len(parents)))]
            k, v = model.draw(rng, float(np.linalg.norm(pack.c[parent])) / R, False)
        else:
            r_c = (lo ** 3 + rng.random() * (hi ** 3 - lo ** 3)) ** (1.0 / 3.0)
            k, v = model.draw(rng, r_c / R, False)
        a, rot, sph = make(v)
        cand = _Cand(np.zeros(3), a, rot, gap, sph)
        if float(sfill.placed.sum()) + 0.5 * cand.vol > total_target:
            sfill.fail(g)
            continue
        if parent < 0:
            lim = R - sgap - cand.bound
            g2 = sfill.pick_fitting(g, cand.vol, lambda mm: shell_edges_um[mm.min()] < lim)
            if g2 is None:
                sfill.fail(g)
                continue
            if g2 != g:
                g = g2
                lo, hi = group_range(g)
        r_max = min(hi, R - sgap - cand.bound)
        ok = False
        if parent >= 0 or r_max > lo:
            for _ in range(n_positions):
                if parent >= 0:
                    place_child(cand, parent)
                else:
                    r_c = (lo ** 3 + rng.random() * (r_max ** 3 - lo ** 3)) ** (1.0 / 3.0)
                    cand.move(r_c * _unit_vector(rng))
                if (not (st.control and crosses_planes(cand)) and fits_surface(cand)
                        and pack.clear(cand, exclude=parent)):
                    ok = True
                    break
        if not ok:
            sfill.fail(g)
            continue
        veff = cand.vol - (lens_volume(cand, parent) if parent >= 0 else 0.0)
        contrib = shell_contrib(cand, veff)
        if not sfill.evaluate(contrib, None):
            sfill.fail(g)
            continue
        register(cand, k, parent)
        sfill.accept(g, contrib)

    n = pack.n
    pores = PoreSet(
        centers_um=pack.c[:n].copy(),
        semi_axes_um=pack.a[:n].copy(),
        rotations=pack.rot[:n].copy(),
        cluster_ids=pack.cluster[:n].copy(),
        particle_radius_um=R,
        parent_ids=pack.parent[:n].copy(),
        class_ids=pack.cls[:n].copy(),
        meta={
            "seed": int(seed),
            "volume_scale": vs,
            "shape": shape,
            "aspect_ratio_range": [q_lo, q_hi],
            "min_gap_um": gap,
            "surface_gap_um": sgap,
            "cluster_fraction": cf,
            "size_bias": bias,
            "control_sections": bool(control_sections),
            "central_pores_um3": [float(v) for v in central_sorted],
            "volume_classes_um3": cl.tolist(),
            "profile": prof.to_dict(),
            "target_pore_volume_um3": float(shell_tgt.sum()),
            "target_porosity_volume": float(shell_tgt.sum() / Vp),
            "target_porosity_section": prof.section_mean,
            "expected_pore_count": n_expected,
            "pores_by_step": {"central": central_n, "sections": n_after_sections - central_n,
                              "tuning": n_after_tuning - n_after_sections,
                              "volume_planned": n_planned_volume,
                              "volume_topup": n - n_after_tuning - n_planned_volume},
        },
    )
    # refuse results that miss the targets
    placed_total = float(sfill.placed.sum())
    tgt_total = float(shell_tgt.sum())
    tol_total = max(0.02 * tgt_total, 0.5 * float(cl[:, 1].max()), 1e-3 * Vp)
    hint = (f"(volume_scale={vs:g}, min_gap_um={gap:g}, surface_gap_um={sgap:g}): "
            f"lower volume_scale, min_gap_um or surface_gap_um")
    if tgt_total > 0 and abs(placed_total - tgt_total) > tol_total:
        raise CaseError(f"sample_pores: placed {placed_total:.4g} um^3 of pores against a target of "
                        f"{tgt_total:.4g} um^3; the pores do not fit {hint}")
    if st.control:
        names = list(CENTRAL_PLANES)
        for pi_ in range(3):
            got = sec_placed[pi_ * n_ann:(pi_ + 1) * n_ann].sum()
            want = sec_tgt[pi_ * n_ann:(pi_ + 1) * n_ann].sum() + sec_excess[pi_]
            if abs(got - want) > 2e-3 * np.pi * R * R:
                raise CaseError(f"sample_pores: central section {names[pi_]} has porosity "
                                f"{got / (np.pi * R * R):.4f} against {want / (np.pi * R * R):.4f}; "
                                f"the pores do not fit {hint}")
        # rings, averaged over the three planes as measure_porosity reports them: pores much coarser
        # than a 0.1 R ring (small particles, large volume_scale) or a wide surface gap can leave a
        # ring off target; that is recorded in meta and warned about, not refused
        m_half = int(round(0.5 * n_ann))
        got = sec_placed.reshape(3, n_ann).mean(axis=0)
        want = sec_tgt.reshape(3, n_ann).mean(axis=0)
        inner = (got[:m_half].sum() - want[:m_half].sum() - sec_excess.mean()) / ann_area[:m_half].sum()
        rings = (got[m_half:] - want[m_half:]) / ann_area[m_half:]
        pores.meta["section_errors"] = {"within_half_circle": float(inner),
                                        "paper_rings": [float(v) for v in rings]}
        if abs(inner) > 0.01 or np.any(np.abs(rings) > 0.01):
            worst = int(np.argmax(np.abs(rings)))
            warnings.warn(
                f"sample_pores: the central sections miss their ring targets by more than 1 point "
                f"(inside the 50 % circle: {inner:+.4f}; ring {(m_half + worst) / n_ann:.1f}-"
                f"{(m_half + worst + 1) / n_ann:.1f} R: {rings[worst]:+.4f}) {hint}", RuntimeWarning, stacklevel=2)
    return pores
