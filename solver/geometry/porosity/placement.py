"""Pore placement: :func:`sample_pores` (central pores, section control, volume control in shells).

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
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np

from solver.errors import CaseError
from solver.geometry.porosity.checks import bad, finite_float
from solver.geometry.porosity.filler import Filler
from solver.geometry.porosity.measurement import CENTRAL_PLANES
from solver.geometry.porosity.packing import (IN_PLANE_AXES, PLANE_NORMAL_AXES, Candidate, Packing, candidate_section,
                                              random_rotation, unit_vector)
from solver.geometry.porosity.poreset import PoreSet
from solver.geometry.porosity.profiles import porosity_profile as as_profile  # the keyword porosity_profile shadows it
from solver.geometry.porosity.section_geometry import (ball_volume_inside, ellipses_in_disks,
                                                       ellipsoid_pair_volume, pairs_in_disks)
from solver.geometry.porosity.sizes import (MEASURED_VOLUME_CLASSES, shell_targets, SizeModel,
                                            validate_classes, expected_pore_count)


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
                          (see sizes.py: ~3500 pores at 1.0 for a 5 um GP-NCM83 particle,
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
    R = finite_float("particle_radius_um", particle_radius_um)
    if R <= 0:
        raise bad("particle_radius_um", particle_radius_um, "must be > 0")
    prof = as_profile(porosity_profile)
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise bad("seed", seed, "must be an int >= 0")
    gap = finite_float("min_gap_um", min_gap_um)
    if gap < 0 or gap > 0.1 * R:
        raise bad("min_gap_um", min_gap_um, f"must be within [0, {0.1 * R:g}] (0.1 R)")
    sgap = finite_float("surface_gap_um", surface_gap_um)
    if sgap < 0 or sgap > 0.25 * R:
        raise bad("surface_gap_um", surface_gap_um, f"must be within [0, {0.25 * R:g}] (0.25 R)")
    if shape not in ("sphere", "ellipsoid"):
        raise bad("shape", shape, "must be 'sphere' or 'ellipsoid'")
    try:
        q_lo, q_hi = (float(v) for v in aspect_ratio_range)
    except (TypeError, ValueError):
        raise bad("aspect_ratio_range", aspect_ratio_range, "must be (low, high) with 1 <= low <= high <= 5") from None
    if not (1.0 <= q_lo <= q_hi <= 5.0):
        raise bad("aspect_ratio_range", aspect_ratio_range, "must be (low, high) with 1 <= low <= high <= 5")
    if shape == "sphere" and q_hi != 1.0:
        raise bad("aspect_ratio_range", aspect_ratio_range, "must be (1, 1) for shape='sphere'")
    cf = finite_float("cluster_fraction", cluster_fraction)
    if not 0.0 <= cf <= 0.5:
        raise bad("cluster_fraction", cluster_fraction, "must be within [0, 0.5]")
    vs = finite_float("volume_scale", volume_scale)
    if not 0.0 < vs <= 1e4:
        raise bad("volume_scale", volume_scale, "must be within (0, 1e4]")
    if max_pores is not None and (isinstance(max_pores, bool) or not isinstance(max_pores, (int, np.integer))
                                  or max_pores < 1):
        raise bad("max_pores", max_pores, "must be None or an int >= 1")
    bias = finite_float("size_bias", size_bias)
    if abs(bias) > 10:
        raise bad("size_bias", size_bias, "must be within [-10, 10]")
    if not isinstance(n_shells, (int, np.integer)) or isinstance(n_shells, bool) or not 4 <= n_shells <= 200:
        raise bad("n_shells", n_shells, "must be an int within [4, 200]")
    cl = validate_classes(volume_classes, vs)
    try:
        central = np.asarray(central_pores_um3, dtype=float).ravel()
    except (TypeError, ValueError):
        raise bad("central_pores_um3", central_pores_um3, "must be a sequence of volumes > 0 (um^3)") from None
    if np.any(~np.isfinite(central)) or np.any(central <= 0):
        raise bad("central_pores_um3", central_pores_um3, "must be a sequence of volumes > 0 (um^3)")
    q_max_axis = math.sqrt(q_hi)
    r_big = (3 * cl[:, 1].max() / (4 * math.pi)) ** (1 / 3) * q_max_axis
    if r_big + sgap >= 0.5 * R:
        raise bad("volume_scale", volume_scale,
                   f"makes the largest pore (bounding radius {r_big:.3g} um) too big for R = {R:g} um; "
                   f"must keep it below {0.5 * R - sgap:.3g} um")
    Vp = 4.0 / 3.0 * math.pi * R ** 3

    edges_f, shell_vol, shell_tgt = shell_targets(R, prof, int(n_shells))
    if central.sum() > 0.9 * shell_tgt.sum():
        raise bad("central_pores_um3", central.tolist(),
                   f"total {central.sum():.4g} um^3 exceeds 90 % of the profile's pore volume "
                   f"{shell_tgt.sum():.4g} um^3")
    xm = 0.5 * (edges_f[1:] + edges_f[:-1])
    model = SizeModel(cl, bias, xm, shell_tgt)
    n_expected = expected_pore_count(particle_radius_um=R, porosity_profile=prof, volume_classes=volume_classes,
                                     volume_scale=vs, size_bias=bias, central_pores_um3=central,
                                     n_shells=int(n_shells))
    if n_expected > 100_000:
        raise bad("volume_scale", volume_scale,
                   f"gives about {n_expected:.0f} pores (at most 100000 are supported); "
                   f"use volume_scale >= {vs * n_expected / 100_000:.3g}")
    if max_pores is not None and n_expected > 1.05 * max_pores:
        need = vs * n_expected / max_pores
        raise bad("max_pores", int(max_pores),
                   f"the profile needs about {n_expected:.0f} pores at volume_scale={vs:g}; "
                   f"raise max_pores or use volume_scale >= {need:.3g}")

    rng = np.random.default_rng(int(seed))
    st = _Settings(R, gap, sgap, shape == "sphere", (q_lo, q_hi), cf, bool(control_sections),
                   None if max_pores is None else int(max_pores))
    # inflated bounding radius of any class pore is at most a_max + gap * q / 2 (see Candidate)
    cell = 2.0 * r_big + gap * q_hi + 1e-9
    pack = Packing(R, gap, sgap, cell)

    def make(v: float) -> tuple[np.ndarray, np.ndarray, bool]:
        r = (3.0 * v / (4.0 * math.pi)) ** (1.0 / 3.0)
        if st.shape_sphere:
            return np.full(3, r), np.eye(3), True
        q = q_lo if q_hi == q_lo else float(rng.uniform(q_lo, q_hi))
        sq = math.sqrt(q)
        return np.array([r * sq, r, r / sq]), random_rotation(rng), False

    def fits_surface(cand: Candidate) -> bool:
        return float(np.linalg.norm(cand.c)) + cand.bound <= R - sgap

    shell_edges_um = edges_f * R
    shell_lists: list[list[int]] = [[] for _ in range(int(n_shells))]

    def shell_contrib(cand: Candidate, vol_eff: float) -> np.ndarray:
        r_eq = (3.0 * cand.vol / (4.0 * math.pi)) ** (1.0 / 3.0)
        vin = ball_volume_inside(r_eq, float(np.linalg.norm(cand.c)), shell_edges_um)
        return np.diff(vin) * (vol_eff / cand.vol)

    def lens_volume(cand: Candidate, parent: int) -> float:
        if cand.sph and pack.sph[parent]:
            dist = float(np.linalg.norm(cand.c - pack.c[parent]))
            return float(ball_volume_inside(cand.a[0], dist, pack.a[parent, 0]))
        return ellipsoid_pair_volume(cand.c, cand.a, cand.rot, pack.c[parent], pack.a[parent], pack.rot[parent],
                                      n_nodes=24)

    def register(cand: Candidate, cls: int, parent: int) -> int:
        q = pack.add(cand, cls, parent)
        j = min(int(np.linalg.norm(cand.c) / R * n_shells), int(n_shells) - 1)
        shell_lists[j].append(q)
        if st.max_pores is not None and pack.n > st.max_pores:
            raise bad("max_pores", st.max_pores,
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

    def section_contrib(cand: Candidate, parent: int = -1, filler: Filler | None = None,
                        tol: float = 0.0) -> np.ndarray | None:
        """Pore area added to each (plane, annulus) bin.  With ``filler``: None as soon as one
        plane's whole section area exceeds the positive deficits (+ tol) of the groups it can
        touch (a cheap exact pre-check of the no-overshoot rule)."""
        secs = [(pi_, axis, candidate_section(cand, axis)) for pi_, axis in enumerate(PLANE_NORMAL_AXES)]
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
            a_in = ellipses_in_disks(w0[None], M[None], ann_edges_um)[0]
            if parent >= 0:
                pc = Candidate(pack.c[parent], pack.a[parent], pack.rot[parent], gap, bool(pack.sph[parent]))
                psec = candidate_section(pc, axis)
                if psec is not None:
                    a_in = a_in - pairs_in_disks(w0[None], M[None], psec[0][None], psec[1][None], ann_edges_um)[0]
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

    def crosses_planes(cand: Candidate) -> bool:
        return bool(np.any(np.abs(cand.c) < cand.h))

    def place_child(cand: Candidate, parent: int) -> None:
        """Move cand so that it overlaps pore ``parent``: along a random direction u the two boundaries
        overlap by 30-90 % of the smaller radial extent, so neither pore swallows the other's centre."""
        u = unit_vector(rng)
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
        cand = Candidate(np.zeros(3), a, rot, gap, sph)
        placed = False
        if pack.n == 0:
            placed = fits_surface(cand) and pack.clear(cand)
        else:
            for attempt in range(400):
                u = unit_vector(rng)
                base = pack.c[0]
                rho0 = 1.0 / math.sqrt(float(u @ pack.Q[0] @ u))
                dist = (rho0 + cand.radial_extent(-u) + gap) * (1.0 + 0.01 * attempt)
                cand.move(base + dist * u)
                if fits_surface(cand) and pack.clear(cand):
                    placed = True
                    break
        if not placed:
            raise bad("central_pores_um3", central.tolist(),
                       f"pore of {v:g} um^3 does not fit at the centre of R = {R:g} um with the given gaps")
        register(cand, -1, -1)
    central_n = pack.n
    n_after_sections = central_n

    shell_placed0 = np.zeros(int(n_shells))
    sec_placed0 = np.zeros(3 * n_ann)
    for q in range(central_n):
        cand = Candidate(pack.c[q], pack.a[q], pack.rot[q], gap, bool(pack.sph[q]))
        shell_placed0 += shell_contrib(cand, cand.vol)
        sec_placed0 += section_contrib(cand)

    max_fail = 150
    budget = int(60 * n_expected + 20000)

    # ---- 2. section control
    if st.control:
        sec_seq = [list(range(p * n_ann, (p + 1) * n_ann)) for p in range(3)]
        fill = Filler(sec_tgt, sec_w, sec_seq, tol_close=2e-4, tol_merge=1.5e-3, max_fail=max_fail)
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
            cand = Candidate(np.zeros(3), a, rot, gap, sph)
            want_child = cf > 0 and rng.random() < cf
            pidx, m0 = divmod(b, n_ann)
            axis = PLANE_NORMAL_AXES[pidx]
            p, qd = IN_PLANE_AXES[axis]
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
            axis = PLANE_NORMAL_AXES[pidx]
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
            cand = Candidate(np.zeros(3), a, rot, gap, sph)
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
                    axis = PLANE_NORMAL_AXES[int(mem[0] // n_ann)]
                    lo, hi = neediest_annulus(mem)
            # keep the drawn size and retry positions: rejecting sizes would bias toward small pores
            ok = False
            for _ in range(n_positions):
                if parent >= 0:
                    place_child(cand, parent)
                else:
                    s_r = math.sqrt(lo * lo + rng.random() * (hi * hi - lo * lo))
                    th = 2.0 * math.pi * rng.random()
                    p, qd = IN_PLANE_AXES[axis]
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
                axis = PLANE_NORMAL_AXES[int(mem[0] // n_ann)]
                lo, hi = neediest_annulus(mem)
                v = float(cl[0, 0] * (cl[0, 1] / cl[0, 0]) ** rng.random())
                a, rot, sph = make(v)
                cand = Candidate(np.zeros(3), a, rot, gap, sph)
                b = cand.bound
                if hi - lo > 2.2 * b:  # keep the tuning pore inside its annulus
                    s_lo, s_hi = lo + 1.1 * b, hi - 1.1 * b
                    s_r = math.sqrt(s_lo ** 2 + rng.random() * (s_hi ** 2 - s_lo ** 2))
                else:
                    s_r = 0.5 * (lo + hi)
                th = 2.0 * math.pi * rng.random()
                p, qd = IN_PLANE_AXES[axis]
                c = np.zeros(3)
                c[p], c[qd] = s_r * math.cos(th), s_r * math.sin(th)
                cand.move(c)
                A0 = math.pi * abs(float(np.linalg.det(candidate_section(cand, axis)[1])))
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
        cand = Candidate(pack.c[q], pack.a[q], pack.rot[q], gap, bool(pack.sph[q]))
        par = int(pack.parent[q])
        veff = cand.vol - (lens_volume(cand, par) if par >= 0 else 0.0)
        shell_placed += shell_contrib(cand, veff)
    ns = int(n_shells)
    sfill = Filler(shell_tgt, shell_vol, [list(range(ns))], tol_close=1e-3, tol_merge=3e-3, max_fail=max_fail)
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
        cand = Candidate(np.zeros(3), a, rot, gap, sph)
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
                    cand.move(r_c * unit_vector(rng))
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
        cand = Candidate(np.zeros(3), a, rot, gap, sph)
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
                    cand.move(r_c * unit_vector(rng))
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
