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
from dataclasses import dataclass
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


@dataclass(frozen=True)
class BenchParticle:
    """A benchmark particle meshed with one cell size h (fraction of R) everywhere, sized for a target unknown
    count by unknowns ~ fixed_unknowns + unknowns_at_unit_size / h^3 (measured; the fixed part is what the pores'
    curvature refines whatever h is). The benchmarks print the unknowns they got."""
    case: Path
    unknowns_at_unit_size: float
    fixed_unknowns: float = 0.0
    settings: tuple[str, ...] = ()

    def cell_size(self, unknowns: float) -> float:
        """Uniform cell size (fraction of R) whose mesh has about `unknowns` unknowns (below the fixed part's
        reach the coarsest sensible mesh: a fifth of the target left to h)."""
        free = max(unknowns - self.fixed_unknowns, 0.2 * unknowns)
        return (self.unknowns_at_unit_size / free) ** (1.0 / 3.0)

    def overrides(self, cell_size_fraction: float, extra=()) -> list[str]:
        """Case overrides: the particle's settings and the uniform cell size (volume, surfaces, interfaces)."""
        h = f"{cell_size_fraction:.5f}"
        return [*self.settings, f"mesh.cell_size_fraction={h}", f"mesh.surface_cell_size_fraction={h}",
                f"mesh.interface_cell_size_fraction={h}", *extra]


PARTICLES = {
    # the verification sphere as a full (floating) sphere
    "sphere": BenchParticle(CASE, CELLS_AT_UNIT_SIZE * UNKNOWNS_PER_CELL,
                            settings=('geometry.symmetry="full"', "mesh.min_quality=0.01")),
    # the realistic microstructure: P-NCM83 (anisotropic layered-oxide grains, ~50 pores of the study's scaled
    # FIB-SEM volumes) with 100 Voronoi grains; measured 150k unknowns at h = 0.15, 263k at 0.095. Voronoi edges
    # of < 1 nm leave slivers (minSICN ~1e-3, docs/performance.md section 3), accepted as in mesh_scaling.py
    "polycrystal": BenchParticle(REPO / "cases" / "p_ncm83.toml", 129.0, fixed_unknowns=1.12e5,
                                 settings=("geometry.grain_count=100", "mesh.min_quality=1e-5")),
}


def cell_size_for_unknowns(unknowns: float) -> float:
    """Uniform cell size (fraction of R) whose full-sphere mesh has about `unknowns` unknowns."""
    return PARTICLES["sphere"].cell_size(unknowns)


def sphere_overrides(cell_size_fraction: float, extra=()) -> list[str]:
    """The verification sphere as a full (floating) sphere with a uniform mesh of the given size."""
    return PARTICLES["sphere"].overrides(cell_size_fraction, extra)


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


def step_row(result: dict) -> dict:
    """The table row of one worker `steps` result: per-step times, per-unknown costs, iterations, memory."""
    n = result["unknowns"]
    return {"ranks": result["ranks"], "unknowns": n, "cells": result["cells"], "step_s": result["mean_step_s"],
            "cpu_s": result["mean_cpu_s"], "ksp_s": result["mean_ksp_s"],
            "us_per_unknown": 1e6 * result["mean_step_s"] / n, "cpu_us_per_unknown": 1e6 * result["mean_cpu_s"] / n,
            "mech_its": max(its[1] for its in result["iterations"]),
            "kb_per_unknown": result["peak_memory_bytes"] / n / 1024,
            "marginal_kb": (result["peak_memory_bytes"] - result["baseline_memory_bytes"]) / n / 1024,
            "first_solve_s": result["first_mechanics_s"]}


def rank_ratios(name: str, by_ranks: dict[int, list[dict]]) -> list[str]:
    """RATIO lines of the speed-up of every rank count over the first, size by size (rows gain `speedup`)."""
    counts = sorted(by_ranks)
    first = {row["unknowns"]: row for row in by_ranks[counts[0]]}
    for row in by_ranks[counts[0]]:
        row["speedup"] = 1.0
    lines = []
    for ranks in counts[1:]:
        for row in by_ranks[ranks]:
            one = first.get(row["unknowns"])
            if one is None:
                continue
            row["speedup"] = one["step_s"] / row["step_s"]
            lines.append(f"RATIO {name}, {row['unknowns']} unknowns: time per step {counts[0]} -> {ranks} ranks "
                         f"speed-up {row['speedup']:.2f} (KSPSolve {one['ksp_s'] / row['ksp_s']:.2f}; "
                         f"mechanics iterations {one['mech_its']} -> {row['mech_its']})")
    return lines


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
