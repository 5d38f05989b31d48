""".env.example lists every setting services/settings.py reads, each with a comment, and nothing it doesn't read."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from services.settings import load_settings

ROOT = Path(__file__).resolve().parent.parent
NAME = re.compile(r"[A-Z][A-Z0-9_]*")


def names_read_by_settings() -> set[str]:
    """Every NAME in `values.get("NAME")`, or passed as a string next to `values` (helpers such as _seconds)."""
    tree = ast.parse((ROOT / "services" / "settings.py").read_text())
    found: set[str] = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        reads_values = (
            isinstance(func, ast.Attribute) and func.attr == "get" and isinstance(func.value, ast.Name)
        ) and func.value.id == "values"
        passes_values = any(isinstance(arg, ast.Name) and arg.id == "values" for arg in node.args)
        if reads_values or passes_values:
            found.update(
                arg.value
                for arg in node.args
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str) and NAME.fullmatch(arg.value)
            )
    return found


def example_entries() -> dict[str, list[str]]:
    """NAME -> the comment block above its `NAME=value` line (lines in one block with no blank line share it)."""
    entries: dict[str, list[str]] = {}
    comments: list[str] = []
    for line in (ROOT / ".env.example").read_text().splitlines():
        if not line.strip():
            comments = []
        elif line.startswith("#"):
            comments.append(line)
        else:
            name = line.split("=", 1)[0].strip()
            assert name not in entries, f"{name} is in .env.example twice"
            entries[name] = list(comments)
    return entries


def test_the_parser_finds_what_it_should() -> None:
    names = names_read_by_settings()
    assert {"SLACK_BOT_TOKEN", "SLACK_CLIENT_ID", "SLACK_CLIENT_SECRET", "DATABASE_URL", "LOG_FORMAT"} <= names


def test_env_example_and_settings_are_in_step() -> None:
    read = names_read_by_settings()
    listed = set(example_entries())
    assert sorted(read - listed) == [], "read by services/settings.py, missing from .env.example"
    assert sorted(listed - read) == [], "in .env.example, but services/settings.py never reads it"


def test_every_example_setting_has_a_comment() -> None:
    assert [name for name, comments in example_entries().items() if not comments] == []


def test_the_example_values_are_the_defaults() -> None:
    """Copied as is (with the one secret HTTP mode needs), .env.example gives the settings' own defaults."""
    from_example = load_settings({"SLACK_SIGNING_SECRET": "s"}, env_file=str(ROOT / ".env.example"))
    defaults = load_settings({"SLACK_BOT_TOKEN": "xoxb-", "SLACK_SIGNING_SECRET": "s"}, env_file=None)
    assert from_example == defaults
