"""Phase-field damage (AT1 / AT2) as UFL expressions: degradation, crack driving energy, the damage equation.

Energy of the body (Bourdin, Francfort & Marigo 2000; Pham et al. 2011):

    E(u, d) = int g(d) psi(eps_e) + Gc / c_w (w(d) / l + l |grad d|^2) dx,   g(d) = (1 - d)^2 + k
    AT1: w = d, c_w = 8/3            AT2: w = d^2, c_w = 2

Hybrid formulation (Ambati, Gerasimov & De Lorenzis, Comput. Mech. 55 (2015) 383): the momentum balance uses the
isotropic degradation g(d) C, so mechanics stays one linear solve per iterate; the tension-compression split
enters only the driving force, the history H = max over time of psi+ (Amor, Marigo & Maurini, J. Mech. Phys.
Solids 57 (2009) 1209: volumetric-deviatoric), and where psi+ < psi- (compression dominates) the driving force is
zero, so compression does not crack. A full split g(d) psi+ + psi- in the momentum balance is nonlinear in u
through the sign of tr(eps) and would need a Newton solve of mechanics: the hybrid form trades that for a
slightly inconsistent (non-variational) model, which Ambati et al. show gives the same crack paths.

Stationarity in d with d frozen in g' (H given) is linear in d:

    2 H d v + Gc / c_w (w'(d) / l v + 2 l grad d . grad v) = 2 H v
"""
from __future__ import annotations

import ufl


def degradation(d, residual_stiffness):
    """g(d) = (1 - d)^2 + k."""
    return (1 - d) ** 2 + residual_stiffness


def degraded_law(constitutive, d, residual_stiffness):
    """The law strain -> g(d) constitutive(strain): isotropic degradation, linear in the strain (hybrid form)."""
    return lambda strain: degradation(d, residual_stiffness) * constitutive(strain)


def _positive(x):
    return (x + abs(x)) / 2


def tensile_energy(elastic_strain, young_modulus, poisson_ratio):
    """(psi+, psi-) of Amor et al.: psi+ = K/2 <tr e>+^2 + mu dev e : dev e, psi- = K/2 <tr e>-^2."""
    bulk = young_modulus / (3 * (1 - 2 * poisson_ratio))
    shear = young_modulus / (2 * (1 + poisson_ratio))
    trace = ufl.tr(elastic_strain)
    deviator = elastic_strain - trace / 3 * ufl.Identity(ufl.shape(elastic_strain)[0])
    positive = bulk / 2 * _positive(trace) ** 2 + shear * ufl.inner(deviator, deviator)
    negative = bulk / 2 * _positive(-trace) ** 2
    return positive, negative


def driving_energy(elastic_strain, constitutive, young_modulus, poisson_ratio, split: str):
    """The energy density that may crack a point: psi+ where it exceeds psi- (else 0) with the
    volumetric-deviatoric split, or the whole elastic energy 1/2 sigma : eps_e (split "none")."""
    if split == "none":
        return ufl.inner(constitutive(elastic_strain), elastic_strain) / 2
    positive, negative = tensile_energy(elastic_strain, young_modulus, poisson_ratio)
    return ufl.conditional(ufl.gt(positive, negative), positive, 0.0)


def damage_forms(d, v, history, fracture_energy, length_scale, normalisation, model: str, dx):
    """Bilinear and linear forms of the damage equation (module docstring) for the history H."""
    scale = fracture_energy / normalisation
    bilinear = (2 * history * d * v + scale * 2 * length_scale * ufl.inner(ufl.grad(d), ufl.grad(v))) * dx
    linear = 2 * history * v * dx
    if model == "AT2":        # w'(d) = 2 d: on the left
        bilinear += scale * 2 / length_scale * d * v * dx
    else:                     # AT1, w'(d) = 1: a constant on the right
        linear -= scale / length_scale * v * dx
    return bilinear, linear


def crack_energy_density(d, fracture_energy, length_scale, normalisation, model: str):
    """Gc / c_w (w(d) / l + l |grad d|^2): integrated, the energy the cracks have dissipated."""
    w = d if model == "AT1" else d**2
    return fracture_energy / normalisation * (w / length_scale + length_scale * ufl.inner(ufl.grad(d), ufl.grad(d)))
