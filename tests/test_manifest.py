"""manifest.json: valid against Slack's published schema, and declaring what the app uses."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema

from services.scopes import BOT_SCOPES, USER_SCOPES

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = ROOT.parent / "shared" / "manifest-schema" / "manifest.schema.1.0.0.json"


def manifest() -> dict:
    return json.loads((ROOT / "manifest.json").read_text())


def test_manifest_validates_against_slacks_schema() -> None:
    assert SCHEMA.exists(), f"Slack's manifest schema is expected beside the repo at {SCHEMA}"
    jsonschema.validate(manifest(), json.loads(SCHEMA.read_text()))


def test_manifest_rejects_an_unknown_key_so_the_check_is_real() -> None:
    bad = {**manifest(), "not_a_manifest_key": True}
    try:
        jsonschema.validate(bad, json.loads(SCHEMA.read_text()))
    except jsonschema.ValidationError:
        return
    raise AssertionError("an unknown top-level key passed Slack's schema")


def test_manifest_declares_both_commands_escaped_with_hints() -> None:
    commands = {c["command"]: c for c in manifest()["features"]["slash_commands"]}
    assert set(commands) == {"/leave-channel", "/disconnect-shared"}
    for command in commands.values():
        assert command["should_escape"] is True
        assert command["description"] and command["usage_hint"]


def test_manifest_asks_for_the_least_scopes_the_features_need() -> None:
    data = manifest()
    scopes = data["oauth_config"]["scopes"]
    assert sorted(scopes["bot"]) == sorted(BOT_SCOPES)
    assert scopes["user"] == USER_SCOPES == ["admin.conversations:write"]
    assert data["settings"]["org_deploy_enabled"] is True
    assert data["settings"]["interactivity"]["is_enabled"] is True


def test_manifest_subscribes_to_the_events_the_app_handles_and_shows_the_home_tab() -> None:
    data = manifest()
    events = data["settings"]["event_subscriptions"]["bot_events"]
    assert sorted(events) == ["app_home_opened", "app_uninstalled", "tokens_revoked"]
    assert data["features"]["app_home"]["home_tab_enabled"] is True
