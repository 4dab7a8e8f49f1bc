"""Pore placement and section porosity measurement (solver/geometry/porosity/).

Fast by default: every sample here is a 5 um-radius particle with a few hundred to ~1000 pores
(about a second each); the faithful 3000-pore case is only timed.
"""
import json
import math
import time

import numpy as np
import pytest
from scipy.integrate import trapezoid

from solver.geometry.porosity import packing
from solver.geometry.porosity import section_geometry as geo
from solver.geometry.porosity import (
    MEASURED_CENTRAL_PORES_UM3,
    PoreSet,
    circle_annulus_area,
    circle_disk_area,
    ellipse_annulus_area,
    ellipse_boundary_map,
    ellipse_disk_area,
    expected_pore_count,
    measure_porosity,
    porosity_profile,
    sample_pores,
    section_porosity,
    volume_scale_for_pore_count,
)

R_UM = 5.0
GAP_UM = 0.03
SURFACE_GAP_UM = 0.1
PRESETS = ("gp_ncm83", "p_ncm83", "gp_ni96", "p_ni96")
RUNNABLE_COUNT = 600  # pores for a laptop-sized case


def _scale(preset, count=RUNNABLE_COUNT):
    return volume_scale_for_pore_count(count, particle_radius_um=R_UM, porosity_profile=preset)


_CACHE = {}


def _sample(preset="gp_ncm83", seed=1, **kw):
    kw.setdefault("volume_scale", _scale(preset))
    key = (preset, seed, tuple(sorted(kw.items())))
    if key not in _CACHE:
        _CACHE[key] = sample_pores(particle_radius_um=R_UM, porosity_profile=preset, seed=seed,
                                   min_gap_um=GAP_UM, surface_gap_um=SURFACE_GAP_UM, **kw)
    return _CACHE[key]


def _mc_in_ellipse(center, M, n, rng):
    """Uniform points in the ellipse {center + M u : |u| <= 1}."""
    u = rng.normal(size=(n, 2))
    u /= np.linalg.norm(u, axis=1)[:, None]
    u *= np.sqrt(rng.random(n))[:, None]
    return np.asarray(center) + u @ np.asarray(M).T


# ------------------------------------------------------------------ exact areas
def test_circle_disk_area_analytic_cases():
    """Guards the lens formula: inside, containing, disjoint, both tangencies, a known lens."""
    assert circle_disk_area(0.5, 1.0, 3.0) == pytest.approx(np.pi * 0.25, rel=1e-14)  # fully inside
    assert circle_disk_area(3.0, 0.5, 1.0) == pytest.approx(np.pi, rel=1e-14)  # disk inside circle
    assert circle_disk_area(0.5, 4.0, 3.0) == 0.0  # disjoint
    assert circle_disk_area(0.5, 3.5, 3.0) == 0.0  # externally tangent
    assert circle_disk_area(0.5, 2.5, 3.0) == pytest.approx(np.pi * 0.25, rel=1e-14)  # internally tangent
    # two unit circles one radius apart: lens area 2 pi / 3 - sqrt(3) / 2
    assert circle_disk_area(1.0, 1.0, 1.0) == pytest.approx(2 * np.pi / 3 - math.sqrt(3) / 2, rel=1e-13)
    # a small circle centred on the edge of a huge disk: about half inside
    assert circle_disk_area(0.01, 1000.0, 1000.0) == pytest.approx(np.pi * 1e-4 / 2, rel=1e-4)


def test_circle_annulus_area_cases():
    a = 0.2
    assert circle_annulus_area(a, 2.5, 2.0, 3.0) == pytest.approx(np.pi * a * a, rel=1e-14)  # inside ring
    assert circle_annulus_area(a, 1.0, 2.0, 3.0) == 0.0  # in the hole
    assert circle_annulus_area(a, 1.8, 2.0, 3.0) == pytest.approx(0.0, abs=1e-15)  # tangent to the inner edge
    assert circle_annulus_area(a, 2.8, 2.0, 3.0) == pytest.approx(np.pi * a * a, rel=1e-14)  # tangent to outer edge
    # straddling the inner edge: the two pieces add up
    inside = circle_annulus_area(a, 2.05, 2.0, 3.0)
    hole = circle_disk_area(a, 2.05, 2.0)
    assert 0 < inside < np.pi * a * a and inside + hole == pytest.approx(np.pi * a * a, rel=1e-13)


