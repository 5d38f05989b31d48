"""The Slack CLI's view of the project: the hooks it runs (.slack/hooks.json → slack-cli-hooks) and what they print.

`slack run` calls get-hooks, then get-manifest (to create or update the development app from manifest.json), then
start with SLACK_BOT_TOKEN and SLACK_APP_TOKEN in the environment; the app must come up in Socket Mode on them.
"""

from __future__ import annotations

import asyncio
import json
import shlex
import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest

from tests.helpers.fake_slack import FakeSlack
from tests.helpers.metrics import scrape, value
from tests.helpers.processes import ROOT, app_env, free_port, wait_for_http
from tests.helpers.slack_requests import SlackSender


def run_hook(command: str, *extra: str) -> str:
    """A hook command as the CLI runs it: in the project folder, its stdout is the answer."""
    args = shlex.split(command)
    if args[0] in ("python3", "python"):
        args[0] = sys.executable  # this virtual environment's Python, as the CLI's would be
    done = subprocess.run([*args, *extra], cwd=ROOT, capture_output=True, text=True, timeout=60, check=True)
    return done.stdout


def hooks() -> dict:
    return json.loads(run_hook(json.loads((ROOT / ".slack" / "hooks.json").read_text())["hooks"]["get-hooks"]))


def test_the_project_tells_the_cli_to_ask_slack_cli_hooks() -> None:
    config = json.loads((ROOT / ".slack" / "config.json").read_text())
    assert config["manifest"]["source"] == "local"  # manifest.json is the truth, not the app settings page
    assert "apps.dev.json" in (ROOT / ".slack" / ".gitignore").read_text().split()  # the CLI's per-developer app IDs
    requirements = (ROOT / "requirements.txt").read_text().splitlines()
    assert any(line.startswith("slack-cli-hooks==") for line in requirements)


def test_get_hooks_names_get_manifest_and_start() -> None:
    answer = hooks()
    assert answer["runtime"] == "python"
    assert {"get-manifest", "start"} <= set(answer["hooks"])
    assert answer["hooks"]["get-manifest"].endswith("-m slack_cli_hooks.hooks.get_manifest")
    assert answer["hooks"]["start"].endswith("-m slack_cli_hooks.hooks.start")
    assert answer["config"]["watch"]["manifest"]["paths"] == ["manifest.json"]
    assert answer["config"]["sdk-managed-connection-enabled"] is True  # the app opens its own Socket Mode connection


def test_get_hooks_speaks_the_message_boundary_protocol() -> None:
    command = json.loads((ROOT / ".slack" / "hooks.json").read_text())["hooks"]["get-hooks"]
    out = run_hook(command, "--protocol", "message-boundaries", "--boundary", "=B=").strip()
    assert out.startswith("=B=") and out.endswith("=B=")
    assert json.loads(out[3:-3])["runtime"] == "python"


def test_get_manifest_prints_manifest_json_for_a_socket_mode_app() -> None:
    printed = json.loads(run_hook(hooks()["hooks"]["get-manifest"]))
    assert printed == json.loads((ROOT / "manifest.json").read_text())
    assert printed["settings"]["socket_mode_enabled"] is True  # `slack run` needs no public URL
    assert {c["command"] for c in printed["features"]["slash_commands"]} == {"/leave-channel", "/disconnect-shared"}


@pytest.mark.runs_long
async def test_start_runs_app_py_in_socket_mode_with_the_tokens_the_cli_injects(
    fake_slack: FakeSlack, tmp_path: Path
) -> None:
    port = free_port()
    # What `slack run` puts in the environment of the start hook (the tokens), the fake Slack, a port, a database:
    env = app_env(fake_slack, tmp_path, SLACK_APP_TOKEN=fake_slack.app_token, PORT=str(port))
    del env["SLACK_SIGNING_SECRET"]  # the CLI injects none: Socket Mode
    args = shlex.split(hooks()["hooks"]["start"])
    app = await asyncio.create_subprocess_exec(*args, env=env, cwd=ROOT, stderr=asyncio.subprocess.DEVNULL)
    try:
        async with aiohttp.ClientSession() as session:
            await wait_for_http(session, f"http://127.0.0.1:{port}/readyz", app)  # 200 once the socket is open
            assert fake_slack.calls_to("auth.test")  # the bot token was checked
            (socket,) = await fake_slack.wait_for(lambda: fake_slack.sockets, what="a Socket Mode connection")
            command = SlackSender("unused", fake_slack, session).command_body("/leave-channel", "help")
            await socket.send_json(
                {"envelope_id": "cli-1", "type": "slash_commands", "accepts_response_payload": True, "payload": command}
            )
            await fake_slack.wait_for(
                lambda: [m for m in fake_slack.socket_messages if m.get("envelope_id") == "cli-1"], what="the ack"
            )
            samples, _ = await scrape(session, f"http://127.0.0.1:{port}")
            assert value(samples, "channel_admin_requests_total", kind="command", outcome="acked") == 1
    finally:
        app.terminate()
        await asyncio.wait_for(app.wait(), timeout=20)
