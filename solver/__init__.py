"""Finite-element chemo-mechanics of battery-cathode particles.

    import solver
    case = solver.Case.from_toml("cases/verification_sphere.toml", overrides={"time.steps": 20})
    result = solver.run(case, out="results/sphere")        # -> solver.Result

Import-light on purpose: dolfinx is imported only by the modules that solve, so that rendering
(PyVista/VTK, which must not share a process with Debian's dolfinx) and the sweep driver can import
this package. `Case`, `Result` and `run` come from solver/api.py on first use. `solver.run` is the API
function even after the submodule solver/run.py is loaded; reach that module with
`from solver.run import run_case` (or sys.modules["solver.run"]).
"""
import sys
import types

__version__ = "0.1.0"
__all__ = ["Case", "Result", "run", "__version__"]


def __getattr__(name):
    if name in ("Case", "Result"):
        from solver import api

        return getattr(api, name)
    raise AttributeError(f"module 'solver' has no attribute {name!r}")


class _Package(types.ModuleType):
    """Keeps `solver.run` the API function: the import system would otherwise bind the submodule
    solver/run.py to that name the first time it is imported."""

    @property
    def run(self):
        from solver.api import run

        return run

    def __setattr__(self, name, value):
        if name == "run" and isinstance(value, types.ModuleType):
            return  # the submodule stays reachable through sys.modules["solver.run"]
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
