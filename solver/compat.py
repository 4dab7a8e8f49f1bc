"""Every dolfinx/ufl/basix/petsc4py call whose spelling differs between dolfinx 0.5.2 (Debian 12),
0.9 (Debian 13) and 0.10/0.11 (the PyPI wheel, conda-forge), chosen by feature detection, never by
comparing version numbers: a feature that moves again is noticed here, not guessed from a number.

tests/test_compat.py fails when one of these spellings appears anywhere else in the code base.
"""
from __future__ import annotations

import importlib
import inspect
import logging
import platform
import signal
from importlib.util import find_spec

import numpy as np
import dolfinx
import dolfinx.fem
import dolfinx.fem.petsc
import dolfinx.io
import dolfinx.mesh

# Importing dolfinx (PETSc's initialisation) resets SIGPIPE to its default action at the C level, behind Python's
# back: a later write to a closed pipe or socket (a Dask connection, a reader that went away) then kills the process
# without a word instead of raising BrokenPipeError (seen: the test run died in the sweep tests on Debian 13).
# Put back what Python itself installs at start-up.
signal.signal(signal.SIGPIPE, signal.SIG_IGN)

# The form JIT builds through setuptools, which turns the root logger to INFO and floods the
# terminal with compiler lines on first use; keep the root handlers at WARNING.
for _handler in logging.getLogger().handlers:
    _handler.setLevel(logging.WARNING)

# 0.7+: one `functionspace(mesh, (family, degree, shape))`; 0.5: FunctionSpace/VectorFunctionSpace/TensorFunctionSpace.
_HAS_FUNCTIONSPACE = hasattr(dolfinx.fem, "functionspace")
# 0.7+: Expression.eval(mesh, entities); 0.5: Expression.eval(cells).
_EVAL_TAKES_MESH = "mesh" in inspect.signature(dolfinx.fem.Expression.eval).parameters
# 0.5-0.9: create_vector(L) of a form; 0.10+: create_vector(V) of a space.
_CREATE_VECTOR_TAKES_FORM = next(iter(inspect.signature(dolfinx.fem.petsc.create_vector).parameters)) == "L"


def describe() -> str:
    """One line naming the FEniCSx stack this process runs on (for logs and provenance)."""
    from petsc4py import PETSc

    petsc = ".".join(str(p) for p in PETSc.Sys.getVersion())
    return (f"dolfinx {dolfinx.__version__}, PETSc {petsc}, numpy {np.__version__}, "
            f"Python {platform.python_version()}")


def scalar_space(mesh, degree: int, family: str = "Lagrange"):
    if _HAS_FUNCTIONSPACE:
        return dolfinx.fem.functionspace(mesh, (family, degree))
    return dolfinx.fem.FunctionSpace(mesh, (_old_family(family), degree))


def vector_space(mesh, degree: int, family: str = "Lagrange", components: int | None = None):
    """Vectors of the mesh's dimension, or of `components` (3D vectors on a 2D section, e.g. grain axes)."""
    components = components or mesh.geometry.dim
    if _HAS_FUNCTIONSPACE:
        return dolfinx.fem.functionspace(mesh, (family, degree, (components,)))
    return dolfinx.fem.VectorFunctionSpace(mesh, (_old_family(family), degree), dim=components)


def tensor_space(mesh, degree: int, family: str = "Lagrange"):
    if _HAS_FUNCTIONSPACE:
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


def element_degree(space) -> int:
    """Polynomial degree of a function space's element (a method in 0.5, a property in 0.7+)."""
    degree = space.ufl_element().degree
    return int(degree() if callable(degree) else degree)


def scatter_forward(function) -> None:
    """Owned values of a Function copied to the other ranks' ghosts."""
    function.x.scatter_forward()


def petsc_vector(function):
    """The PETSc Vec behind a Function (0.8+: Function.x.petsc_vec; 0.5: Function.vector)."""
    return function.x.petsc_vec if hasattr(function.x, "petsc_vec") else function.vector


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
    """A PETSc vector laid out for the test space of a compiled linear form (0.10+ takes the space)."""
    if _CREATE_VECTOR_TAKES_FORM:
        return dolfinx.fem.petsc.create_vector(form)
    return dolfinx.fem.petsc.create_vector(form.function_spaces[0])


def xdmf_file(comm, path, mode: str = "w"):
    return dolfinx.io.XDMFFile(comm, str(path), mode)


def _write_meshtags_takes_geometry() -> bool:
    """0.5-0.6: the C++ write_meshtags(tags, geometry_xpath, xpath), which has no Python signature; 0.7+: the
    Python write_meshtags(tags, x, ...) with the Geometry `x` the tags' XPath points at."""
    try:
        return "x" in inspect.signature(dolfinx.io.XDMFFile.write_meshtags).parameters
    except ValueError:   # a pybind11 builtin (0.5-0.6)
        return False


_WRITE_MESHTAGS_TAKES_GEOMETRY = _write_meshtags_takes_geometry()


def write_meshtags(xdmf, tags, mesh, name: str) -> None:
    """Write `tags` (cell or facet tags of `mesh`) under `name`, so that XDMFFile.read_meshtags(mesh, name) reads
    them back; facet tags need the facet-to-cell connectivity, made here."""
    mesh.topology.create_connectivity(tags.dim, mesh.topology.dim)
    tags.name = name
    if _WRITE_MESHTAGS_TAKES_GEOMETRY:
        xdmf.write_meshtags(tags, mesh.geometry)
    else:
        xdmf.write_meshtags(tags)


