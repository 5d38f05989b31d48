"""The end of every leave: the summary, with a Rejoin button when something was left and the offer could be kept."""

from __future__ import annotations

from services.app_services import AppServices
from services.leave import LeaveOutcome
from services.ui.leave import leave_summary_message


async def leave_summary_with_rejoin(services: AppServices, outcome: LeaveOutcome, user_id: str) -> dict:
    summary = leave_summary_message(outcome)
    button_value = await services.rejoins.offer_for(outcome, user_id, summary["text"])
    return leave_summary_message(outcome, button_value) if button_value else summary