def test_ellipse_engine_reproduces_circle_lens():
    """The Green's-theorem engine (used for ellipses) against the closed-form lens."""
    d = np.array([0.3, 1.0, 1.9, 2.4, 2.95])
    C = np.zeros((d.size, 2, 2))
    M = np.zeros((d.size, 2, 2, 2))
    C[:, 1, 0] = d
    M[:, 0] = np.eye(2) * 2.5
    M[:, 1] = np.eye(2) * 0.6
    got = geo._intersection_area(C, M)
    np.testing.assert_allclose(got, circle_disk_area(0.6, d, 2.5), rtol=0, atol=1e-12)


def test_ellipse_disk_area_analytic_cases():
    M = ellipse_boundary_map((0.6, 0.2), 0.7)
    assert ellipse_disk_area([1.0, 0.5], M, [3.0])[0] == pytest.approx(np.pi * 0.12, rel=1e-12)  # inside
    assert ellipse_disk_area([4.0, 0.0], M, [3.0])[0] == 0.0  # disjoint
    big = ellipse_boundary_map((5.0, 4.0), 0.3)
    assert ellipse_disk_area([0.2, 0.1], big, [1.0])[0] == pytest.approx(np.pi, rel=1e-12)  # disk inside ellipse
    # axis-aligned ellipse tangent to the circle from inside (touches at (3, 0))
    Mt = ellipse_boundary_map((0.5, 0.2), 0.0)
    assert ellipse_disk_area([2.5, 0.0], Mt, [3.0])[0] == pytest.approx(np.pi * 0.1, rel=1e-9)
    assert ellipse_annulus_area([3.5, 0.0], Mt, 2.0, 3.0) == pytest.approx(0.0, abs=1e-9)  # tangent outside
    # straddling: pieces in the disk and the annulus add up to the ellipse
    inside = ellipse_disk_area([2.9, 0.1], M, [3.0])[0]
    ring = ellipse_annulus_area([2.9, 0.1], M, 3.0, 4.0)
    assert 0 < inside < np.pi * 0.12 and inside + ring == pytest.approx(np.pi * 0.12, rel=1e-12)


def test_ellipse_annulus_area_monte_carlo():
    rng = np.random.default_rng(7)
    M = ellipse_boundary_map((1.2, 0.45), 0.9)
    center = np.array([2.1, -0.8])
    pts = _mc_in_ellipse(center, M, 400_000, rng)
    rad = np.hypot(pts[:, 0], pts[:, 1])
    area = np.pi * 1.2 * 0.45
    for r0, r1 in [(0.0, 1.5), (1.5, 2.0), (2.0, 2.6), (2.6, 4.0)]:
        frac = np.mean((rad >= r0) & (rad < r1))
        sigma = area * math.sqrt(frac * (1 - frac) / pts.shape[0])
        assert ellipse_annulus_area(center, M, r0, r1) == pytest.approx(area * frac, abs=5 * sigma + 1e-12)


def test_three_ellipse_intersection_monte_carlo():
    rng = np.random.default_rng(11)
    C = np.array([[[0.0, 0.0], [1.6, 0.3], [1.2, -0.2]]])
    M = np.stack([np.eye(2) * 2.0, ellipse_boundary_map((0.8, 0.35), 0.4),
                  ellipse_boundary_map((0.5, 0.45), -1.0)])[None]
    got = geo._intersection_area(C, M)[0]
    pts = _mc_in_ellipse(C[0, 1], M[0, 1], 400_000, rng)
    inside = np.hypot(pts[:, 0], pts[:, 1]) <= 2.0
    u = (pts - C[0, 2]) @ np.linalg.inv(M[0, 2]).T
    inside &= np.sum(u * u, axis=1) <= 1.0
    area1 = np.pi * 0.8 * 0.35
    frac = inside.mean()
    assert 0 < got < area1
    assert got == pytest.approx(area1 * frac, abs=5 * area1 * math.sqrt(frac * (1 - frac) / pts.shape[0]))


