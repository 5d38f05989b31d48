from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from app import build_app
from server import start_http
from services.settings import Settings
from tests.fake_slack import FakeSlack
from tests.slack_requests import SIGNING_SECRET, SlackSender


@pytest.fixture
async def fake_slack() -> AsyncIterator[FakeSlack]:
    fake = FakeSlack()
    await fake.start()
    yield fake
    await fake.stop()


def settings_for(fake: FakeSlack, **overrides) -> Settings:
    values = dict(
        bot_token=fake.bot_token,
        signing_secret=SIGNING_SECRET,
        app_token=None,
        api_url=fake.api_url,
        port=0,
        log_level="INFO",
        api_timeout=5.0,
    )
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
def app_settings(fake_slack: FakeSlack) -> Settings:
    return settings_for(fake_slack)


@pytest.fixture
async def slack(fake_slack: FakeSlack, app_settings: Settings) -> AsyncIterator[SlackSender]:
    """The app serving on a free port, and a sender that talks to it as Slack does."""
    app = await build_app(app_settings)
    runner, port = await start_http(app, "127.0.0.1", 0)
    async with aiohttp.ClientSession() as session:
        yield SlackSender(f"http://127.0.0.1:{port}", fake_slack, session)
    await runner.cleanup()
    await app.client.session.close()
