"""Package hygiene of solver/, read from the code (AST), so comments and strings do not count.

Guards three faults of the first version: 4 import cycles (materials <-> materials_layered, pipeline <->
reduced.runner, sweep.aggregate <-> sweep.plot, porosity.poreset <-> porosity.section_geometry) that were
papered over by imports inside functions; ~60 private names (`from solver.x import _name`) used across
modules, so no module's private helpers could be changed safely; and case validation that could only be
imported by loading dolfinx, PETSc and MPI.
"""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PACKAGE = REPO / "solver"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def is_package(name: str) -> bool:
    return MODULES[name].name == "__init__.py"


def absolute(name: str, node: ast.ImportFrom) -> str:
    """The absolute module an ImportFrom in module `name` names (relative imports resolved)."""
    if not node.level:
        return node.module or ""
    base = name.split(".") if is_package(name) else name.split(".")[:-1]
    base = base[:len(base) - (node.level - 1)]
    return ".".join([*base, node.module] if node.module else base)


def imports(name: str):
    """(line, imported solver module, imported names or None) for every import anywhere in the module:
    at module level and inside functions alike."""
    tree = ast.parse(MODULES[name].read_text(encoding="utf-8"), filename=str(MODULES[name]))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "solver":
                    yield node.lineno, alias.name, None
        elif isinstance(node, ast.ImportFrom):
            target = absolute(name, node)
            if target.split(".")[0] == "solver":
                yield node.lineno, target, [alias.name for alias in node.names]


def known(target: str) -> str | None:
    """The solver module a dotted name refers to (the longest existing prefix)."""
    while target and target not in MODULES:
        target = target.rpartition(".")[0]
    return target or None


def import_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {name: set() for name in MODULES}
    for name in MODULES:
        for _, target, names in imports(name):
            # `from solver.pkg import module` depends on that module; any other name on the module (or package
            # __init__) that defines it. Importing a submodule runs its packages' __init__ first in any case:
            # that implicit step is no edge, so a package re-exporting its submodules is no cycle by itself.
            submodules = {f"{target}.{imported}" for imported in names or () if f"{target}.{imported}" in MODULES}
            edges = submodules
            if names is None or len(submodules) < len(names):
                edges = edges | {known(target)}
            graph[name] |= {edge for edge in edges if edge and edge != name}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan), each as a sorted list."""
    pruned = graph
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(pruned[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10 * len(pruned)))
    for name in sorted(pruned):
        if name not in index:
            visit(name)
    return found


def private_imports() -> list[str]:
    """`from solver.x import _name` (absolute or relative) in any module other than solver.x itself."""
    found = []
    for name in MODULES:
        for line, target, names in imports(name):
            for imported in names or ():
                if imported.startswith("_") and not imported.startswith("__") and known(target) != name:
                    found.append(f"{MODULES[name].relative_to(REPO)}:{line}: {imported} from {target}")
            if names is None and any(part.startswith("_") and not part.startswith("__")
                                     for part in target.split(".")):
                found.append(f"{MODULES[name].relative_to(REPO)}:{line}: import {target}")
    return found


def test_the_import_graph_of_solver_has_no_cycle():
    found = cycles(import_graph())
    assert not found, "import cycles in solver/: " + "; ".join(" <-> ".join(cycle) for cycle in found)


def test_the_cycle_finder_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"p": {"p.x"}, "p.x": {"p.y"}, "p.y": set()}) == []


def test_no_private_name_is_imported_across_modules():
    found = private_imports()
    assert not found, f"{len(found)} private names imported across modules:\n" + "\n".join(found)


# Everything a case file is checked by: none of them may load the FE stack.
VALIDATION_MODULES = ["solver.case", "solver.schema", "solver.units", "solver.dotted", "solver.extensions",
                      "solver.material_models", "solver.layered_oxide", "solver.oxygen_section",
                      "solver.grain_boundary_section", "solver.shell_section", "solver.geometry.schema",
                      "solver.parameter_sets", "solver.keyref", "solver.fields.registry", "solver.case_view"]


def test_case_validation_modules_never_load_dolfinx_petsc_or_mpi():
    code = ("import importlib, sys\n"
            f"for name in {VALIDATION_MODULES!r}: importlib.import_module(name)\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('dolfinx', 'mpi4py', 'petsc4py', 'ufl')))")
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_registries_name_classes_that_exist():
    """The material and extension registries name their FE classes as "module:Class" (imported only when a run
    starts): each must be a top-level class of an existing solver module."""
    from solver.extensions import EXTENSIONS
    from solver.fields.registry import CORE_FIELDS, FIELDS
    from solver.material_models import MATERIAL_MODELS

    paths = [model.implementation for model in MATERIAL_MODELS.values()]
    paths += [extension.implementation for extension in EXTENSIONS.values()]
    paths += [spec.implementation for spec in FIELDS.values()] + list(CORE_FIELDS)
    for path in paths:
        module, _, name = path.partition(":")
        assert module in MODULES, path
        tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
        assert name in {node.name for node in tree.body if isinstance(node, ast.ClassDef)}, path


def test_section_modules_import_the_fe_stack_at_the_top():
    """The FE halves of the split sections import dolfinx, UFL and MPI once, at the top: no imports hidden
    inside functions to keep validation light (that is what the *_section modules are for)."""
    for name in ("solver.fields.oxygen", "solver.grain_boundaries", "solver.shell", "solver.materials_layered"):
        tree = ast.parse(MODULES[name].read_text(encoding="utf-8"))
        nested = [node.lineno for function in ast.walk(tree)
                  if isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef))
                  for node in ast.walk(function) if isinstance(node, (ast.Import, ast.ImportFrom))]
        assert not nested, f"{name}: imports inside functions at lines {nested}"


def test_the_case_view_reads_like_the_validated_case_and_names_a_missing_key():
    """solver/case_view.py: attribute access to the same values (no copy), read-only, a misspelt key named."""
    from solver.case import load_case
    from solver.case_view import CaseView

    case = load_case(REPO / "cases" / "verification_sphere.toml")
    settings = CaseView(case)
    assert settings.material.c_max_mol_m3 == case["material"]["c_max_mol_m3"]
    assert settings.operation.wetted_surfaces == case["operation"]["wetted_surfaces"]
    assert settings["solver"]["displacement_degree"] == case["solver"]["displacement_degree"]
    assert dict(settings.time) == case["time"] and "material" in settings and len(settings) == len(case)
    with pytest.raises(AttributeError, match=r"case\.material has no key 'c_max'.*c_max_mol_m3"):
        settings.material.c_max
    with pytest.raises(AttributeError, match="read-only"):
        settings.material.c_max_mol_m3 = 1.0
