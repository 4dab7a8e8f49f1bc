"""The MPI launcher that matches this interpreter's MPI (dolfinx-free, so the sweep driver can use it).

Debian's dolfinx is built on Debian's OpenMPI (`mpirun` on PATH); the PyPI dolfinx wheel brings MPICH, whose
`mpiexec` is installed beside the venv's python. Starting one with the other's launcher runs K singleton jobs
instead of one K-rank job, so the launcher beside the interpreter wins.
"""
from __future__ import annotations

import shutil
import sys
from pathlib import Path

# OpenMPI refuses root and an oversubscribed 2-core machine unless told; MPICH ignores these.
MPI_ENVIRONMENT = {"OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1",
                   "OMPI_MCA_rmaps_base_oversubscribe": "1"}


def mpi_launcher() -> str | None:
    """Path of the launcher for this interpreter's MPI, or None when there is none."""
    beside = Path(sys.executable).parent
    for name in ("mpiexec", "mpirun"):
        if (beside / name).is_file():
            return str(beside / name)
    return shutil.which("mpirun") or shutil.which("mpiexec")


def mpi_command(ranks: int, command: list[str]) -> list[str]:
    """`command` started on `ranks` MPI ranks (unchanged for one rank)."""
    if ranks <= 1:
        return list(command)
    launcher = mpi_launcher()
    if launcher is None:
        raise RuntimeError("no MPI launcher (mpiexec/mpirun) beside this python or on PATH")
    return [launcher, "-n", str(ranks), *command]
