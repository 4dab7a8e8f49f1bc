"""Errors the user should see as one clear message, not a traceback."""


class CaseError(ValueError):
    """Invalid user input: the message names the key, the value and what is allowed."""


class SolveError(RuntimeError):
    """A linear or nonlinear solve failed; the message carries the PETSc converged reason."""
