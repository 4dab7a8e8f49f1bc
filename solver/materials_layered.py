"""Layered-oxide (R-3m) grains on a mesh: the anisotropic Vegard eigenstrain eps*(x) = eps_a I + (eps_c - eps_a) n n^T
and the transversely isotropic stiffness as UFL, per grain (material.model = "layered_oxide").

The lattice tables, the [material.layered] keys and the numpy closed forms (with their sources) are
solver/layered_oxide.py, which checking a case imports without dolfinx.
"""
from __future__ import annotations

import numpy as np
import ufl
from petsc4py import PETSc
import dolfinx.fem

from solver import compat, units
from solver.errors import CaseError
from solver.layered_oxide import ELASTIC_CONSTANT_NAMES, MODEL_NAME, grain_c_axes, lattice_table
from solver.materials import IsotropicMaterial
from solver.physics.tables import piecewise_linear


# ------------------------------------------------------------------ constitutive pieces (UFL)
def transversely_isotropic_stress(strain, axis, constants_Pa: dict[str, float]):
    """sigma = C(n) : strain for a hexagonal crystal whose c axis is the unit vector `axis` (UFL)."""
    c11, c12, c13, c33, c44 = (constants_Pa[k] for k in ELASTIC_CONSTANT_NAMES)
    lam, mu_t, alpha, mu_l = c12, (c11 - c12) / 2, c13 - c12, c44
    beta = c33 - c12 - 2 * alpha - 4 * mu_l + 2 * mu_t
    dim = ufl.shape(strain)[0]
    identity = ufl.Identity(dim)
    nn = ufl.outer(axis, axis)
    axial = ufl.inner(axis, ufl.dot(strain, axis))
    trace = ufl.tr(strain)
    return (lam * trace * identity + 2 * mu_t * strain + alpha * (axial * identity + trace * nn)
            + 2 * (mu_l - mu_t) * (ufl.dot(nn, strain) + ufl.dot(strain, nn)) + beta * axial * nn)


def layered_eigenstrain(eps_a, eps_c, axis, dim: int = 3):
    """eps* = eps_a I + (eps_c - eps_a) n n^T = Q diag(eps_a, eps_a, eps_c) Q^T with n = Q e_c."""
    return eps_a * ufl.Identity(dim) + (eps_c - eps_a) * ufl.outer(axis, axis)