def test_ellipsoid_section_is_exact():
    """Section of an ellipsoid by parallel planes: area pi a b (1 - d^2/h^2), also when rotated."""
    rng = np.random.default_rng(3)
    rot = packing.random_rotation(rng)
    semi = np.array([[0.7, 0.4, 0.25]])
    c = np.array([[0.3, -0.2, 0.1]])
    A = rot @ np.diag(semi[0] ** 2) @ rot.T
    h = math.sqrt(A[2, 2])
    idx0, _, M0 = geo.ellipsoid_sections(c, semi, rot[None], (0, 0, 1), c[0, 2])
    a0 = np.pi * abs(np.linalg.det(M0[0]))
    for t in (0.0, 0.3, 0.8):
        idx, w0, M = geo.ellipsoid_sections(c, semi, rot[None], (0, 0, 1), c[0, 2] + t * h)
        assert idx.tolist() == [0]
        assert np.pi * abs(np.linalg.det(M[0])) == pytest.approx(a0 * (1 - t * t), rel=1e-12)
    assert geo.ellipsoid_sections(c, semi, rot[None], (0, 0, 1), c[0, 2] + 1.01 * h)[0].size == 0
    # axis-aligned: the central section of (a, b, c) by z = 0 is pi a b
    idx, w0, M = geo.ellipsoid_sections(np.zeros((1, 3)), semi, np.eye(3)[None], (0, 0, 1), 0.0)
    assert np.pi * abs(np.linalg.det(M[0])) == pytest.approx(np.pi * 0.7 * 0.4, rel=1e-13)


def test_pair_volumes_sphere_lens_and_ellipsoid_quadrature():
    # ellipsoid quadrature on two spheres against the closed-form lens
    v = geo.ellipsoid_pair_volume(np.zeros(3), np.full(3, 0.5), np.eye(3), np.array([0.6, 0.1, -0.2]),
                                   np.full(3, 0.4), np.eye(3))
    lens = geo.ball_volume_inside(0.5, math.sqrt(0.41), 0.4)
    assert v == pytest.approx(float(lens), rel=1e-4)
    # two rotated ellipsoids against Monte Carlo
    rng = np.random.default_rng(4)
    ai, aj = np.array([0.7, 0.4, 0.3]), np.array([0.5, 0.5, 0.25])
    Ri, Rj = packing.random_rotation(rng), packing.random_rotation(rng)
    cj = np.array([0.45, 0.2, -0.1])
    got = geo.ellipsoid_pair_volume(np.zeros(3), ai, Ri, cj, aj, Rj)
    n = 1_000_000
    u = rng.normal(size=(n, 3))
    u /= np.linalg.norm(u, axis=1)[:, None]
    x = (u * rng.random(n)[:, None] ** (1 / 3) * ai) @ Ri.T
    y = x - cj
    f = np.mean(np.einsum("ni,ij,nj->n", y, Rj @ np.diag(aj ** -2) @ Rj.T, y) <= 1.0)
    vi = 4 / 3 * np.pi * ai.prod()
    assert got == pytest.approx(f * vi, abs=5 * vi * math.sqrt(f * (1 - f) / n))


# ------------------------------------------------------------------ porosity law
def test_presets_match_the_paper_numbers():
    gp = porosity_profile("gp_ncm83")
    assert gp.disk_mean(0.5) == pytest.approx(0.1311, abs=1e-12)
    assert gp.section_mean == pytest.approx(0.0819, abs=1e-12)
    assert gp(0.0) == pytest.approx(0.1803, abs=1e-12) and gp(1.0) == pytest.approx(0.0327, abs=1e-12)
    assert gp.volume_mean == pytest.approx(0.1803 - 0.75 * 0.1476, abs=1e-12)  # 3D below section
    ni = porosity_profile("gp_ni96")
    assert ni.section_mean == pytest.approx(0.0692, abs=1e-12)
    assert ni.disk_mean(0.5) / ni.section_mean == pytest.approx(0.1311 / 0.0819, rel=1e-12)
    for name, value in (("p_ncm83", 0.0196), ("p_ni96", 0.0225)):
        p = porosity_profile(name)
        assert p.section_mean == pytest.approx(value) and p.volume_mean == pytest.approx(value)
        assert p.annulus_mean(0.9, 1.0) == pytest.approx(value)


