from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aiohttp
import pytest

from app import build_app
from runtime.server import start_http
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
    values: dict = dict(
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
def app_settings(fake_slack: FakeSlack, tmp_path) -> Settings:
    return settings_for(fake_slack, database_url=f"sqlite+aiosqlite:///{tmp_path}/audit.db")


@asynccontextmanager
async def running_app(fake: FakeSlack, settings: Settings) -> AsyncIterator[SlackSender]:
    """The app serving on a free port, and a sender that talks to it as Slack does."""
    built = await build_app(settings)
    runner, port = await start_http(built.bolt, "127.0.0.1", 0)
    try:
        async with aiohttp.ClientSession() as session:
            yield SlackSender(f"http://127.0.0.1:{port}", fake, session, built)
    finally:
        await runner.cleanup()
        await built.close()


@pytest.fixture
async def slack(fake_slack: FakeSlack, app_settings: Settings) -> AsyncIterator[SlackSender]:
    async with running_app(fake_slack, app_settings) as sender:
        yield sender
