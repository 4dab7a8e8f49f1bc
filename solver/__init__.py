"""Finite-element chemo-mechanics of battery-cathode particles.

    import solver
    case = solver.Case.from_toml("cases/verification_sphere.toml", overrides={"time.steps": 20})
    result = solver.run(case, out="results/sphere")        # -> solver.Result

Import-light on purpose: dolfinx is imported only by the modules that solve, so that rendering
(PyVista/VTK, which must not share a process with Debian's dolfinx) and the sweep driver can import
this package. `Case`, `Result` and `run` come from solver/api.py on first use; the pipeline that
runs one case is solver/pipeline.py.
"""
import sys
from importlib.util import find_spec

from solver.version import __version__
__all__ = ["Case", "Result", "run", "__version__"]


class _FEniCSxWheelFirst:
    """Import hook for the PyPI dolfinx wheel (dolfinx-solver-real, the `fenicsx` extra), whose rule is that
    `dolfinx_solver` (it orders the wheel's MPI ahead of the bindings) comes before mpi4py, petsc4py and dolfinx.
    It imports it right before the first of those, so that importing this package stays free of MPI."""

    TRIGGERS = ("mpi4py", "petsc4py", "dolfinx")

    def find_spec(self, name, path=None, target=None):
        if name in self.TRIGGERS and self in sys.meta_path:
            sys.meta_path.remove(self)
            import dolfinx_solver  # noqa: F401
        return None  # the ordinary finders import the module itself


# Every module of this package imports this file first; without the wheel the hook is never installed.
if find_spec("dolfinx_solver") is not None:
    sys.meta_path.insert(0, _FEniCSxWheelFirst())


def __getattr__(name):
    if name in ("Case", "Result", "run"):
        from solver import api

        return getattr(api, name)
    raise AttributeError(f"module 'solver' has no attribute {name!r}")