def test_profile_kinds_and_tables():
    lin = porosity_profile("linear", centre=0.2, surface=0.05)
    assert lin(0.5) == pytest.approx(0.125)
    assert lin.annulus_mean(0.0, 1.0) == pytest.approx(0.2 - 0.15 * 2 / 3)
    tab = porosity_profile([(0.2, 0.1), (0.6, 0.02)])
    assert tab(0.0) == pytest.approx(0.1) and tab(0.4) == pytest.approx(0.06) and tab(0.9) == pytest.approx(0.02)
    # exact moments against fine quadrature
    x = np.linspace(0.3, 0.8, 200001)
    assert tab.shell_mean(0.3, 0.8) == pytest.approx(trapezoid(tab(x) * x * x, x) / trapezoid(x * x, x), rel=1e-8)
    circ = porosity_profile("circles", within_half=0.12, overall=0.08)
    assert circ.disk_mean(0.5) == pytest.approx(0.12) and circ.disk_mean(1.0) == pytest.approx(0.08)
    assert porosity_profile("uniform", porosity=0.03).volume_mean == pytest.approx(0.03)


@pytest.mark.parametrize("bad, name", [
    ("nope", "porosity_profile"),
    ([(0.5, 0.1), (0.2, 0.1)], "r_fraction"),
    ([(0.0, 0.1), (1.0, 8.19)], "porosity"),
    ([(0.0, 0.1, 3.0)], "porosity_profile"),
])
def test_profile_rejects_bad_tables(bad, name):
    with pytest.raises(ValueError, match=name):
        porosity_profile(bad)


# ------------------------------------------------------------------ sampled presets
@pytest.mark.parametrize("seed", [1, 2])
@pytest.mark.parametrize("preset", PRESETS)
def test_preset_sections_hit_the_targets(preset, seed):
    """Measured like the paper (3 central sections, averaged): overall and 50-100 % rings within 1 point."""
    pores = _sample(preset, seed)
    prof = porosity_profile(preset)
    m = measure_porosity(pores)
    assert 200 <= m["pore_count"] <= 1500
    assert m["porosity_overall"] == pytest.approx(prof.section_mean, abs=0.01)
    for ring in m["porosity_by_ring"]:
        want = prof.annulus_mean(ring["r_inner_fraction"], ring["r_outer_fraction"])
        assert ring["porosity"] == pytest.approx(want, abs=0.01), ring
    for circle in m["porosity_within_circle"]:
        assert circle["porosity"] == pytest.approx(prof.disk_mean(circle["r_fraction"]), abs=0.01), circle
    for plane, value in m["porosity_overall_by_plane"].items():
        assert value == pytest.approx(prof.section_mean, abs=0.01), plane
    assert m["porosity_volume"] == pytest.approx(prof.volume_mean, abs=0.005)
    # in practice the control is much tighter than the 1-point acceptance
    assert m["porosity_overall"] == pytest.approx(prof.section_mean, abs=0.002)
    print(f"\n{preset} seed {seed}: n={m['pore_count']} overall={m['porosity_overall']:.4f} "
          f"(target {prof.section_mean:.4f}) volume={m['porosity_volume']:.4f} (target {prof.volume_mean:.4f}) "
          "rings=" + " ".join(f"{r['porosity']:.4f}" for r in m["porosity_by_ring"])
          + " within(0.5)=" + f"{m['porosity_within_circle'][0]['porosity']:.4f}")


