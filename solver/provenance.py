"""Where a result came from: this package, the FEniCSx stack, gmsh, the command line, the date, the case's hash.

Recorded in every summary.json, so that a number can be traced to the code and the input that made it
(and compared across dolfinx versions: tools/compare_versions.py reads `fenicsx`).
"""
from __future__ import annotations

import datetime
import hashlib
import json
import platform
import subprocess
import sys
from pathlib import Path

from solver.version import __version__

PACKAGE_ROOT = Path(__file__).resolve().parent.parent


def case_hash(case: dict) -> str:
    """sha256 of the resolved case (SI, sorted keys): equal hashes, equal inputs."""
    text = json.dumps(case, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def git_commit() -> str | None:
    """The commit of the checkout this package runs from (with '+dirty' when it has local changes), or None
    for an installed copy."""
    if not (PACKAGE_ROOT / ".git").exists():
        return None
    try:
        head = subprocess.run(["git", "-C", str(PACKAGE_ROOT), "rev-parse", "HEAD"], capture_output=True,
                              text=True, timeout=10)
        dirty = subprocess.run(["git", "-C", str(PACKAGE_ROOT), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if head.returncode != 0:
        return None
    return head.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")


def fenicsx_stack() -> str:
    """The FEniCSx stack of this process, if it loaded one (the numpy-only 1D formulation does not)."""
    if "dolfinx" not in sys.modules:
        return "not loaded"
    from solver import compat

    return compat.describe()


def program_name() -> str:
    """How this process was started, as a user would type it (`python -m solver`, `particle-solver`, a script)."""
    first = Path(sys.argv[0]).name if sys.argv and sys.argv[0] else "python"
    return "python -m solver" if first == "__main__.py" else first


def provenance(case: dict) -> dict:
    try:
        import gmsh
        gmsh_version = gmsh.__version__
    except ImportError:
        gmsh_version = None
    return {
        "package": f"particle-solver {__version__}",
        "git_commit": git_commit(),
        "fenicsx": fenicsx_stack(),
        "gmsh": gmsh_version,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "command_line": [program_name(), *sys.argv[1:]],
        "date_utc": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "case_sha256": case_hash(case),
    }
