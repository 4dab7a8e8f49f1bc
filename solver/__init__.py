"""Finite-element chemo-mechanics of battery-cathode particles.

    import solver
    case = solver.Case.from_toml("cases/verification_sphere.toml", overrides={"time.steps": 20})
    result = solver.run(case, out="results/sphere")        # -> solver.Result

Import-light on purpose: dolfinx is imported only by the modules that solve, so that rendering
(PyVista/VTK, which must not share a process with Debian's dolfinx) and the sweep driver can import
this package. `Case` and `Result` come from solver/api.py on first use. `solver.run(case, out)` calls
solver.api.run; the same name also gives the attributes of the module solver/run.py
(`solver.run.run_case`), which `from solver.run import ...` imports as usual.
"""
import importlib
import sys
import types

__version__ = "0.1.0"
__all__ = ["Case", "Result", "run", "__version__"]


def __getattr__(name):
    if name in ("Case", "Result"):
        from solver import api

        return getattr(api, name)
    raise AttributeError(f"module 'solver' has no attribute {name!r}")


class _RunEntry:
    """`solver.run`: call it to solve a case (solver.api.run); its attributes are those of the module
    solver/run.py, so `solver.run.run_case(...)` and `solver.run.run_time_loop = f` keep working."""

    __slots__ = ()

    def __call__(self, case, out, **options):
        from solver.api import run

        return run(case, out, **options)

    @staticmethod
    def _module():
        return importlib.import_module("solver.run")

    def __getattr__(self, name):
        return getattr(self._module(), name)

    def __setattr__(self, name, value):
        setattr(self._module(), name, value)

    def __delattr__(self, name):
        delattr(self._module(), name)

    def __repr__(self):
        return "<solver.run: call to run a case (solver.api.run); attributes of module solver/run.py>"


class _Package(types.ModuleType):
    """Keeps `solver.run` the entry above: the import system would otherwise bind the submodule
    solver/run.py to that name the first time it is imported."""

    run = _RunEntry()

    def __setattr__(self, name, value):
        if name == "run" and isinstance(value, types.ModuleType):
            return  # the submodule stays reachable through the entry and sys.modules["solver.run"]
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
