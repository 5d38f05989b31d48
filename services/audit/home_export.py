"""The Home tab's "Export as CSV": the audit log of the admin's own org, as a file in their DM (files.uploadV2).

Bounded on every side, since a press costs a database read and an upload:
- who: the same rule as the Home tab's audit log (Org Admins and Owners, ADMIN_USER_IDS), checked afresh at the press;
  anyone else is refused, told so in a DM, and the refusal is an audit entry;
- what: their own org only (the org of the installation Slack signed the press for, never a value from the button),
  the last EXPORT_DAYS days, at most EXPORT_MAX_ROWS entries (newest first: about 150 bytes each, so ≤ 8 MB);
- how often: ATTEMPTS_PER_MINUTE presses per person a minute are checked (a refused press costs users.info, a DM and
  an audit row: a member's loop would spend the workspace's rate limits and bury the audit log); past that a press
  costs nothing but a count, one audit row per person a minute (services.disconnecting.attempts, as /disconnect-shared);
  one export per person per minute, and EXPORTS_AT_ONCE at a time in this process (others wait);
- recorded: each export is an `exported` audit entry of the org (how many entries, over how many days).
The export is built in memory (bounded as above) after the ack and uploaded with services.slack.files.
"""

from __future__ import annotations

import asyncio
import dataclasses
import io
import logging
from datetime import UTC, datetime, timedelta

from slack_sdk.web.async_client import AsyncWebClient

from services.audit.export import ExportFilter
from services.audit.log import AUDIT_EXPORT_ACTION, AuditEntry, AuditEvent, AuditLog
from services.disconnecting.admins import AdminPolicy
from services.disconnecting.attempts import AttemptLimiter
from services.slack.delivery import post_direct_message
from services.slack.files import send_file_to_user
from services.ui.audit import (
    EXPORT_CHECK_FAILED,
    EXPORT_FAILED,
    EXPORT_FILENAME,
    EXPORT_NOT_SENT,
    EXPORT_REFUSED,
    EXPORT_TITLE,
    EXPORT_TOO_SOON,
    export_comment,
)

logger = logging.getLogger(__name__)

EXPORT_DAYS = 90
EXPORT_MAX_ROWS = 50_000
EXPORTS_AT_ONCE = 2


class HomeExports:
    def __init__(self, admins: AdminPolicy, log: AuditLog) -> None:
        self.admins = admins
        self.log = log
        self._per_person = AttemptLimiter(per_minute=1)
        # Every press, before any call: past the limit, counted and recorded once a minute (no call, no DM).
        self.attempts = AttemptLimiter(record=self._record_over_limit)
        self._at_once = asyncio.Semaphore(EXPORTS_AT_ONCE)

    async def request(
        self, client: AsyncWebClient, user_id: str, enterprise_id: str | None, team_id: str | None
    ) -> str:
        """Check, export, deliver, record; returns what happened ("sent", "refused", "too_soon", "not_sent",
        "failed",
        "too_many")."""
        org = enterprise_id or team_id
        if not user_id or not org:
            return "refused"
        if not self.attempts.allow(user_id):
            self.attempts.refused(client, user_id, enterprise_id, team_id)
            return "too_many"
        check = await self.admins.check(client, user_id, enterprise_id)
        if not check.allowed:
            # As /disconnect-shared records it: the Home tab reads "couldn't check their admin rights (`code`)".
            reason = f"admin_check_failed:{check.reason}" if check.undecided else check.reason
            await self._record(AuditEvent.REFUSED, user_id, enterprise_id, team_id, reason)
            text = EXPORT_CHECK_FAILED.format(error=check.reason) if check.undecided else EXPORT_REFUSED
            await post_direct_message(client, user_id, {"text": text})
            return "refused"
        if not self._per_person.allow(user_id):
            await post_direct_message(client, user_id, {"text": EXPORT_TOO_SOON})
            return "too_soon"
        now = datetime.now(UTC)
        out = io.StringIO(newline="")
        async with self._at_once:
            try:
                count = await self.log.export(
                    ExportFilter(org=org, since=now - timedelta(days=EXPORT_DAYS)),
                    "csv",
                    out,
                    limit=EXPORT_MAX_ROWS,
                    newest_first=True,
                )
            except Exception as e:  # noqa: BLE001 - the database away: the admin is told, nothing is half-sent
                logger.warning("The Home tab's audit export failed to read the log (%s)", type(e).__name__)
                await post_direct_message(client, user_id, {"text": EXPORT_FAILED.format(error=type(e).__name__)})
                return "failed"
        sent = await send_file_to_user(
            client,
            user_id,
            filename=EXPORT_FILENAME.format(org=org, day=now.date().isoformat()),
            content=out.getvalue(),
            title=EXPORT_TITLE,
            initial_comment=export_comment(count, EXPORT_DAYS, EXPORT_MAX_ROWS),
        )
        outcome = f"rows={count} days={EXPORT_DAYS}" + ("" if sent else " not_delivered")
        await self._record(AuditEvent.EXPORTED if sent else AuditEvent.FAILED, user_id, enterprise_id, team_id, outcome)
        if not sent:
            await post_direct_message(client, user_id, {"text": EXPORT_NOT_SENT.format(error="upload_failed")})
            return "not_sent"
        return "sent"

    async def close(self) -> None:
        """Stopping: the presses past the limit counted but not recorded yet are recorded now."""
        await self.attempts.close()

    async def _record_over_limit(self, _client: AsyncWebClient, entry: AuditEntry) -> None:
        await self.log.record(dataclasses.replace(entry, action=AUDIT_EXPORT_ACTION))

    async def _record(
        self, event: AuditEvent, user_id: str, enterprise_id: str | None, team_id: str | None, outcome: str
    ) -> None:
        await self.log.record(AuditEntry(event, user_id, outcome, enterprise_id, team_id, action=AUDIT_EXPORT_ACTION))
