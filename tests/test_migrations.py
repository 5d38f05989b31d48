"""Alembic migrations: a database made by the release before them is adopted with every row; models and migrations
agree; instances starting at once migrate once; `python -m services.storage.migrate` from a shell. SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from slack_sdk.oauth.installation_store import Installation
from slack_sdk.oauth.installation_store.sqlalchemy import AsyncSQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.sqlalchemy import AsyncSQLAlchemyOAuthStateStore
from sqlalchemy import MetaData, insert, inspect, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from services.storage.database import Database, create_engine_for
from services.storage.migrate import APP_TABLES, SLACK_TABLES, current, main, target_metadata, upgrade
from services.storage.tables import metadata as app_metadata
from tests.helpers.processes import ROOT


def newest_revision() -> str:
    from alembic.script import ScriptDirectory

    from services.storage.migrate import alembic_config

    return ScriptDirectory.from_config(alembic_config()).get_current_head() or ""


HEAD = newest_revision()
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


def release_before_migrations(with_oauth: bool) -> list[MetaData]:
    """What the release before migrations gave create_all: its three tables, and with OAuth slack_sdk's stores'."""
    app = MetaData()
    for name in APP_TABLES:
        app_metadata.tables[name].to_metadata(app)
    if not with_oauth:
        return [app]
    slack = MetaData()  # the stores' own table builders, as their constructors call them
    AsyncSQLAlchemyInstallationStore.build_installations_table(slack, "slack_installations")
    AsyncSQLAlchemyInstallationStore.build_bots_table(slack, "slack_bots")
    AsyncSQLAlchemyOAuthStateStore.build_oauth_states_table(slack, "slack_oauth_states")
    return [app, slack]


async def build_old_database(url: str, with_oauth: bool) -> None:
    """The current release's start-up path: create_all under the schema lock, then rows in every table."""
    engine = create_engine_for(url)
    try:
        async with engine.begin() as conn:
            for metadata in release_before_migrations(with_oauth):
                await conn.run_sync(metadata.create_all, checkfirst=True)
            tables = app_metadata.tables
            await conn.execute(
                insert(tables["audit_log"]),
                [
                    {"at": NOW, "action": "disconnect_shared", "event": "refused", "user_id": "U0001",
                     "enterprise_id": "E0001", "team_id": "T0001", "channel_id": "C0001", "leaving_team_id": None,
                     "outcome": "not_admin"},
                    {"at": NOW + timedelta(seconds=1), "action": "disconnect_shared_dry_run", "event": "dry_run",
                     "user_id": "U0002", "enterprise_id": None, "team_id": "T0001", "channel_id": "C0002",
                     "leaving_team_id": "T0009", "outcome": "would_disconnect"},
                ],
            )  # fmt: skip
            await conn.execute(
                insert(tables["rejoin_offer"]).values(
                    id="a" * 32, created_at=NOW, user_id="U0001", public_ids="C1,C2", private_ids="G1",
                    summary="Left 3 channels.", claimed_at=None,
                )
            )  # fmt: skip
            await conn.execute(insert(tables["handled_request"]).values(key="confirm:V1:U0001", at=NOW))
        if with_oauth:
            store = AsyncSQLAlchemyInstallationStore(client_id="1.2", engine=engine)
            await store.async_save(
                Installation(
                    app_id="A0FAKEAPP", enterprise_id="E0001", team_id=None, user_id="U0001", bot_token="xoxb-old",
                    bot_id="B0001", bot_user_id="U0BOT", bot_scopes="commands,chat:write", user_token="xoxp-old",
                    user_scopes="admin.conversations:write", is_enterprise_install=True, installed_at=1_700_000_000.0,
                )
            )  # fmt: skip
            await AsyncSQLAlchemyOAuthStateStore(expiration_seconds=600, engine=engine).async_issue()
    finally:
        await engine.dispose()


async def every_row(engine: AsyncEngine) -> dict[str, list[dict[str, Any]]]:
    """Each table's rows, in key order (alembic_version left out)."""
    async with engine.connect() as conn:
        names = await conn.run_sync(lambda c: inspect(c).get_table_names())
        reflected = MetaData()
        await conn.run_sync(reflected.reflect)
        rows = {}
        for name in sorted(n for n in names if n != "alembic_version"):
            table = reflected.tables[name]
            result = await conn.execute(select(table).order_by(*table.primary_key.columns))
            rows[name] = [dict(r._mapping) for r in result]
    return rows


