"""AUDIT_CHANNEL_ID: every /disconnect-shared attempt also posted to a channel, as one line."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from slack_sdk.web.async_client import AsyncWebClient

from services.audit.log import (
    DRY_RUN_AUDIT_ACTION,
    OFFBOARD_AUDIT_ACTION,
    OFFBOARD_DRY_RUN_AUDIT_ACTION,
    AuditEntry,
    AuditEvent,
)
from services.slack.names import NameBook, installation_key
from services.slack.outcomes import call_outcome
from services.telemetry import metrics
from services.ui.audit import audit_channel_line, channel_label, person, team_text

logger = logging.getLogger(__name__)

REFUSAL_COLLAPSE_SECONDS = 60.0
_POSTED_EVENTS = {AuditEvent.REFUSED, AuditEvent.SUCCEEDED, AuditEvent.FAILED, AuditEvent.DRY_RUN}
# An offboarding job posts its start, its end, a cancel and its failures, not a line for each of 300 channels.
_OFFBOARD_POSTED = {
    AuditEvent.STARTED,
    AuditEvent.FINISHED,
    AuditEvent.CANCELLED,
    AuditEvent.FAILED,
    AuditEvent.REFUSED,
}
_OFFBOARD_ACTIONS = {OFFBOARD_AUDIT_ACTION, OFFBOARD_DRY_RUN_AUDIT_ACTION}
_HINTS = {
    "not_in_channel": " Invite the app to that channel (/invite @Channel Admin).",
    "channel_not_found": " Check AUDIT_CHANNEL_ID, and invite the app if the channel is private.",
    "is_archived": " The channel is archived: unarchive it or set AUDIT_CHANNEL_ID to another one.",
}


class AuditChannel:
    """Posts in the background, in the order entries were recorded, so the admin's reply never waits on it.

    A failed post is logged once (one warning, no retry loop); the database entry is already saved.
    """

    def __init__(self, channel_id: str | None, names: NameBook, clock: Callable[[], float] = time.monotonic) -> None:
        self.channel_id = channel_id
        self._names = names
        self._clock = clock
        self._recent_refusals: dict[tuple[str | None, ...], float] = {}
        self._in_order = asyncio.Lock()  # asyncio locks are fair: posts go out in the order they were announced
        self._pending: set[asyncio.Task[None]] = set()

    def announce(self, client: AsyncWebClient, entry: AuditEntry) -> None:
        posted = _OFFBOARD_POSTED if entry.action in _OFFBOARD_ACTIONS else _POSTED_EVENTS
        if self.channel_id is None or entry.event not in posted or self._repeated_refusal(entry):
            return
        task = asyncio.create_task(self._post(client, self.channel_id, entry))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    def _repeated_refusal(self, entry: AuditEntry) -> bool:
        """The same refusal of the same person within a minute is posted once (the database keeps every row)."""
        if entry.event != AuditEvent.REFUSED:
            return False
        # Per person and reason, whatever channel or workspace was named: made-up IDs don't make refusals "new".
        key = (entry.enterprise_id, entry.user_id, entry.outcome, entry.action)
        now = self._clock()
        for old in [k for k, at in self._recent_refusals.items() if now - at >= REFUSAL_COLLAPSE_SECONDS]:
            del self._recent_refusals[old]
        if key in self._recent_refusals:
            return True
        self._recent_refusals[key] = now
        return False

    async def _post(self, client: AsyncWebClient, channel_id: str, entry: AuditEntry) -> None:
        async with self._in_order:
            try:
                text = await self._line(client, entry)
                _, error = await call_outcome(
                    client.chat_postMessage(channel=channel_id, text=text, unfurl_links=False, unfurl_media=False)
                )
            except Exception as e:  # noqa: BLE001 - nothing here may break the flow that recorded the entry
                error = type(e).__name__
            if error is not None:
                metrics.audit_channel_post_failed(error)
                logger.warning(
                    "Couldn't post a /disconnect-shared audit line to the audit channel %s (%s); the audit log "
                    "entry is saved.%s",
                    channel_id,
                    error,
                    _HINTS.get(error, ""),
                )

    async def _line(self, client: AsyncWebClient, entry: AuditEntry) -> str:
        scope = installation_key(entry.enterprise_id, entry.team_id)
        users, channels, teams = await asyncio.gather(
            self._names.users(client, scope, [entry.user_id]),
            self._names.channels(client, scope, [entry.channel_id] if entry.channel_id else []),
            self._names.teams(client, scope, [entry.leaving_team_id] if entry.leaving_team_id else []),
        )
        return audit_channel_line(
            entry.event.value,
            entry.outcome,
            person(entry.user_id, users.get(entry.user_id)),
            channel_label(entry.channel_id, channels.get(entry.channel_id or "")),
            team_text(entry.leaving_team_id, teams.get(entry.leaving_team_id or "")),
            dry_run=entry.action in (DRY_RUN_AUDIT_ACTION, OFFBOARD_DRY_RUN_AUDIT_ACTION),
            job_id=entry.job_id,
        )

    async def drain(self, timeout: float = 5.0) -> None:
        """Let posts in flight finish (at shutdown)."""
        if self._pending:
            await asyncio.wait(set(self._pending), timeout=timeout)
