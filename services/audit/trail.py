"""Where every audited step goes: the audit log first (it must stand whatever happens next), then the audit channel."""

from __future__ import annotations

from slack_sdk.web.async_client import AsyncWebClient

from services.audit.feed import AuditChannel
from services.audit.log import AuditEntry, AuditLog


class AuditTrail:
    def __init__(self, log: AuditLog, feed: AuditChannel) -> None:
        self.log = log
        self.feed = feed

    async def record(self, client: AsyncWebClient, entry: AuditEntry) -> None:
        await self.log.record(entry)
        self.feed.announce(client, entry)
