"""Small-strain linear elasticity with a chemical (Vegard) eigenstrain, as UFL expressions."""
from __future__ import annotations

import ufl


def strain(u):
    return ufl.sym(ufl.grad(u))


def cylindrical_strain(u, rho):
    """Small strain of an axisymmetric displacement (u_rho, u_z) on the meridian, ordered (rho, z, theta):

        eps = [[du_rho/drho, (du_rho/dz + du_z/drho)/2, 0], [., du_z/dz, 0], [0, 0, u_rho/rho]]

    so that at the point (rho, z, 0) it is the Cartesian strain of the body with its symmetry axis along y.
    On the axis u_rho / rho is replaced by its limit du_rho/drho (stresses are sampled at vertices there).
    """
    g = ufl.grad(u)
    shear = 0.5 * (g[0, 1] + g[1, 0])
    hoop = ufl.conditional(ufl.gt(rho, 0.0), u[0] / rho, g[0, 0])
    return ufl.as_matrix([[g[0, 0], shear, 0], [shear, g[1, 1], 0], [0, 0, hoop]])


def plane_strain(u):
    """Small strain of an in-plane displacement (u_x, u_y) with eps_zz = 0, as the 3x3 tensor ordered (x, y, z),
    so that every 3D constitutive law (per-grain stiffness rotated by the grain's 3D orientation included) applies
    unchanged. The axial strain of generalised plane strain enters as an eigenstrain
    (solver/fields/plane_strain.py), so this stays linear in u."""
    g = ufl.grad(u)
    shear = 0.5 * (g[0, 1] + g[1, 0])
    return ufl.as_matrix([[g[0, 0], shear, 0], [shear, g[1, 1], 0], [0, 0, 0]])


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


def stress(u, eigenstrain, constitutive, kinematics=strain):
    """Cauchy stress of displacement u with eigenstrain; `constitutive(strain) -> stress`, `kinematics(u) ->
    strain` (the 3D small strain, or cylindrical_strain for the axisymmetric body)."""
    return constitutive(kinematics(u) - eigenstrain)


def elasticity_forms(u, v, eigenstrain, constitutive, dx, kinematics=strain):
    """Bilinear and linear forms of div sigma = 0 with sigma = C:(eps(u) - eps*), traction-free boundary."""
    bilinear = ufl.inner(constitutive(kinematics(u)), kinematics(v)) * dx
    linear = ufl.inner(constitutive(eigenstrain), kinematics(v)) * dx
    return bilinear, linear


def hydrostatic(sigma):
    return ufl.tr(sigma) / 3
