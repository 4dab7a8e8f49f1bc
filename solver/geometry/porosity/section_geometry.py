"""Exact geometry of pores (micrometres): circle/ellipse areas inside disks and annuli, plane sections
of ellipsoids, and pair intersection volumes (closed forms, or Green's theorem for ellipses)."""
from __future__ import annotations

import math
import numpy as np

from solver.geometry.porosity.checks import bad


def _two_circles(radius, center_distance, outer_radius):
    """Broadcast (a, d, r) float arrays of a circle/sphere of radius a at distance d from the centre of one of
    radius r, with the masks `inside` (one contains the other) and `lens` (they overlap partially)."""
    a, d, r = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (radius, center_distance, outer_radius)))
    inside = d <= np.abs(r - a)
    return a, d, r, inside, (~inside) & (d < a + r)


def circle_disk_area(radius, center_distance, disk_radius):
    """Area of a circle (radius a, centre at distance d from the origin) inside the disk |x| <= r.

    Closed form (circle-circle lens), broadcast over the arguments.
    """
    a, d, r, inside, lens = _two_circles(radius, center_distance, disk_radius)
    out = np.zeros(a.shape)
    out[inside] = np.pi * np.minimum(a, r)[inside] ** 2
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


def ball_volume_inside(radius, center_distance, ball_radius):
    """Volume of a sphere (radius a, centre at distance d) inside the ball |x| <= r (closed form)."""
    a, d, r, inside, lens = _two_circles(radius, center_distance, ball_radius)
    out = np.zeros(a.shape)
    out[inside] = 4.0 / 3.0 * np.pi * np.minimum(a, r)[inside] ** 3
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
                    rejected = (dg == 0.0) | ~(xn >= lo) | ~(xn <= hi)
                    x = np.where(gx == 0.0, x, np.where(rejected, 0.5 * (lo + hi), xn))
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
    return ellipses_in_disks(w0, Mm, r)[0]


def circle_annulus_area(radius, center_distance, r_inner, r_outer):
    """Area of a circle (radius a, centre at distance d from the origin) inside the annulus
    r_inner <= |x| <= r_outer (closed form)."""
    return np.asarray(circle_disk_area(radius, center_distance, r_outer)) - np.asarray(
        circle_disk_area(radius, center_distance, r_inner))


def ellipse_annulus_area(center, boundary_map, r_inner: float, r_outer: float) -> float:
    """Area of the ellipse {center + M u : |u| <= 1} inside the annulus r_inner <= |x| <= r_outer."""
    a = ellipse_disk_area(center, boundary_map, [r_inner, r_outer])
    return float(a[1] - a[0])


def ellipses_in_disks(w0: np.ndarray, M: np.ndarray, edges: np.ndarray) -> np.ndarray:
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


def pairs_in_disks(w0a, Ma, w0b, Mb, edges) -> np.ndarray:
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


def plane_basis(normal) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(n, s1, s2): the unit normal of a plane and two in-plane unit vectors completing a right-handed basis."""
    n = np.asarray(normal, dtype=float).reshape(3)
    nn = np.linalg.norm(n)
    if not np.isfinite(nn) or nn == 0:
        raise bad("plane_normal", tuple(np.asarray(normal).tolist()), "must be a nonzero finite 3-vector")
    n = n / nn
    helper = np.eye(3)[int(np.argmin(np.abs(n)))]
    s1 = helper - helper.dot(n) * n
    s1 /= np.linalg.norm(s1)
    s2 = np.cross(n, s1)
    return n, s1, s2


def ellipsoid_sections(centers, semi, rot, normal, offset) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sections of ellipsoids by the plane n.x = offset.

    Returns (idx, w0, M): indices of the cut pores, in-plane centres (m, 2) relative to the point
    offset*n in the basis (s1, s2), boundary maps (m, 2, 2) with det > 0.
    """
    n, s1, s2 = plane_basis(normal)
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


def ellipsoid_pair_volume(ci, ai, Ri, cj, aj, Rj, n_nodes: int = 48) -> float:
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
