"""The documentation cannot drift from the code: links resolve, the key reference is the generated one and lists
every key the shipped cases use, the API reference names every public name of solver.api."""
import inspect
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from solver import api
from solver.keyref import REGENERATE, documented_keys, key_reference

REPO = Path(__file__).resolve().parent.parent
DOCS = REPO / "docs"


def scanned_files() -> list[Path]:
    """README.md, docs/*.md, the case files and the package's modules: where users read references."""
    return sorted([REPO / "README.md", *DOCS.glob("*.md"), *(REPO / "cases").rglob("*.toml"),
                   *(REPO / "solver").rglob("*.py")])


def slug(heading: str) -> str:
    """GitHub's anchor of a markdown heading: lower case, punctuation dropped, spaces to hyphens."""
    text = heading.strip().lower().replace("`", "")
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    found, seen = set(), {}
    in_code = False
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("```"):
            in_code = not in_code
        match = re.match(r"(#{1,6})\s+(.*)", line)
        if match and not in_code:
            base = slug(match.group(2))
            count = seen.get(base, 0)
            seen[base] = count + 1
            found.add(base if count == 0 else f"{base}-{count}")
    return found


MARKDOWN_LINK = re.compile(r"\[[^\]\n]*\]\(([^)\s]+)\)")
#: a repository path to a markdown file of docs/ written in text or a comment ("docs/science.md#study-2-...")
DOCS_REFERENCE = re.compile(r"[\w./-]*docs/[\w./-]+\.md(?:#[\w-]+)?")


def references(path: Path):
    """(target as written, resolved path or None, anchor or None) of every relative link and docs/ reference."""
    text = path.read_text(encoding="utf-8")
    found = []
    if path.suffix == ".md":
        for target in MARKDOWN_LINK.findall(text):
            if re.match(r"[a-z]+:", target):      # http:, https:, mailto:
                continue
            file_part, _, anchor = target.partition("#")
            resolved = (path.parent / file_part).resolve() if file_part else path
            found.append((target, resolved, anchor or None))
    for target in DOCS_REFERENCE.findall(text):
        file_part, _, anchor = target.partition("#")
        # "docs/x.md" is a path from the repository root; anything else ("../shared/docs/x.md") from the file
        base = REPO if file_part.startswith("docs/") else path.parent
        found.append((target, (base / file_part).resolve(), anchor or None))
    return found


@pytest.mark.parametrize("path", scanned_files(), ids=lambda p: str(p.relative_to(REPO)))
def test_every_relative_link_and_docs_reference_resolves(path):
    problems = []
    for target, resolved, anchor in references(path):
        if REPO not in resolved.parents and resolved != REPO:
            problems.append(f"{target}: points outside the repository")
        elif not resolved.is_file():
            problems.append(f"{target}: no such file")
        elif anchor and resolved.suffix == ".md" and anchor not in anchors(resolved):
            problems.append(f"{target}: no heading with anchor #{anchor} in {resolved.relative_to(REPO)}")
    assert not problems, f"{path.relative_to(REPO)}: " + "; ".join(problems)


def test_every_science_reference_names_a_section_of_docs_science_md():
    """science.md is cited ~40 times; each citation is docs/science.md#section (or a markdown link to
    science.md#section); the text of a markdown link does not count."""
    loose = []
    for path in scanned_files():
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            line = re.sub(r"\[[^\]\n]*\]\(", "](", line)      # [text](target) -> ](target)
            for match in re.finditer(r"(\]\()?([\w./-]*science\.md)(#[\w-]+)?", line):
                link, target, anchor = match.groups()
                ok = anchor and (target == "docs/science.md" or (link and target == "science.md"))
                if not ok:
                    loose.append(f"{path.relative_to(REPO)}:{number}: {match.group(0)}")
    assert not loose, "science.md references without docs/ path or #section:\n" + "\n".join(loose)


def test_the_anchor_rule_matches_github():
    assert slug("Study 2: Li-rich LRMO with a buffer layer and RuO2") == "study-2-li-rich-lrmo-with-a-buffer-layer-and-ruo2"
    assert slug('`[geometry]` kind = "sphere"') == "geometry-kind--sphere"


# ------------------------------------------------------------------ docs/keys.md
def test_docs_keys_md_is_the_generated_reference():
    committed = (DOCS / "keys.md").read_text(encoding="utf-8")
    assert committed == key_reference("markdown"), f"docs/keys.md is out of date; regenerate it: {REGENERATE}"


def case_keys(table: dict, prefix: str = ""):
    """Dotted keys of a case file's tables down to the documented keys; region names become <name>."""
    documented = documented_keys()
    for key, value in table.items():
        name = f"{prefix}{key}"
        if prefix == "material.regions.":
            name = "material.regions.<name>"
        if name in documented:
            yield name
        elif isinstance(value, dict):
            yield from case_keys(value, name + ".")
        else:
            yield name


@pytest.mark.parametrize("path", sorted((REPO / "cases").glob("*.toml")), ids=lambda p: p.name)
def test_every_key_of_the_shipped_cases_is_in_the_reference(path):
    raw = tomllib.loads(path.read_text(encoding="utf-8"))
    text = (DOCS / "keys.md").read_text(encoding="utf-8")
    missing = [key for key in case_keys(raw) if key not in documented_keys()]
    assert not missing, f"{path.name}: keys missing from docs/keys.md: {missing}"
    for key in case_keys(raw):
        assert f"`{key.rpartition('.')[2]}" in text, key


def test_the_keys_command_prints_one_section_and_refuses_unknown_ones():
    run = [sys.executable, "-m", "solver", "keys"]
    done = subprocess.run([*run, "oxygen"], cwd=REPO, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("[oxygen]") and "trap_capacity_mol_m3" in done.stdout and "[material]" not in done.stdout
    done = subprocess.run([*run, "material", "--format", "markdown"], cwd=REPO, capture_output=True, text=True)
    assert "## `[material.regions.<name>]`" in done.stdout and "| `parameter_set` |" in done.stdout
    done = subprocess.run([*run, "kinetic"], cwd=REPO, capture_output=True, text=True)
    assert done.returncode == 2 and "unknown section" in done.stderr and "oxygen" in done.stderr


def test_the_reference_covers_every_section_and_geometry_kind():
    text = key_reference("text")
    for header in ("[geometry]", "[mesh]", "[material]", "[material.regions.<name>]", "[material.layered]",
                   "[operation]", "[time]", "[coupling]", "[solver]", "[output]", "[initial]", "[oxygen]",
                   "[grain_boundaries]", "[region_peaks]", '[geometry] kind = "polycrystal"'):
        assert f"\n{header}" in text or text.startswith(header), header
    assert "young_modulus_Pa / young_modulus_GPa: number" in text


# ------------------------------------------------------------------ docs/api.md
def public_api_names() -> list[str]:
    """Public functions and classes defined in solver.api, and the public members of its classes."""
    names = []
    for name, value in vars(api).items():
        if name.startswith("_") or getattr(value, "__module__", None) != api.__name__:
            continue
        names.append(name)
        if inspect.isclass(value):
            members = set(vars(value)) | set(getattr(value, "__dataclass_fields__", {}))
            names += [f"{name}.{member}" for member in sorted(members) if not member.startswith("_")]
    return names


def test_docs_api_md_documents_every_public_name_of_solver_api():
    text = (DOCS / "api.md").read_text(encoding="utf-8")
    missing = [name for name in public_api_names() if f"`{name}" not in text]
    assert not missing, f"docs/api.md does not document: {missing}"
    assert {"Case", "run", "Result", "Case.from_toml", "Result.peaks"} <= set(public_api_names())
