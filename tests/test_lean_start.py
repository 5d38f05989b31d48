"""What start-up and a restart load: no SQLAlchemy, Alembic, prometheus-client, python-json-logger or sentry-sdk until
a feature needs it; a database at the newest revision is recognised without Alembic; a restart with nothing to resume reads
its SQLite file with the standard library only."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import insert

from services.storage.database import Database
from services.storage.migrate import alembic_config, head_revision, upgrade
from services.storage.tables import job
from tests.helpers.fake_slack import FakeSlack
from tests.helpers.processes import ROOT, app_env

HEAVY = ("sqlalchemy", "alembic", "prometheus_client", "pythonjsonlogger", "sentry_sdk")
NOW = datetime.now(UTC)


def loaded(script: str, env: dict[str, str] | None = None) -> dict:
    """Run `script` in a fresh interpreter; it prints a JSON object (with the heavy modules it ended up loading)."""
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


async def loaded_beside_the_fake(script: str, env: dict[str, str]) -> dict:
    """`loaded`, while this test's event loop keeps serving the fake Slack."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", script, cwd=ROOT, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode == 0, err.decode()[-2000:]
    return json.loads(out.decode().strip().splitlines()[-1])


HEAVY_LOADED = f"sorted({{m.split('.')[0] for m in sys.modules}} & set({HEAVY!r}))"
# A script's start: the app built from the environment's settings, as `python app.py` builds it.
BUILT_APP = (
    "import asyncio, json, sys\n"
    "import app\n"
    "from services.settings import load_settings\n"
    "async def main():\n"
    "    built = await app.build_app(load_settings())\n"
)


def test_the_head_revision_read_without_alembic_is_alembics_head() -> None:
    from alembic.script import ScriptDirectory

    assert head_revision() == ScriptDirectory.from_config(alembic_config()).get_current_head()


def test_importing_the_app_loads_none_of_the_heavy_modules() -> None:
    found = loaded(f"import json, sys, app; print(json.dumps({{'heavy': {HEAVY_LOADED}}}))")
    assert found["heavy"] == []


def job_row(job_id: str, status: str, finished_at: datetime | None = None) -> dict:
    return {
        "id": job_id, "kind": "leave", "status": status, "created_at": NOW, "updated_at": NOW,
        "finished_at": finished_at, "user_id": "U1", "is_enterprise_install": False, "payload": "{}", "items": "[]",
        "next_item": 0, "attempts": 0, "interrupted": False,
    }  # fmt: skip


async def database_with(tmp_path: Path, *rows: dict) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path}/app.db"
    await upgrade(url)
    database = Database(url)
    try:
        async with (await database.engine()).begin() as conn:
            for row in rows:
                await conn.execute(insert(job).values(**{k: v for k, v in row.items() if k in job.c}))
    finally:
        await database.close()
    return url


async def test_a_database_at_the_newest_revision_is_upgraded_without_alembic(tmp_path: Path) -> None:
    url = await database_with(tmp_path)
    script = (
        "import asyncio, json, sys\n"
        "from services.storage.migrate import upgrade\n"
        f"result = asyncio.run(upgrade({url!r}))\n"
        f"print(json.dumps({{'result': result, 'heavy': {HEAVY_LOADED}}}))"
    )
    found = loaded(script)
    assert found["result"] == [head_revision(), head_revision()]
    assert "alembic" not in found["heavy"]


async def test_a_restart_with_only_finished_jobs_loads_no_sqlalchemy(fake_slack: FakeSlack, tmp_path: Path) -> None:
    """The app built and started as `python app.py` does (its job runner's first poll, the database's preparation),
    on the database file a finished multi-channel leave left behind."""
    await database_with(tmp_path, job_row("done1", "done", finished_at=NOW - timedelta(minutes=5)))
    script = (
        BUILT_APP + "    probe, answers, answered = built.database.sqlite_holds_jobs, [], asyncio.Event()\n"
        "    async def watched(*args):\n"
        "        answers.append(await probe(*args))\n"
        "        answered.set()\n"
        "        return answers[-1]\n"
        "    built.database.sqlite_holds_jobs = watched\n"
        "    app.after_serving(built)\n"
        "    await asyncio.wait_for(answered.wait(), 20)\n"
        "    preparing = built.database.prepare()\n"
        "    if preparing is not None:\n"
        "        await preparing\n"
        "    await built.close()\n"
        f"    print(json.dumps({{'answers': answers, 'heavy': {HEAVY_LOADED}}}))\n"
        "asyncio.run(main())\n"
    )
    found = await loaded_beside_the_fake(script, {**app_env(fake_slack, tmp_path), "PYTHONPATH": str(ROOT)})
    # prometheus-client (metrics are on by default) is loaded by the first Web API call counted: start-up's auth.test.
    assert found == {"answers": [False], "heavy": ["prometheus_client"]}


