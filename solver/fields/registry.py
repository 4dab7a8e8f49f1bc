"""Which fields a case composes: the core fields every case has, and extra fields named by their case section.

    CORE_FIELDS    transport (Li concentration) and mechanics (displacement), always built, in this order
    FIELDS         {case section: FieldSection}: a Field subclass (solver/fields/base.py), built when its
                   section is in the validated case, with the section's dolfinx-free check and keys. The class
                   is imported only when a problem is built (no dolfinx when a case is validated). Its attribute
                   `couples_back` says whether the coupling iterates it with Li transport (solved between
                   transport iterates, like mechanics in the stress-assisted split) or solves it once per step
                   after the coupling has converged (a passive field). `formulations`: the solver.formulation
                   values it runs with (the reduced ones refuse a case with a field they do not build).

Adding a field (e.g. phase-field damage): its module under solver/fields/, its section module (`OPTIONS` and a
dolfinx-free `validate(table) -> dict`, as solver/oxygen_section.py), and one FieldSection line here. solver/case.py
checks the section, `python -m solver keys` lists its keys and the problem builds the field: nothing else changes.

This module imports no FE code (solver/case.py reads FIELDS).
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Callable

from solver import damage_section, oxygen_section
from solver.schema import Option

CORE_FIELDS = ("solver.fields.transport:TransportField", "solver.fields.mechanics:MechanicsField")


@dataclass(frozen=True)
class FieldSection:
    """One case section that switches on an extra field: its check (dolfinx-free, `validate(table) -> dict`
    raising CaseError naming "<section>.<key>"), the Field class as "module:Class" and the keys it lists."""

    validate: Callable[[dict], dict]
    implementation: str
    options: tuple[Option, ...] = ()
    formulations: tuple[str, ...] = ("3d",)     # the solver.formulation values that run it (reduced/symmetry.py)


FIELDS: dict[str, FieldSection] = {
    "oxygen": FieldSection(oxygen_section.validate, "solver.fields.oxygen:OxygenField", tuple(oxygen_section.OPTIONS)),
    "damage": FieldSection(damage_section.validate, "solver.fields.damage:DamageField", tuple(damage_section.OPTIONS),
                           formulations=("3d", "axisymmetric", "section_2d")),
}

#: fields switched on by a section that solver/case.py validates itself (it needs the other sections):
#: [kinetics] (solver/protocol.py) -> the particle's electrode potential
CASE_FIELDS: dict[str, str] = {"kinetics": "solver.fields.potential:PotentialField"}


def field_class(implementation: str):
    module_name, _, class_name = implementation.partition(":")
    return getattr(importlib.import_module(module_name), class_name)


def validate_field_sections(raw: dict) -> dict:
    """{section: validated table} for the field sections a raw case holds."""
    return {section: spec.validate(raw[section]) for section, spec in FIELDS.items() if section in raw}


def field_classes(case: dict) -> list:
    """The Field classes of a validated case: the core ones, then the registered sections it holds."""
    return [field_class(name) for name in CORE_FIELDS] + [
        field_class(spec.implementation) for section, spec in FIELDS.items() if section in case] + [
        field_class(implementation) for section, implementation in CASE_FIELDS.items() if section in case]
