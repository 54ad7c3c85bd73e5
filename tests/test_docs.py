"""The manual names only what exists, and documents every setting the server reads."""

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
TOP_LEVEL = (
    "agents/",
    "bin/",
    "benches/",
    "calls/",
    "demo/",
    "docs/",
    "inbound/",
    "tests/",
    "tokens/",
    "templates/",
    "twilio_fakes/",
    "voiceproject/",
    ".ci/",
)
# A code span that is a path of ours starts with one of our folders.
CODE_SPAN = re.compile(r"`([^`\s]+)`")
LINK = re.compile(r"\]\(([^)\s#]+)(?:#[^)]*)?\)")
READERS = {
    "env_str",
    "env_bool",
    "env_int",
    "env_float",
    "env_choice",
    "env_pattern",
    "env_sid",
    "env_url",
    "env_list",
    "_raw",
}


def mentioned_paths(page: Path) -> set[str]:
    text = page.read_text()
    paths = set()
    for span in CODE_SPAN.findall(text):
        candidate = span.split(":", 1)[0].rstrip(".,")
        if candidate.startswith(TOP_LEVEL) and "…" not in candidate and "<" not in candidate:
            paths.add(candidate)
    return paths


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.name)
def test_every_path_the_manual_names_exists(page):
    missing = sorted(path for path in mentioned_paths(page) if not (ROOT / path).exists())
    assert missing == []


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.name)
def test_every_link_between_pages_resolves(page):
    links = [link for link in LINK.findall(page.read_text()) if "://" not in link]
    missing = [link for link in links if not (page.parent / link).exists()]
    assert missing == []


def settings_read_from_environment() -> set[str]:
    names = set()
    for source in (ROOT / "voiceproject" / "settings.py", ROOT / "gunicorn.conf.py"):
        for node in ast.walk(ast.parse(source.read_text())):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            function = node.func
            called = (
                function.id if isinstance(function, ast.Name) else getattr(function, "attr", "")
            )
            first = node.args[0]
            reads_environment = called in READERS or (
                called == "get" and ast.unparse(function).startswith("os.environ")
            )
            if (
                reads_environment
                and isinstance(first, ast.Constant)
                and isinstance(first.value, str)
            ):
                names.add(first.value)
    return names


def test_every_setting_read_from_the_environment_is_documented():
    reference = (ROOT / "docs" / "configuration.md").read_text()
    names = settings_read_from_environment()
    assert len(names) > 40
    assert sorted(name for name in names if f"`{name}`" not in reference) == []
