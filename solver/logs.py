"""The `solver` logger: progress lines (INFO) and warnings of a run, on rank 0.

Everything the solver reports while it works goes through `logging.getLogger("solver")`, so a script or a
notebook chooses what it sees (`logging.getLogger("solver").setLevel(logging.WARNING)` keeps only warnings).
The command line and `solver.run` show it on stderr as plain lines unless the caller configured it already.
The logger does not propagate to the root logger: the form compiler's setuptools turns the root to INFO and
would otherwise print every compiler line.
"""
from __future__ import annotations

import logging
import sys

LOGGER = logging.getLogger("solver")
LOGGER.propagate = False


def show_progress(stream=None) -> None:
    """Print the solver's INFO lines as plain text on `stream` (default stderr), unless a handler exists."""
    if LOGGER.handlers:
        return
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    LOGGER.addHandler(handler)
    if LOGGER.level == logging.NOTSET:
        LOGGER.setLevel(logging.INFO)
