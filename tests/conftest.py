"""Fixtures only; what tests import lives in tests/helpers/."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from services.settings import Settings
from tests.helpers.app import (
    POSTGRES_REQUIRED,
    POSTGRES_URL,
    Org,
    Partner,
    empty_at_newest_schema,
    for_this_worker,
    migrated_sqlite_file,
    reset_database,
    running_app,
    settings_for,
    suite_database,
)
from tests.helpers.fake_slack import FakeSlack
from tests.helpers.slack_requests import SlackSender


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The `runs_long` tests first (in their order): see addopts in pyproject.toml."""
    items.sort(key=lambda item: item.get_closest_marker("runs_long") is None)


@pytest.fixture
async def fake_slack() -> AsyncIterator[FakeSlack]:
    fake = FakeSlack()
    await fake.start()
    yield fake
    await fake.stop()


def no_postgres(reason: str | None) -> None:
    """Skip (no server here), or fail when TEST_POSTGRES_URL was set and its server can't be used."""
    if reason is None:
        return
    if POSTGRES_REQUIRED:
        pytest.fail(f"TEST_POSTGRES_URL is set but its server can't be used: {reason}")
    pytest.skip(f"no PostgreSQL server at TEST_POSTGRES_URL ({reason}); .ci/run installs and starts one")


@pytest.fixture(params=["sqlite", "postgresql"])
async def database_url(request: pytest.FixtureRequest, tmp_path) -> str:
    """For storage tests: an empty database, a fresh SQLite file and a real PostgreSQL server (skipped with the reason
    if none answers)."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path}/app.db"
    no_postgres(await reset_database(POSTGRES_URL))
    return for_this_worker(POSTGRES_URL)


@pytest.fixture(params=["sqlite", "postgresql"])
async def migrated_database_url(request: pytest.FixtureRequest, tmp_path) -> str:
    """For the app's storage on both databases: the newest schema, no rows (PostgreSQL skipped with the reason if
    none answers)."""
    if request.param == "sqlite":
        return await migrated_sqlite_file(tmp_path / "app.db")
    no_postgres(await empty_at_newest_schema(POSTGRES_URL))
    return for_this_worker(POSTGRES_URL)


@pytest.fixture
async def app_database_url(tmp_path) -> str:
    """The database the app runs on in this run, for tests that start it as processes: a migrated SQLite file, or
    TEST_DATABASE_URL's PostgreSQL database (emptied), as for every other test of the app."""
    return await suite_database(tmp_path)


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    """What a module changes in the app's settings (override this fixture in the module)."""
    return {}


@pytest.fixture
async def app_settings(fake_slack: FakeSlack, tmp_path, settings_overrides: dict[str, Any]) -> Settings:
    return settings_for(fake_slack, database_url=await suite_database(tmp_path), **settings_overrides)


@pytest.fixture
async def slack(fake_slack: FakeSlack, app_settings: Settings) -> AsyncIterator[SlackSender]:
    async with running_app(fake_slack, app_settings) as sender:
        yield sender


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
