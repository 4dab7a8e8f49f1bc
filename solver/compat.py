"""Every dolfinx-version-specific call, so that moving past dolfinx 0.5 is a change here only.

Written against dolfinx 0.5.2 (Debian 12). Newer releases renamed the function-space constructors
(`functionspace` with a shape tuple), made `interpolation_points` a method, and changed some
`petsc` helpers; each of those lives in one function below.
"""
from __future__ import annotations

import logging

import numpy as np
import dolfinx
import dolfinx.fem
import dolfinx.fem.petsc
import dolfinx.io
import dolfinx.mesh

DOLFINX_VERSION = tuple(int(p) for p in dolfinx.__version__.split(".")[:2])
_NEW_API = DOLFINX_VERSION >= (0, 7)

# The form JIT builds through setuptools, which turns the root logger to INFO and floods the
# terminal with compiler lines on first use; keep the root handlers at WARNING.
for _handler in logging.getLogger().handlers:
    _handler.setLevel(logging.WARNING)


def scalar_space(mesh, degree: int, family: str = "Lagrange"):
    if _NEW_API:
        return dolfinx.fem.functionspace(mesh, (family, degree))
    return dolfinx.fem.FunctionSpace(mesh, (_old_family(family), degree))


def vector_space(mesh, degree: int, family: str = "Lagrange"):
    if _NEW_API:
        return dolfinx.fem.functionspace(mesh, (family, degree, (mesh.geometry.dim,)))
    return dolfinx.fem.VectorFunctionSpace(mesh, (_old_family(family), degree))


def tensor_space(mesh, degree: int, family: str = "Lagrange"):
    if _NEW_API:
        dim = mesh.geometry.dim
        return dolfinx.fem.functionspace(mesh, (family, degree, (dim, dim)))
    return dolfinx.fem.TensorFunctionSpace(mesh, (_old_family(family), degree))


def _old_family(family: str) -> str:
    return {"Lagrange": "CG", "Discontinuous Lagrange": "DG"}.get(family, family)


def interpolation_points(space):
    points = space.element.interpolation_points
    return points() if callable(points) else points


def expression(ufl_expr, space):
    """A compiled UFL expression evaluated at the interpolation points of `space`."""
    return dolfinx.fem.Expression(ufl_expr, interpolation_points(space))


def entities_with_tag(tags, value: int) -> np.ndarray:
    return tags.indices[tags.values == value]


def owned_cell_count(mesh) -> int:
    return mesh.topology.index_map(mesh.topology.dim).size_local


def cell_count_global(mesh) -> int:
    return mesh.topology.index_map(mesh.topology.dim).size_global


def dof_count_global(space) -> int:
    return space.dofmap.index_map.size_global * space.dofmap.index_map_bs


def dof_coordinates(space) -> np.ndarray:
    """Coordinates of the (unblocked) dofs of `space`, local including ghosts."""
    return space.tabulate_dof_coordinates()


def cell_dofs(space) -> np.ndarray:
    """(n_cells, dofs_per_cell) local dof indices."""
    dofmap = space.dofmap.list
    return dofmap.array.reshape(-1, space.dofmap.dof_layout.num_dofs) if hasattr(dofmap, "array") else np.asarray(dofmap)


def local_to_global_dofs(space, local: np.ndarray) -> np.ndarray:
    return space.dofmap.index_map.local_to_global(np.asarray(local, dtype=np.int32))


def scatter_forward(function) -> None:
    vector = function.x if _NEW_API else function.vector
    if _NEW_API:
        vector.scatter_forward()
    else:
        from petsc4py import PETSc
        vector.ghostUpdate(addv=PETSc.InsertMode.INSERT, mode=PETSc.ScatterMode.FORWARD)


def petsc_vector(function):
    """The PETSc Vec behind a Function."""
    return function.x.petsc_vec if _NEW_API else function.vector


def assemble_matrix(form, bcs=()):
    matrix = dolfinx.fem.petsc.assemble_matrix(form, bcs=list(bcs))
    matrix.assemble()
    return matrix


