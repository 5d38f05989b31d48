"""The end of every leave: keep what the Rejoin button would undo, then send the summary privately."""

from __future__ import annotations

from slack_sdk.web.async_client import AsyncWebClient

from services.app_services import AppServices
from services.delivery import reply_privately
from services.leave import LeaveOutcome
from services.ui.leave import leave_summary_message


async def report_leave(
    services: AppServices,
    client: AsyncWebClient,
    outcome: LeaveOutcome,
    user_id: str,
    response_url: str | None,
) -> None:
    summary = leave_summary_message(outcome)["text"]
    offer = await services.rejoins.offer_for(outcome, user_id, summary)
    await reply_privately(client, user_id, response_url, leave_summary_message(outcome, offer))
