"""Pictures of a result folder, drawn by `python -m solver.render` in a process of their own.

The PyPI VTK wheel and Debian's dolfinx abort inside one process (std::bad_alloc at the first render), so a
process that solved (the CLI, a notebook after `solver.run`) never imports pyvista: it starts the renderer,
which only reads the files the solver wrote. Used by the pipeline's pictures and by `Result.plot`.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


class PictureError(RuntimeError):
    """The renderer could not draw what was asked; the message is its last line."""


def draw(result_dir: str | Path, *arguments: str) -> list[Path]:
    """Run the renderer on a result folder with extra command-line arguments; the picture files it wrote."""
    env = dict(os.environ, VTK_DEFAULT_OPENGL_WINDOW=os.environ.get("VTK_DEFAULT_OPENGL_WINDOW",
                                                                     "vtkOSOpenGLRenderWindow"))
    done = subprocess.run([sys.executable, "-m", "solver.render", str(result_dir), *arguments], env=env,
                          capture_output=True, text=True)
    if done.returncode != 0:
        last = done.stderr.strip().splitlines()[-1:] or [f"exit code {done.returncode}"]
        raise PictureError(last[0])
    return [Path(line) for line in done.stdout.splitlines() if line.strip()]


class Picture:
    """A picture file that Jupyter shows inline (PNG) and a script can open or copy (`path`)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)

    def _repr_png_(self) -> bytes:
        return self.path.read_bytes()

    def __repr__(self) -> str:
        return f"Picture({str(self.path)!r})"