def assemble_matrix_into(matrix, form, bcs=()):
    matrix.zeroEntries()
    dolfinx.fem.petsc.assemble_matrix(matrix, form, bcs=list(bcs))
    matrix.assemble()


def assemble_vector_into(vector, form, matrix_form=None, bcs=()):
    """b = L - A g with Dirichlet lifting, ghosts accumulated, boundary values set."""
    from petsc4py import PETSc
    with vector.localForm() as local:
        local.set(0.0)
    dolfinx.fem.petsc.assemble_vector(vector, form)
    if matrix_form is not None and bcs:
        dolfinx.fem.petsc.apply_lifting(vector, [matrix_form], bcs=[list(bcs)])
    vector.ghostUpdate(addv=PETSc.InsertMode.ADD, mode=PETSc.ScatterMode.REVERSE)
    if bcs:
        dolfinx.fem.petsc.set_bc(vector, list(bcs))


def create_vector(form):
    return dolfinx.fem.petsc.create_vector(form)


def xdmf_file(comm, path, mode: str = "w"):
    return dolfinx.io.XDMFFile(comm, str(path), mode)


def accumulate_ghosts(vector) -> None:
    """Add the ghost entries of a dolfinx la.Vector (e.g. Function.x) into their owners, then update ghosts."""
    if _NEW_API:
        from dolfinx.la import InsertMode
        vector.scatter_reverse(InsertMode.add)
    else:
        from dolfinx.cpp.la import ScatterMode
        vector.scatter_reverse(ScatterMode.add)
    vector.scatter_forward()


def assemble_accumulated(form) -> np.ndarray:
    """Assemble a linear form into a plain array with ghost contributions summed and ghosts updated."""
    vector = dolfinx.fem.assemble_vector(form)
    accumulate_ghosts(vector)
    return vector.array


def expression_at_points(ufl_expr, reference_points: np.ndarray):
    """A compiled UFL expression evaluated at given reference-cell points (n_points, tdim)."""
    return dolfinx.fem.Expression(ufl_expr, np.asarray(reference_points, dtype=np.float64))


def evaluate_expression(expression, mesh, cells: np.ndarray) -> np.ndarray:
    """(n_cells, n_points * value_size) values of a compiled Expression on local cells."""
    cells = np.asarray(cells, dtype=np.int32)
    return expression.eval(mesh, cells) if _NEW_API else expression.eval(cells)


def gmsh_model_to_mesh(model, comm, rank: int = 0, gdim: int = 3):
    """(mesh, cell_tags, facet_tags) of a gmsh model meshed on `rank` (0.5 returns a tuple; 0.8+ MeshData)."""
    from dolfinx.io import gmshio

    result = gmshio.model_to_mesh(model, comm, rank, gdim=gdim)
    if isinstance(result, tuple):
        return result[:3]
    return result.mesh, result.cell_tags, result.facet_tags


def geometry_nodes(mesh) -> np.ndarray:
    """(n_cells, nodes_per_cell) geometry node indices into mesh.geometry.x: 4 per straight tetrahedron,
    10 per quadratic one (vertices first, then edge midpoints in basix edge order); 0.5 has an AdjacencyList."""
    dofmap = mesh.geometry.dofmap
    if hasattr(dofmap, "array"):
        nodes_per_cell = mesh.geometry.cmap.create_dof_layout().num_dofs
        return dofmap.array.reshape(-1, nodes_per_cell)
    return np.asarray(dofmap)


def geometry_degree(mesh) -> int:
    """Polynomial degree of the coordinate element: 1 straight cells, 2 curved (quadratic) cells."""
    return int(mesh.geometry.cmap.degree)


def simplex_quadrature(dim: int, degree: int) -> tuple[np.ndarray, np.ndarray]:
    """(points (q, dim), weights (q,)) of a rule exact to `degree` on the reference triangle/tetrahedron."""
    import basix

    cell = {2: basix.CellType.triangle, 3: basix.CellType.tetrahedron}[dim]
    points, weights = basix.make_quadrature(cell, degree)
    return np.asarray(points), np.asarray(weights)
