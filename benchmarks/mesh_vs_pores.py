"""Meshing time against pore count for a GP-NCM83 particle (R = 5 um), with the ratios between counts.

    .venv/bin/python benchmarks/mesh_vs_pores.py [--counts 50 200 500 1000] [--radius-um 5] [--measure]

Each count is a fresh build (no cache): pore sampling + OCC boolean ("geometry"), surface and volume
meshing, conversion to dolfinx. Prints one row per count (wall-clock stages, total wall and CPU seconds:
CPU is the fairer number on a shared machine), then the ratios relative to the first count. With
--measure also the mesh-minus-sampler porosity (percentage points, central sections and 3D volume).
"""
from __future__ import annotations

import argparse
import time

from mpi4py import MPI

from solver.geometry import build_particle_mesh


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--counts", type=int, nargs="+", default=[50, 200, 500, 1000])
    parser.add_argument("--radius-um", type=float, default=5.0)
    parser.add_argument("--porosity", default="gp_ncm83")
    parser.add_argument("--surface-cell-size-fraction", type=float, default=0.05)
    parser.add_argument("--measure", action="store_true")
    args = parser.parse_args()
    mesh = {"surface_cell_size_fraction": args.surface_cell_size_fraction}
    rows = []
    header = (f"{'pores':>6} {'geometry_s':>10} {'surface_s':>9} {'volume_s':>9} {'total_s':>8} {'cpu_s':>7} "
              f"{'cells':>9} {'min_q':>6}")
    print(header + ("  mesh-sampler porosity pp (sections, volume)" if args.measure else ""), flush=True)
    for count in args.counts:
        geometry = {"kind": "porous", "radius_um": args.radius_um, "porosity": args.porosity,
                    "target_pore_count": count, "seed": 1}
        started, cpu_started = time.perf_counter(), time.process_time()
        particle = build_particle_mesh(geometry, mesh, MPI.COMM_WORLD, cache_dir=None)
        total, cpu = time.perf_counter() - started, time.process_time() - cpu_started
        d = particle.description
        row = (d["pore_count"], d["geometry_seconds"], d["mesh_counts"]["surface_mesh_seconds"],
               d["mesh_counts"]["volume_mesh_seconds"], total, cpu, d["cells"], d["quality"]["min_quality"])
        rows.append(row)
        line = (f"{row[0]:6d} {row[1]:10.1f} {row[2]:9.1f} {row[3]:9.1f} {row[4]:8.1f} {row[5]:7.1f} {row[6]:9d} "
                f"{row[7]:6.3f}")
        if args.measure:
            diff = particle.measure()["porosity_mesh_minus_analytic_pp"]
            line += f"  {diff['overall']:+.2f}, {diff['volume']:+.2f}"
        print(line, flush=True)
    base = rows[0]
    print("\nratios to the first row:  pores  wall   cpu  cells  cpu/cell")
    for row in rows:
        print(f"{'':25}{row[0] / base[0]:6.1f} {row[4] / base[4]:5.1f} {row[5] / base[5]:5.1f} "
              f"{row[6] / base[6]:6.1f} {(row[5] / row[6]) / (base[5] / base[6]):9.2f}")


if __name__ == "__main__":
    main()
