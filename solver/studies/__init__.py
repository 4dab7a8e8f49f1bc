"""Studies: scripted sets of case runs that answer one question from docs/science.md#the-four-studies."""

from pathlib import Path


def claim_study_folder(out) -> Path:
    """--out of a study: new, empty, or a study folder of this tool (solver/outputs.py); created and marked."""
    from solver.outputs import prepare_output_folder

    return prepare_output_folder(out, "study", legacy=_legacy_study_folder)


def _legacy_study_folder(folder: Path) -> bool:
    """A study folder written before folders carried markers: its runs and its table."""
    return (folder / "runs").is_dir() and any((folder / name).is_file() for name in ("table.md", "study.json"))


def adopt_run_folder(folder: Path) -> None:
    """A run folder inside a study folder of ours, written before markers: rerunning may replace it."""
    from solver.outputs import adopt

    adopt(folder, "run")


def regular_snapshots(run_folder: Path) -> list[dict]:
    """The entries of a run's snapshots.json at the times every run of a case shares ("000", ..., "final"), not the
    field files kept at the run's own peaks (fields_peak_*.vtu, solver/runs.py), whose times differ between runs."""
    import json

    path = Path(run_folder) / "snapshots.json"
    entries = json.loads(path.read_text()) if path.exists() else []
    return [entry for entry in entries if not entry["file"].startswith("fields_peak_")]


def computed_something(summary: dict | None) -> bool:
    """Whether a run's summary holds results: a solve failing before the first state (e.g. at t = 0)
    leaves a summary with its status and message only."""
    return bool(summary) and "time" in summary


def run_case_once(case_file: Path, folder: Path, overrides=(), force: bool = False) -> dict | None:
    """`python -m solver run case_file --out folder --set ...` in its own process (3D cases keep their own processes),
    unless the folder already holds a completed run (studies resume); returns its summary, or None if it failed
    (the log beside the folder says why)."""
    import json
    import subprocess
    import sys

    summary = folder / "summary.json"
    if force or not (summary.exists() and json.loads(summary.read_text()).get("status") == "completed"):
        folder.parent.mkdir(parents=True, exist_ok=True)
        adopt_run_folder(folder)
        command = [sys.executable, "-m", "solver", "run", str(case_file), "--out", str(folder), "--no-pictures"]
        command += [item for text in overrides for item in ("--set", text)]
        with open(folder.parent / f"{folder.name}.log", "w") as log:
            subprocess.run(command, stdout=log, stderr=subprocess.STDOUT, cwd=Path(__file__).resolve().parents[2])
    result = json.loads(summary.read_text()) if summary.exists() else None
    if not computed_something(result):
        print(f"  FAILED {folder.name}: see {folder.parent / (folder.name + '.log')}", file=sys.stderr, flush=True)
        return None
    return result


def write_tables(folder: Path, results: dict, text: str) -> None:
    """A study's table.json (its results) and table.md (the markdown `text`, also printed)."""
    import json

    (folder / "table.json").write_text(json.dumps(results, indent=2))
    (folder / "table.md").write_text(text)
    print(text)


def study_parser(doc: str, quick_help: str):
    """The command line of a study whose runs are `run_case_once` processes: --out, --quick (its smoke-test form)
    and --force (rerun finished runs)."""
    import argparse

    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True)
    parser.add_argument("--quick", action="store_true", help=quick_help)
    parser.add_argument("--force", action="store_true", help="rerun finished runs")
    return parser
