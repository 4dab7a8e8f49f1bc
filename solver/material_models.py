"""The registry of material models: `material.model` name -> what the schema and the solver need to know.

The one list of models. solver/case.py reads it to check [material] (the allowed names, which keys a model
requires, the model's own sub-table); solver/materials.py builds the model named here on a mesh. The
implementation is named as "module:Class" and imported only when a problem is built, so that checking a case
never imports dolfinx. A new model: its class (the interface of solver.materials.IsotropicMaterial) in its
own module, and one entry below.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from solver import layered_oxide
from solver.schema import Option


@dataclass(frozen=True)
class MaterialModel:
    """One `material.model`: its FE class as "module:Class", whether it needs
    material.partial_molar_volume_m3_mol, and its own sub-table of [material] with the function that checks it
    (called as resolve_section(model_name, table) for every case, so that it can refuse the table for other models)."""

    name: str
    implementation: str
    requires_partial_molar_volume: bool = True
    section: str | None = None
    resolve_section: Callable[[str, dict | None], dict | None] | None = None
    section_options: tuple[Option, ...] = ()     # the sub-table's keys, for `python -m solver keys`


MATERIAL_MODELS: dict[str, MaterialModel] = {
    "isotropic": MaterialModel("isotropic", "solver.materials:IsotropicMaterial"),
    layered_oxide.MODEL_NAME: MaterialModel(
        layered_oxide.MODEL_NAME, "solver.materials_layered:LayeredOxideMaterial",
        # optional: the secant of the lattice table's volumetric strain stands in (solver/layered_oxide.py)
        requires_partial_molar_volume=False,
        section="layered", resolve_section=layered_oxide.resolve_layered_section,
        section_options=tuple(layered_oxide.LAYERED_OPTIONS)),
}
