from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import aiohttp
import pytest
from sqlalchemy import MetaData, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import create_async_engine

from app import build_app
from server.app import start_http
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


# .ci/run starts a PostgreSQL server and points this at it; elsewhere the PostgreSQL half of the storage tests skips.
POSTGRES_URL = os.environ.get(
    "TEST_POSTGRES_URL", "postgresql+psycopg://channel_admin:channel_admin@127.0.0.1:5432/channel_admin_test"
)
# Set (to a PostgreSQL URL) to run the whole suite against that database instead of a SQLite file per test.
SUITE_DATABASE_URL = os.environ.get("TEST_DATABASE_URL")


def for_this_worker(url: str) -> str:
    """Under pytest-xdist each worker gets its own PostgreSQL database (`<name>_gw0`, …): tests reset theirs freely."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not worker or not url.startswith("postgresql"):
        return url
    parsed = make_url(url)
    return parsed.set(database=f"{parsed.database}_{worker}").render_as_string(hide_password=False)


async def ensure_database(url: str) -> None:
    """Create the database of a PostgreSQL URL if it doesn't exist (the test role may create databases)."""
    parsed = make_url(url)
    engine = create_async_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        for attempt in range(5):  # workers creating theirs at once may find template1 busy for a moment
            try:
                async with engine.connect() as conn:
                    query = text("SELECT 1 FROM pg_database WHERE datname = :n")
                    if (await conn.execute(query, {"n": parsed.database})).first() is None:
                        await conn.execute(text(f'CREATE DATABASE "{parsed.database}"'))
                return
            except SQLAlchemyError:
                if attempt == 4:
                    raise
                await asyncio.sleep(0.2 * (attempt + 1))
    finally:
        await engine.dispose()


async def reset_database(url: str) -> str | None:
    """Drop every table in the database; returns why the server can't be used, or None."""
    if url.startswith("postgresql") and url != for_this_worker(url):
        try:
            await ensure_database(for_this_worker(url))
        except (OSError, SQLAlchemyError) as e:
            return f"{type(e).__name__}: {str(e).splitlines()[0][:160]}"
        url = for_this_worker(url)
    engine = create_async_engine(url)
    try:
        async with engine.begin() as conn:

            def drop_all(sync_conn) -> None:
                existing = MetaData()
                existing.reflect(sync_conn)
                existing.drop_all(sync_conn)

            await conn.run_sync(drop_all)
    except (OSError, SQLAlchemyError) as e:
        return f"{type(e).__name__}: {str(e).splitlines()[0][:160]}"
    finally:
        await engine.dispose()
    return None


async def suite_database(tmp_path) -> str:
    if SUITE_DATABASE_URL:
        reason = await reset_database(SUITE_DATABASE_URL)
        assert reason is None, f"TEST_DATABASE_URL is set but unusable: {reason}"
        return for_this_worker(SUITE_DATABASE_URL)
    return f"sqlite+aiosqlite:///{tmp_path}/app.db"


@pytest.fixture(params=["sqlite", "postgresql"])
async def database_url(request: pytest.FixtureRequest, tmp_path) -> str:
    """For storage tests: a fresh SQLite file, and a real PostgreSQL server (skipped with the reason if none)."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path}/app.db"
    reason = await reset_database(POSTGRES_URL)
    if reason is not None:
        pytest.skip(f"no PostgreSQL server at TEST_POSTGRES_URL ({reason}); .ci/run installs and starts one")
    return for_this_worker(POSTGRES_URL)


@pytest.fixture
async def app_settings(fake_slack: FakeSlack, tmp_path) -> Settings:
    return settings_for(fake_slack, database_url=await suite_database(tmp_path))


@asynccontextmanager
async def running_app(fake: FakeSlack, settings: Settings) -> AsyncIterator[SlackSender]:
    """The app serving on a free port, and a sender that talks to it as Slack does."""
    built = await build_app(settings)
    runner, port = await start_http(
        built.bolt, "127.0.0.1", 0, signing_secret=settings.signing_secret, readiness=built.readiness
    )
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


@dataclass
class Org:
    """An Enterprise Grid org in the fake: the home workspace, two partner workspaces, an admin token."""

    admin: str  # a user who is an Org Admin
    member: str  # a user who is not
    admin_token: str  # the Org Admin's xoxp- token the app is configured with
    alpha: str
    beta: str


@pytest.fixture
def org(fake_slack: FakeSlack) -> Org:
    fake_slack.make_grid()
    return Org(
        admin=fake_slack.add_user(org_admin=True),
        member=fake_slack.add_user(workspace_admin=True),  # a workspace admin in a Grid is not an Org Admin
        admin_token=fake_slack.add_admin_token(),
        alpha=fake_slack.add_team("Alpha Partners"),
        beta=fake_slack.add_team("Beta Vendors"),
    )


@dataclass
class Partner:
    """Slack Connect partners of the `org` fixture's org: another Enterprise org (one workspace, an Org Admin and that
    admin's user token) and a standalone workspace."""

    org: str  # the partner org's E…
    workspace: str  # a workspace of that org (T…)
    admin: str  # an Org Admin of the partner org
    admin_token: str  # their xoxp- token
    standalone: str  # a standalone workspace (no Enterprise org)


@pytest.fixture
def partner(fake_slack: FakeSlack, org: Org) -> Partner:
    enterprise_id = fake_slack.add_org("Partner Corp")
    workspace = fake_slack.add_team("Partner HQ", enterprise_id=enterprise_id)
    token = fake_slack.add_admin_token(team_id=workspace)
    return Partner(
        org=enterprise_id,
        workspace=workspace,
        admin=fake_slack.tokens[token]["user_id"],
        admin_token=token,
        standalone=fake_slack.add_team("Solo Studio"),
    )
