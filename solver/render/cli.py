"""The command line: ``python -m solver.render DIR [...]`` and ``python -m solver.render compare DIR... [...]``."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Sequence

from solver.errors import OutputError
from solver.render.compare import render_comparison
from solver.render.data import RenderError
from solver.render.results import DEFAULT_FIELDS, render_results


def _parser_results() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m solver.render",
        description="Pictures of a result folder (cross sections, peak stress curves). "
        "For side-by-side pictures: python -m solver.render compare --help",
    )
    p.add_argument("result_dir", help="result folder written by the solver")
    p.add_argument("--fields", nargs="*", default=None,
                   help=f"point arrays to draw (default: {', '.join(DEFAULT_FIELDS)} and the extension fields the "
                        "result holds, e.g. o2_mol_m3); unit suffix may be left off; none: only curves")
    p.add_argument("--snapshot", default="final",
                   help="'final' (default), a snapshot tag (001, peak_von_mises), 'peak' (each field at the time of "
                        "its peak) or 'all'")
    p.add_argument("--no-curves", action="store_true", help="skip peak_stress_vs_time.png (.pdf, .svg)")
    p.add_argument("--curve-x", choices=("time", "soc"), default="time")
    p.add_argument("--no-at-peak", action="store_true",
                   help="skip the pictures at the time of each field's peak (cross_section_<field>_at_peak.png)")
    p.add_argument("--traceback", action="store_true", help="show the full traceback on errors")
    return p


def _parser_compare() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m solver.render compare",
        description="Side-by-side z = 0 sections of one field with one shared colour range.",
    )
    p.add_argument("result_dirs", nargs="+", help="result folders")
    p.add_argument("--labels", nargs="+", default=None, help="one label per folder (default: case names)")
    p.add_argument("--field", default="von_mises_Pa")
    p.add_argument("--out", required=True, help="PNG file to write (an existing file only if this tool wrote it)")
    p.add_argument("--snapshot", default="final",
                   help="'final' (default), a snapshot tag, or 'peak' (each folder at the time of the field's peak)")
    p.add_argument("--traceback", action="store_true", help="show the full traceback on errors")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    compare = bool(argv) and argv[0] == "compare" and not Path("compare").is_dir()
    args = (_parser_compare() if compare else _parser_results()).parse_args(argv[1:] if compare else argv)
    try:
        if compare:
            out = render_comparison(args.result_dirs, args.labels, args.field, args.out, snapshot=args.snapshot)
            written = [out]
        else:
            written = render_results(
                args.result_dir, fields=args.fields, snapshot=args.snapshot,
                curves=not args.no_curves, curve_x=args.curve_x, at_peak=not args.no_at_peak,
            )
    except (RenderError, OutputError, OSError) as exc:
        if args.traceback:
            raise
        print(f"render: error: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # noqa: BLE001 - one clear line for the calling CLI
        if args.traceback:
            raise
        print(f"render: error: {type(exc).__name__}: {exc} (rerun with --traceback for details)",
              file=sys.stderr)
        return 1
    for p in written:
        print(p)
    return 0
