"""Reduced formulations of rotationally symmetric particles, chosen by `solver.formulation` in the case.

- spherical_1d (spherical.py): radial finite volumes + P2 radial elasticity (solver/spherical1d.py);
- axisymmetric (axisymmetric.py): dolfinx on the meridian quarter disc (meridian_mesh.py), cylindrical forms.

Both write what a 3D run writes (runner.py): summary.json, timeseries.csv, fields_<k>.vtu / fields_final.vtu
(meridian_vtu.py) and snapshots.json. Which cases qualify: symmetry.py.
"""
from solver.reduced.runner import run_reduced_case

__all__ = ["run_reduced_case"]