def has_vtx_writer() -> bool:
    """Whether this dolfinx writes ADIOS2 VTX files (0.9+ export VTXWriter only when built with ADIOS2; Debian 12's
    0.5.2 has none)."""
    return hasattr(dolfinx.io, "VTXWriter")


def vtx_writer(comm, path, functions):
    """An ADIOS2 VTX writer of `functions` in their own (higher-order) space, or None where this dolfinx has
    none. 0.5-0.11 take (comm, filename, functions)."""
    return dolfinx.io.VTXWriter(comm, str(path), list(functions)) if has_vtx_writer() else None


def accumulate_ghosts(vector) -> None:
    """Add the ghost entries of a dolfinx la.Vector (e.g. Function.x) into their owners, then update ghosts."""
    import dolfinx.la

    if hasattr(dolfinx.la, "InsertMode"):  # 0.7+
        vector.scatter_reverse(dolfinx.la.InsertMode.add)
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
    return expression.eval(mesh, cells) if _EVAL_TAKES_MESH else expression.eval(cells)


def gmsh_model_to_mesh(model, comm, rank: int = 0, gdim: int = 3):
    """(mesh, cell_tags, facet_tags) of a gmsh model meshed on `rank`: `dolfinx.io.gmsh` returning a MeshData
    (0.10+), or `dolfinx.io.gmshio` returning a tuple (0.5-0.9)."""
    module_name = "dolfinx.io.gmsh" if find_spec("dolfinx.io.gmsh") else "dolfinx.io.gmshio"
    gmsh_io = importlib.import_module(module_name)
    result = gmsh_io.model_to_mesh(model, comm, rank, gdim=gdim)
    if isinstance(result, tuple):
        return result[:3]
    return result.mesh, result.cell_tags, result.facet_tags


def geometry_nodes(mesh) -> np.ndarray:
    """(n_cells, nodes_per_cell) geometry node indices into mesh.geometry.x: 4 per straight tetrahedron,
    10 per quadratic one (vertices first, then edge midpoints in basix edge order); 0.5 has an AdjacencyList."""
    geometry = mesh.geometry
    # 0.10+: the dofmaps property, one per cell type (dofmap is deprecated there); 0.5-0.9: dofmap
    dofmap = geometry.dofmaps[0] if hasattr(type(geometry), "dofmaps") else geometry.dofmap
    if hasattr(dofmap, "array"):
        nodes_per_cell = mesh.geometry.cmap.create_dof_layout().num_dofs
        return dofmap.array.reshape(-1, nodes_per_cell)
    return np.asarray(dofmap)


def geometry_degree(mesh) -> int:
    """Polynomial degree of the coordinate element: 1 straight cells, 2 curved (quadratic) cells."""
    geometry = mesh.geometry
    # 0.11 deprecates `cmap` for `cmaps[0]`; 0.5 and 0.9 have `cmap` only (0.7 had only `cmaps`)
    coordinate_map = geometry.cmaps[0] if hasattr(geometry, "cmaps") else geometry.cmap
    return int(coordinate_map.degree)


def simplex_quadrature(dim: int, degree: int) -> tuple[np.ndarray, np.ndarray]:
    """(points (q, dim), weights (q,)) of a rule exact to `degree` on the reference triangle/tetrahedron."""
    import basix

    cell = {2: basix.CellType.triangle, 3: basix.CellType.tetrahedron}[dim]
    points, weights = basix.make_quadrature(cell, degree)
    return np.asarray(points), np.asarray(weights)


def solve_linear_problem(a, L, bcs, petsc_options: dict, prefix: str):
    """Solve a small linear variational problem with dolfinx's LinearProblem (tests and checks); 0.10+ requires
    an options prefix, which older releases do not take."""
    keywords = {"bcs": list(bcs), "petsc_options": petsc_options}
    if "petsc_options_prefix" in inspect.signature(dolfinx.fem.petsc.LinearProblem).parameters:
        keywords["petsc_options_prefix"] = prefix
    return dolfinx.fem.petsc.LinearProblem(a, L, **keywords).solve()


# The XInclude namespace. dolfinx 0.8-0.9 write "https://www.w3.org/2001/XInclude"; libxml2 (inside VTK, so
# pyvista and ParaView's XDMF2 reader) does not know that namespace, drops the shared mesh and crashes.
_XINCLUDE = 'xmlns:xi="http://www.w3.org/2001/XInclude"'
_XINCLUDE_MISSPELT = 'xmlns:xi="https://www.w3.org/2001/XInclude"'


def repair_xdmf(path) -> None:
    """Give a closed XDMF file written by this dolfinx the standard XInclude namespace (no-op where it has it)."""
    import os
    from pathlib import Path

    path = Path(path)
    text = path.read_text()
    if _XINCLUDE_MISSPELT in text:
        temporary = path.with_name(path.name + ".tmp")
        temporary.write_text(text.replace(_XINCLUDE_MISSPELT, _XINCLUDE, 1))
        os.replace(temporary, path)
