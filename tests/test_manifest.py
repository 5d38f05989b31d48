"""The two manifests: valid against Slack's published schema, declaring what the app uses, and the same app.

manifest.json installs anywhere (bot scopes only); manifest.enterprise.json is the same app for an Enterprise org that
wants /disconnect-shared, adding the admin user scope and nothing else.
"""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from services.slack.scopes import ADMIN_USER_SCOPES, BOT_SCOPES, USER_SCOPES

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = ROOT.parent / "shared" / "manifest-schema" / "manifest.schema.1.0.0.json"
MANIFESTS = ["manifest.json", "manifest.enterprise.json"]


def manifest(name: str = "manifest.json") -> dict:
    return json.loads((ROOT / name).read_text())


def schema() -> dict:
    if not SCHEMA.exists():
        pytest.skip(f"Slack's manifest schema is not beside the repo ({SCHEMA})")
    return json.loads(SCHEMA.read_text())


@pytest.mark.parametrize("name", MANIFESTS)
def test_manifest_validates_against_slacks_schema(name: str) -> None:
    jsonschema.validate(manifest(name), schema())


def test_manifest_declares_both_commands_escaped_with_hints() -> None:
    commands = {c["command"]: c for c in manifest()["features"]["slash_commands"]}
    assert set(commands) == {"/leave-channel", "/disconnect-shared"}
    for command in commands.values():
        assert command["should_escape"] is True
        assert command["description"] and command["usage_hint"]


def test_manifest_asks_for_bot_scopes_only_so_any_workspace_can_install() -> None:
    data = manifest()
    assert data["oauth_config"]["scopes"] == {"bot": data["oauth_config"]["scopes"]["bot"]}  # no user scopes at all
    assert sorted(data["oauth_config"]["scopes"]["bot"]) == sorted(BOT_SCOPES)
    assert USER_SCOPES == []
    assert data["settings"]["org_deploy_enabled"] is True  # org-wide installs stay possible
    assert data["settings"]["interactivity"]["is_enabled"] is True


def test_the_enterprise_manifest_is_the_same_app_plus_the_admin_user_scope() -> None:
    plain, enterprise = manifest(), manifest("manifest.enterprise.json")
    assert (
        enterprise["oauth_config"]["scopes"]["user"]
        == ADMIN_USER_SCOPES
        == [
            "admin.conversations:write",
            "admin.conversations:read",
        ]
    )
    assert "admin.conversations:read" not in json.dumps(plain)
    assert sorted(enterprise["oauth_config"]["scopes"]["bot"]) == sorted(BOT_SCOPES)
    del enterprise["oauth_config"]["scopes"]["user"]
    # Token rotation: on for the Enterprise app (installed through OAuth, renewed by the app: docs/tokens.md), off for
    # the default one, whose pasted Bot User OAuth Token nothing could renew (Slack can't turn rotation off again).
    assert (enterprise["settings"].pop("token_rotation_enabled"), plain["settings"].pop("token_rotation_enabled")) == (
        True,
        False,
    )
    assert enterprise == plain


def test_manifest_subscribes_to_the_events_the_app_handles_and_shows_the_home_tab() -> None:
    data = manifest()
    events = data["settings"]["event_subscriptions"]["bot_events"]
    assert sorted(events) == ["app_home_opened", "app_uninstalled", "tokens_revoked"]
    assert data["features"]["app_home"]["home_tab_enabled"] is True
