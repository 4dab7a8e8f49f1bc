"""Which fields a case composes: the core fields every case has, and extra fields named by their case section.

    CORE_FIELDS    transport (Li concentration) and mechanics (displacement), always built, in this order
    FIELDS         {case section: "module:Class"}: a Field subclass (solver/fields/base.py) built when its
                   section is in the validated case. The class is imported only then (no dolfinx when a case
                   is validated). Its attribute `couples_back` says whether the coupling iterates it with
                   Li transport (solved between transport iterates, like mechanics in the stress-assisted
                   split) or solves it once per step after the coupling has converged (a passive field).

Adding a field (e.g. phase-field damage): its module under solver/fields/, one line here, and its case section
(a dolfinx-free `validate(table)` registered with the schema, as the extensions' sections are).
"""
from __future__ import annotations

import importlib

CORE_FIELDS = ("solver.fields.transport:TransportField", "solver.fields.mechanics:MechanicsField")

FIELDS: dict[str, str] = {}


def field_class(implementation: str):
    module_name, _, class_name = implementation.partition(":")
    return getattr(importlib.import_module(module_name), class_name)


def field_classes(case: dict) -> list:
    """The Field classes of a validated case: the core ones, then the registered sections it holds."""
    return [field_class(name) for name in CORE_FIELDS] + [
        field_class(implementation) for section, implementation in FIELDS.items() if section in case]
