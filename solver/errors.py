"""Errors the user should see as one clear message, not a traceback."""


class CaseError(ValueError):
    """Invalid user input: the message names the key, the value and what is allowed."""


class OutputError(CaseError):
    """An output path the tool must not use (a folder it did not write, the working folder, a file) or
    cannot write (read-only, full): the message names the path and what to do. Exit code 2."""


class SolveError(RuntimeError):
    """A linear or nonlinear solve failed; the message carries the PETSc converged reason (`reason`)."""

    def __init__(self, message: str, reason: str | None = None):
        super().__init__(message)
        self.reason = reason
