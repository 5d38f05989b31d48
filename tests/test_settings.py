"""Settings: each missing or malformed one stops the app with one line that names it, and no traceback."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import aiohttp
import pytest

from services.settings import DEFAULT_API_URL, SettingsError, load_settings
from tests.helpers.fake_slack import FakeSlack
from tests.helpers.processes import free_port
from tests.helpers.slack_requests import SIGNING_SECRET

ROOT = Path(__file__).resolve().parent.parent
GOOD = {"SLACK_BOT_TOKEN": "xoxb-1-2-abc", "SLACK_SIGNING_SECRET": "secret"}


def test_defaults() -> None:
    settings = load_settings(GOOD, env_file=None)
    assert settings.api_url == DEFAULT_API_URL
    assert settings.port == 3000
    assert settings.log_level == "INFO"
    assert settings.retry_backoff_seconds == 0.5  # slack_sdk's own backoff factor
    assert not settings.socket_mode


def test_env_file_is_read_and_the_environment_wins(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("SLACK_BOT_TOKEN=xoxb-from-file\nSLACK_SIGNING_SECRET=s\nPORT=4000\n")
    settings = load_settings({"PORT": "5000"}, env_file=str(env_file))
    assert settings.bot_token == "xoxb-from-file"
    assert settings.port == 5000


def test_api_url_gets_its_trailing_slash() -> None:
    assert load_settings({**GOOD, "SLACK_API_URL": "https://slack-gov.com/api"}, env_file=None).api_url == (
        "https://slack-gov.com/api/"
    )


def test_socket_mode_needs_no_signing_secret() -> None:
    settings = load_settings({"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xapp-1-A-1-x"}, env_file=None)
    assert settings.socket_mode


BAD = [
    ({"SLACK_SIGNING_SECRET": "s"}, "SLACK_BOT_TOKEN is not set", "OAuth & Permissions"),
    ({**GOOD, "SLACK_BOT_TOKEN": "xoxp-user-token"}, "SLACK_BOT_TOKEN must start with xoxb-", "OAuth & Permissions"),
    ({"SLACK_BOT_TOKEN": "xoxb-1"}, "SLACK_SIGNING_SECRET is not set", "Basic Information > App Credentials"),
    ({**GOOD, "SLACK_APP_TOKEN": "xoxb-wrong"}, "SLACK_APP_TOKEN must start with xapp-", "App-Level Tokens"),
    ({**GOOD, "PORT": "eighty"}, "PORT must be", ""),
    ({**GOOD, "PORT": "70000"}, "PORT must be", ""),
    ({**GOOD, "LOG_LEVEL": "LOUD"}, "LOG_LEVEL must be", ""),
    ({**GOOD, "SLACK_API_URL": "slack.com/api"}, "SLACK_API_URL must be", ""),
    ({**GOOD, "SLACK_API_TIMEOUT": "0"}, "SLACK_API_TIMEOUT must be", ""),
    ({**GOOD, "SLACK_RETRY_BACKOFF_SECONDS": "soon"}, "SLACK_RETRY_BACKOFF_SECONDS must be", ""),
    (
        {**GOOD, "SLACK_RETRY_BACKOFF_SECONDS": "0.01"},
        "SLACK_RETRY_BACKOFF_SECONDS must be a number from 0.1 to 10",
        "",
    ),
    ({**GOOD, "LOG_FORMAT": "xml"}, "LOG_FORMAT must be text", ""),
    ({**GOOD, "METRICS_ENABLED": "maybe"}, "METRICS_ENABLED must be true or false", ""),
]


@pytest.mark.parametrize(("environ", "starts", "where"), BAD)
def test_bad_setting_raises_one_line_naming_it(environ: dict, starts: str, where: str) -> None:
    with pytest.raises(SettingsError) as raised:
        load_settings(environ, env_file=None)
    message = str(raised.value)
    assert message.startswith(starts)
    assert where in message
    assert "\n" not in message


def run_app(env: dict[str, str], cwd: Path) -> tuple[int, str]:
    import subprocess

    clean = {"PATH": os.environ.get("PATH", ""), **env}
    done = subprocess.run(
        [sys.executable, str(ROOT / "app.py")], env=clean, cwd=cwd, capture_output=True, text=True, timeout=60
    )
    return done.returncode, done.stderr


@pytest.mark.parametrize(("environ", "starts", "_where"), BAD[:4])
def test_app_exits_with_one_line_and_no_traceback(tmp_path: Path, environ: dict, starts: str, _where: str) -> None:
    code, stderr = run_app(environ, tmp_path)
    assert code != 0
    assert "Traceback" not in stderr
    assert stderr.strip().count("\n") == 0
    assert stderr.startswith(f"Configuration error: {starts}")


async def test_app_exits_with_one_line_when_slack_rejects_the_token(tmp_path: Path, fake_slack: FakeSlack) -> None:
    env = {"SLACK_BOT_TOKEN": "xoxb-revoked", "SLACK_SIGNING_SECRET": "s", "SLACK_API_URL": fake_slack.api_url}
    code, stderr = await asyncio.to_thread(run_app, env, tmp_path)
    assert code != 0
    assert "Traceback" not in stderr
    assert stderr.strip().splitlines() == [
        "Start-up error: SLACK_BOT_TOKEN was rejected by Slack (invalid_auth): copy the current Bot User OAuth Token "
        "from OAuth & Permissions in your app's settings (reinstall the app if it was removed)."
    ]


@pytest.mark.runs_long
async def test_python_app_py_serves_health_and_events(tmp_path: Path, fake_slack: FakeSlack) -> None:
    """`python app.py` in HTTP mode: the README's run command, for real."""
    port = free_port()
    env = {
        "PATH": os.environ.get("PATH", ""),
        "SLACK_BOT_TOKEN": fake_slack.bot_token,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": fake_slack.api_url,
        "PORT": str(port),
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable, str(ROOT / "app.py"), env=env, cwd=tmp_path, stderr=asyncio.subprocess.PIPE
    )
    try:
        async with aiohttp.ClientSession() as session:
            status = None
            for _ in range(500):
                try:
                    async with session.get(f"http://127.0.0.1:{port}/healthz") as response:
                        status = response.status
                        break
                except aiohttp.ClientConnectionError:
                    await asyncio.sleep(0.02)
            assert status == 200
            async with session.post(f"http://127.0.0.1:{port}/slack/events", data=b"x=1") as response:
                assert response.status == 401  # unsigned: refused
    finally:
        process.terminate()
        await process.wait()


