"""Small-strain linear elasticity with a chemical (Vegard) eigenstrain, as UFL expressions."""
from __future__ import annotations

import ufl


def strain(u):
    return ufl.sym(ufl.grad(u))


def lame_parameters(young_modulus, poisson_ratio):
    lam = young_modulus * poisson_ratio / ((1 + poisson_ratio) * (1 - 2 * poisson_ratio))
    mu = young_modulus / (2 * (1 + poisson_ratio))
    return lam, mu


def isotropic_stress(elastic_strain, young_modulus, poisson_ratio):
    """Hooke's law sigma = lambda tr(e) I + 2 mu e."""
    lam, mu = lame_parameters(young_modulus, poisson_ratio)
    dim = ufl.shape(elastic_strain)[0]
    return lam * ufl.tr(elastic_strain) * ufl.Identity(dim) + 2 * mu * elastic_strain


def isotropic_eigenstrain(c, c_ref, partial_molar_volume, dim: int = 3):
    """eps* = Omega (c - c_ref) / 3 I: Omega is the partial molar VOLUME, so a third goes to each direction."""
    return partial_molar_volume * (c - c_ref) / 3 * ufl.Identity(dim)


def stress(u, eigenstrain, constitutive):
    """Cauchy stress of displacement u with eigenstrain; `constitutive(strain) -> stress`."""
    return constitutive(strain(u) - eigenstrain)


def elasticity_forms(u, v, eigenstrain, constitutive, dx):
    """Bilinear and linear forms of div sigma = 0 with sigma = C:(eps(u) - eps*), traction-free boundary."""
    bilinear = ufl.inner(constitutive(strain(u)), strain(v)) * dx
    linear = ufl.inner(constitutive(eigenstrain), strain(v)) * dx
    return bilinear, linear


def hydrostatic(sigma):
    return ufl.tr(sigma) / 3
