"""The audit log leaves the app and is kept by policy (issue 22): `channel-admin audit export` (CSV or JSON Lines, to
stdout or a private file, with filters), and AUDIT_RETENTION_DAYS purging old entries, itself recorded."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import os
import stat
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from services.audit.export import COLUMNS
from services.audit.log import AUDIT_RETENTION_ACTION, AuditEntry, AuditEvent, AuditLog, main
from services.audit.retention import AuditRetention, retention_cutoff
from services.storage.database import Database
from tests.helpers.fake_slack import FakeSlack
from tests.helpers.processes import ROOT, instances

NOW = datetime.now(UTC).replace(microsecond=0)
DAY = timedelta(days=1)

# (days ago, event, org, workspace, channel, job): one row each, written oldest first (IDs 1…7).
ROWS = [
    (40, AuditEvent.SUCCEEDED, "E0ACME", "T0ACME1", "C0AAA", None),
    (20, AuditEvent.FAILED, "E0ACME", "T0ACME1", "C0BBB", None),
    (10, AuditEvent.REFUSED, "E0OTHER", "T0OTHER", "C0AAA", None),
    (5, AuditEvent.STARTED, "E0ACME", "T0ACME2", None, "job1"),
    (5, AuditEvent.SUCCEEDED, "E0ACME", "T0ACME2", "C0CCC", "job1"),
    (4, AuditEvent.FINISHED, "E0ACME", "T0ACME2", None, "job1"),
    (1, AuditEvent.SUCCEEDED, None, "T0SOLO", "C0DDD", None),
]


async def write_rows(url: str) -> None:
    database = Database(url)
    log = AuditLog(database)
    try:
        for days, event, org, team, channel, job in ROWS:
            await log.record(
                AuditEntry(event, "U0ADMIN", "ok", org, team, channel, "T0PARTNER", at=NOW - days * DAY, job_id=job)
            )
    finally:
        await database.close()


def exported(url: str, *args: str, capsys: pytest.CaptureFixture[str]) -> list[dict[str, str]]:
    assert main(["export", "--database-url", url, *args]) == 0
    return list(csv.DictReader(io.StringIO(capsys.readouterr().out)))


def day(days_ago: int) -> str:
    return (NOW - days_ago * DAY).isoformat()


@pytest.mark.parametrize(
    ("filters", "expected_ids"),
    [
        ([], [1, 2, 3, 4, 5, 6, 7]),
        (["--since", "DAY:15"], [3, 4, 5, 6, 7]),
        (["--until", "DAY:15"], [1, 2]),
        (["--since", "DAY:30", "--until", "DAY:4"], [2, 3, 4, 5]),
        (["--org", "E0ACME"], [1, 2, 4, 5, 6]),
        (["--org", "T0SOLO"], [7]),  # a standalone workspace is its own org
        (["--event", "succeeded"], [1, 5, 7]),
        (["--event", "started", "--event", "finished"], [4, 6]),
        (["--channel", "C0AAA"], [1, 3]),
        (["--job", "job1"], [4, 5, 6]),
        (["--org", "E0ACME", "--event", "succeeded", "--since", "DAY:30"], [5]),
        (["--channel", "C0NOBODY"], []),
    ],
)
async def test_export_with_each_filter(
    migrated_database_url: str, filters: list[str], expected_ids: list[int], capsys: pytest.CaptureFixture[str]
) -> None:
    await write_rows(migrated_database_url)
    args = [day(int(a[4:])) if a.startswith("DAY:") else a for a in filters]
    rows = await asyncio.to_thread(exported, migrated_database_url, *args, capsys=capsys)
    assert [int(r["id"]) for r in rows] == expected_ids


async def test_an_exported_row_has_every_column_in_utc(
    migrated_database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    await write_rows(migrated_database_url)
    (row,) = await asyncio.to_thread(
        exported, migrated_database_url, "--job", "job1", "--event", "started", capsys=capsys
    )
    assert tuple(row) == COLUMNS
    assert row == {
        "id": "4", "at": (NOW - 5 * DAY).isoformat().replace("+00:00", "Z"), "action": "disconnect_shared",
        "event": "started", "user_id": "U0ADMIN", "enterprise_id": "E0ACME", "team_id": "T0ACME2", "channel_id": "",
        "leaving_team_id": "T0PARTNER", "outcome": "ok", "job_id": "job1",
    }  # fmt: skip


@pytest.mark.parametrize(
    ("args", "complaint"),
    [
        (["--since", "last tuesday"], "--since must be an ISO 8601 date or time"),
        (["--org", "acme"], "--org must be a Slack ID"),
        (["--since", "2026-11-02", "--until", "2026-11-01"], "--until must be later than --since"),
    ],
)
def test_a_bad_filter_is_one_line_and_exit_2(args: list[str], complaint: str, capsys) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["export", "--database-url", "sqlite+aiosqlite:///unused.db", *args])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert complaint in err and len(err.strip().splitlines()) == 1


async def run_cli(*args: str, env: dict[str, str]) -> tuple[str, str]:
    """`channel-admin audit …` as the operator runs it (the console script's module)."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "channel_admin", "audit", *args, cwd=ROOT, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode == 0, err.decode()[-2000:]
    return out.decode(), err.decode()


async def test_the_command_writes_jsonl_to_a_private_file_and_csv_to_stdout(
    migrated_database_url: str, tmp_path: Path
) -> None:
    await write_rows(migrated_database_url)
    env = {"PATH": os.environ.get("PATH", ""), "DATABASE_URL": migrated_database_url}
    target = tmp_path / "audit.jsonl"
    target.write_text("an older export, readable by all\n")  # an existing file is made private too, not just reused
    target.chmod(0o644)
    _, said = await run_cli("export", "--format", "jsonl", "--output", str(target), "--org", "E0ACME", env=env)
    assert said.strip() == f"Exported 5 audit entries to {target}."
    assert stat.S_IMODE(target.stat().st_mode) == 0o600  # the audit log names people and channels
    lines = [json.loads(line) for line in target.read_text().splitlines()]
    assert [(r["id"], r["event"], r["job_id"]) for r in lines] == [
        (1, "succeeded", None), (2, "failed", None), (4, "started", "job1"), (5, "succeeded", "job1"),
        (6, "finished", "job1"),
    ]  # fmt: skip
    out, _ = await run_cli("export", "--channel", "C0AAA", env=env)
    assert out.splitlines()[0] == ",".join(COLUMNS)
    assert [line.split(",")[0] for line in out.splitlines()[1:]] == ["1", "3"]
    newest, _ = await run_cli("--last", "2", env=env)  # today's default still prints the newest entries
    assert len(newest.splitlines()) == 2 and "channel=C0DDD" in newest.splitlines()[-1]


async def test_export_streams_in_batches(migrated_database_url: str) -> None:
    """Memory stays one batch: the export reads the table a thousand rows per query, not all at once."""
    from sqlalchemy import insert

    from services.audit.export import ExportFilter, export
    from services.storage import audit_rows
    from services.storage.tables import audit_log

    database = Database(migrated_database_url)
    row = {"at": NOW, "action": "disconnect_shared", "event": "refused", "outcome": "not_admin"}
    async with (await database.engine()).begin() as conn:  # one statement: the test is about reading them
        await conn.execute(insert(audit_log), [{**row, "user_id": f"U{i:05d}"} for i in range(2500)])
    sizes: list[int] = []
    batches = audit_rows.audit_row_batches

    async def counted(*args, **kwargs):
        async for rows in batches(*args, **kwargs):
            sizes.append(len(rows))
            yield rows

    out = io.StringIO()
    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr("services.audit.export.audit_row_batches", counted)
            assert await export(database, ExportFilter(), "jsonl", out) == 2500
    finally:
        await database.close()
    assert sizes == [1000, 1000, 500]
    assert len({json.loads(line)["user_id"] for line in out.getvalue().splitlines()}) == 2500


# ---- retention ------------------------------------------------------------------------------------------------------


async def rows_in(url: str) -> list[dict]:
    database = Database(url)
    try:
        return list(reversed(await AuditLog(database).latest(100)))
    finally:
        await database.close()


async def test_retention_purges_at_start_up_and_records_it(
    fake_slack: FakeSlack, app_database_url: str, tmp_path: Path
) -> None:
    await write_rows(app_database_url)  # 40, 20, 10, 5, 5, 4 and 1 day(s) old
    async with instances(fake_slack, app_database_url, tmp_path, AUDIT_RETENTION_DAYS="15") as start:
        first = await start()
        # The purge's row is written before its log line: both awaited while the instance runs (it is killed at the
        # end of the block, perhaps between the two).
        logged = "Audit retention: purged 2 entries written before"
        deadline = time.monotonic() + 15
        while not (
            any(r["action"] == AUDIT_RETENTION_ACTION for r in await rows_in(app_database_url))
            and logged in first.log.read_text()
        ):
            assert time.monotonic() < deadline, "timed out waiting for the purge's row and its log line"
            await asyncio.sleep(0.02)
    rows = await rows_in(app_database_url)
    cutoff = retention_cutoff(15, datetime.now(UTC))
    kept = [r["id"] for r in rows if r["action"] != AUDIT_RETENTION_ACTION]
    assert kept == [3, 4, 5, 6, 7]  # the 40- and 20-day-old entries are gone
    (purge,) = [r for r in rows if r["action"] == AUDIT_RETENTION_ACTION]
    assert purge["event"] == AuditEvent.PURGED.value and purge["user_id"] == ""
    assert purge["outcome"] == f"deleted=2 before={cutoff.isoformat().replace('+00:00', 'Z')} days=15"
    assert f"Audit retention: purged 2 entries written before {cutoff.date()}" in first.log.read_text()


async def test_retention_runs_on_a_schedule_and_concurrent_purges_delete_once(migrated_database_url: str) -> None:
    database = Database(migrated_database_url)
    log = AuditLog(database)
    now = [NOW]
    retentions = [AuditRetention(log, 30, every=0.02, clock=lambda: now[0]) for _ in range(3)]
    try:
        await log.record(AuditEntry(AuditEvent.SUCCEEDED, "U1", "ok", "E1", at=NOW - 31 * DAY))
        await log.record(AuditEntry(AuditEvent.SUCCEEDED, "U1", "ok", "E1", at=NOW - 10 * DAY))
        assert sorted(await asyncio.gather(*(r.purge_once() for r in retentions))) == [0, 0, 1]
        for retention in retentions:
            retention.start()
        now[0] = NOW + 21 * DAY  # three weeks on: the 10-day-old entry is 31 days old at the next round
        for _ in range(500):
            rows = await log.latest(100)
            if len([r for r in rows if r["action"] == AUDIT_RETENTION_ACTION]) == 2:
                break
            await asyncio.sleep(0.02)
        for retention in retentions:
            await retention.stop()
        rows = await log.latest(100)
    finally:
        await database.close()
    purges = [r["outcome"].split()[0] for r in rows if r["action"] == AUDIT_RETENTION_ACTION]
    assert purges == ["deleted=1", "deleted=1"]  # one record per purge that deleted something, none for the rest
    assert [r for r in rows if r["action"] != AUDIT_RETENTION_ACTION] == []


def test_the_cutoff_is_midnight_utc_so_every_instance_agrees_all_day() -> None:
    morning = datetime(2026, 12, 6, 0, 0, 1, tzinfo=UTC)
    evening = datetime(2026, 12, 6, 23, 59, 59, tzinfo=UTC)
    assert retention_cutoff(30, morning) == retention_cutoff(30, evening) == datetime(2026, 11, 6, tzinfo=UTC)
