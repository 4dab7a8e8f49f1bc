"""Kinematics: the strain of a displacement and the measures every form integrates with.

The 3D model and the axisymmetric one (solver/reduced/axisymmetric.py) share every form (transport, elasticity,
stress-assisted flux, surface fluxes); they differ only here:

    Cartesian      eps = sym(grad u); dx, ds the plain measures of the mesh; rigid motions exist
    PlaneStrain    a 2D section (x, y): the 3x3 strain of (u_x, u_y) with eps_zz = 0 (physics.mechanics.plane_strain);
                   dx, ds the plain 2D measures, i.e. every volume, area, amount and force is per unit thickness
                   (m^2, m, mol/m, N/m); 3 rigid motions in the plane (2 translations, 1 rotation)
    Axisymmetric   eps of an axisymmetric body (physics.mechanics.cylindrical_strain) on the meridian (rho, z);
                   dx, ds weighted by 4 pi rho (2 pi of revolution, x 2 for the mirror half z < 0), so the same
                   integrals give the whole particle; no rigid motion is left by the axis and equator conditions

A kinematics object is chosen when the problem is built and handed to every field (FieldContext.kinematics).
"""
from __future__ import annotations

import math

import ufl

from solver.physics import mechanics


class WeightedMeasure:
    """A ufl measure that multiplies every integrand by a weight, so that `integrand * dx` keeps working
    (also for dx(tag), dx(metadata=...) and sums of measures)."""

    def __init__(self, measure, weight):
        self.measure, self.weight = measure, weight

    def __rmul__(self, integrand):
        return (integrand * self.weight) * self.measure

    def __call__(self, *args, **kwargs):
        return WeightedMeasure(self.measure(*args, **kwargs), self.weight)

    def __add__(self, other: "WeightedMeasure"):
        return WeightedMeasure(self.measure + other.measure, self.weight)


class Cartesian:
    """3D small strain on the particle mesh."""

    rigid_motion = True

    def __init__(self, particle):
        mesh = particle.mesh
        self.dx = ufl.Measure("dx", domain=mesh, subdomain_data=particle.cell_tags)
        self.ds = ufl.Measure("ds", domain=mesh, subdomain_data=particle.facet_tags)

    def strain(self, u):
        return mechanics.strain(u)


class Axisymmetric:
    """Axisymmetric small strain on the meridian quarter disc (rho, z), measures weighted by 4 pi rho."""

    rigid_motion = False

    def __init__(self, particle):
        mesh = particle.mesh
        self.rho = ufl.SpatialCoordinate(mesh)[0]
        weight = 4.0 * math.pi * self.rho
        self.dx = WeightedMeasure(ufl.Measure("dx", domain=mesh, subdomain_data=particle.cell_tags), weight)
        self.ds = WeightedMeasure(ufl.Measure("ds", domain=mesh, subdomain_data=particle.facet_tags), weight)

    def strain(self, u):
        return mechanics.cylindrical_strain(u, self.rho)


class PlaneStrain(Cartesian):
    """Plane strain on a 2D section: 3x3 strain with eps_zz = 0; the plain measures of the 2D mesh, so everything
    they integrate is per unit thickness (see module docstring)."""

    def strain(self, u):
        return mechanics.plane_strain(u)
