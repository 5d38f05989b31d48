"""What the listeners need beyond the Web API client: the admin rule, the audit log and channel, the admin token."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from services.audit.feed import AuditChannel
from services.audit.log import AuditEntry, AuditLog
from services.disconnecting.admin_tokens import AdminTokenSource
from services.disconnecting.admins import AdminPolicy
from services.leaving.offers import RejoinOffers
from services.slack.names import NameBook
from services.storage.handled_requests import HandledRequests


@dataclass(frozen=True)
class AppServices:
    admins: AdminPolicy
    audit: AuditLog
    admin_tokens: AdminTokenSource  # the Org Admin's user token (xoxp-); never the bot's
    audit_channel: AuditChannel
    names: NameBook
    rejoins: RejoinOffers
    handled: HandledRequests  # replays of confirmations and presses do nothing twice
    leave_jobs: Any = None  # services.leaving.workflow.LeaveJobs: bulk leaves kept in the database

    CONTEXT_KEY = "app_services"

    @classmethod
    def of(cls, context: Any) -> AppServices:
        """The services a middleware placed in a Bolt context."""
        services = context[cls.CONTEXT_KEY]
        if not isinstance(services, cls):
            raise TypeError("no AppServices in this Bolt context (server.app's middleware puts them there)")
        return services

    async def record(self, client: AsyncWebClient, entry: AuditEntry) -> None:
        """Into the audit log first (it must stand whatever happens next), then to the audit channel."""
        await self.audit.record(entry)
        self.audit_channel.announce(client, entry)
