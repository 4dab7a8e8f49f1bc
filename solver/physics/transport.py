"""Li transport: Fick diffusion, optionally stress-assisted, with implicit multistep time weights."""
from __future__ import annotations

import math

import ufl

from solver.physics.tables import piecewise_linear


def tabulated_diffusivity(li_fraction, table):
    """D(x) interpolated linearly in log D between table rows [[x, D_m2_s], ...], constant outside.

    Log interpolation because D of layered oxides varies over decades with Li content.
    """
    xs = [row[0] for row in table]
    logs = [math.log(row[1]) for row in table]
    return ufl.exp(piecewise_linear(li_fraction, xs, logs))


def li_flux(c, diffusivity, hydrostatic_stress=None, stress_coupling=None, carrier=None):
    """Molar flux N = -D (grad c - (Omega c / (R T)) grad sigma_h).

    `stress_coupling` is Omega / (R T); with it, tension (sigma_h > 0) draws Li in. `carrier` is the
    concentration multiplying the stress gradient: c itself by default, the previous coupling iterate in
    the linearised split (fixed_stress_hydrostatic), which keeps every solve linear.
    """
    flux = -diffusivity * ufl.grad(c)
    if hydrostatic_stress is not None:
        moving = c if carrier is None else carrier
        flux = flux + diffusivity * stress_coupling * moving * ufl.grad(hydrostatic_stress)
    return flux


def fixed_stress_hydrostatic(c, c_iterate, hydrostatic_iterate, slope):
    """The fixed-stress split's sigma_h(c) ~ sigma_h,k - beta (c - c_k) (beta = -d sigma_h / dc > 0).

    Exact for a free isotropic sphere; consistent everywhere (the correction vanishes at c = c_k). The
    beta c part moves into the operator as extra diffusion D kappa beta c_k, which keeps it SPD and makes the
    iteration converge when theta c = kappa beta c > 1 (plain lagging of sigma_h does not).
    """
    return hydrostatic_iterate - slope * (c - c_iterate)


def multistep_weights(dt: float, previous_dt: float | None, scheme: str) -> tuple[float, float, float]:
    """(w_new, w_old, w_older) of dc/dt ~ (w_new c^{n+1} + w_old c^n + w_older c^{n-1}) / dt.

    Variable-step BDF2 when a previous step exists, else backward Euler (also BDF2's first step).
    """
    if scheme == "bdf2" and previous_dt is not None:
        ratio = dt / previous_dt
        return (1 + 2 * ratio) / (1 + ratio), -(1 + ratio), ratio**2 / (1 + ratio)
    return 1.0, -1.0, 0.0


def transport_forms(c, v, history, dt, weight_new, diffusivity, dx, surface_fluxes=(),
                    hydrostatic_stress=None, stress_coupling=None, source=None, carrier=None):
    """Linear(ised) forms of one implicit step, multistep time derivative:

    (weight_new c + history) / dt  with history = sum of weighted old states,
    so backward Euler and variable-step BDF2 share one form. `surface_fluxes` is a list of
    (J, ds) with J in mol/m^2/s positive into the particle; `source` a volumetric rate in
    mol/m^3/s. `diffusivity` is evaluated at the
    previous iterate by the caller (Picard), which keeps every solve linear. A `hydrostatic_stress` that
    depends on the trial c (fixed_stress_hydrostatic) is split: its c part stays in the bilinear form, the
    rest moves to the linear one.
    """
    flux = li_flux(c, diffusivity, hydrostatic_stress, stress_coupling, carrier)
    bilinear = weight_new / dt * c * v * dx - ufl.inner(flux, ufl.grad(v)) * dx
    linear = -history / dt * v * dx
    if hydrostatic_stress is not None:
        bilinear, linear = ufl.lhs(bilinear), linear + ufl.rhs(bilinear)
    if source is not None:
        linear += source * v * dx
    for flux_in, ds in surface_fluxes:
        linear += flux_in * v * ds
    return bilinear, linear
