"""Offboarding's buttons: the Home tab's "Offboard an organization" (opens the form) and Cancel (modal or Home)."""

from __future__ import annotations

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from listeners.payload import requester_of
from services.audit.home import HomeTab, publish_home
from services.disconnecting.everything import EverythingOffboarding
from services.disconnecting.offboarding import Offboarding
from services.disconnecting.workflow import Requester
from services.slack.outcomes import call_outcome
from services.ui import decode_metadata
from services.ui.home_jobs import JOBS_PAGE_KEY, page_offset
from services.ui.offboarding import progress_modal, start_modal, status_modal


async def offboard_open_pressed(ack: AsyncAck, body: dict, client: AsyncWebClient) -> None:
    """The trigger lasts 3 s: open the form at once; who may is checked when it is submitted (and at every step)."""
    await ack()
    await call_outcome(client.views_open(trigger_id=body.get("trigger_id"), view=start_modal()))


async def offboard_cancel_pressed(
    ack: AsyncAck,
    body: dict,
    action: dict,
    client: AsyncWebClient,
    context: AsyncBoltContext,
    offboarding: Offboarding,
    home_tab: HomeTab,
) -> None:
    await ack()
    job_id = action.get("value")
    if not isinstance(job_id, str) or not job_id:
        return
    requester = requester_of(body, context, None)
    check = await offboarding.disconnects.admins.check(client, requester.user_id, requester.enterprise_id)
    pressed_in = body.get("view")
    view: dict = pressed_in if isinstance(pressed_in, dict) else {}
    in_modal = view.get("type") == "modal"
    if not check.allowed:
        await offboarding.disconnects.allowed_admin_token(client, requester, None, check)  # audited, told why
        return
    answer = await offboarding.cancel(client, requester, job_id)
    if in_modal:
        job = await offboarding.runner.store.get(job_id)
        if answer == "cancelling" and job is not None:
            job.payload["stopping"] = "cancelled"
            await call_outcome(client.views_update(view_id=view.get("id"), view=progress_modal(job)))
        elif answer != "cancelling":
            text = "That job has already finished; nothing to cancel." if answer == "finished" else "No such job."
            await call_outcome(client.views_update(view_id=view.get("id"), view=status_modal(text)))
    else:
        await _republish_home(client, requester, view, home_tab)


async def everything_cancel_pressed(
    ack: AsyncAck,
    body: dict,
    action: dict,
    client: AsyncWebClient,
    context: AsyncBoltContext,
    everything: EverythingOffboarding,
    home_tab: HomeTab,
) -> None:
    """An "everything" job's Cancel on the Home tab: any admin of the org; the Home tab again at the page it showed."""
    await ack()
    job_id = action.get("value")
    if not isinstance(job_id, str) or not job_id:
        return
    requester = requester_of(body, context, None)
    check = await everything.disconnects.admins.check(client, requester.user_id, requester.enterprise_id)
    if not check.allowed:
        await everything.disconnects.allowed_admin_token(client, requester, None, check)  # audited, told why
        return
    await everything.cancel(client, requester, job_id)
    pressed_in = body.get("view")
    await _republish_home(client, requester, pressed_in if isinstance(pressed_in, dict) else {}, home_tab)


async def _republish_home(client: AsyncWebClient, requester: Requester, view: dict, home_tab: HomeTab) -> None:
    """After a Cancel pressed on the Home tab: the Home tab again, at the jobs page it showed."""
    offset = page_offset(decode_metadata(view.get("private_metadata")).get(JOBS_PAGE_KEY, 0))
    home = await home_tab.view(
        client, requester.user_id, requester.enterprise_id, requester.team_id, jobs_offset=offset
    )
    await publish_home(client, requester.user_id, home)
