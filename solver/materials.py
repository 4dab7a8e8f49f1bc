"""Material models: the constitutive law, chemical eigenstrain and diffusivity as UFL pieces on a mesh.

A model is chosen by `material.model` in the case; the registry solver/material_models.py maps the name to
a class with the interface of `IsotropicMaterial` (this module's; solver/materials_layered.py has the other).
Region overrides (`[material.regions.<cell region>]`) give a region its own E, nu, Omega or D as cell-wise
(DG0) fields, e.g. a shell or RuO2 islands.
Every dimensional value is a fem.Constant or a DG0 Function, so sweeps change values, not forms.
"""
from __future__ import annotations

import importlib

from petsc4py import PETSc
import dolfinx.fem

from solver import compat
from solver.errors import CaseError
from solver.material_models import MATERIAL_MODELS
from solver.physics import mechanics, transport

REGION_PROPERTIES = ("young_modulus_Pa", "poisson_ratio", "partial_molar_volume_m3_mol", "diffusivity_m2_s")


def cellwise_property(mesh, cell_tags, cell_regions: dict, default: float, overrides: dict[str, float]):
    """A fem.Constant when no region overrides the value, else a DG0 field with per-region values."""
    if not overrides:
        return dolfinx.fem.Constant(mesh, PETSc.ScalarType(default))
    space = compat.scalar_space(mesh, 0, "Discontinuous Lagrange")
    field = dolfinx.fem.Function(space)
    field.x.array[:] = default
    dofs_of_cells = compat.cell_dofs(space)
    for region, value in overrides.items():
        cells = compat.entities_with_tag(cell_tags, cell_regions[region])
        field.x.array[dofs_of_cells[cells].ravel()] = value
    field.x.scatter_forward()
    return field


def region_overrides(material: dict, cell_regions: dict) -> dict[str, dict[str, float]]:
    """{property: {region: value}} from material.regions, checking region names against the mesh."""
    by_property: dict[str, dict[str, float]] = {name: {} for name in REGION_PROPERTIES}
    for region, values in material.get("regions", {}).items():
        if region not in cell_regions:
            raise CaseError(f"material.regions.{region}: not a cell region of this geometry; "
                            f"available: {', '.join(sorted(cell_regions))}")
        for name, value in values.items():
            if name in by_property:  # li_fraction_min/max are Li-content bounds (solver/shell.py)
                by_property[name][region] = value
    return by_property


class IsotropicMaterial:
    """Hooke's law with an isotropic Vegard eigenstrain Omega (c - c_ref) / 3 I and Fickian D or D(x)."""

    def __init__(self, mesh, particle, material: dict):
        overrides = region_overrides(material, particle.cell_regions)

        def prop(name):
            return cellwise_property(mesh, particle.cell_tags, particle.cell_regions, material[name], overrides[name])

        self.c_max = material["c_max_mol_m3"]
        self.young_modulus = prop("young_modulus_Pa")
        self.poisson_ratio = prop("poisson_ratio")
        self.omega = prop("partial_molar_volume_m3_mol")
        self.c_ref = dolfinx.fem.Constant(mesh, PETSc.ScalarType(material["stress_free_li_fraction"] * self.c_max))
        self.table = material["diffusivity_table_li_fraction_m2_s"]
        if self.table is not None and overrides["diffusivity_m2_s"]:
            raise CaseError("material.regions.*.diffusivity_m2_s: cannot be combined with "
                            "material.diffusivity_table_li_fraction_m2_s (one D(x) for the whole particle)")
        self.diffusivity_scale = prop("diffusivity_m2_s")
        self.diffusivity_is_variable = self.table is not None

    def constitutive(self, strain):
        return mechanics.isotropic_stress(strain, self.young_modulus, self.poisson_ratio)

    def eigenstrain(self, c):
        return mechanics.isotropic_eigenstrain(c, self.c_ref, self.omega)

    def diffusivity(self, c):
        """D at concentration c: the constant (or region) value, or the tabulated D(x)."""
        if self.table is None:
            return self.diffusivity_scale
        return transport.tabulated_diffusivity(c / self.c_max, self.table)

    def hydrostatic_stress_slope(self):
        """-d sigma_h / d c of a free isotropic body: 2 E Omega / (9 (1 - nu)). Used by the coupling split."""
        return 2 * self.young_modulus * self.omega / (9 * (1 - self.poisson_ratio))


def material_class(name: str):
    """The class of material model `name`, imported from the module the registry names."""
    module_name, _, class_name = MATERIAL_MODELS[name].implementation.partition(":")
    return getattr(importlib.import_module(module_name), class_name)


def material_model(mesh, particle, material: dict):
    """The material model of a validated [material] section, built on the mesh."""
    return material_class(material["model"])(mesh, particle, material)