def test_class_fractions_and_small_pores_near_surface():
    for preset in ("gp_ncm83", "p_ncm83"):
        pores = _sample(preset, 1)
        cls = pores.class_ids
        frac = np.bincount(cls[cls >= 0], minlength=3) / np.sum(cls >= 0)
        np.testing.assert_allclose(frac, [0.80, 0.16, 0.04], atol=0.05)
        r = np.linalg.norm(pores.centers_um, axis=1)
        mean_r = [r[cls == k].mean() for k in range(3)]
        assert mean_r[0] > mean_r[1] and mean_r[0] > mean_r[2], (preset, mean_r)


def test_no_overlap_gap_and_surface_gap_spheres():
    pores = _sample("gp_ncm83", 1)
    c, a = pores.centers_um, pores.semi_axes_um[:, 0]
    d = np.sqrt(((c[:, None, :] - c[None, :, :]) ** 2).sum(-1))
    clearance = d - a[:, None] - a[None, :]
    np.fill_diagonal(clearance, np.inf)
    assert clearance.min() >= GAP_UM - 1e-9
    assert np.max(np.linalg.norm(c, axis=1) + a) <= R_UM - SURFACE_GAP_UM + 1e-9


def test_same_seed_identical_different_seed_differs():
    kw = dict(particle_radius_um=R_UM, porosity_profile="p_ncm83", min_gap_um=GAP_UM,
              surface_gap_um=SURFACE_GAP_UM, volume_scale=_scale("p_ncm83", 300), cluster_fraction=0.1)
    a = sample_pores(seed=5, **kw)
    b = sample_pores(seed=5, **kw)
    assert a == b
    assert a.centers_um.tobytes() == b.centers_um.tobytes()
    assert a.semi_axes_um.tobytes() == b.semi_axes_um.tobytes()
    c = sample_pores(seed=6, **kw)
    assert a != c
    assert len(a) != len(c) or not np.array_equal(a.centers_um, c.centers_um)


def test_ellipsoids_do_not_overlap_and_hit_targets():
    pores = _sample("gp_ncm83", 3, shape="ellipsoid", aspect_ratio_range=(1.0, 2.5))
    prof = porosity_profile("gp_ncm83")
    m = measure_porosity(pores)
    assert m["porosity_overall"] == pytest.approx(prof.section_mean, abs=0.01)
    for ring in m["porosity_by_ring"]:
        want = prof.annulus_mean(ring["r_inner_fraction"], ring["r_outer_fraction"])
        assert ring["porosity"] == pytest.approx(want, abs=0.01)
    a = pores.semi_axes_um
    assert np.any(a.max(1) / a.min(1) > 2.0)
    # independent gap check: points of each pore's surface pushed out by min_gap along the normal
    # must lie outside every neighbour
    rng = np.random.default_rng(0)
    u = rng.normal(size=(300, 3))
    u /= np.linalg.norm(u, axis=1)[:, None]
    c, rot = pores.centers_um, pores.rotations
    bound = a.max(1)
    Qs = np.einsum("nij,nj,nkj->nik", rot, 1 / a ** 2, rot)
    d = np.sqrt(((c[:, None, :] - c[None, :, :]) ** 2).sum(-1))
    close = d < bound[:, None] + bound[None, :] + GAP_UM
    np.fill_diagonal(close, False)
    ii, jj = np.nonzero(close)
    assert ii.size > 0
    local = u[None] * a[ii][:, None, :]
    normal = u[None] / a[ii][:, None, :]
    normal /= np.linalg.norm(normal, axis=2)[..., None]
    pts = c[ii][:, None, :] + np.einsum("pkj,pij->pki", local + 0.999 * GAP_UM * normal, rot[ii])
    y = pts - c[jj][:, None, :]
    q = np.einsum("pki,pij,pkj->pk", y, Qs[jj], y)
    assert q.min() > 1.0
    assert np.max(np.linalg.norm(c, axis=1) + bound) <= R_UM - SURFACE_GAP_UM + 1e-9