async def test_with_oauth_the_metrics_are_ready_before_the_first_request(fake_slack: FakeSlack, tmp_path: Path) -> None:
    """No start-up auth.test to count with OAuth: the metrics are created once the app serves, in a thread, so the
    first command's acknowledgement doesn't wait for prometheus-client to load."""
    script = (
        BUILT_APP + "    before = 'prometheus_client' in sys.modules\n"
        "    app.after_serving(built)\n"
        "    for _ in range(1000):\n"
        "        if 'prometheus_client' in sys.modules:\n"
        "            break\n"
        "        await asyncio.sleep(0.01)\n"
        "    await built.close()\n"
        "    print(json.dumps({'before': before, 'after': 'prometheus_client' in sys.modules}))\n"
        "asyncio.run(main())\n"
    )
    env = {
        **app_env(fake_slack, tmp_path),
        "PYTHONPATH": str(ROOT),
        "SLACK_CLIENT_ID": "1.2",
        "SLACK_CLIENT_SECRET": "x",
        "SECRETS_KEY": "mB0YdcNGRwYDP-Fj8tbqA4pkqgA7B1vkpGxQjW_tsnM=",
    }
    del env["SLACK_BOT_TOKEN"]
    assert await loaded_beside_the_fake(script, env) == {"before": False, "after": True}


@pytest.mark.parametrize(
    ("rows", "holds"),
    [
        ((), False),
        ((job_row("d", "done", NOW - timedelta(hours=1)),), False),
        ((job_row("q", "queued"),), True),
        ((job_row("r", "running"),), True),  # a crashed instance's: its lease runs out, then it is resumed
        ((job_row("old", "done", NOW - timedelta(days=8)),), True),  # past the retention: to purge
    ],
)
async def test_the_sqlite_probe_finds_jobs_to_work_or_purge(tmp_path: Path, rows: tuple, holds: bool) -> None:
    url = await database_with(tmp_path, *rows)
    database = Database(url)
    assert await database.sqlite_holds_jobs(("queued", "running"), NOW - timedelta(days=7)) is holds
    assert not database.opened


async def test_the_sqlite_probe_never_creates_a_file_and_defers_to_other_databases(tmp_path: Path) -> None:
    missing = Database(f"sqlite+aiosqlite:///{tmp_path}/none.db")
    assert await missing.sqlite_holds_jobs(("queued", "running"), NOW) is False
    assert not (tmp_path / "none.db").exists()
    postgres = Database("postgresql+psycopg://u:p@127.0.0.1:1/x")
    assert await postgres.sqlite_holds_jobs(("queued", "running"), NOW) is True


async def test_preparing_in_the_background_migrates_a_new_file_in_a_child_process(tmp_path: Path) -> None:
    database = Database(f"sqlite+aiosqlite:///{tmp_path}/new.db")
    try:
        preparing = database.prepare()
        assert preparing is not None
        await asyncio.wait_for(preparing, 60)
        assert not database.opened  # the child did the work; nothing opened here
        async with (await database.engine()).connect() as conn:  # ready: no migration, one engine
            assert (await conn.exec_driver_sql("SELECT version_num FROM alembic_version")).scalar() == head_revision()
    finally:
        await database.close()


async def test_a_first_start_migrates_in_a_child_and_the_serving_process_loads_none_of_it(
    fake_slack: FakeSlack, tmp_path: Path
) -> None:
    """A new SQLite file: `python app.py`'s start-up (app.start) leaves the migrations to a child process; once the
    child is done and the job runner has looked for work (none), the serving process has loaded neither SQLAlchemy nor
    Alembic (it used to load SQLAlchemy to wait for the child before serving)."""
    path = tmp_path / "first.db"
    env = app_env(fake_slack, tmp_path, DATABASE_URL=f"sqlite+aiosqlite:///{path}")
    script = (
        "import asyncio, json, sys\n"
        "import app\n"
        "from services.settings import load_settings\n"
        "async def main():\n"
        "    built = await app.start(load_settings())\n"
        "    preparing = built.database.prepare()\n"
        "    await asyncio.wait_for(asyncio.shield(preparing), 60)\n"
        "    looks_for_jobs = await built.jobs._may_poll()\n"
        f"    print(json.dumps({{'heavy': {HEAVY_LOADED}, 'jobs': looks_for_jobs}}))\n"
        "    await built.close()\n"
        "asyncio.run(main())\n"
    )
    result = await loaded_beside_the_fake(script, env)
    # (prometheus-client is the metrics', warmed up once serving: not what migrating imports)
    assert set(result.pop("heavy")) & {"sqlalchemy", "alembic"} == set()
    assert result == {"jobs": False}
    migrated = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-c", f"import sqlite3; print(sqlite3.connect({str(path)!r}).execute('SELECT version_num FROM alembic_version').fetchone()[0])"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert migrated.stdout.strip() == head_revision()
