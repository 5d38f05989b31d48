"""A leave of several channels, written to the database as a job before the user hears it started."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from slack_bolt.context.async_context import AsyncBoltContext

from listeners.payload import installation_org, installation_team
from services.jobs.queue import JobExists
from services.leaving.workflow import LeaveJobs

logger = logging.getLogger(__name__)

# Of Slack's 3 seconds for the ack, what writing a bulk leave's job may take before the ack is sent regardless.
ACK_BUDGET_SECONDS = 1.0


async def submitted(
    leave_jobs: LeaveJobs,
    channel_ids: Sequence[str],
    context: AsyncBoltContext,
    user_id: str,
    response_url: str | None,
    view_id: str | None = None,
    *,
    request_key: str | None,
) -> bool:
    """A leave of several channels kept in the database as a job (services.leaving.workflow), so it outlives this process.

    False when the database can't take it: the leave then runs in this process, as it did before jobs existed.
    True, and nothing stored, for a replay of a request already taken (`request_key`: its trigger or view ID, which
    names the job: the check and the write are one, so a crash between them can't drop the leave).
    """
    try:
        await leave_jobs.submit(
            channel_ids,
            user_id=user_id,
            enterprise_id=installation_org(context),
            team_id=context.team_id,
            is_enterprise_install=bool(context.is_enterprise_install),
            response_url=response_url,
            view_id=view_id,
            installation_team=installation_team(context),
            request_key=request_key,
        )
    except JobExists:
        return True  # a replay (on any instance): the job exists already
    except Exception:  # the database is down: the leave still happens, in this process
        logger.warning("Could not store a leave job; leaving in this process", exc_info=True)
        return False
    return True