def test_clusters_overlap_only_their_parent_and_union_is_exact():
    pores = _sample("gp_ncm83", 4, cluster_fraction=0.2)
    par, cid = pores.parent_ids, pores.cluster_ids
    children = np.nonzero(par >= 0)[0]
    assert children.size > 0.1 * len(pores)
    assert np.all(cid[children] >= 0) and np.all(cid[par[children]] == cid[children])
    c, a = pores.centers_um, pores.semi_axes_um[:, 0]
    d = np.sqrt(((c[:, None, :] - c[None, :, :]) ** 2).sum(-1))
    clearance = d - a[:, None] - a[None, :]
    np.fill_diagonal(clearance, np.inf)
    assert np.all(clearance[children, par[children]] < 0)  # each child overlaps its parent
    clearance[children, par[children]] = np.inf
    clearance[par[children], children] = np.inf
    assert clearance.min() >= GAP_UM - 1e-9  # and keeps the gap to everything else
    assert np.max(np.linalg.norm(c, axis=1) + a) <= R_UM - SURFACE_GAP_UM + 1e-9
    # union section area of one plane against pixel counting (overlapping children counted once)
    sec = section_porosity(pores, plane_normal=(0, 0, 1), ring_edges_fraction=(0.5, 1.0))
    n = 2000
    h = 2 * R_UM / n
    hit = np.zeros((n, n), bool)
    for q in np.nonzero(np.abs(c[:, 2]) < a)[0]:
        rr = a[q] ** 2 - c[q, 2] ** 2
        i0 = max(int((c[q, 0] - a[q] + R_UM) / h) - 1, 0)
        j0 = max(int((c[q, 1] - a[q] + R_UM) / h) - 1, 0)
        i1, j1 = min(i0 + int(2 * a[q] / h) + 4, n), min(j0 + int(2 * a[q] / h) + 4, n)
        x = (np.arange(i0, i1) + 0.5) * h - R_UM
        y = (np.arange(j0, j1) + 0.5) * h - R_UM
        hit[i0:i1, j0:j1] |= (x[:, None] - c[q, 0]) ** 2 + (y[None, :] - c[q, 1]) ** 2 <= rr
    assert np.sum(hit[children]) >= 0  # (indexing sanity)
    pixel = np.sum(hit) * h * h / (np.pi * R_UM ** 2)
    assert sec["porosity"] == pytest.approx(pixel, abs=2e-4)
    naive = sum(np.pi * (a[q] ** 2 - c[q, 2] ** 2) for q in np.nonzero(np.abs(c[:, 2]) < a)[0]) / (np.pi * R_UM ** 2)
    assert naive > sec["porosity"]  # the lenses were subtracted
    # union volume: analytic lenses against Monte Carlo inside the clusters' bounding boxes
    rng = np.random.default_rng(2)
    lens_mc = 0.0
    for q in children[:40]:
        p = par[q]
        lo = np.minimum(c[q] - a[q], c[p] - a[p])
        hi = np.maximum(c[q] + a[q], c[p] + a[p])
        x = lo + rng.random((100_000, 3)) * (hi - lo)
        both = (np.sum((x - c[q]) ** 2, 1) <= a[q] ** 2) & (np.sum((x - c[p]) ** 2, 1) <= a[p] ** 2)
        lens_mc += both.mean() * np.prod(hi - lo)
    pairs, vols = pores.overlap_pairs()
    exact = {tuple(pq): v for pq, v in zip(pairs.tolist(), vols)}
    lens_exact = sum(exact[(min(q, par[q]), max(q, par[q]))] for q in children[:40])
    assert lens_mc == pytest.approx(lens_exact, rel=0.02)
    assert pores.total_volume_um3() == pytest.approx(pores.volumes_um3().sum() - vols.sum())


