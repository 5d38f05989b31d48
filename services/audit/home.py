"""The App Home tab's content for one user: the audit log for admins (same rule as /disconnect-shared)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from slack_sdk.models.views import View
from slack_sdk.web.async_client import AsyncWebClient

from services.audit.log import AuditLog
from services.disconnecting.admins import AdminPolicy
from services.slack.names import NameBook, installation_key
from services.slack.outcomes import call_outcome
from services.ui import encode_metadata
from services.ui.home import HOME_PAGE_SIZE, admin_check_failed_note, admin_home, member_home
from services.ui.home_jobs import JOBS_PAGE_KEY

logger = logging.getLogger(__name__)


class HomeTab:
    """The App Home tab's content for one user: the audit log for admins (same rule as /disconnect-shared)."""

    def __init__(
        self,
        admins: AdminPolicy,
        log: AuditLog,
        names: NameBook,
        extra: Callable[[str | None, int], Awaitable[list[Any]]] | None = None,
        partners: Callable[[AsyncWebClient, str | None], Awaitable[list[Any]]] | None = None,
    ) -> None:
        self.admins = admins
        self.log = log
        self.names = names
        self.extra = extra  # more blocks for admins, by org and jobs page (offboarding's button and jobs)
        self.partners = partners  # the partner directory's page at a cursor (services.disconnecting.everything)

    async def view(
        self,
        client: AsyncWebClient,
        user_id: str,
        enterprise_id: str | None,
        team_id: str | None,
        before_id: int | None = None,
        jobs_offset: int = 0,
        partners_cursor: str | None = None,
    ) -> View:
        """Checked afresh on every opening and every page: someone demoted a minute ago sees no audit log."""
        check = await self.admins.check(client, user_id, enterprise_id)
        if not check.allowed:
            return member_home(admin_check_failed_note(check.reason) if check.undecided else None)
        rows, more = await self.log.page(enterprise_id or None, team_id, before_id, HOME_PAGE_SIZE)
        scope = installation_key(enterprise_id, team_id)
        users, channels, teams = await asyncio.gather(
            self.names.users(client, scope, [r["user_id"] for r in rows]),
            self.names.channels(client, scope, [r["channel_id"] for r in rows if r["channel_id"]]),
            self.names.teams(client, scope, [r["leaving_team_id"] for r in rows if r["leaving_team_id"]]),
        )
        extra = await self.extra(enterprise_id, jobs_offset) if self.extra is not None and enterprise_id else []
        if self.partners is not None and enterprise_id:
            extra = [*extra, *await self.partners(client, partners_cursor)]
        view = admin_home(rows, users, channels, teams, more, older_page=before_id is not None, extra_blocks=extra)
        if jobs_offset:  # the jobs page shown, so a Cancel pressed on it republishes the same page
            view.private_metadata = encode_metadata({JOBS_PAGE_KEY: jobs_offset})
        return view


async def publish_home(client: AsyncWebClient, user_id: str, view: View) -> None:
    """views.publish; a failure is logged (the user just opens the tab again)."""
    _, error = await call_outcome(client.views_publish(user_id=user_id, view=view))
    if error is not None:
        logger.warning("views.publish for the Home tab failed: %s", error)
