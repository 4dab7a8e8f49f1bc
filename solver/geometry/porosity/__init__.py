"""Pore placement for gradient-porous (GP) and uniformly porous (P) NCM secondary particles.

Pure numpy.  Units are micrometres (um, um^2, um^3) throughout this package because gmsh builds the
particle in micrometres; porosities are fractions (0.0819, not 8.19).  The particle is a ball of
radius R centred at the origin.  This package only decides WHERE the pores are and MEASURES the
result; turning a :class:`PoreSet` into a gmsh solid (one OCC cut of all pores) is done elsewhere
(solver/geometry/pores.py).

Modules (one job each; the reasoning behind the numbers is in their docstrings):
  profiles.py          the radial porosity law, the paper presets and how the SEM numbers are read
  poreset.py           PoreSet: the pores of one particle, union volume, JSON round trip
  section_geometry.py  exact circle/ellipse areas in disks and annuli, plane sections, pair volumes
  measurement.py       section_porosity, measure_porosity (porosity measured "like the paper")
  sizes.py             FIB-SEM volume classes, the size model, expected counts, volume_scale
  filler.py            bins with targets and the greedy acceptance rule
  packing.py           accepted pores (cell list), candidate pores, the non-overlap test
  placement.py         sample_pores: central pores, section control, volume control
  checks.py            argument checks shared by the modules above

The mesh cache key hashes every file of this package (solver/geometry/pores.py, sampler_digest).
"""
from solver.geometry.porosity.measurement import (CENTRAL_PLANES, FULL_RING_EDGES, PAPER_RING_EDGES,
                                                  measure_porosity, section_porosity)
from solver.geometry.porosity.placement import sample_pores
from solver.geometry.porosity.poreset import PoreSet
from solver.geometry.porosity.profiles import PRESETS, PorosityProfile, porosity_profile
from solver.geometry.porosity.section_geometry import (circle_annulus_area, circle_disk_area,
                                                       ellipse_annulus_area, ellipse_boundary_map,
                                                       ellipse_disk_area)
from solver.geometry.porosity.sizes import (MEASURED_CENTRAL_PORES_UM3, MEASURED_VOLUME_CLASSES,
                                            expected_pore_count, volume_scale_for_pore_count)

__all__ = [
    "PoreSet",
    "PorosityProfile",
    "porosity_profile",
    "sample_pores",
    "section_porosity",
    "measure_porosity",
    "expected_pore_count",
    "volume_scale_for_pore_count",
    "circle_disk_area",
    "circle_annulus_area",
    "ellipse_disk_area",
    "ellipse_annulus_area",
    "ellipse_boundary_map",
    "MEASURED_VOLUME_CLASSES",
    "MEASURED_CENTRAL_PORES_UM3",
    "PRESETS",
    "PAPER_RING_EDGES",
    "FULL_RING_EDGES",
    "CENTRAL_PLANES",
]
