"""Offboarding "everything, including DMs": one team.externalTeams.disconnect, watched until Slack lists the partner as
disconnected, then one summary of what changed; and the Home tab's partner directory.

team.externalTeams.disconnect (https://docs.slack.dev/reference/methods/team.externalTeams.disconnect; Tier 1; bot
scope `conversations.connect:manage`; Enterprise Grid only) "disconnects Slack Connect channels and direct messages
(DMs) from an organization to end all communication with them … the disconnect process occurs in the background and
may take some time to complete." What it did shows only afterwards, in team.externalTeams.list
(services.disconnecting.directory): its `connection_status` and its counts.

The job (services.jobs.queue, kind "offboard_everything") is durable: it checks again that the requester may and that
the partner is positively outside our org, records Slack's counts before, marks the call as sent and saves before
making it (after a crash, a sent call is not repeated unless the directory still lists the partner as connected),
then polls the directory every `poll_seconds` until the partner is listed DISCONNECTED (or is no longer listed) or
`watch_seconds` pass; then one summary (counts before and after), audited like the channel-by-channel job.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from services.audit.log import OFFBOARD_AUDIT_ACTION, AuditEntry, AuditEvent
from services.disconnecting.directory import (
    DISCONNECTED,
    ExternalTeam,
    establish_outside,
    find_partner,
    list_page,
    watch_partner,
)
from services.disconnecting.partners import OFFBOARD_EVERYTHING, offboard_claim
from services.disconnecting.workflow import Disconnects, Requester, update_view
from services.jobs.queue import DONE, FAILED, FINISHED, Job, JobClaimed, JobRunner, JobWork
from services.slack.delivery import reply_privately
from services.slack.outcomes import call_outcome

logger = logging.getLogger(__name__)

POLL_SECONDS = 30.0  # the directory is Tier 2 (20+ a minute): twice a minute leaves room for everything else
WATCH_SECONDS = 30 * 60.0  # "may take some time to complete": watched this long, then the summary says so

ClientFor = Callable[[Job], Awaitable[AsyncWebClient | None]]
HomeRefresh = Callable[[AsyncWebClient, str, str | None, str | None], Awaitable[None]]


async def directory_home(bot: AsyncWebClient, cursor: str | None) -> list[Any]:
    """The Home tab's partner directory: one page of team.externalTeams.list, stalest first."""
    from services.ui.partners import DIRECTORY_PAGE_SIZE, directory_blocks

    page = await list_page(bot, cursor, limit=DIRECTORY_PAGE_SIZE)
    return directory_blocks(page, first_page=cursor is None)


def _counts(team: ExternalTeam | None) -> dict[str, int] | None:
    return team.counts() if team is not None else None


