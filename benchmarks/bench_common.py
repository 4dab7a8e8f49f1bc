"""Shared pieces of the benchmarks: the benchmark particle at a given size, measurements in fresh processes,
peak memory, and printing.

Every benchmark prints RATIOS measured in one run (the machines are shared and noisy; absolute times are
printed for context only). Measurements that need their own peak-memory reading or may exhaust memory run
in a fresh process (`worker.py`), one JSON line back.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from solver.launcher import MPI_ENVIRONMENT, mpi_command

REPO = Path(__file__).resolve().parent.parent
CASE = REPO / "cases" / "verification_sphere.toml"
WORKER = Path(__file__).resolve().parent / "worker.py"
# unknowns (P1 c + P2 u) per tetrahedron of a quasi-uniform sphere mesh, measured: ~5.2
UNKNOWNS_PER_CELL = 5.2
# tetrahedra of a uniform full-sphere mesh of cell size h (fraction of R), measured: ~ 16.5 / h^3 at 0.4M unknowns
# (~19 / h^3 at 50k: surface cells are smaller); the benchmarks print the unknowns they got
CELLS_AT_UNIT_SIZE = 16.5


def cell_size_for_unknowns(unknowns: float) -> float:
    """Uniform cell size (fraction of R) whose full-sphere mesh has about `unknowns` unknowns."""
    return (CELLS_AT_UNIT_SIZE * UNKNOWNS_PER_CELL / unknowns) ** (1.0 / 3.0)


def sphere_overrides(cell_size_fraction: float, extra=()) -> list[str]:
    """The verification sphere as a full (floating) sphere with a uniform mesh of the given size."""
    return ['geometry.symmetry="full"', f"mesh.cell_size_fraction={cell_size_fraction:.5f}",
            f"mesh.surface_cell_size_fraction={cell_size_fraction:.5f}", "mesh.min_quality=0.01", *extra]


def peak_memory_bytes() -> int:
    """This process's peak resident memory (VmHWM)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    import resource
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def run_worker(task: dict, ranks: int = 1, timeout_s: float = 600.0) -> dict:
    """Run worker.py on `task` in a fresh process (under mpirun for ranks > 1); its JSON line, or an error dict."""
    command = mpi_command(ranks, [sys.executable, str(WORKER), json.dumps(task)])
    started = time.perf_counter()
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout_s, cwd=REPO,
                              env=dict(os.environ, **MPI_ENVIRONMENT))
    except subprocess.TimeoutExpired:
        return {"error": f"over the {timeout_s:.0f} s cap", "wall_s": time.perf_counter() - started}
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
        killed = done.returncode in (-9, 137)
        return {"error": "killed (out of memory?)" if killed else f"exit {done.returncode}: {tail[:200]}",
                "wall_s": time.perf_counter() - started}
    return json.loads(lines[-1])


def table(rows: list[dict], columns: list[tuple[str, str, str]]) -> str:
    """Rows as a fixed-width table; columns are (key, header, format)."""
    widths = [max(len(header), 10) for _, header, _ in columns]
    lines = ["  ".join(header.rjust(w) for (_, header, _), w in zip(columns, widths))]
    for row in rows:
        cells = []
        for (key, _, fmt), w in zip(columns, widths):
            value = row.get(key)
            cells.append(("-" if value is None else (format(value, fmt) if not isinstance(value, str) else value)).rjust(w))
        lines.append("  ".join(cells))
    return "\n".join(lines)


def banner(title: str) -> None:
    print(f"\n=== {title} ===", flush=True)
