"""The audit log of /disconnect-shared: every attempt, in a database at DATABASE_URL.

Read it with `python -m services.audit.log --last 20` (`channel-admin audit --last 20`); export it with
`python -m services.audit.log export --format csv|jsonl [--output FILE] [--since …] [--until …] [--org …] [--event …]
[--channel …] [--job …]` (services.audit.export).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum
from typing import Any, TextIO

from services.audit.export import (
    FORMATS,
    ExportError,
    ExportFilter,
    check_id,
    check_job_id,
    export,
    parse_moment,
)
from services.storage.audit_rows import (
    audit_rows_page,
    dangling_audit_rows,
    insert_audit_row,
    job_audit_rows,
    newest_audit_rows,
    purge_audit_rows,
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
    # The audit log itself: an export asked for from the Home tab (or refused), a retention purge.
    EXPORTED = "exported"
    PURGED = "purged"


DISCONNECT_AUDIT_ACTION = "disconnect_shared"
DRY_RUN_AUDIT_ACTION = "disconnect_shared_dry_run"  # every entry of a dry run, refusals included
OFFBOARD_AUDIT_ACTION = "offboard"  # /disconnect-shared all <org>: every channel shared with one organisation, as a job
OFFBOARD_DRY_RUN_AUDIT_ACTION = "offboard_dry_run"
AUDIT_EXPORT_ACTION = "audit_export"  # an admin's export from the Home tab: its row count, or why it was refused
AUDIT_RETENTION_ACTION = "audit_retention"  # AUDIT_RETENTION_DAYS purged rows: how many, and the cut-off


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

    async def purge(self, before: datetime, note: str = "") -> int:
        """Delete the entries written before `before`; when there were any, an `audit_retention` `purged` entry says
        how many and the cut-off, written in the same transaction. Returns how many were deleted."""

        def record(count: int) -> dict[str, Any]:
            cutoff = before.astimezone(UTC).isoformat().replace("+00:00", "Z")
            return {
                "at": datetime.now(UTC),
                "action": AUDIT_RETENTION_ACTION,
                "event": AuditEvent.PURGED.value,
                "user_id": "",
                "outcome": f"deleted={count} before={cutoff}{note}"[:80],
            }

        count = await purge_audit_rows(self._database, before, record)
        if count:
            metrics.audit_row_written(AuditEvent.PURGED.value)
        return count

    async def export(
        self, what: ExportFilter, format: str, out: TextIO, *, limit: int | None = None, newest_first: bool = False
    ) -> int:
        """The entries matching `what` written to `out` as CSV or JSON Lines (services.audit.export); how many."""
        return await export(self._database, what, format, out, limit=limit, newest_first=newest_first)

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


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m services.audit.log",
        description="Print the newest audit entries, or export them (the export subcommand).",
    )
    parser.add_argument("--last", type=int, default=20, help="how many entries (default 20)")
    parser.add_argument("--database-url", help="SQLAlchemy URL (default: DATABASE_URL from the environment or .env)")
    commands = parser.add_subparsers(dest="command", metavar="{export}")
    export = commands.add_parser(
        "export",
        help="write the audit log as CSV or JSON Lines",
        description="Write the audit log's entries, oldest first, as CSV (with a header row) or JSON Lines (one "
        "object a line). Times are UTC (ISO 8601). Filters combine (all must match).",
    )
    export.add_argument("--format", choices=FORMATS, default="csv", help="csv (default) or jsonl")
    export.add_argument("--output", metavar="FILE", help="write to FILE (created private, 0600) instead of stdout")
    export.add_argument("--since", metavar="WHEN", help="entries at or after WHEN: 2026-11-01 or 2026-11-01T09:30:00Z")
    export.add_argument("--until", metavar="WHEN", help="entries before WHEN (a date means its midnight, UTC)")
    export.add_argument("--org", metavar="ID", help="one Enterprise org (E…) or standalone workspace (T…)")
    export.add_argument(
        "--event",
        action="append",
        choices=[e.value for e in AuditEvent],
        help="only this event (repeat for several)",
    )
    export.add_argument("--channel", metavar="ID", help="one channel (C…)")
    export.add_argument("--job", metavar="ID", help="one offboarding job's entries")
    export.add_argument("--database-url", dest="export_database_url", help="as above")
    return parser


def _export_filter(args: argparse.Namespace) -> ExportFilter:
    since = parse_moment(args.since, "--since") if args.since else None
    until = parse_moment(args.until, "--until") if args.until else None
    if since is not None and until is not None and until <= since:
        raise ExportError("--until must be later than --since")
    return ExportFilter(
        since=since,
        until=until,
        org=check_id(args.org, "--org"),
        events=tuple(dict.fromkeys(args.event or ())),
        channel_id=check_id(args.channel, "--channel"),
        job_id=check_job_id(args.job),
    )


async def _export(database_url: str, what: ExportFilter, format: str, out: TextIO) -> int:
    database = Database(database_url)
    try:
        return await export(database, what, format, out)
    finally:
        await database.close()


def _private_file(path: str) -> TextIO:
    """The export file, readable by its owner only (the audit log names people and channels): created so, and an
    existing file (whose mode O_CREAT leaves as it was) made so before anything is written to it."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    if os.path.isfile(path):  # not /dev/stdout or a pipe given as FILE
        os.fchmod(fd, 0o600)
    return os.fdopen(fd, "w", encoding="utf-8", newline="")


def main(argv: list[str] | None = None) -> int:
    from dotenv import dotenv_values

    from services.settings import DEFAULT_DATABASE_URL, async_database_url

    parser = _parser()
    args = parser.parse_args(argv)
    given = args.database_url or getattr(args, "export_database_url", None)
    url = given or os.environ.get("DATABASE_URL") or dotenv_values(".env").get("DATABASE_URL")
    database_url = async_database_url(url or DEFAULT_DATABASE_URL)
    if args.command != "export":
        asyncio.run(_print_latest(database_url, max(args.last, 1)))
        return 0
    try:
        what = _export_filter(args)
    except ExportError as e:
        parser.exit(2, f"channel-admin audit export: {e}\n")
    if args.output:
        with _private_file(args.output) as out:
            count = asyncio.run(_export(database_url, what, args.format, out))
        print(f"Exported {count} audit entr{'y' if count == 1 else 'ies'} to {args.output}.", file=sys.stderr)
        return 0
    try:
        asyncio.run(_export(database_url, what, args.format, sys.stdout))
        sys.stdout.flush()
    except BrokenPipeError:  # `… | head`: the reader stopped; not an error of the export
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0


if __name__ == "__main__":
    sys.exit(main())