@dataclass
class EverythingOffboarding:
    """Confirms, runs and reports "everything, including DMs" jobs; no Bolt."""

    runner: JobRunner
    client_for: ClientFor
    base_client: AsyncWebClient
    disconnects: Disconnects
    poll_seconds: float = POLL_SECONDS
    watch_seconds: float = WATCH_SECONDS
    home_refresh: HomeRefresh | None = None
    clock: Callable[[], float] = time.time

    def register(self) -> None:
        self.runner.register(OFFBOARD_EVERYTHING, self.run, on_failed=self.given_up)

    async def given_up(self, work: JobWork) -> None:
        """The job failed for good (its attempts used up; the queue claimed its one summary for this): audited like
        its other ends (`finished`, `everything:given_up`), and the admin hears once whether the one call was made."""
        from services.ui.given_up import given_up_text
        from services.ui.offboarding import partner_label
        from services.ui.partners import everything_status_modal

        job = work.job
        payload = job.payload
        client = await self.client_for(job) or self.base_client
        called, sent = bool(payload.get("called")), bool(payload.get("sent"))
        ended = "given_up:called" if called else "given_up:sent" if sent else "given_up"
        await self.disconnects.trail.record(client, self._entry(job, AuditEvent.FINISHED, f"everything:{ended}"))
        partner = partner_label(str(payload.get("partner") or ""), payload.get("partner_name"))
        if called:
            note = "Slack accepted the disconnect request and works on it in the background."
        elif sent:
            note = "I may have sent Slack the disconnect request just before I stopped."
        else:
            note = "I didn't send Slack the disconnect request."
        text = given_up_text(
            OFFBOARD_EVERYTHING,
            1 if called else 0,
            1 if payload.get("error") else 0,
            0 if called or payload.get("error") else 1,
            partner=partner,
            note=note,
        )
        view_id = payload.get("view_id")
        if isinstance(view_id, str) and view_id:
            await call_outcome(client.views_update(view_id=view_id, view=everything_status_modal(text)))
        await reply_privately(client, job.user_id, job.reply_url(), {"text": text})
        if self.home_refresh is not None:
            await self.home_refresh(client, job.user_id, job.enterprise_id, job.team_id)

    def _entry(self, job: Job, event: AuditEvent, outcome: str) -> AuditEntry:
        return AuditEntry(
            event=event,
            user_id=job.user_id,
            outcome=outcome[:200],
            enterprise_id=job.enterprise_id,
            team_id=job.team_id,
            leaving_team_id=job.payload.get("partner"),
            action=OFFBOARD_AUDIT_ACTION,
            job_id=job.id,
        )

    async def _checked(
        self,
        client: AsyncWebClient,
        requester: Requester,
        partner_id: str,
        *,
        view_id: str | None = None,
        external_id: str | None = None,
    ) -> bool:
        """Who may (an admin, with the org's admin install, as for the channel-by-channel way), and the partner
        positively outside our org: checked at the confirmation's opening and submission; refusals audited and said."""
        from services.ui.offboarding import problem_text
        from services.ui.partners import everything_status_modal

        token = await self.disconnects.allowed_admin_token(
            client, requester, None, view_id=view_id, external_id=external_id, leaving_team_ids=[partner_id]
        )
        if token is None or token.token is None:
            return False
        admin = token.client(client)
        outside = await establish_outside(client, partner_id, requester.enterprise_id, requester.team_id, admin=admin)
        if outside.outside:
            return True
        reason = "ours" if outside.ours else outside.problem or "unknown"
        await self.disconnects.trail.record(
            client, requester.entry(AuditEvent.REFUSED, f"not_outside:{reason}", None, partner_id)
        )
        text = problem_text("our_org" if outside.ours else f"not_established:{reason}", partner_id)
        await update_view(client, everything_status_modal(text), view_id=view_id, external_id=external_id)
        await reply_privately(client, requester.user_id, requester.response_url, {"text": text})
        return False

    async def show_confirmation(
        self, client: AsyncWebClient, requester: Requester, external_id: str, partner_id: str, name: str | None
    ) -> None:
        """Once the light confirmation is pushed: the checks, then Slack's counts for the partner in it."""
        from services.ui.partners import EverythingMetadata, everything_confirm_modal

        if not await self._checked(client, requester, partner_id, external_id=external_id):
            return
        team, _ = await find_partner(client, partner_id)
        metadata = EverythingMetadata(requester.response_url, partner_id, name or (team.name if team else None))
        view = everything_confirm_modal(metadata, team, watch_minutes=round(self.watch_seconds / 60))
        await update_view(client, view, external_id=external_id)

    async def confirmed(
        self,
        client: AsyncWebClient,
        requester: Requester,
        view_id: str | None,
        partner_id: str,
        name: str | None,
        *,
        is_enterprise_install: bool,
    ) -> str | None:
        """Checked afresh, then the job (one per partner at a time); returns its ID."""
        from services.ui.offboarding import partner_label, problem_text
        from services.ui.partners import everything_progress_modal, everything_status_modal

        if not requester.enterprise_id or not await self._checked(client, requester, partner_id, view_id=view_id):
            return None
        # One offboarding per partner and org, in either mode, whatever the number of jobs: the claim both kinds hold
        # (a unique column, services.jobs.queue), read first and enforced by the job's write.
        claim = offboard_claim(requester.enterprise_id, partner_id)
        try:
            if await self.runner.store.holder(claim) is not None:
                raise JobClaimed("")
            job_id = await self.runner.store.create(
                OFFBOARD_EVERYTHING,
                claim=claim,
                user_id=requester.user_id,
                items=[{"id": partner_id, "outcome": None}],
                enterprise_id=requester.enterprise_id,
                team_id=requester.team_id,
                is_enterprise_install=is_enterprise_install,
                response_url=requester.response_url,
                payload={"partner": partner_id, "partner_name": name, "view_id": view_id, "mode": "everything"},
            )
        except JobClaimed:
            await self.disconnects.trail.record(
                client, requester.entry(AuditEvent.REFUSED, "already_running", None, partner_id)
            )
            text = problem_text("already_running", partner=partner_label(partner_id, name))
            await update_view(client, everything_status_modal(text), view_id=view_id)
            return None
        self.runner.wake()
        job = await self.runner.store.get(job_id)
        if view_id and job is not None:
            await call_outcome(client.views_update(view_id=view_id, view=everything_progress_modal(job)))
        return job_id

    # ---- the job ------------------------------------------------------------------------------------------------
    async def run(self, work: JobWork) -> None:
        job = work.job
        payload = job.payload
        partner = str(payload.get("partner") or "")
        client = await self.client_for(job) or self.base_client
        requester = Requester(job.user_id, job.enterprise_id, job.team_id, job.reply_url())
        if not payload.get("called") and not payload.get("sent") and await self.cancel_requested(job.id):
            await self._end(work, client, "cancelled", DONE)  # cancelled while queued: Slack is never asked
            return
        if not payload.get("called") and not payload.get("sent"):
            # Checked again as the job starts: still an admin, the partner still positively outside our org.
            token = await self.disconnects.allowed_admin_token(client, requester, None, leaving_team_ids=[partner])
            if token is None or token.token is None:
                await self._end(work, client, "not_allowed", FAILED)
                return
            admin = token.client(client)
            outside = await establish_outside(client, partner, job.enterprise_id, job.team_id, admin=admin)
            if not outside.outside:
                reason = "ours" if outside.ours else outside.problem or "unknown"
                await self.disconnects.trail.record(
                    client, self._entry(job, AuditEvent.REFUSED, f"not_outside:{reason}")
                )
                await self._end(work, client, "not_outside", FAILED)
                return
            before, _ = await find_partner(client, partner)
            payload["before"] = _counts(before)
            if before is not None and before.status == DISCONNECTED:
                # Slack already lists it disconnected: a call would change nothing, and the summary would claim it.
                payload["status"] = DISCONNECTED
                await self._end(work, client, "already", DONE)
                return
            await self.disconnects.trail.record(
                client, self._entry(job, AuditEvent.STARTED, "everything, DMs and group DMs included")
            )
        if not payload.get("called"):
            if payload.get("sent"):
                # Interrupted after the call may have gone out, before Slack's answer was recorded. Never a second
                # call: Slack disconnects "in the background and may take some time", so a partner still listed as
                # connected may well be on its way out. The job watches; if the watch ends first, the summary says
                # the app can't tell whether Slack received the call.
                payload["called"] = True
                payload["uncertain"] = True
                payload["called_at"] = self.clock()
                await work.save()
            if not payload.get("called"):
                payload["sent"] = True
                await work.save()
                # A cancel recorded before "sent" was saved is seen here, so no call; one recorded after it finds
                # "sent" saved (EverythingOffboarding.cancel) and can only stop the watch.
                if await self.cancel_requested(job.id):
                    payload["sent"] = False
                    await self._end(work, client, "cancelled", DONE)
                    return
                _, error = await call_outcome(client.team_externalTeams_disconnect(target_team=partner))
                if error is not None:
                    payload["error"] = error
                    await self.disconnects.trail.record(client, self._entry(job, AuditEvent.FAILED, error))
                    await self._end(work, client, "refused", FAILED)
                    return
                payload["called"] = True
                payload["called_at"] = self.clock()
                await work.save()
                await self._progress(client, job)
        await self._watch(work, client)

    # ---- cancel ------------------------------------------------------------------------------------------------
    async def cancel(self, client: AsyncWebClient, requester: Requester, job_id: str) -> str:
        """Any admin of the job's org, as for the channel-by-channel jobs: the "cancelled" audit row is the request
        every instance reads. The job reads it after saving "sent" and before its call; this writes it before reading
        the job: either the job sees the request and never calls, or this sees "sent" and the cancel only stops the
        watch. Returns "cancelling", "watching" (the call may be out), "finished" or "unknown"."""
        job = await self.runner.store.get(job_id)
        if job is None or job.kind != OFFBOARD_EVERYTHING or job.enterprise_id != requester.enterprise_id:
            return "unknown"
        if job.status in FINISHED:
            return "finished"
        if not await self.disconnects.trail.log.of_job(job_id, AuditEvent.CANCELLED):  # the first press is recorded
            entry = replace(self._entry(job, AuditEvent.CANCELLED, "requested"), user_id=requester.user_id)
            await self.disconnects.trail.record(client, entry)
        job = await self.runner.store.get(job_id)
        if job is not None and job.status not in FINISHED:
            self.runner.wake()
        sent = job is not None and bool(job.payload.get("sent") or job.payload.get("called"))
        return "watching" if sent else "cancelling"

    async def cancel_requested(self, job_id: str) -> bool:
        return bool(await self.disconnects.trail.log.of_job(job_id, AuditEvent.CANCELLED))

    async def _watch(self, work: JobWork, client: AsyncWebClient) -> None:
        job = work.job
        payload = job.payload
        partner = str(payload.get("partner") or "")
        started = float(payload.get("called_at") or self.clock())
        while not work.stopping:
            if await self.cancel_requested(job.id):  # Slack's background disconnect goes on: only the watch stops
                payload["stopping"] = "cancelled"
                await self._end(work, client, "watch_cancelled", DONE)
                return
            hint = payload.get("directory_page")
            listed, error, hint = await watch_partner(client, partner, hint if isinstance(hint, str) else None)
            payload["directory_page"] = hint
            if error is None and (listed is None or listed.status == DISCONNECTED):
                payload["after"] = _counts(listed) or {"public": 0, "private": 0, "dms": 0, "group_dms": 0}
                payload["status"] = DISCONNECTED
                await self._end(work, client, "disconnected", DONE)
                return
            if listed is not None:
                payload["status"] = listed.status
                payload["after"] = _counts(listed)
            if self.clock() - started >= self.watch_seconds:
                payload["watched_minutes"] = round(self.watch_seconds / 60)
                await self._end(work, client, "timeout", DONE)
                return
            await work.save()
            await asyncio.sleep(self.poll_seconds)

    async def _end(self, work: JobWork, client: AsyncWebClient, ended: str, status: str) -> None:
        """Audited, finished, and the one summary (claimed in the database with the finish)."""
        from services.ui.partners import everything_progress_modal, everything_summary

        job = work.job
        job.payload["ended"] = ended
        job.items[0].update(outcome=ended)
        after = job.payload.get("after")
        counts = ",".join(f"{k}={v}" for k, v in after.items()) if isinstance(after, dict) else ""
        await self.disconnects.trail.record(
            client, self._entry(job, AuditEvent.FINISHED, f"everything:{ended}" + (f" {counts}" if counts else ""))
        )
        claimed = await self.runner.finish(work, status, with_summary=True)
        if work.lost or not claimed:
            return
        view_id = job.payload.get("view_id")
        if isinstance(view_id, str) and view_id:
            await call_outcome(client.views_update(view_id=view_id, view=everything_progress_modal(job)))
        await reply_privately(client, job.user_id, job.reply_url(), everything_summary(job))
        if self.home_refresh is not None:
            await self.home_refresh(client, job.user_id, job.enterprise_id, job.team_id)

    async def _progress(self, client: AsyncWebClient, job: Job) -> None:
        from services.ui.partners import everything_progress_modal

        view_id = job.payload.get("view_id")
        if isinstance(view_id, str) and view_id:
            _, error = await call_outcome(client.views_update(view_id=view_id, view=everything_progress_modal(job)))
            if error in ("not_found", "view_not_found"):
                job.payload["view_id"] = None