def test_central_pores_are_placed_and_rings_kept():
    pores = _sample("gp_ncm83", 1, central_pores_um3=MEASURED_CENTRAL_PORES_UM3, volume_scale=3.0)
    np.testing.assert_allclose(pores.volumes_um3()[:2], MEASURED_CENTRAL_PORES_UM3, rtol=1e-12)
    assert np.linalg.norm(pores.centers_um[0]) == 0.0
    assert np.linalg.norm(pores.centers_um[1]) < 2.0
    prof = porosity_profile("gp_ncm83")
    m = measure_porosity(pores)
    for ring in m["porosity_by_ring"]:
        want = prof.annulus_mean(ring["r_inner_fraction"], ring["r_outer_fraction"])
        assert ring["porosity"] == pytest.approx(want, abs=0.01)
    assert m["porosity_within_circle"][0]["porosity"] > prof.disk_mean(0.5)  # the big pore alone is ~15 %


def test_without_section_control_only_the_volume_is_controlled():
    pores = _sample("gp_ncm83", 1, control_sections=False)
    m = measure_porosity(pores)
    assert m["porosity_volume"] == pytest.approx(porosity_profile("gp_ncm83").volume_mean, abs=0.005)


def test_counts_follow_volume_scale():
    prof = "gp_ncm83"
    n1 = expected_pore_count(particle_radius_um=R_UM, porosity_profile=prof)
    assert 2500 < n1 < 4500  # faithful 10 um particle: thousands of pores
    vs = _scale(prof)
    n_vs = expected_pore_count(particle_radius_um=R_UM, porosity_profile=prof, volume_scale=vs)
    assert n_vs == pytest.approx(RUNNABLE_COUNT, rel=1e-6)
    assert len(_sample(prof, 1)) == pytest.approx(RUNNABLE_COUNT, rel=0.25)


def test_unreachable_ring_warns_and_is_recorded():
    """A 2.5 um particle with coarse pores and a 0.1 um surface gap cannot fill its outer 0.25 um ring."""
    with pytest.warns(RuntimeWarning, match="ring targets"):
        pores = sample_pores(particle_radius_um=2.5, porosity_profile="gp_ncm83", seed=1, min_gap_um=GAP_UM,
                             surface_gap_um=SURFACE_GAP_UM, volume_scale=3.0)
    errors = pores.meta["section_errors"]
    assert errors["paper_rings"][-1] < -0.01
    outer = measure_porosity(pores)["porosity_by_ring"][-1]["porosity"]
    assert outer < porosity_profile("gp_ncm83").annulus_mean(0.9, 1.0) - 0.01
    assert abs(_sample("gp_ncm83", 1).meta["section_errors"]["within_half_circle"]) < 0.01


def test_max_pores_refuses_clearly():
    with pytest.raises(ValueError, match=r"max_pores = 100.*volume_scale >="):
        sample_pores(particle_radius_um=R_UM, porosity_profile="gp_ncm83", seed=1, min_gap_um=GAP_UM,
                     surface_gap_um=SURFACE_GAP_UM, volume_scale=1.0, max_pores=100)


@pytest.mark.parametrize("kw, name", [
    (dict(particle_radius_um=-1.0), "particle_radius_um"),
    (dict(seed=-3), "seed"),
    (dict(seed=1.5), "seed"),
    (dict(min_gap_um=-0.1), "min_gap_um"),
    (dict(surface_gap_um=4.0), "surface_gap_um"),
    (dict(shape="cube"), "shape"),
    (dict(aspect_ratio_range=(1.0, 2.0)), "aspect_ratio_range"),
    (dict(shape="ellipsoid", aspect_ratio_range=(0.5, 2.0)), "aspect_ratio_range"),
    (dict(cluster_fraction=0.9), "cluster_fraction"),
    (dict(volume_scale=0.0), "volume_scale"),
    (dict(volume_scale=500.0), "volume_scale"),
    (dict(volume_scale=0.001), "volume_scale"),
    (dict(volume_classes=[(0.01, 0.002, 1.0)]), "volume_classes"),
    (dict(volume_classes=[(0.002, 0.01, 0.5)]), "volume_classes"),
    (dict(central_pores_um3=(-1.0,)), "central_pores_um3"),
    (dict(porosity_profile="gp_ncm84"), "porosity_profile"),
    (dict(max_pores=0), "max_pores"),
])
def test_bad_arguments_name_the_argument(kw, name):
    args = dict(particle_radius_um=R_UM, porosity_profile="p_ncm83", seed=1, min_gap_um=GAP_UM,
                surface_gap_um=SURFACE_GAP_UM)
    args.update(kw)
    with pytest.raises(ValueError, match=name) as info:
        sample_pores(**args)
    assert "=" in str(info.value)  # "name = value: allowed"


