"""The section_2d formulation: the particle's central section (z = 0) in generalised plane strain.

A polycrystal's central section, with hundreds to thousands of Voronoi grains and the measured pores unscaled
(solver/reduced/section_mesh.py), costs seconds per step where the 3D particle with 30 grains costs minutes. The
section is a 2D body: Li diffuses in the plane (no flux through z) and the strain has the uniform axial part of
generalised plane strain (solver/fields/plane_strain.py; solver.section_axial_strain = "zero" for plain plane
strain). So it is exactly a long prism with this cross-section, not the sphere: a disc charges with V/A = R/2
(a sphere's R/3), so at the same C-rate its flux is 1.5x the sphere's and its gradients 1.5x steeper, and its
long-cylinder stresses differ from the sphere's (solver/analytic.py: galvanostatic_cylinder). What it gives is
what a section can: the grain-to-grain misfit of 3D-oriented grains and the stress around unscaled pores, at real
grain counts. Volumes, amounts and forces are per unit thickness (m^2, mol/m, N/m); concentrations and stresses
are the 3D ones.

Solvers: transport LU (factorised once while dt is unchanged); mechanics the case's CG preset with the 3 in-plane
rigid motions as nullspace (the section floats).
"""
from __future__ import annotations

import time
from pathlib import Path

from mpi4py import MPI

from solver import materials
from solver.fields import kinematics
from solver.fields.plane_strain import AxialStrainMaterial, GeneralisedPlaneStrainMechanics
from solver.problem import ChemoMechanicalProblem
from solver.reduced.planar import PlanarModel
from solver.reduced.section_mesh import build_section_mesh


#: how to read the extensive numbers of a section's summary.json
PER_UNIT_THICKNESS = ("the section is a prism of unit thickness: volume_m3 is its area (m^2), wetted_area_m2 its wetted "
                      "perimeter (m); amounts, masses, currents and charges are per metre of thickness; C-rates, mA/g "
                      "and mAh/g are ratios of these and keep their meaning")


class SectionProblem(ChemoMechanicalProblem):
    """ChemoMechanicalProblem on a 2D section: PlaneStrain kinematics, and with solver.section_axial_strain = "free"
    the axial strain that leaves the section free of axial force."""

    def __init__(self, case: dict, particle, comm=MPI.COMM_SELF):
        extra = {}
        if case["solver"]["section_axial_strain"] == "free":
            material = materials.material_model(particle.mesh, particle, case["material"])
            extra = {"material": AxialStrainMaterial(material, particle.mesh),
                     "fields": {"mechanics": GeneralisedPlaneStrainMechanics}}
        super().__init__(case, particle, comm, kinematics=kinematics.PlaneStrain,
                         solvers={"transport": ("section_transport_", "lu")}, **extra)

    def axial_strain(self) -> float:
        """The section's uniform eps_zz (0 in plane strain)."""
        axial = getattr(self.material, "axial_strain", None)
        return 0.0 if axial is None else float(axial.value)


class SectionModel(PlanarModel):
    """Mesh, problem, stress sampling, probe and field files of one section run (serial)."""

    def __init__(self, case: dict, mesh_cache: Path | None = None):
        started = time.perf_counter()
        particle = build_section_mesh(case["geometry"], case["mesh"], self.comm, mesh_cache)
        mesh_seconds = time.perf_counter() - started
        super().__init__(case, particle, SectionProblem(case, particle, self.comm), case["geometry"]["radius_m"],
                         mesh_seconds)

    def summary_extra(self) -> dict:
        """summary.json["section"]: the final uniform axial strain (generalised plane strain; 0 in plane strain) and
        what the extensive numbers of the summary mean for a prism of unit thickness."""
        return {"section": {"axial_strain": self.problem.axial_strain(),
                            "axial": self.case["solver"]["section_axial_strain"],
                            "per_unit_thickness": PER_UNIT_THICKNESS}}
