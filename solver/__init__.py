"""Finite-element chemo-mechanics of battery-cathode particles.

    import solver
    case = solver.Case.from_toml("cases/verification_sphere.toml", overrides={"time.steps": 20})
    result = solver.run(case, out="results/sphere")        # -> solver.Result

Import-light on purpose: dolfinx is imported only by the modules that solve, so that rendering
(PyVista/VTK, which must not share a process with Debian's dolfinx) and the sweep driver can import
this package. `Case`, `Result` and `run` come from solver/api.py on first use; the pipeline that
runs one case is solver/pipeline.py.
"""
__version__ = "0.1.0"
__all__ = ["Case", "Result", "run", "__version__"]


def __getattr__(name):
    if name in ("Case", "Result", "run"):
        from solver import api

        return getattr(api, name)
    raise AttributeError(f"module 'solver' has no attribute {name!r}")
