"""The audio engine stays framework-free, and the house's import rules hold."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_engine_imports_no_framework():
    code = (
        "import importlib, pkgutil, sys, audio.engine\n"
        "for m in pkgutil.walk_packages(audio.engine.__path__, 'audio.engine.'):\n"
        "    if not m.name.endswith('__main__'):\n"
        "        importlib.import_module(m.name)\n"
        "bad = sorted(n for n in sys.modules if n.split('.')[0] in "
        "{'django', 'celery', 'channels', 'rest_framework', 'studio', 'sessions'})\n"
        "print(','.join(bad))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ""


def test_import_contracts_hold():
    lint_imports = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run(
        [str(lint_imports)], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_house_rules():
    result = subprocess.run(
        ["bash", "scripts/lint-rules.sh"], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr


# --- the layers -------------------------------------------------------------------------------

PACKAGES = (
    "studio",
    "sessions",
    "audio",
    "eventlog",
    "pages",
    "delivery",
    "reviewlinks",
    "songsheet",
    "bookings",
    "timesheets",
    "notifications",
)


def _python_files() -> list[Path]:
    return sorted(
        path
        for package in PACKAGES
        for path in (ROOT / package).rglob("*.py")
        if "migrations" not in path.parts
    )


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _first_party(name: str) -> bool:
    return name.split(".")[0] in PACKAGES


def _resolve(module: str, node: ast.ImportFrom, is_package: bool) -> str:
    if not node.level:
        return node.module or ""
    base = module.split(".") if is_package else module.split(".")[:-1]
    base = base[: len(base) - node.level + 1]
    return ".".join([*base, node.module] if node.module else base)


def _imports(path: Path, *, top_level: bool) -> list[tuple[int, str]]:
    """First-party imports of a file: at module level, or inside functions."""
    tree = ast.parse(path.read_text())
    module = _module_name(path)
    is_package = path.name == "__init__.py"
    found: list[tuple[int, str]] = []
    nodes = (
        tree.body
        if top_level
        else [
            n
            for fn in ast.walk(tree)
            if isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef)
            for n in ast.walk(fn)
        ]
    )
    for node in nodes:
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names if _first_party(a.name)]
        elif isinstance(node, ast.ImportFrom):
            target = _resolve(module, node, is_package)
            if not _first_party(target):
                continue
            for alias in node.names:  # `from pkg import module` imports the module
                sub = f"{target}.{alias.name}"
                as_module = (ROOT / Path(*sub.split("."))).with_suffix(".py").exists() or (
                    ROOT / Path(*sub.split(".")) / "__init__.py"
                ).exists()
                found.append((node.lineno, sub if as_module else target))
    return found


def _module_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for path in _python_files():
        graph[_module_name(path)] = {name for _, name in _imports(path, top_level=True)}
    return graph


def test_no_import_cycle_at_module_level():
    """Module-level first-party imports form no cycle (Tarjan's strongly connected parts)."""
    graph = _module_graph()
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.get(node, ()):
            if nxt not in graph:
                continue
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            part = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                part.append(member)
                if member == node:
                    break
            if len(part) > 1:
                cycles.append(sorted(part))

    sys.setrecursionlimit(10_000)
    for node in sorted(graph):
        if node not in index:
            visit(node)
    assert cycles == []


# Function-level imports of our own modules that are there for a reason other than a cycle.
FUNCTION_IMPORTS_ALLOWED = {
    # AppConfig.ready runs once the models are loaded; a module-level import would load them early.
    "studio/apps.py",
    "audio/apps.py",
    "sessions/apps.py",
    "delivery/apps.py",
    "reviewlinks/apps.py",
    "songsheet/apps.py",
    "bookings/apps.py",
    "timesheets/apps.py",
    "notifications/apps.py",
}


def test_no_function_level_import_of_our_own_modules():
    """An import inside a function that avoids no cycle only hides the dependency: hoist it."""
    found = [
        f"{path.relative_to(ROOT)}:{line}: {name}"
        for path in _python_files()
        if str(path.relative_to(ROOT)) not in FUNCTION_IMPORTS_ALLOWED
        for line, name in _imports(path, top_level=False)
    ]
    assert found == []


def _layer_modules() -> list[str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    contracts = config["tool"]["importlinter"]["contracts"]
    layers = next(c for c in contracts if c["type"] == "layers")["layers"]
    return [m.strip(" ()") for layer in layers for m in layer.replace("|", ":").split(":")]


def test_every_studio_module_sits_in_a_layer():
    """studio/ holds the config and the core domain, so the contract names its modules one by
    one; a new module named nowhere would escape the layers."""
    named = set(_layer_modules())
    children = {
        f"studio.{p.stem if p.is_file() else p.name}"
        for p in (ROOT / "studio").iterdir()
        if (p.suffix == ".py" and p.name != "__init__.py") or (p / "__init__.py").exists()
    }
    assert children - named == set()


def test_an_upward_import_breaks_lint(tmp_path):
    """A scratch copy of the tree where the domain imports the pages: lint-imports fails."""
    copy = tmp_path / "tree"
    copy.mkdir()
    for name in (*PACKAGES, "pyproject.toml", "manage.py"):
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, copy / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, copy / name)
    lint_imports = Path(sys.executable).with_name("lint-imports")
    clean = subprocess.run(
        [str(lint_imports)], cwd=copy, capture_output=True, text=True, timeout=300
    )
    assert clean.returncode == 0, clean.stdout
    selectors = copy / "studio" / "selectors.py"
    selectors.write_text(selectors.read_text() + "\nfrom pages import kit  # noqa\n")
    broken = subprocess.run(
        [str(lint_imports)], cwd=copy, capture_output=True, text=True, timeout=300
    )
    assert broken.returncode != 0
    assert "studio.selectors -> pages.kit" in broken.stdout
