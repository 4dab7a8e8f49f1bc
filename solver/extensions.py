"""Post-processing that advances with the Li/stress solver, each owning one case section.

An extension reads the solved state after every accepted step and changes none of it (a physical field,
one with an unknown to solve, is a Field of solver/fields/ instead, e.g. [oxygen]). It is named by its section
in the case file (e.g. `[grain_boundaries]`) and has two halves, listed in
EXTENSIONS: the section's checks, a function in a dolfinx-free module (`validate(table) -> dict`,
solver.schema.validate_table does the key checks; raise CaseError naming "<section>.<key>"), and the
finite-element class as "module:Class", imported only when a run starts, so that validating a case never
imports dolfinx. The class provides:

    __init__(case, problem, folder)        build spaces/forms on problem.mesh (problem.c is the Li field)
    after_step(step, t_s, dt_s) -> None    called after every accepted step (and once at t = 0 with dt 0)
    point_fields() -> list[Function]       optional: scalar fields added to the XDMF/VTU snapshots
    summary() -> dict                      stored as summary.json[summary_key] (class attribute; default: section)

An extension raising SolveError ends the run as "failed", keeping what was computed.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Callable

from solver.schema import Option

from solver import grain_boundary_section, shell_section


@dataclass(frozen=True)
class Extension:
    """One case section of post-processing: its checks (dolfinx-free), its FE class as "module:Class", and its
    keys (what `python -m solver keys` lists)."""

    validate: Callable[[dict], dict]
    implementation: str
    options: tuple[Option, ...] = ()
    # geometry kind -> "module:Class" where a kind needs its own (a sub-volume's zones are its window and faces)
    by_geometry_kind: tuple[tuple[str, str], ...] = ()


EXTENSIONS: dict[str, Extension] = {
    "grain_boundaries": Extension(grain_boundary_section.validate, "solver.grain_boundaries:GrainBoundaryTraction",
                                  tuple(grain_boundary_section.OPTIONS),
                                  (("subvolume", "solver.subvolume_statistics:SubvolumeStatistics"),)),
    "region_peaks": Extension(shell_section.validate_region_peaks, "solver.shell:RegionPeaks",
                              tuple(shell_section.REGION_PEAKS_OPTIONS)),
}


def extension_class(section: str, geometry_kind: str | None = None):
    """The FE class of extension `section` (for that geometry kind), imported from the module EXTENSIONS names."""
    extension = EXTENSIONS[section]
    implementation = dict(extension.by_geometry_kind).get(geometry_kind, extension.implementation)
    module_name, _, class_name = implementation.partition(":")
    return getattr(importlib.import_module(module_name), class_name)


def validate_extensions(raw: dict) -> dict:
    """{section: validated table} for the extension sections a raw case holds."""
    return {section: EXTENSIONS[section].validate(raw[section]) for section in EXTENSIONS if section in raw}


def start_extensions(case: dict, problem, folder) -> list:
    """The extensions of a validated case, built on its problem."""
    kind = case["geometry"]["kind"]
    return [extension_class(section, kind)(case, problem, folder) for section in EXTENSIONS if section in case]
