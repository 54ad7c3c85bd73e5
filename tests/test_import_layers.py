"""Which way imports run in calls/: Twilio's deliveries at the bottom, the writers above them,
the webhook views on top; two parts never import each other."""

import ast
from pathlib import Path

CALLS = Path(__file__).resolve().parent.parent / "calls"


def _imported_names(source: str) -> set[str]:
    """Every module or name the source imports, as a dotted path (`from a import b` is a.b)."""
    names = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def _imports_by_module() -> dict[str, set[str]]:
    """calls' modules (not its migrations), each with what it imports of calls."""
    imports = {}
    for path in CALLS.rglob("*.py"):
        relative = path.relative_to(CALLS.parent).with_suffix("")
        if "migrations" in relative.parts:
            continue
        module = ".".join(relative.parts).removesuffix(".__init__")
        imports[module] = {
            name for name in _imported_names(path.read_text()) if name.startswith("calls.")
        }
    return imports


def _part(name: str) -> str:
    """The part of calls a module belongs to: its package (calls.webhooks) or itself."""
    return ".".join(name.split(".")[:2])


def _is_below_the_webhooks(module: str) -> bool:
    return _part(module) in {"calls.deliveries", "calls.reconcile"} or module in {
        "calls.call_table",
        "calls.recordings.writer",
    }


def test_deliveries_writers_and_reconciliation_never_import_the_webhooks():
    upward = {
        module: sorted(name for name in names if _part(name) == "calls.webhooks")
        for module, names in _imports_by_module().items()
        if _is_below_the_webhooks(module)
    }

    assert {module: names for module, names in upward.items() if names} == {}


def test_deliveries_import_nothing_of_calls_but_its_constants():
    imports = _imports_by_module()
    outside = {
        module: sorted(
            name
            for name in names
            if _part(name) != "calls.deliveries" and not name.startswith("calls.constants.")
        )
        for module, names in imports.items()
        if _part(module) == "calls.deliveries"
    }

    assert "calls.deliveries.calls" in imports
    assert {module: names for module, names in outside.items() if names} == {}


def test_no_two_parts_of_calls_import_each_other():
    arrows = {
        (_part(module), _part(name))
        for module, names in _imports_by_module().items()
        for name in names
        if _part(module) != _part(name)
    }

    assert sorted((a, b) for a, b in arrows if (b, a) in arrows) == []
