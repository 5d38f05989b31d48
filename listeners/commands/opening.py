"""What both /disconnect-shared commands do first: the attempt limit in the ack, then once per trigger, a light modal
opened at once (a trigger_id lasts 3 s) while the admin check runs."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.models.views import View
from slack_sdk.web.async_client import AsyncWebClient

from listeners.payload import installation_org
from services.disconnecting.admins import AdminCheck
from services.disconnecting.attempts import AttemptLimiter
from services.disconnecting.workflow import Disconnects, Requester
from services.error_texts import TOO_MANY_ATTEMPTS, VIEWS_OPEN_ERRORS, error_text
from services.slack.delivery import reply_privately
from services.slack.outcomes import call_outcome
from services.storage.handled_requests import HandledRequests


async def acked_over_the_limit(
    ack: AsyncAck, attempts: AttemptLimiter, user_id: str, client: AsyncWebClient, context: AsyncBoltContext
) -> bool:
    """Past a person's attempts a minute: told in the ack, with no API call, and counted for the minute's one audit
    row (services.disconnecting.attempts)."""
    if attempts.allow(user_id):
        return False
    await ack(text=TOO_MANY_ATTEMPTS.format(count=attempts.per_minute), response_type="ephemeral")
    attempts.refused(client, user_id, installation_org(context), context.team_id)
    return True


@dataclass(frozen=True)
class Opened:
    view_id: str | None  # None: views.open failed, for `error`
    error: str | None
    check: AdminCheck


async def open_and_check(
    client: AsyncWebClient,
    command: dict,
    requester: Requester,
    disconnects: Disconnects,
    handled_requests: HandledRequests,
    modal: View,
) -> Opened | None:
    """The light modal and the admin check at once; None for a replay (the same trigger_id again, on any instance)."""
    if not await handled_requests.first_time(f"command:{command.get('trigger_id')}"):
        return None
    (opened, error), check = await asyncio.gather(
        call_outcome(client.views_open(trigger_id=command.get("trigger_id"), view=modal)),
        disconnects.admins.check(client, requester.user_id, requester.enterprise_id),
    )
    view = opened.get("view") if error is None else None
    view_id = view.get("id") if isinstance(view, dict) else None
    return Opened(view_id, None if view_id else error or "unexpected_response", check)


async def tell_the_form_did_not_open(client: AsyncWebClient, requester: Requester, error: str | None) -> None:
    text = error_text(VIEWS_OPEN_ERRORS, error or "unexpected_response", action="open the form")
    await reply_privately(client, requester.user_id, requester.response_url, {"text": text})