@pytest.mark.parametrize("with_oauth", [True, False], ids=["oauth", "bot token"])
async def test_a_database_made_before_migrations_is_adopted_with_every_row(database_url: str, with_oauth: bool) -> None:
    await build_old_database(database_url, with_oauth)
    engine = create_engine_for(database_url)
    try:
        before = await every_row(engine)
        assert sorted(before) == sorted([*APP_TABLES, *(SLACK_TABLES if with_oauth else ())])
        assert all(before[name] for name in before), "a row in every table"

        assert await upgrade(database_url) == (None, HEAD)

        after = await every_row(engine)
        assert {*APP_TABLES, *SLACK_TABLES} <= set(after)  # a bot-token database gains the OAuth tables
        for name, rows in before.items():
            assert after[name] == rows, name
        if with_oauth:  # and the app still finds what it stored
            store = AsyncSQLAlchemyInstallationStore(client_id="1.2", engine=engine)
            found = await store.async_find_installation(enterprise_id="E0001", team_id=None, is_enterprise_install=True)
            assert found is not None and found.user_token == "xoxp-old"
        assert await upgrade(database_url) == (HEAD, HEAD)  # again: nothing to do
        assert await every_row(engine) == after
    finally:
        await engine.dispose()


async def test_models_and_migrations_agree(database_url: str) -> None:
    """What autogenerate would write for a fresh database brought to head: nothing (`alembic check` in a test)."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    await upgrade(database_url)
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as conn:
            diff = await conn.run_sync(
                lambda c: compare_metadata(
                    MigrationContext.configure(c, opts={"compare_type": True}), target_metadata()
                )
            )
    finally:
        await engine.dispose()
    assert diff == [], "models changed without a migration: alembic revision --autogenerate -m '…'"


async def test_downgrade_and_upgrade_again(database_url: str) -> None:
    from alembic import command

    from services.storage.migrate import _migration_engine, alembic_config

    await upgrade(database_url)
    engine = _migration_engine(database_url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(lambda c: command.downgrade(alembic_config(c), "base"))
            left = await conn.run_sync(lambda c: inspect(c).get_table_names())
    finally:
        await engine.dispose()
    assert left == ["alembic_version"]
    assert await upgrade(database_url) == (None, HEAD)


async def test_instances_starting_at_once_migrate_once(database_url: str) -> None:
    results = await asyncio.gather(*(upgrade(database_url) for _ in range(4)))
    assert sorted(results, key=str) == sorted([(None, HEAD)] + [(HEAD, HEAD)] * 3, key=str)
    assert (await current(database_url)) == (HEAD, HEAD)


async def test_the_app_migrates_on_first_use(database_url: str) -> None:
    from services.audit.log import AuditEntry, AuditEvent, AuditLog

    database = Database(database_url)
    try:
        await asyncio.gather(
            *(AuditLog(database).record(AuditEntry(AuditEvent.REFUSED, f"U{i}", "x")) for i in range(5))
        )
        engine = await database.engine()
        async with engine.connect() as conn:
            assert (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalar_one() == HEAD
    finally:
        await database.close()


def test_python_m_services_migrate(tmp_path, capsys) -> None:
    url = f"sqlite:///{tmp_path}/shell.db"  # written as people write it: the app adds the async driver

    def run(*args: str) -> str:
        main(["--database-url", url, *args])
        return capsys.readouterr().out.strip()

    def from_a_shell(*args: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "services.storage.migrate", "--database-url", url, *args],
            cwd=ROOT, capture_output=True, text=True, timeout=60, check=True,
        )  # fmt: skip
        return done.stdout.strip()

    assert run("--current") == f"at nothing (no migrations applied); newest {HEAD}"
    assert from_a_shell() == f"upgraded from nothing to {HEAD}"
    assert run() == f"already at {HEAD}"
    assert run("--current") == f"at {HEAD}; newest {HEAD}"


async def test_a_sqlite_database_folder_is_created_on_first_use(tmp_path) -> None:
    from services.storage.migrate import upgrade

    url = f"sqlite+aiosqlite:///{tmp_path}/nested/dir/audit.db"
    await upgrade(url)
    await upgrade(url)  # idempotent
    assert (tmp_path / "nested" / "dir" / "audit.db").exists()
