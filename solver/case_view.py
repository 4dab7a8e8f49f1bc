"""The validated case as the finite-element code reads it: attribute access with the unit in every name.

    settings = CaseView(case)
    settings.material.c_max_mol_m3          # instead of case["material"]["c_max_mol_m3"]
    settings.operation.wetted_surfaces
    settings.damage.length_scale_m          # a field's own section

Why a read-only view over the validated dict rather than a second set of dataclasses: the validated case stays the
one JSON-able dict that is stored in summary.json, addressed by dotted keys (`--set`, sweeps), hashed for the mesh
cache and the provenance, and compared in the golden values; the view adds the readable access without a copy that
could drift from it. Every key it offers was checked and converted to SI by the schema (solver/schema.py), so the
names carry their unit (`_m`, `_Pa`, `_mol_m3`). A misspelt key raises AttributeError naming the section and the
keys it has, instead of returning None. dolfinx-free.
"""
from __future__ import annotations

from collections.abc import Mapping


class CaseView(Mapping):
    """A read-only attribute view of a validated case or one of its sections (nested tables become views)."""

    __slots__ = ("_table", "_path")

    def __init__(self, table: Mapping, path: str = "case"):
        object.__setattr__(self, "_table", table)
        object.__setattr__(self, "_path", path)

    def __getattr__(self, key: str):
        if key.startswith("__"):
            raise AttributeError(key)
        table = object.__getattribute__(self, "_table")
        path = object.__getattribute__(self, "_path")
        if key not in table:
            raise AttributeError(f"{path} has no key {key!r}; it has: {', '.join(sorted(map(str, table)))}")
        return self._wrap(key, table[key])

    def __getitem__(self, key: str):
        return self._wrap(key, self._table[key])

    def _wrap(self, key: str, value):
        return CaseView(value, f"{self._path}.{key}") if isinstance(value, Mapping) else value

    def __setattr__(self, key, value):
        raise AttributeError(f"{self._path} is read-only (the validated case is changed only by the schema)")

    def __iter__(self):
        return iter(self._table)

    def __len__(self) -> int:
        return len(self._table)

    def __contains__(self, key) -> bool:
        return key in self._table

    def __repr__(self) -> str:
        return f"CaseView({self._path}: {', '.join(map(str, self._table))})"