# ------------------------------------------------------------------ the material model
class LayeredOxideMaterial:
    """Per-grain anisotropic Vegard strain from a(x), c(x); isotropic or hexagonal stiffness per grain.

    Interface of solver.materials.IsotropicMaterial. Diffusivity, c_max, E and nu (and their region
    overrides) are the isotropic model's; only the eigenstrain (and optionally the stiffness) differ.
    """

    def __init__(self, mesh, particle, material: dict):
        layered = material["layered"]
        self.lattice = lattice_table(layered)
        self.c_max = material["c_max_mol_m3"]
        self.x_ref = material["stress_free_li_fraction"]
        for region, values in material.get("regions", {}).items():
            if "partial_molar_volume_m3_mol" in values:
                raise CaseError(f"material.regions.{region}.partial_molar_volume_m3_mol: not used by "
                                f"material.model = '{MODEL_NAME}' (the lattice table sets the strain)")
        omega = material["partial_molar_volume_m3_mol"]
        if omega is None:
            omega = self.lattice.secant_partial_molar_volume(self.x_ref, self.c_max)
        self.omega_m3_mol = omega
        self._isotropic = IsotropicMaterial(mesh, particle, dict(material, partial_molar_volume_m3_mol=omega))
        self.young_modulus = self._isotropic.young_modulus
        self.poisson_ratio = self._isotropic.poisson_ratio
        self.omega = self._isotropic.omega
        self.diffusivity_is_variable = self._isotropic.diffusivity_is_variable
        self.c_ref = dolfinx.fem.Constant(mesh, PETSc.ScalarType(self.x_ref * self.c_max))
        self.axis = c_axis_field(mesh, particle, layered["crystal_c_axis"])
        self.hexagonal = layered["stiffness"] == "hexagonal"
        if self.hexagonal:
            overridden = [r for r, v in material.get("regions", {}).items()
                          if {"young_modulus_Pa", "poisson_ratio"} & set(v)]
            if overridden:
                raise CaseError(f"material.regions.{overridden[0]}: E / nu overrides do not apply with "
                                "material.layered.stiffness = 'hexagonal'")
            self.constants_Pa = {k: v * units.GPA_TO_PA for k, v in layered["elastic_constants_GPa"].items()}

    def lattice_parameters(self, c):
        """(a, c) in angstrom at concentration c as UFL expressions (piecewise linear in x = c / c_max)."""
        x = c / self.c_max
        table = self.lattice
        return piecewise_linear(x, table.li_fraction, table.a_angstrom), piecewise_linear(x, table.li_fraction,
                                                                                          table.c_angstrom)

    def lattice_strains(self, c):
        """(eps_a, eps_c) at concentration c relative to the lattice at c_ref (a Constant, or a field when a
        problem sets one, e.g. the shell deficit of solver/shell.py)."""
        a, c_axis = self.lattice_parameters(c)
        a_ref, c_axis_ref = self.lattice_parameters(self.c_ref)
        return a / a_ref - 1, c_axis / c_axis_ref - 1

    def eigenstrain(self, c):
        eps_a, eps_c = self.lattice_strains(c)
        return layered_eigenstrain(eps_a, eps_c, self.axis)

    def constitutive(self, strain):
        if self.hexagonal:
            return transversely_isotropic_stress(strain, self.axis, self.constants_Pa)
        return self._isotropic.constitutive(strain)

    def diffusivity(self, c):
        return self._isotropic.diffusivity(c)

    def hydrostatic_stress_slope(self):
        """Isotropic estimate 2 E Omega / (9 (1 - nu)) with the secant Omega (enough for the coupling split)."""
        return self._isotropic.hydrostatic_stress_slope()


def c_axis_field(mesh, particle, crystal_c_axis):
    """The c axis per cell: a DG0 vector field from the grain orientations, or a constant single-crystal axis."""
    orientations = getattr(particle, "grain_orientations", None)
    if orientations is None:
        if crystal_c_axis is None:
            raise CaseError("material.layered.crystal_c_axis: missing; this geometry has no grains "
                            "(use geometry.kind = 'polycrystal', or give one crystal axis, e.g. [0, 0, 1])")
        return dolfinx.fem.Constant(mesh, np.asarray(crystal_c_axis, dtype=PETSc.ScalarType))
    if crystal_c_axis is not None:
        raise CaseError("material.layered.crystal_c_axis: only for geometries without grains; a polycrystal "
                        "takes its orientations from the geometry")
    axes = grain_c_axes(orientations)
    space = compat.vector_space(mesh, 0, "Discontinuous Lagrange", components=3)   # 3D axes on a 2D section too
    field = dolfinx.fem.Function(space, name="grain_c_axis")
    values = field.x.array.reshape(-1, 3)
    values[:] = np.nan
    dofs_of_cells = compat.cell_dofs(space)
    for name, tag in particle.cell_regions.items():
        if not name.startswith("grain_"):
            continue
        index = int(name.split("_")[1])
        values[dofs_of_cells[compat.entities_with_tag(particle.cell_tags, tag)].ravel()] = axes[index]
    n_owned = compat.owned_cell_count(mesh)
    owned_dofs = dofs_of_cells[:n_owned].ravel()
    if np.isnan(values[owned_dofs]).any():
        raise CaseError(f"material.model = '{MODEL_NAME}': some cells belong to no grain_<i> region "
                        f"(regions: {', '.join(sorted(particle.cell_regions))})")
    field.x.scatter_forward()
    return field
