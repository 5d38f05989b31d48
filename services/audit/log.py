"""The audit log of /disconnect-shared: every attempt, in a database at DATABASE_URL.

Read it with `python -m services.audit.log --last 20`.
"""

from __future__ import annotations

import argparse
import asyncio
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum
from typing import Any

from services.storage.audit_rows import (
    audit_rows_page,
    dangling_audit_rows,
    insert_audit_row,
    job_audit_rows,
    newest_audit_rows,
)
from services.storage.database import Database
from services.telemetry import metrics


class AuditEvent(Enum):
    REFUSED = "refused"
    CONFIRMED = "confirmed"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    DRY_RUN = "dry_run"  # the whole flow walked, no admin call made
    # An offboarding job (services.disconnecting.offboarding): its start, a channel not attempted, a cancel, its end.
    STARTED = "started"
    SKIPPED = "skipped"
    CANCELLED = "cancelled"
    FINISHED = "finished"


DISCONNECT_AUDIT_ACTION = "disconnect_shared"
DRY_RUN_AUDIT_ACTION = "disconnect_shared_dry_run"  # every entry of a dry run, refusals included
OFFBOARD_AUDIT_ACTION = "offboard"  # /disconnect-shared all <org>: every channel shared with one organisation, as a job
OFFBOARD_DRY_RUN_AUDIT_ACTION = "offboard_dry_run"


@dataclass(frozen=True)
class AuditEntry:
    event: AuditEvent
    user_id: str
    outcome: str  # "ok", or the error code / reason
    enterprise_id: str | None = None
    team_id: str | None = None
    channel_id: str | None = None
    leaving_team_id: str | None = None
    action: str = DISCONNECT_AUDIT_ACTION
    at: datetime | None = None
    job_id: str | None = None


def _clip(value: str | None, size: int) -> str | None:
    return None if value is None else value[:size]


class AuditLog:
    """Append-only records in the `audit_log` table of the app's database."""

    def __init__(self, database: Database) -> None:
        self._database = database

    async def record(self, entry: AuditEntry) -> None:
        await insert_audit_row(
            self._database,
            {
                "at": entry.at or datetime.now(UTC),
                "action": entry.action,
                "event": entry.event.value,
                "user_id": _clip(entry.user_id, 32) or "",
                "enterprise_id": _clip(entry.enterprise_id or None, 32),  # "" outside a Grid, in some payloads
                "team_id": _clip(entry.team_id or None, 32),
                "channel_id": _clip(entry.channel_id, 32),
                "leaving_team_id": _clip(entry.leaving_team_id, 32),
                "outcome": _clip(entry.outcome, 80) or "",
                "job_id": _clip(entry.job_id, 32),
            },
        )
        metrics.audit_row_written(entry.event.value)

    async def of_job(self, job_id: str, event: AuditEvent | None = None) -> list[dict[str, Any]]:
        """A job's entries, oldest first (only `event` ones when given)."""
        return await job_audit_rows(self._database, job_id, event.value if event is not None else None)

    async def latest(self, limit: int = 20) -> list[dict[str, Any]]:
        """The newest entries first."""
        return await newest_audit_rows(self._database, limit)

    async def dangling(self, before: datetime) -> list[dict[str, Any]]:
        """`confirmed … pending` rows of a disconnect written before `before` with no result row after them."""
        return await dangling_audit_rows(
            self._database,
            action=DISCONNECT_AUDIT_ACTION,
            pending=(AuditEvent.CONFIRMED.value, "pending"),
            results=(AuditEvent.SUCCEEDED.value, AuditEvent.FAILED.value),
            before=before,
        )

    async def page(
        self, enterprise_id: str | None, team_id: str | None, before_id: int | None = None, limit: int = 25
    ) -> tuple[list[dict[str, Any]], bool]:
        """One org's (else one workspace's) entries, newest first, older than `before_id`; and whether more exist.

        An admin sees their own org or workspace only: installs of other orgs share this database.
        """
        return await audit_rows_page(self._database, enterprise_id, team_id, before_id, limit)


def _format(row: dict[str, Any]) -> str:
    at = row["at"]
    when = at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC") if at.tzinfo else at.strftime("%Y-%m-%d %H:%M:%S UTC")
    return "  ".join(
        [
            when,
            f"{row['event']:<9}",
            "dry-run" if row["action"] in (DRY_RUN_AUDIT_ACTION, OFFBOARD_DRY_RUN_AUDIT_ACTION) else "real   ",
            f"user={row['user_id']}",
            f"enterprise={row['enterprise_id'] or '-'}",
            f"workspace={row['team_id'] or '-'}",
            f"channel={row['channel_id'] or '-'}",
            f"leaving={row['leaving_team_id'] or '-'}",
            f"outcome={row['outcome']}",
            *([f"job={row['job_id']}"] if row.get("job_id") else []),
        ]
    )


async def _print_latest(database_url: str, last: int) -> None:
    database = Database(database_url)
    try:
        for row in reversed(await AuditLog(database).latest(last)):
            print(_format(row))
    finally:
        await database.close()


def main(argv: list[str] | None = None) -> None:
    from dotenv import dotenv_values

    from services.settings import DEFAULT_DATABASE_URL, async_database_url

    parser = argparse.ArgumentParser(prog="python -m services.audit.log", description="Print the newest audit entries.")
    parser.add_argument("--last", type=int, default=20, help="how many entries (default 20)")
    parser.add_argument("--database-url", help="SQLAlchemy URL (default: DATABASE_URL from the environment or .env)")
    args = parser.parse_args(argv)
    url = args.database_url or os.environ.get("DATABASE_URL") or dotenv_values(".env").get("DATABASE_URL")
    asyncio.run(_print_latest(async_database_url(url or DEFAULT_DATABASE_URL), max(args.last, 1)))


if __name__ == "__main__":
    main()
