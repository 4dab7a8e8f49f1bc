"""Errors the user should see as one clear message, not a traceback."""


def printable(text: str) -> str:
    """`text` with line breaks and other control characters escaped: TOML keys may hold any character, and a
    message stays one line that cannot drive a terminal."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


class CaseError(ValueError):
    """Invalid user input: the message names the key, the value and what is allowed (always one printable
    line, whatever characters the key or value held)."""

    def __init__(self, message):
        super().__init__(printable(str(message)))


class OutputError(CaseError):
    """An output path the tool must not use (a folder it did not write, the working folder, a file) or
    cannot write (read-only, full): the message names the path and what to do. Exit code 2."""


class SolveError(RuntimeError):
    """A linear or nonlinear solve failed; the message carries the PETSc converged reason (`reason`)."""

    def __init__(self, message: str, reason: str | None = None):
        super().__init__(message)
        self.reason = reason
