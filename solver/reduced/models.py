"""The reduced model a validated case names (solver.formulation: spherical_1d, axisymmetric or section_2d), after the
checks of solver/reduced/symmetry.py: the reduced runner (runner.py) and the kinetic run on a 2D model
(solver/kinetic_run.py) build theirs here."""
from __future__ import annotations

from pathlib import Path

from solver.reduced.symmetry import RadialLayout, check_reducible, check_section


def reduced_layout(case: dict) -> tuple[RadialLayout | None, float]:
    """(layout, particle radius in m) of a case the formulation takes (a CaseError otherwise); a section has no
    radial layout (None)."""
    if case["solver"]["formulation"] == "section_2d":
        return None, check_section(case)
    layout = check_reducible(case)
    return layout, layout.radius_m


def build_model(case: dict, layout: RadialLayout | None, mesh_cache: Path | None = None):
    """The model of the case's formulation: the 1D sphere, the axisymmetric meridian, or the central section
    (section_2d: a prism of unit thickness charged through its rim, so that its current, charge and mass are per
    metre of thickness and C-rates, mA/g and mAh/g, their ratios, keep their meaning)."""
    formulation = case["solver"]["formulation"]
    if formulation == "section_2d":
        from solver.reduced.section import SectionModel
        return SectionModel(case, mesh_cache)
    if formulation == "spherical_1d":
        from solver.reduced.spherical import SphericalModel
        return SphericalModel(case, layout)
    from solver.reduced.axisymmetric import AxisymmetricModel
    return AxisymmetricModel(case, layout)