def test_admin_user_ids_tolerate_spaces_and_empty_items() -> None:
    settings = load_settings({**GOOD, "ADMIN_USER_IDS": " U0123ABCD , ,U0456DEFG,, "}, env_file=None)
    assert settings.admin_user_ids == frozenset({"U0123ABCD", "U0456DEFG"})
    assert load_settings({**GOOD, "ADMIN_USER_IDS": " , "}, env_file=None).admin_user_ids == frozenset()


def test_admin_user_ids_refuse_what_is_not_a_user_id() -> None:
    with pytest.raises(SettingsError, match="ADMIN_USER_IDS"):
        load_settings({**GOOD, "ADMIN_USER_IDS": "U0123ABCD, @alice"}, env_file=None)


def test_audit_channel_id_is_optional_and_must_be_a_channel_id() -> None:
    assert load_settings(GOOD, env_file=None).audit_channel_id is None
    assert load_settings({**GOOD, "AUDIT_CHANNEL_ID": " C0123ABCD "}, env_file=None).audit_channel_id == "C0123ABCD"
    with pytest.raises(SettingsError, match=r"^AUDIT_CHANNEL_ID must be a channel ID"):
        load_settings({**GOOD, "AUDIT_CHANNEL_ID": "#admin-audit"}, env_file=None)
