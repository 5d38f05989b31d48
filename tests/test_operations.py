"""GET /healthz and GET /readyz as a load balancer or Kubernetes probe sees them, over HTTP."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.helpers.app import running_app, settings_for
from tests.helpers.fake_slack import FakeSlack
from tests.helpers.processes import free_port
from tests.helpers.slack_requests import SlackSender


async def get(slack: SlackSender, path: str) -> tuple[int, str]:
    async with slack.session.get(slack.base_url + path) as response:
        return response.status, await response.text()


async def test_healthz_and_readyz_answer_200_when_all_is_well(slack: SlackSender) -> None:
    """On the suite's database: a SQLite file, or PostgreSQL when the suite runs on it (TEST_DATABASE_URL)."""
    assert await get(slack, "/healthz") == (200, '{"ok": true}')
    assert await get(slack, "/readyz") == (200, "ready\n")


async def test_readyz_turns_503_when_the_sqlite_file_is_gone(fake_slack: FakeSlack, tmp_path: Path) -> None:
    folder = tmp_path / "data"
    settings = settings_for(fake_slack, database_url=f"sqlite+aiosqlite:///{folder}/app.db")
    async with running_app(fake_slack, settings) as slack:
        assert await get(slack, "/readyz") == (200, "ready\n")
        shutil.rmtree(folder)
        folder.write_text("not a folder")  # the path can't come back as a database either
        assert await get(slack, "/readyz") == (503, "not ready: the database file is gone\n")
        assert (await get(slack, "/healthz"))[0] == 200  # alive all the same: no restart needed for a database


async def test_readyz_is_503_when_the_sqlite_path_cannot_be_a_database(fake_slack: FakeSlack, tmp_path: Path) -> None:
    (tmp_path / "data").write_text("a file where the folder should be")
    settings = settings_for(fake_slack, database_url=f"sqlite+aiosqlite:///{tmp_path}/data/app.db")
    async with running_app(fake_slack, settings) as slack:  # a pasted bot token: the database opens on first use
        status, text = await get(slack, "/readyz")
    assert (status, text) == (503, "not ready: the database is unreachable (FileExistsError)\n")


async def test_readyz_is_503_when_postgresql_is_unreachable(fake_slack: FakeSlack) -> None:
    url = f"postgresql+psycopg://channel_admin:pw-not-shown@127.0.0.1:{free_port()}/nowhere"
    async with running_app(fake_slack, settings_for(fake_slack, database_url=url)) as slack:
        status, text = await get(slack, "/readyz")
        assert (status, text) == (503, "not ready: the database is unreachable (OperationalError)\n")
        assert "pw-not-shown" not in text and "127.0.0.1" not in text
        assert (await get(slack, "/healthz"))[0] == 200


async def test_readyz_is_503_while_starting_and_while_draining(slack: SlackSender) -> None:
    readiness = slack.built.readiness
    readiness.draining = True
    assert await get(slack, "/readyz") == (503, "not ready: draining\n")
    readiness.draining, readiness.started = False, False
    assert await get(slack, "/readyz") == (503, "not ready: starting\n")
    readiness.started = True
    assert await get(slack, "/readyz") == (200, "ready\n")
