"""Compare the peaks of the same runs made on different dolfinx versions (tools/test_versions.sh).

    python tools/compare_versions.py results/versions/*/

Each folder holds `demo/` and `sphere/` result folders of one FEniCSx stack. Prints, per run and peak, the
value on every stack and the largest relative spread; exits 1 when a spread exceeds the tolerance (default
1e-4, the iterative solvers' tolerance carried to the peaks) or a run is missing or did not complete.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

RUNS = ("demo", "sphere")


def load(folder: Path, run: str) -> dict | None:
    path = folder / run / "summary.json"
    return json.loads(path.read_text()) if path.is_file() else None


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folders", nargs="+", type=Path, help="one folder per FEniCSx stack")
    parser.add_argument("--tolerance", type=float, default=1e-4, help="largest relative spread of a peak")
    args = parser.parse_args(argv)
    failures = []
    for run in RUNS:
        summaries = {folder.name: load(folder, run) for folder in args.folders}
        for label, summary in summaries.items():
            if summary is None or summary.get("status") != "completed":
                failures.append(f"{run} on {label}: {'missing' if summary is None else summary.get('status')}")
        summaries = {label: s for label, s in summaries.items() if s and s.get("status") == "completed"}
        if len(summaries) < 2:
            continue
        print(f"{run}: " + ", ".join(f"{label} = {s.get('provenance', {}).get('fenicsx', '?')}"
                                     for label, s in summaries.items()))
        print(f"  {'peak':<15}" + "".join(f"{label:>22}" for label in summaries) + f"{'spread':>12}")
        kinds = next(iter(summaries.values()))["peak"]
        for kind in kinds:
            values = [s["peak"][kind]["value_Pa"] for s in summaries.values()]
            scale = max(abs(v) for v in values)
            spread = (max(values) - min(values)) / scale if scale else 0.0
            flag = "" if spread <= args.tolerance else "  <- exceeds"
            print(f"  {kind:<15}" + "".join(f"{v / 1e6:>18.6f} MPa" for v in values) + f"{spread:>12.2e}{flag}")
            if spread > args.tolerance:
                failures.append(f"{run} peak {kind}: relative spread {spread:.2e} > {args.tolerance:.0e}")
    if failures:
        print("versions differ:\n  " + "\n  ".join(failures), file=sys.stderr)
        return 1
    print(f"every peak agrees within {args.tolerance:.0e} relative across {len(args.folders)} stacks")
    return 0


if __name__ == "__main__":
    sys.exit(main())
