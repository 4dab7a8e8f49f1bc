"""Extra physics and outputs that advance with the Li/stress solver, each owning one case section.

An extension is named by its section in the case file (e.g. `[oxygen]`) and lives in its own module,
listed in EXTENSION_MODULES as "module:Class" so that validating a case never imports dolfinx. The
class provides:

    validate(table: dict) -> dict          staticmethod (solver.schema.validate_table does the key checks);
                                           raise CaseError naming "<section>.<key>"
    __init__(case, problem, folder)        build spaces/forms on problem.mesh (problem.c is the Li field)
    after_step(step, t_s, dt_s) -> None    called after every accepted step (and once at t = 0 with dt 0)
    point_fields() -> list[Function]       optional: scalar fields added to the XDMF/VTU snapshots
    summary() -> dict                      stored as summary.json[summary_key] (class attribute; default: section)

An extension raising SolveError ends the run as "failed", keeping what was computed.
"""
from __future__ import annotations

import importlib

EXTENSION_MODULES: dict[str, str] = {
    "grain_boundaries": "solver.grain_boundaries:GrainBoundaryTraction",
    "oxygen": "solver.oxygen:OxygenRelease",
    "region_peaks": "solver.shell:RegionPeaks",
}


def extension_class(section: str):
    module_name, _, class_name = EXTENSION_MODULES[section].partition(":")
    return getattr(importlib.import_module(module_name), class_name)


def validate_extensions(raw: dict) -> dict:
    return {section: extension_class(section).validate(raw[section]) for section in EXTENSION_MODULES if section in raw}


def start_extensions(case: dict, problem, folder) -> list:
    return [extension_class(section)(case, problem, folder) for section in EXTENSION_MODULES if section in case]
