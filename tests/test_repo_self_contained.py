"""The repo explains itself: no tracked file cites a document that is not in the repo or a path
of one machine, every fault-test code cited is defined in docs/reliability.md, and the files and
tests the docs name exist."""

from __future__ import annotations

import re
import subprocess
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Team documents that live outside the repo. Spelled in lower case here and matched in upper
# case (as they are written), so this file does not match itself.
OUTSIDE_DOCS = ("design", "style", "reliability", "stack", "engine", "frontend", "developers")
OUTSIDE_DOC = re.compile(
    r"\b(?:" + "|".join(d.upper() for d in (*OUTSIDE_DOCS, "team_notes")) + r")\.md\b"
)
# The same names as bare words; ENGINE alone is also Django's database setting.
OUTSIDE_WORD = re.compile(
    r"\b(?:" + "|".join(d.upper() for d in OUTSIDE_DOCS if d != "engine") + r")\b"
)
# (Spelled in pieces so that a plain grep for these paths does not find this file.)
MACHINE_PATH = re.compile(r"(?<![\w.])/(?:work|home|root)/|\.\./" + "shared" + "/")
CODE = re.compile(r"\b[RWUAZL][1-9]\b")
CODE_SUFFIXES = (".py", ".js", ".html", ".sh", ".toml", ".md", ".cfg", ".yaml", ".yml")
SKIP = ("static/vendor/", "package-lock.json")


@cache
def tracked(*, everything: bool = False) -> tuple[str, ...]:
    """Tracked files; the vendored libraries and the npm lock file only with `everything`."""
    out = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True
    ).stdout
    paths = (p for p in out.decode().split("\0") if p)
    return tuple(p for p in paths if everything or not p.startswith(SKIP))


def text_of(path: str) -> str | None:
    try:
        data = (ROOT / path).read_bytes()
    except (FileNotFoundError, IsADirectoryError):  # deleted in the work tree, or a submodule
        return None
    if b"\0" in data[:8192]:
        return None
    return data.decode("utf-8", errors="replace")


def hits(patterns: list[re.Pattern[str]], paths: tuple[str, ...]) -> list[str]:
    found = []
    for path in paths:
        text = text_of(path)
        if text is None:
            continue
        for number, line in enumerate(text.splitlines(), 1):
            if any(pattern.search(line) for pattern in patterns):
                found.append(f"{path}:{number}: {line.strip()[:120]}")
    return found


def test_the_scan_sees_the_repo() -> None:
    """The control: the scan reads the files that matter (so an empty list proves something)."""
    paths = set(tracked())
    assert {"README.md", "docs/reliability.md", "docs/architecture.md", "Makefile"} <= paths
    assert sum(p.endswith(".py") for p in paths) > 100
    assert OUTSIDE_DOC.search(f"see {OUTSIDE_DOCS[0].upper()}.md")
    assert OUTSIDE_WORD.search(f"as {OUTSIDE_DOCS[1].upper()} says")
    assert MACHINE_PATH.search("/" + "work/main/.venv")
    assert not MACHINE_PATH.search("a/" + "work" + "/b")
    assert not OUTSIDE_WORD.search("DEBIAN_FRONTEND=noninteractive")


def test_no_file_cites_a_document_outside_the_repo() -> None:
    found = hits([OUTSIDE_DOC, OUTSIDE_WORD], tracked())
    assert not found, "cite docs/ or say the fact itself:\n" + "\n".join(found)


def test_no_file_names_a_path_of_one_machine() -> None:
    found = hits([MACHINE_PATH], tracked())
    assert not found, "paths of one machine:\n" + "\n".join(found)


def test_every_cited_fault_code_is_defined_in_docs_reliability() -> None:
    """A code such as R1 or W8 in a docstring or comment must be one docs/reliability.md names."""
    defined = set(CODE.findall((ROOT / "docs/reliability.md").read_text()))
    assert {"R1", "W1", "U1", "A1", "Z1"} <= defined
    undefined = []
    for path in tracked():
        if not path.endswith(CODE_SUFFIXES) and Path(path).name != "Makefile":
            continue
        text = text_of(path) or ""
        for number, line in enumerate(text.splitlines(), 1):
            undefined.extend(f"{path}:{number}: {c}" for c in set(CODE.findall(line)) - defined)
    assert not undefined, "codes docs/reliability.md does not define:\n" + "\n".join(undefined)


def _defines(path: str, name: str) -> bool:
    text = text_of(path) or ""
    if name.endswith("*"):
        return re.search(rf"^(?:async )?def {re.escape(name[:-1])}\w*\(", text, re.M) is not None
    return re.search(rf"^(?:async )?def {re.escape(name)}\(", text, re.M) is not None


def test_the_tests_docs_reliability_names_exist() -> None:
    """Each `file.py::test_name` in docs/reliability.md is a test of that file (a bare file name
    is looked up among the tracked files), so the document cannot drift from the tests."""
    doc = (ROOT / "docs/reliability.md").read_text()
    refs = re.findall(r"`([\w/.-]+\.py)::([\w*]+)`", doc)
    assert len(refs) > 30
    paths = tracked()
    missing = []
    for file, name in refs:
        candidates = [p for p in paths if p == file or p.endswith("/" + file)]
        if not any(_defines(p, name) for p in candidates):
            missing.append(f"{file}::{name}")
    assert not missing, "docs/reliability.md names tests that do not exist:\n" + "\n".join(missing)


def test_the_paths_the_docs_name_exist() -> None:
    """A backticked repo path in README.md or docs/*.md (`audio/jobs/`, `tests/conftest.py`) is
    a tracked file or folder; a bare file name (`test_uploads.py`) is some tracked file's name."""
    paths = tracked(everything=True)
    folders = {str(parent) for p in paths for parent in Path(p).parents if str(parent) != "."}
    tops = {p.split("/", 1)[0] for p in paths if "/" in p}
    names = {Path(p).name for p in paths}
    docs = ["README.md", *(p for p in paths if p.startswith("docs/") and p.endswith(".md"))]
    missing = []
    for doc in docs:
        for token in re.findall(r"`([^`\s]+)`", (ROOT / doc).read_text()):
            token = token.split("::", 1)[0]
            path = token.rstrip("/")
            if re.fullmatch(r"[\w.-]+\.(?:py|js|html|sh|toml|md|yaml)", token):
                known = token in names
            elif re.fullmatch(r"[\w.-]+(?:/[\w.-]+)+/?", token) and token.split("/")[0] in tops:
                known = path in folders or path in paths
            else:
                continue  # not a path: a command, a setting, a URL
            if not known:
                missing.append(f"{doc}: {token}")
    assert not missing, "the docs name paths that are not in the repo:\n" + "\n".join(missing)