def test_section_porosity_hand_made_set():
    """Two spheres, one cut off-centre by the plane: exact rings from the lens formula."""
    pores = PoreSet(centers_um=[[1.0, 0.0, 0.0], [0.0, 3.0, 0.3]], semi_axes_um=[[0.5] * 3, [0.5] * 3],
                    rotations=np.stack([np.eye(3)] * 2), cluster_ids=[-1, -1], particle_radius_um=5.0)
    sec = section_porosity(pores, plane_normal=(0, 0, 2), ring_edges_fraction=(0.5, 0.6, 1.0))
    r2 = math.sqrt(0.25 - 0.09)
    area_in = lambda r: circle_disk_area(0.5, 1.0, r) + circle_disk_area(r2, 3.0, r)  # noqa: E731
    total = np.pi * 25
    assert sec["porosity"] == pytest.approx((np.pi * 0.25 + np.pi * r2 ** 2) / total, rel=1e-12)
    assert sec["rings"][0]["porosity"] == pytest.approx((area_in(3.0) - area_in(2.5)) / (np.pi * (9 - 6.25)), rel=1e-12)
    assert sec["circles"][0]["porosity"] == pytest.approx(area_in(2.5) / (np.pi * 6.25), rel=1e-12)
    # an offset plane: the section disk shrinks, rings are fractions of its radius
    off = section_porosity(pores, plane_normal=(0, 0, 1), offset_um=0.3)
    assert off["section_radius_um"] == pytest.approx(math.sqrt(25 - 0.09))
    # z = 0.3 cuts the second sphere through its centre and the first 0.3 um off its centre
    assert off["porosity"] == pytest.approx((0.25 + 0.16) / (25 - 0.09), rel=1e-12)
    with pytest.raises(ValueError, match="offset_um"):
        section_porosity(pores, offset_um=6.0)
    with pytest.raises(ValueError, match="ring_edges_fraction"):
        section_porosity(pores, ring_edges_fraction=(0.6, 0.5))


def test_measure_porosity_is_json_ready_and_roundtrips():
    pores = _sample("p_ncm83", 1)
    m = measure_porosity(pores)
    for key in ("porosity_overall", "porosity_volume", "porosity_by_ring", "porosity_profile_full",
                "porosity_within_circle", "pore_count", "pore_volume_um3"):
        assert key in m
    assert [r["r_inner_fraction"] for r in m["porosity_by_ring"]] == pytest.approx([0.5, 0.6, 0.7, 0.8, 0.9])
    assert len(m["porosity_profile_full"]) == 10
    q = m["pore_volume_um3"]
    assert q["min"] <= q["p10"] <= q["p50"] <= q["p90"] <= q["max"]
    text = json.dumps({"measure": m, "pores": pores.to_json_dict()})
    back = PoreSet.from_json_dict(json.loads(text)["pores"])
    assert back == pores


def test_timing_500_and_3000_pores(capsys):
    """Prints (does not assert) the sampling time at ~500 and ~3000 pores."""
    lines = []
    for count in (500, 3000):
        vs = _scale("gp_ncm83", count)
        t0 = time.perf_counter()
        pores = sample_pores(particle_radius_um=R_UM, porosity_profile="gp_ncm83", seed=1, min_gap_um=GAP_UM,
                             surface_gap_um=SURFACE_GAP_UM, volume_scale=vs)
        t1 = time.perf_counter()
        measure_porosity(pores)
        t2 = time.perf_counter()
        lines.append(f"gp_ncm83 R=5um volume_scale={vs:.2f}: {len(pores)} pores sampled in {t1 - t0:.2f} s, "
                     f"measured in {t2 - t1:.2f} s")
        assert len(pores) > 0.7 * count
    with capsys.disabled():
        print("\n" + "\n".join(lines))
