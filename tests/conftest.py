import os
import subprocess
import sys
from pathlib import Path

import pytest

import solver  # noqa: F401  (first: the PyPI dolfinx wheel orders its MPI before dolfinx is imported)

REPO = Path(__file__).resolve().parent.parent
CASES = REPO / "cases"

os.environ.setdefault("VTK_DEFAULT_OPENGL_WINDOW", "vtkOSOpenGLRenderWindow")


def run_cli(*args, cwd=REPO, timeout=900):
    """Run `python -m solver ...` in a fresh process (as users do), returning the CompletedProcess."""
    return subprocess.run([sys.executable, "-m", "solver", *map(str, args)], cwd=cwd, capture_output=True,
                          text=True, timeout=timeout)


@pytest.fixture
def cli():
    return run_cli


@pytest.fixture
def write_case(tmp_path):
    """Write a case file that inherits the verification sphere and overrides some tables."""
    def write(text: str, name: str = "case.toml") -> Path:
        path = tmp_path / name
        path.write_text(f'base = "{CASES / "verification_sphere.toml"}"\n' + text)
        return path
    return write


def laplacian_1d(n: int):
    """The n x n matrix tridiag(-1, 2, -1) (serial PETSc AIJ): a small SPD system for solver tests."""
    from mpi4py import MPI
    from petsc4py import PETSc

    A = PETSc.Mat().createAIJ((n, n), nnz=3, comm=MPI.COMM_SELF)
    for i in range(n):
        A[i, i] = 2.0
        if i:
            A[i, i - 1] = A[i - 1, i] = -1.0
    A.assemble()
    return A


def pytest_addoption(parser):
    parser.addoption("--update-golden", action="store_true", default=False,
                     help="tests/test_regression.py: (re)write tests/golden/<case>.json from this run instead of "
                          "comparing with it")
