"""The particle-scale field a sub-volume (geometry.kind = "subvolume") is driven by: the homogenised particle, a
dense isotropic sphere of the case's radius, material and galvanostatic operation, in closed form (numpy only).

- Li: c(r, t) of the galvanostatic sphere (solver.analytic.galvanostatic_sphere_concentration), flux J such that
  the particle's mean Li fraction moves at the C-rate (units.galvanostatic_flux_mol_m2_s with the sphere's V/A).
- Mechanics: the sphere's radial displacement and stresses for an isotropic eigenstrain e(c) (Timoshenko;
  solver.analytic.sphere_displacement / sphere_stresses with Omega = 3 and "c" = e, so that Omega c / 3 = e).
  e(c) is the orientation average of the material's eigenstrain: Omega (c - c_ref) / 3 for the isotropic model;
  for the layered oxide (2 eps_a(x) + eps_c(x)) / 3 of its lattice table, the trace a random polycrystal with
  uniform (isotropic) stiffness averages to (the effective eigenstrain of a polycrystal of one stiffness is its
  volume average), so that the imposed strain is the mean of the grains' misfit, not the secant Omega.

Limits (stated where the BCs are used, solver/subvolume.py): the homogenised particle is dense and uniform, so it
has neither the porosity gradient's stiffness gradient nor stress-assisted diffusion nor a variable D.
The displacement does not depend on E, so a lower effective stiffness of the porous particle would change the
imposed displacement only through nu.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np

from solver import analytic, units
from solver.layered_oxide import MODEL_NAME as LAYERED_MODEL, lattice_table


@dataclass(frozen=True)
class HomogenisedParticle:
    radius_m: float
    diffusivity_m2_s: float
    flux_mol_m2_s: float          # > 0 into the particle
    c0_mol_m3: float
    young_modulus_Pa: float
    poisson_ratio: float
    eigenstrain: Callable[[np.ndarray], np.ndarray]   # isotropic eigenstrain (linear strain) of c (mol/m^3)

    @classmethod
    def from_case(cls, case: dict) -> "HomogenisedParticle":
        material, operation = case["material"], case["operation"]
        radius = case["geometry"]["radius_m"]
        c_max = material["c_max_mol_m3"]
        flux = units.galvanostatic_flux_mol_m2_s(
            c_rate=operation["c_rate"], capacity_li_fraction=operation["capacity_li_fraction"], c_max_mol_m3=c_max,
            volume_m3=4.0 / 3.0 * math.pi * radius**3, area_m2=4.0 * math.pi * radius**2,
            extracting=operation["direction"] == "charge")
        return cls(radius, material["diffusivity_m2_s"], flux, operation["li_fraction_start"] * c_max,
                   material["young_modulus_Pa"], material["poisson_ratio"], isotropic_eigenstrain(material))

    def concentration(self, r_m, t_s: float) -> np.ndarray:
        return analytic.galvanostatic_sphere_concentration(r_m, t_s, self.radius_m, self.diffusivity_m2_s,
                                                           self.flux_mol_m2_s, self.c0_mol_m3)

    def _eigenstrain_profile(self, t_s: float):
        return lambda r: self.eigenstrain(self.concentration(r, t_s))

    def radial_displacement(self, r_m, t_s: float) -> np.ndarray:
        return analytic.sphere_displacement(r_m, self._eigenstrain_profile(t_s), self.radius_m, self.poisson_ratio,
                                            3.0, 0.0)

    def displacement(self, points_m: np.ndarray, t_s: float) -> np.ndarray:
        """(n, 3) displacement at points (n, 3) in the particle's coordinates."""
        r = np.linalg.norm(points_m, axis=1)
        u_r = self.radial_displacement(np.minimum(r, self.radius_m), t_s)
        return points_m * np.where(r > 0.0, u_r / np.where(r > 0.0, r, 1.0), 0.0)[:, None]

    def stresses(self, r_m, t_s: float) -> tuple[np.ndarray, np.ndarray]:
        """(sigma_r, sigma_t) in Pa."""
        return analytic.sphere_stresses(r_m, self._eigenstrain_profile(t_s), self.radius_m, self.young_modulus_Pa,
                                        self.poisson_ratio, 3.0, 0.0)

    def summary(self) -> dict:
        return {"model": "dense isotropic sphere, closed form (solver/particle_scale.py)",
                "radius_m": self.radius_m, "diffusivity_m2_s": self.diffusivity_m2_s,
                "flux_mol_m2_s": self.flux_mol_m2_s, "c0_mol_m3": self.c0_mol_m3,
                "young_modulus_Pa": self.young_modulus_Pa, "poisson_ratio": self.poisson_ratio}


def isotropic_eigenstrain(material: dict) -> Callable[[np.ndarray], np.ndarray]:
    """e(c): the orientation-averaged (isotropic) eigenstrain of the case's material model."""
    c_max = material["c_max_mol_m3"]
    x_ref = material["stress_free_li_fraction"]
    if material["model"] == LAYERED_MODEL:
        table = lattice_table(material["layered"])

        def layered(c):
            eps_a, eps_c = table.strains(np.asarray(c) / c_max, x_ref)
            return (2.0 * eps_a + eps_c) / 3.0
        return layered
    omega = material["partial_molar_volume_m3_mol"]
    return lambda c: omega * (np.asarray(c) - x_ref * c_max) / 3.0
