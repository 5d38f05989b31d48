"""The audit log as a file: CSV or JSON Lines, filtered, streamed a batch at a time (an org can have millions of rows).

Used by `channel-admin audit export` (`python -m services.audit.log export`) and by the Home tab's export button.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, TextIO

from services.storage.audit_rows import audit_row_batches
from services.storage.database import Database

# Every column of the audit_log table, in this order, in both formats.
COLUMNS = (
    "id",
    "at",
    "action",
    "event",
    "user_id",
    "enterprise_id",
    "team_id",
    "channel_id",
    "leaving_team_id",
    "outcome",
    "job_id",
)
FORMATS = ("csv", "jsonl")
CONTENT_TYPES = {"csv": "text/csv", "jsonl": "application/x-ndjson"}
BATCH_SIZE = 1000
# A spreadsheet runs a cell starting with one of these as a formula ("CSV injection"): such a cell gets a leading `'`.
# The app's own values (IDs, codes) never start with one; the rule is there for whatever a future column carries.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_SLACK_ID = re.compile(r"[A-Z0-9]{2,32}")
_JOB_ID = re.compile(r"[A-Za-z0-9-]{1,32}")


class ExportError(ValueError):
    """A filter that can't be used; the message is one line for the operator."""


@dataclass(frozen=True)
class ExportFilter:
    since: datetime | None = None  # inclusive
    until: datetime | None = None  # exclusive
    org: str | None = None  # an Enterprise org (E…) or a standalone workspace (T…)
    events: tuple[str, ...] = ()
    channel_id: str | None = None
    job_id: str | None = None


def parse_moment(text: str, name: str) -> datetime:
    """An ISO 8601 date (`2026-11-01`: its midnight) or date and time; without a zone, UTC."""
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        try:
            day = date.fromisoformat(text.strip())
        except ValueError:
            raise ExportError(
                f"{name} must be an ISO 8601 date or time such as 2026-11-01 or 2026-11-01T09:30:00Z, not {text[:40]!r}"
            ) from None
        moment = datetime(day.year, day.month, day.day)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def check_id(value: str | None, name: str) -> str | None:
    """A Slack ID (E…, T…, C…), as the filter compares it: a typo is an error, not an empty file."""
    if value is not None and not _SLACK_ID.fullmatch(value):
        raise ExportError(f"{name} must be a Slack ID such as E0123ABCD, T0123ABCD or C0123ABCD, not {value[:40]!r}")
    return value


def check_job_id(value: str | None) -> str | None:
    if value is not None and not _JOB_ID.fullmatch(value):
        raise ExportError(f"--job must be a job's ID (up to 32 letters and digits), not {value[:40]!r}")
    return value


def _iso(at: datetime) -> str:
    """SQLite gives the (UTC) time back without its zone, PostgreSQL with it: always written in UTC with `Z`."""
    at = at if at.tzinfo else at.replace(tzinfo=UTC)
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _record(row: dict[str, Any]) -> dict[str, Any]:
    return {column: (_iso(row[column]) if column == "at" else row.get(column)) for column in COLUMNS}


def _cell(value: Any) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


class RowWriter:
    """Writes records in one format to a text stream (opened with newline="" for CSV)."""

    def __init__(self, out: TextIO, format: str) -> None:
        if format not in FORMATS:
            raise ExportError(f"the format must be csv or jsonl, not {format!r}")
        self._out = out
        self._csv = csv.writer(out, lineterminator="\r\n") if format == "csv" else None
        if self._csv is not None:
            self._csv.writerow(COLUMNS)

    def write(self, rows: Sequence[dict[str, Any]]) -> None:
        if self._csv is not None:
            self._csv.writerows([_cell(v) for v in _record(row).values()] for row in rows)
        else:
            self._out.writelines(json.dumps(_record(row), separators=(",", ":")) + "\n" for row in rows)


async def export(
    database: Database,
    what: ExportFilter,
    format: str,
    out: TextIO,
    *,
    limit: int | None = None,
    newest_first: bool = False,
) -> int:
    """Write the rows matching `what` (oldest first unless `newest_first`), at most `limit`; returns how many."""
    writer = RowWriter(out, format)
    written = 0
    async for rows in audit_row_batches(
        database,
        since=what.since,
        until=what.until,
        org=what.org,
        events=what.events,
        channel_id=what.channel_id,
        job_id=what.job_id,
        batch_size=BATCH_SIZE,
        limit=limit,
        newest_first=newest_first,
    ):
        writer.write(rows)
        written += len(rows)
    return written
