"""The dependency rule between apps (README, "Architecture"), read from every import of
their models, services and selectors (entry points, views, the admin, management
commands and tasks, may call any app's services):

- `programs` imports nothing from `champions` or `reports` but `reports.hooks` (the
  progress hook every write calls), and from `learnhub` only the access rules;
- `champions` uses `programs`, and of `reports` only its models, the engine and the kept
  figures (`reports.models`, `reports.progress`, `reports.people`, `reports.kept`) and the
  hook; from `learnhub`, only the access rules;
- `reports` may use both."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ENTRY_POINTS = ("views", "management", "admin.py", "tasks.py", "migrations")
ALLOWED = {
    "programs": ("programs", "reports.hooks", "learnhub.roles"),
    "champions": (
        "champions",
        "programs",
        "reports.models",
        "reports.progress",
        "reports.people",
        "reports.kept",
        "reports.hooks",
        "learnhub.roles",
    ),
}
OURS = ("programs", "champions", "reports", "learnhub")


def imported(path: Path) -> set[str]:
    """Every module `path` imports by absolute name, at any depth (function-level too)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


def below_entry_points(app: str) -> list[Path]:
    return sorted(
        path
        for path in (ROOT / app).rglob("*.py")
        if not any(part in ENTRY_POINTS for part in path.relative_to(ROOT / app).parts)
    )


@pytest.mark.parametrize("app", sorted(ALLOWED))
def test_an_app_imports_only_what_the_dependency_rule_allows(app):
    allowed = ALLOWED[app]
    breaking = {
        str(path.relative_to(ROOT)): sorted(
            name
            for name in imported(path)
            if name.split(".")[0] in OURS and not any(name == a or name.startswith(f"{a}.") for a in allowed)
        )
        for path in below_entry_points(app)
    }
    assert {path: names for path, names in breaking.items() if names} == {}


def test_the_rule_reads_the_modules_it_is_about():
    assert ROOT / "programs" / "collections.py" in below_entry_points("programs")
    assert ROOT / "champions" / "selectors.py" in below_entry_points("champions")
    assert ROOT / "programs" / "views" / "imports.py" not in below_entry_points("programs")
    assert "reports.hooks" in imported(ROOT / "programs" / "roster.py")
