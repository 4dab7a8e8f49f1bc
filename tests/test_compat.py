"""Every FEniCSx call whose spelling differs between dolfinx 0.5.2, 0.9 and 0.10/0.11 goes through solver/compat.py.

Guards the bug of the first version: its compat module claimed to hold every version-specific call, while
`V.ufl_element().degree()`, a positional `create_box` ghost mode and a second `gmshio` branch lived elsewhere
and broke the suite on dolfinx 0.9. The scan reads the code (AST), so comments and strings do not count.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

from solver import compat

REPO = Path(__file__).resolve().parent.parent
SCANNED = [*sorted((REPO / "solver").rglob("*.py")), *sorted((REPO / "tests").glob("*.py")),
           *sorted((REPO / "benchmarks").glob("*.py"))]
EXEMPT = {REPO / "solver" / "compat.py", Path(__file__).resolve()}

# attribute or imported name -> why it must go through compat
VERSION_SPECIFIC = {
    "ufl_element": "degree is a method in 0.5, a property in 0.7+: compat.element_degree",
    "FunctionSpace": "0.7+ has functionspace(mesh, (family, degree, shape)): compat.scalar/vector/tensor_space",
    "VectorFunctionSpace": "removed in 0.8: compat.vector_space",
    "TensorFunctionSpace": "removed in 0.8: compat.tensor_space",
    "functionspace": "absent in 0.5: compat.scalar/vector/tensor_space",
    "gmshio": "dolfinx.io.gmsh in 0.10+: compat.gmsh_model_to_mesh",
    "model_to_mesh": "returns a tuple (0.5-0.9) or a MeshData (0.10+): compat.gmsh_model_to_mesh",
    "petsc_vec": "Function.vector in 0.5: compat.petsc_vector",
    "vector": "Function.vector was removed in 0.8: compat.petsc_vector",
    "create_vector": "takes a form (0.5-0.9) or a space (0.10+): compat.create_vector",
    "LinearProblem": "0.10+ requires petsc_options_prefix: compat.solve_linear_problem",
    "NonlinearProblem": "SNES-based with another signature in 0.10+",
    "ScatterMode": "dolfinx.la.InsertMode in 0.7+: compat.accumulate_ghosts",
    "InsertMode": "dolfinx.cpp.la.ScatterMode in 0.5: compat.accumulate_ghosts",
    "create_vtk_mesh": "renamed vtk_mesh in 0.7",
    "vtk_mesh": "create_vtk_mesh in 0.5",
    "interpolation_points": "a property in 0.5, a method in 0.7+: compat.interpolation_points",
    "Expression": "eval(cells) in 0.5, eval(mesh, cells) in 0.7+: compat.expression / expression_at_points",
    "trapz": "removed from numpy 2.x: scipy.integrate.trapezoid",
    "write_meshtags": "takes the mesh geometry in 0.7+: compat.write_meshtags",
    "VTXWriter": "absent without ADIOS2 (0.5.2 from Debian): compat.vtx_writer",
}
# mesh factories -> positional arguments that mean the same in every release (0.7+ put dtype before ghost_mode)
MESH_FACTORIES = {"create_box": 3, "create_rectangle": 3, "create_unit_cube": 4, "create_unit_square": 3}


def violations(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = []

    def flag(node, name, why):
        found.append(f"{path.relative_to(REPO)}:{node.lineno}: {name} ({why})")

    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute):
            if isinstance(node.value, ast.Name) and node.value.id in ("compat", "PETSc"):
                continue  # compat's own functions; petsc4py's InsertMode/ScatterMode are the same in every release
            if node.attr in VERSION_SPECIFIC:
                flag(node, node.attr, VERSION_SPECIFIC[node.attr])
            elif node.attr == "__version__" and isinstance(node.value, ast.Name) and node.value.id == "dolfinx":
                flag(node, "dolfinx.__version__", "detect features, do not compare versions")
            elif node.attr in ("cmap", "cmaps") and isinstance(node.value, ast.Attribute) and node.value.attr == "geometry":
                flag(node, f"geometry.{node.attr}", "cmap deprecated for cmaps[0] in 0.11: compat.geometry_degree")
            elif node.attr == "dofmap" and isinstance(node.value, ast.Attribute) and node.value.attr == "geometry":
                flag(node, "geometry.dofmap", "an AdjacencyList in 0.5, an array in 0.7+: compat.geometry_nodes")
            elif node.attr == "list" and isinstance(node.value, ast.Attribute) and node.value.attr == "dofmap":
                flag(node, "dofmap.list", "an AdjacencyList in 0.5, an array in 0.7+: compat.cell_dofs")
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if module.startswith(("dolfinx.io.gmsh", "dolfinx.plot")) or module == "dolfinx.io.gmshio":
                flag(node, module, "module renamed or reshaped between versions")
            for alias in node.names:
                if alias.name in VERSION_SPECIFIC:
                    flag(node, alias.name, VERSION_SPECIFIC[alias.name])
        elif isinstance(node, ast.Call):
            function = node.func
            name = function.attr if isinstance(function, ast.Attribute) else getattr(function, "id", "")
            if name in MESH_FACTORIES and len(node.args) > MESH_FACTORIES[name]:
                flag(node, f"{name} with {len(node.args)} positional arguments",
                     "0.7+ inserted a dtype argument: pass cell_type and ghost_mode by keyword")
    return found


def test_version_specific_calls_live_in_compat_only():
    found = [line for path in SCANNED if path not in EXEMPT for line in violations(path)]
    assert not found, "version-specific FEniCSx calls outside solver/compat.py:\n" + "\n".join(found)


@pytest.mark.parametrize("snippet, expected", [
    ("V.ufl_element().degree()", "ufl_element"),
    ("from dolfinx.io import gmshio", "gmshio"),
    ("dolfinx.mesh.create_box(comm, pts, n, cell, ghost)", "create_box with 5 positional arguments"),
    ("b = dolfinx.fem.petsc.create_vector(L)", "create_vector"),
    ("mesh.geometry.dofmap", "geometry.dofmap"),
    ("mesh.geometry.cmap.degree", "geometry.cmap"),
    ("if dolfinx.__version__ >= '0.7': pass", "dolfinx.__version__"),
])
def test_the_scan_catches_each_kind_of_spelling(tmp_path, snippet, expected):
    path = REPO / "tests" / f"_scan_probe_{tmp_path.name}.py"
    path.write_text(snippet + "\n")
    try:
        found = violations(path)
    finally:
        path.unlink()
    assert len(found) == 1 and expected in found[0]


def test_compat_describes_the_stack_it_runs_on():
    line = compat.describe()
    assert line.startswith("dolfinx ") and "PETSc " in line and "numpy " in line and "Python " in line
