"""The grain-boundary facets of a 3D and a 2D mesh (solver/grain_boundaries.py grain_boundary_facets, read by the
[grain_boundaries] extension and the damage field): a box of two grains split by the plane x = 1, whose boundary's
area (3D) or length (2D), normals, centroids, vertices and sides are known exactly."""
from __future__ import annotations

import numpy as np
import pytest
from mpi4py import MPI

from solver import compat
from solver.grain_boundaries import grain_boundary_facets

from test_anisotropic import FACETS, box_particle


@pytest.mark.parametrize("size_m, cells, measure_name, total", [
    ((2.0, 0.5, 0.25), (4, 3, 2), "area", 0.5 * 0.25),
    ((2.0, 0.5), (4, 3), "length", 0.5),
])
def test_grain_boundary_facets_of_a_3d_and_a_2d_mesh(size_m, cells, measure_name, total):
    particle = box_particle(size_m, cells, lambda p: int(p[0] > 1.0), [np.eye(3), np.eye(3)], {},
                            [lambda p: np.isclose(p[0], 1.0)])
    mesh, tdim = particle.mesh, particle.mesh.topology.dim
    p1 = compat.scalar_space(mesh, 1)
    facets = grain_boundary_facets(mesh, particle.facet_tags, FACETS["grain_boundary"], p1)
    assert facets.measure_name == measure_name and facets.vertex_dofs.shape[1] == tdim
    assert MPI.COMM_WORLD.allreduce(float(facets.measure.sum()), op=MPI.SUM) == pytest.approx(total, rel=1e-12)
    assert np.all(facets.measure > 0)
    # every facet lies on x = 1, its normal is +-x, and its vertices' dofs sit on the plane
    assert np.allclose(facets.centroid[:, 0], 1.0) and np.allclose(np.abs(facets.normal), [1.0, 0.0, 0.0])
    assert np.allclose(compat.dof_coordinates(p1)[facets.vertex_dofs][..., 0], 1.0)
    # both sides are on the rank (the box ghosts shared facets), one cell in each grain, and the local facet number
    # names the cell's vertex off the plane
    assert np.all(facets.cells >= 0)
    grain = {cell: value for cell, value in zip(particle.cell_tags.indices, particle.cell_tags.values)}
    assert all(grain[a] != grain[b] for a, b in facets.cells)
    opposite = np.take_along_axis(compat.cell_dofs(p1)[facets.cells[:, 0]], facets.local_facet[:, :1], axis=1)
    assert not np.any(np.isclose(compat.dof_coordinates(p1)[opposite.ravel(), 0], 1.0))
