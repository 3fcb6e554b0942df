"""The import rules of DESIGN.md: who may import whom, and what stays light."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
OURS = {"tasks", "durable", "settings", "controllers", "storage", "skills", "experimenter", "web"}

# package -> top-level modules (ours or heavy) it must never import
FORBIDDEN = {
    "tasks": (OURS - {"tasks"}) | {"numpy", "gymnasium", "mujoco", "torch"},
    "durable": (OURS - {"durable"}) | {"numpy", "gymnasium", "mujoco", "torch"},
    "settings": (OURS - {"settings", "tasks"}) | {"numpy", "gymnasium", "mujoco", "torch"},
    "controllers": {"storage", "skills", "experimenter", "web"},
    "storage": {"controllers", "skills", "experimenter", "web", "torch", "mujoco"},
    "skills": {"controllers", "experimenter", "web", "torch", "mujoco"},
    "web": {"controllers", "experimenter", "torch", "mujoco"},
    "experimenter": {"web"},
}


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_imports_follow_the_design(package):
    bad = []
    for path in sorted((ROOT / package).rglob("*.py")):
        for name in imported_modules(path):
            top = name.split(".")[0]
            if top in FORBIDDEN[package]:
                bad.append(f"{path.relative_to(ROOT)} imports {name}")
    assert not bad, "\n".join(bad)


@pytest.mark.parametrize("module", ["controllers", "tasks", "skills", "storage"])
def test_light_packages_load_neither_mujoco_nor_torch(module):
    code = f"import sys, {module}; print(sorted({{'mujoco', 'torch'}} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", f"{module} pulls in {out.stdout.strip()}"


@pytest.mark.parametrize("module", ["tasks", "durable", "settings", "web.app", "controllers"])
def test_the_language_and_the_dashboard_load_no_numeric_stack(module):
    """The task language is pydantic and the standard library; the dashboard imports it rather
    than the arena; ``controllers`` itself registers nothing (``controllers.env`` does)."""
    code = (
        f"import sys, {module}; "
        "print(sorted({'numpy', 'gymnasium', 'mujoco', 'torch'} & set(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", f"{module} pulls in {out.stdout.strip()}"


def test_the_dashboard_starts_without_the_experimenter_torch_or_mujoco():
    """``web`` builds its app loading neither the experimenter (graph, planner) nor torch,
    mujoco, langgraph or matplotlib (drawn on first use only): it starts in about a second."""
    code = (
        "import sys, tempfile, pathlib\n"
        "from web.app import create_app\n"
        "from web.config import WebSettings\n"
        "create_app(WebSettings(home=pathlib.Path(tempfile.mkdtemp())))\n"
        "heavy = {'mujoco', 'torch', 'langgraph', 'matplotlib', 'experimenter'}\n"
        "print(sorted(heavy & {m.split('.')[0] for m in sys.modules}))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", f"the dashboard pulls in {out.stdout.strip()}"
