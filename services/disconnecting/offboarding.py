"""Offboarding a partner: disconnect one organisation (or standalone workspace) from every channel we share with it.

What Slack offers, and where it says so:
- admin.conversations.search (https://api.slack.com/methods/admin.conversations.search) finds an org's channels,
  filtered by `connected_team_ids`, at most 20 a page (`limit` "Must be between 1 - 20"), paged by `cursor` /
  `next_cursor`; it needs the Org Admin's user token with `admin.conversations:read`. Its answer names the host as an
  org ID (`conversation_host_id: "E…"`) and carries `connected_team_ids`, `connected_limited_team_ids`,
  `pending_connected_team_ids` and `is_archived` (../shared/slack-samples/api/admin.conversations.search.json).
- admin.conversations.disconnectShared (../shared/seeds/admin.conversations.disconnectShared.txt) takes "one team ID
  at a time" in `leaving_team_ids`; "only the originating organization may call this method". A partner org is listed
  in a channel's `connected_team_ids` by its org ID `E…` (../shared/slack-samples/api/conversations.info.json), so the
  org ID is what leaves, as /disconnect-shared already sends; a standalone workspace leaves by its `T…`.
- No published rate limit tier for the admin call: the job learns the pace from 429s (services.slack.pacing) and,
  unlike a short bulk leave, keeps what it learned for the rest of the job (the fake, like Slack, answers a 429 with a
  whole window's Retry-After: forgetting the pace after a quiet minute would cost a full window each time).

The search is done once (issue 20): private and public channels asked for explicitly (services.disconnecting.partners,
`search_channel_types`), for at most PLAN_SEARCH_SECONDS before the plan is shown (kept in the database: PlanStore),
the rest by the job, beside its admin calls, from the stored cursor; each channel found joins the job at once.

The job (services.jobs.queue, kind "offboard") disconnects the channels in order, one at a time, audits every channel
under the job's ID, can be cancelled by any admin of the org (a "cancelled" audit row is the request: any instance
sees it), and ends with one summary.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from services.audit.log import OFFBOARD_AUDIT_ACTION, OFFBOARD_DRY_RUN_AUDIT_ACTION, AuditEntry, AuditEvent
from services.disconnecting.directory import establish_outside, find_partner
from services.disconnecting.partners import (
    CANCEL_CHECK_SECONDS,
    DISCONNECT_METHOD,
    DISCONNECTED,
    HOME_REFRESH_SECONDS,
    NOT_DISCONNECTED,
    OFFBOARD,
    PRIVATE_SWEEP,
    RECHECK_ADMIN_SECONDS,
    SKIPPED,
    STOPPING_ERRORS,
    WOULD_DISCONNECT,
    Findings,
    Partner,
    PlanStore,
    Search,
    StoredPlan,
    offboard_claim,
    outcome_counts,
    resolve_partner,
    search_by_name,
    search_page,
)
from services.disconnecting.shared_channels import GONE_AFTER_OUR_CALL, disconnect_team
from services.disconnecting.workflow import Disconnects, Requester
from services.jobs.queue import DONE, FAILED, FINISHED, Job, JobClaimed, JobRunner, JobWork
from services.slack.client import pacer_of
from services.slack.delivery import reply_privately
from services.slack.outcomes import call_outcome
from services.slack.pacing import pace_key

logger = logging.getLogger(__name__)

SEARCH_METHOD = "admin.conversations.search"
# From the command to a plan the admin can confirm within 10 s whatever the partner's size: the search runs this long
# before the plan is shown (the rest of the 10 s is the admin check, the partner's name and Slack's round trips); what
# it hasn't reached by then the job searches, page after page, while it disconnects what it has found.
PLAN_SEARCH_SECONDS = 5.0
SEARCH_PROGRESS_SECONDS = 1.0  # "Found 340 channels so far…" at most this often
RATELIMITED_PAUSE_SECONDS = 1.0  # the job's search, still limited after the client's retries, tries again after this
SEARCH_SAVE_EVERY = 10  # pages
# The "keep these" picker's options are its ack (Slack waits 3 s): a search by name for a plan still searching is cut
# after this long (the stored plan's channels are offered anyway).
KEEP_SEARCH_SECONDS = 1.8


@dataclass
class _Run:
    """One job's state while it runs in this process."""

    job: Job
    requester: Requester
    stop_reason: str | None = None  # "cancelled", "not_admin:…", or a code from STOPPING_ERRORS
    interval: float = 0.0  # the pace learned from Slack's 429s, kept for the whole job
    next_start: float = 0.0
    last_admin_check: float = 0.0
    last_cancel_check: float = 0.0
    last_home: float = 0.0
    order: asyncio.Lock = field(default_factory=asyncio.Lock)


ClientFor = Callable[[Job], Awaitable[AsyncWebClient | None]]
HomeRefresh = Callable[[AsyncWebClient, str, str | None, str | None], Awaitable[None]]
SummaryRender = Callable[[Job], dict[str, Any]]
ProgressRender = Callable[[Job], Any]


@dataclass
class Offboarding:
    """Submits, runs, cancels and reports offboarding jobs; no Bolt."""

    runner: JobRunner
    client_for: ClientFor
    base_client: AsyncWebClient
    disconnects: Disconnects
    clock: Callable[[], float] = time.monotonic
    home_refresh: HomeRefresh | None = None  # republish an admin's Home tab (progress)
    recheck_admin_seconds: float = RECHECK_ADMIN_SECONDS
    plans: PlanStore | None = None  # the plans between search and confirmation (the app's database)
    plan_search_seconds: float = PLAN_SEARCH_SECONDS
    _cancelled_here: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        if self.plans is None:
            self.plans = PlanStore(self.runner.store.database)

    @property
    def plan_store(self) -> PlanStore:
        assert self.plans is not None  # set in __post_init__
        return self.plans

    def register(self) -> None:
        self.runner.register(OFFBOARD, self.run, on_failed=self.given_up)

    async def given_up(self, work: JobWork) -> None:
        """The job failed for good (its attempts used up; the queue claimed its one summary for this): its end is
        audited like any other (`finished`, `given_up` and the counts), and the admin hears once what was done, by
        the response URL while Slack takes it, else a DM, with the modal showing the same."""
        from services.ui.given_up import given_up_text
        from services.ui.offboarding import partner_label, status_modal

        job = work.job
        client = await self.client_for(job) or self.base_client
        counts = outcome_counts(job.items)
        end = ",".join(f"{k}={v}" for k, v in counts.items() if v)
        await self.disconnects.trail.record(client, self._entry(job, AuditEvent.FINISHED, f"given_up,{end}"[:80]))
        partner = partner_label(str(job.payload.get("partner") or ""), job.payload.get("partner_name"))
        text = given_up_text(
            OFFBOARD,
            counts[DISCONNECTED] + counts[WOULD_DISCONNECT],
            counts[NOT_DISCONNECTED],
            counts[SKIPPED] + counts["left"],
            partner=partner,
        )
        view_id = job.payload.get("view_id")
        if isinstance(view_id, str) and view_id:
            await call_outcome(client.views_update(view_id=view_id, view=status_modal(text)))
        await reply_privately(client, job.user_id, job.reply_url(), {"text": text})
        if self.home_refresh is not None:
            await self.home_refresh(client, job.user_id, job.enterprise_id, job.team_id)

    async def admin_client(self, requester: Requester, client: AsyncWebClient) -> AsyncWebClient | None:
        token = await self.disconnects.admin_tokens.lookup(requester.enterprise_id)
        if token.token is None:
            return None
        return token.client(client, retry_server_errors=False)

    async def submit(
        self,
        requester: Requester,
        partner: Partner,
        channels: Sequence[dict[str, Any]],
        *,
        theirs: Sequence[dict[str, Any]],
        pending: Sequence[dict[str, Any]],
        is_enterprise_install: bool,
        view_id: str | None,
        installation_team: str | None,
        search: Search | None = None,
        excluded: Sequence[str] = (),
    ) -> str:
        """Write the job (before the admin is told it started) and wake this instance's runner; JobClaimed when an
        offboarding of this partner is unfinished in the org (written by any instance, however many jobs there are).

        With a `search` not done, the job goes on searching where the plan stopped, and disconnects each channel it
        finds but the `excluded` (those the admin kept)."""
        job_id = await self.runner.store.create(
            OFFBOARD,
            claim=offboard_claim(requester.enterprise_id, partner.id),
            user_id=requester.user_id,
            items=[{**c, "outcome": None} for c in channels],
            enterprise_id=requester.enterprise_id,
            team_id=requester.team_id,
            is_enterprise_install=is_enterprise_install,
            response_url=requester.response_url,
            payload={
                "partner": partner.id,
                "partner_name": partner.name,
                "dry_run": requester.dry_run,
                "view_id": view_id,
                "installation_team": installation_team,
                "theirs": list(theirs),
                "pending": list(pending),
                **({"search": search.as_dict()} if search is not None else {}),
                **({"excluded": sorted(excluded)} if excluded else {}),
            },
        )
        self.runner.wake()
        return job_id

    # ---- the modal's steps ---------------------------------------------------------------------------------------
    async def _tell(self, client: AsyncWebClient, requester: Requester, view_id: str | None, text: str) -> None:
        from services.disconnecting.workflow import show_or_tell
        from services.ui.offboarding import status_modal

        if view_id:
            await show_or_tell(client, requester, status_modal(text), view_id=view_id)
        else:
            await reply_privately(client, requester.user_id, requester.response_url, {"text": text})

    async def show_plan(
        self,
        client: AsyncWebClient,
        requester: Requester,
        view_id: str | None,
        partner_text: str,
        check: Any = None,
    ) -> None:
        """Who may (again), who the partner is; then the search, for PLAN_SEARCH_SECONDS at most, shown as it goes;
        the plan (what was found, kept in the database) in the modal. The job searches the rest, never again what
        the plan found."""
        from services.disconnecting.workflow import show_or_tell
        from services.ui.offboarding import PlanMetadata, partner_label, plan_modal, problem_text

        admin_token = await self.disconnects.allowed_admin_token(client, requester, None, check, view_id=view_id)
        if admin_token is None or admin_token.token is None or not requester.enterprise_id:
            return
        admin_client = admin_token.client(client)
        partner = await resolve_partner(client, admin_client, partner_text, requester.enterprise_id, requester.team_id)
        if partner.id is None:
            candidates = ", ".join(f"{name} (`{team_id}`)" for team_id, name in partner.candidates)
            text = problem_text(partner.problem or "no_partner", partner_text, candidates=candidates)
            await self._tell(client, requester, view_id, text)
            return
        label = partner_label(partner.id, partner.name)
        findings = Findings(partner.id, requester.enterprise_id)
        await self._search_for_plan(client, admin_client, findings, view_id, label)
        search = findings.search
        if search.error is not None or (search.done and not (findings.ours or findings.theirs or findings.pending)):
            problem = f"search:{search.error}" if search.error else "nothing_shared"
            text = problem_text(problem, partner_text, partner=label)
            if problem == "nothing_shared" and view_id and not requester.dry_run:
                # No channel, but perhaps DMs and group DMs: only "everything" reaches those (issue 20).
                from services.ui.partners import EverythingMetadata, dms_only_modal

                team, _ = await find_partner(client, partner.id)
                if team is not None and team.dms + team.group_dms > 0:
                    way = EverythingMetadata(requester.response_url, partner.id, partner.name or team.name)
                    await show_or_tell(client, requester, dms_only_modal(text, team, way), view_id=view_id)
                    return
            await self._tell(client, requester, view_id, text)
            return
        plan_id = await self.plan_store.save(requester.user_id, requester.enterprise_id, findings, partner.name)
        metadata = PlanMetadata.of(requester.response_url, partner, plan_id, findings)
        view = plan_modal(findings, partner, metadata.encode(), requester.dry_run)
        if view_id:
            await show_or_tell(client, requester, view, view_id=view_id)
        if search.done and findings.ours:
            await self._send_plan_file(client, requester.user_id, findings, label)

    async def _search_for_plan(
        self, client: AsyncWebClient, admin_client: AsyncWebClient, findings: Findings, view_id: str | None, label: str
    ) -> None:
        """Page through the search until it ends or the plan's time is up (a page in flight is dropped then: it is
        only a read, asked again by the job); the modal says how many were found so far."""
        from services.ui.offboarding import searching_modal

        shown = self.clock()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self.plan_search_seconds):
                while not findings.search.done:
                    before = findings.search.progress
                    await search_page(admin_client, findings)
                    if findings.search.progress == before:
                        await asyncio.sleep(RATELIMITED_PAUSE_SECONDS)  # still limited: the job goes on later
                    if view_id and self.clock() - shown >= SEARCH_PROGRESS_SECONDS and not findings.search.done:
                        shown = self.clock()
                        await call_outcome(
                            client.views_update(view_id=view_id, view=searching_modal(label, findings.search.found))
                        )

    async def more_to_keep(self, client: AsyncWebClient, stored: StoredPlan, typed: str) -> list[dict[str, Any]]:
        """While the plan's search isn't done, channels matching `typed` that it hasn't reached yet (Slack's search
        by name, with the admin token of the plan's org), so any channel can be kept; [] when Slack is slow."""
        if stored.findings.search.done or len(typed.strip().lstrip("#")) < 2:
            return []
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(KEEP_SEARCH_SECONDS):  # the token's lookup too: it may renew a rotating token
                token = await self.disconnects.admin_tokens.lookup(stored.enterprise_id)
                if token.token is None:
                    return []
                return await search_by_name(token.client(client), stored.findings, typed.strip().lstrip("#"))
        return []

    async def _send_plan_file(self, client: AsyncWebClient, user_id: str, findings: Findings, label: str) -> None:
        """The whole plan, one channel a line, as a file in the admin's DM (the modal shows the first few)."""
        from services.slack.files import send_file_to_user
        from services.ui.offboarding import plan_file

        filename, content, title, comment = plan_file(findings, label)
        await send_file_to_user(
            client, user_id, filename=filename, content=content, title=title, initial_comment=comment
        )

    async def confirmed(
        self,
        client: AsyncWebClient,
        requester: Requester,
        view_id: str | None,
        partner: Partner,
        excluded: Sequence[str],
        plan_id: str,
        *,
        is_enterprise_install: bool,
        installation_team: str | None,
    ) -> str | None:
        """Checked afresh (who, the token, the partner), the plan read back from the database (no second search: each
        channel is checked by Slack as the job reaches it); then the job; returns its ID."""
        from services.ui.offboarding import partner_label, problem_text, progress_modal

        admin_token = await self.disconnects.allowed_admin_token(
            client, requester, None, view_id=view_id, leaving_team_ids=[partner.id or ""]
        )
        if admin_token is None or admin_token.token is None or not requester.enterprise_id or not partner.id:
            return None
        label = partner_label(partner.id, partner.name)
        # Checked again here, not only when the partner was named: the confirmation is what starts the job.
        if partner.id == requester.enterprise_id:
            await self._tell(client, requester, view_id, problem_text("our_org", partner=label))
            return None
        # One offboarding of a partner at a time in an org: a second would send every call twice. The job's claim is
        # unique in the database (submit: JobClaimed, also for two confirmations in the same instant); read here
        # first so that no search runs for nothing.
        if await self.runner.store.holder(offboard_claim(requester.enterprise_id, partner.id)) is not None:
            await self._already_running(client, requester, view_id, partner.id, label)
            return None
        admin_client = admin_token.client(client)
        if not await self.still_outside(client, admin_client, requester, partner.id, view_id):
            return None
        stored = await self.plan_store.load(plan_id, requester.user_id)
        if (
            stored is None
            or stored.findings.partner_id != partner.id
            or stored.enterprise_id != requester.enterprise_id
        ):
            await self.disconnects.trail.record(
                client, requester.entry(AuditEvent.REFUSED, "plan:expired", None, partner.id)
            )
            await self._tell(client, requester, view_id, problem_text("plan_gone", partner=label))
            return None
        findings = stored.findings
        left_out = set(excluded)
        kept = [c for c in findings.ours if c["id"] not in left_out]
        if not kept and findings.search.done:
            await self._tell(client, requester, view_id, problem_text("all_kept", partner=label))
            return None
        try:
            job_id = await self.submit(
                requester,
                partner,
                kept,
                theirs=findings.theirs,
                pending=findings.pending,
                is_enterprise_install=is_enterprise_install,
                view_id=view_id,
                installation_team=installation_team,
                search=findings.search,
                excluded=sorted(left_out),
            )
        except JobClaimed:
            await self._already_running(client, requester, view_id, partner.id, label)
            return None
        job = await self.runner.store.get(job_id)
        if view_id and job is not None and job.done_count == 0:
            await call_outcome(client.views_update(view_id=view_id, view=progress_modal(job)))
        return job_id

    async def _already_running(
        self, client: AsyncWebClient, requester: Requester, view_id: str | None, partner_id: str, label: str
    ) -> None:
        """Refused: this partner's offboarding is unfinished in the org (its Cancel is on every admin's Home tab)."""
        from services.ui.offboarding import problem_text

        await self.disconnects.trail.record(
            client, requester.entry(AuditEvent.REFUSED, "already_running", None, partner_id)
        )
        await self._tell(client, requester, view_id, problem_text("already_running", partner=label))

    # ---- cancel ------------------------------------------------------------------------------------------------
    async def cancel(self, client: AsyncWebClient, requester: Requester, job_id: str) -> str:
        """Any admin of the job's org: record the request (the audit row is the signal every instance reads).

        Returns "cancelling", "finished" (too late: nothing to stop) or "unknown" (no such job of this org)."""
        job = await self.runner.store.get(job_id)
        if job is None or job.kind != OFFBOARD or job.enterprise_id != requester.enterprise_id:
            return "unknown"
        if job.status in FINISHED:
            return "finished"
        if not await self.disconnects.trail.log.of_job(job_id, AuditEvent.CANCELLED):  # the first press is recorded
            entry = self._entry(job, AuditEvent.CANCELLED, "requested", user_id=requester.user_id)
            await self.disconnects.trail.record(client, entry)
        self._cancelled_here.add(job_id)
        return "cancelling"

    async def cancel_requested(self, job_id: str) -> bool:
        if job_id in self._cancelled_here:
            return True
        rows = await self.disconnects.trail.log.of_job(job_id, AuditEvent.CANCELLED)
        return bool(rows)

    # ---- the job ----------------------------------------------------------------------------------------------
    def _entry(
        self,
        job: Job,
        event: AuditEvent,
        outcome: str,
        channel_id: str | None = None,
        user_id: str | None = None,
    ) -> AuditEntry:
        return AuditEntry(
            event=event,
            user_id=user_id or job.user_id,
            outcome=outcome,
            enterprise_id=job.enterprise_id,
            team_id=job.team_id,
            channel_id=channel_id,
            leaving_team_id=job.payload.get("partner"),
            action=OFFBOARD_DRY_RUN_AUDIT_ACTION if job.payload.get("dry_run") else OFFBOARD_AUDIT_ACTION,
            job_id=job.id,
        )

    async def run(self, work: JobWork) -> None:
        job = work.job
        client = await self.client_for(job)
        dry_run = job.payload.get("dry_run") is True
        requester = Requester(job.user_id, job.enterprise_id, job.team_id, job.reply_url(), dry_run=dry_run)
        if client is None:
            await self.runner.finish(work, FAILED)
            job.payload["stopped"] = "not_installed"
            await self._summary(work, self.base_client, claimed=False)
            return
        state = _Run(job, requester, interval=float(job.payload.get("pace") or 0.0))
        # Checked again when the job starts or resumes: still an admin of this org, still an admin token.
        view_id = job.payload.get("view_id")
        admin_token = await self.disconnects.allowed_admin_token(
            client,
            requester,
            None,
            view_id=view_id if isinstance(view_id, str) and view_id else None,
            leaving_team_ids=[job.payload.get("partner") or ""],
        )
        if admin_token is None or admin_token.token is None:
            for item in job.items:
                if item.get("outcome") is None:
                    item.update(outcome=SKIPPED, error="not_allowed")
            job.payload["stopped"] = "not_allowed"
            await self.disconnects.trail.record(client, self._entry(job, AuditEvent.FINISHED, "refused"))
            await self.runner.finish(work, FAILED, with_summary=True)  # the refusal was the answer
            return
        admin_client = admin_token.client(client, retry_server_errors=False)
        if not job.payload.get("started") and not await self.still_outside(
            client, admin_client, requester, None, None, job
        ):
            job.payload["stopped"] = "not_outside"
            for item in job.items:
                if item.get("outcome") is None:
                    item.update(outcome=SKIPPED, error="not_outside")
            claimed = await self.runner.finish(work, FAILED, with_summary=True)
            if not work.lost:
                await self._summary(work, client, claimed=claimed)
            return
        state.last_admin_check = self.clock()
        if not job.payload.get("started"):
            await self.disconnects.trail.record(
                client, self._entry(job, AuditEvent.STARTED, f"{len(job.items)} channels")
            )
            job.payload["started"] = True
            await work.save()
        pacer = pacer_of(admin_client)
        key = pace_key(admin_token.token, DISCONNECT_METHOD)
        partner = str(job.payload.get("partner") or "")

        async def progress(done: int, total: int) -> None:
            await self._progress(client, state, done, total)

        work.on_progress = progress

        @asynccontextmanager
        async def slot() -> AsyncIterator[None]:
            async with state.order:  # in order, one at a time
                await self._check_stop(client, state)
                if state.stop_reason is not None or dry_run:
                    yield
                    return
                wait = state.next_start - self.clock()
                if wait > 0:
                    await asyncio.sleep(wait)
                async with pacer.slot(key):
                    state.next_start = self.clock() + state.interval
                    yield
                learned = pacer.interval(key)
                if learned > state.interval:
                    state.interval = learned
                    job.payload["pace"] = learned

        async def one(item: dict[str, Any], sent_before: bool) -> dict[str, Any]:
            channel_id = item["id"]
            if state.stop_reason is not None:
                await self.disconnects.trail.record(
                    client, self._entry(job, AuditEvent.SKIPPED, state.stop_reason[:80], channel_id)
                )
                return {"outcome": SKIPPED, "error": state.stop_reason}
            if dry_run:
                await self.disconnects.trail.record(
                    client, self._entry(job, AuditEvent.DRY_RUN, "would_disconnect", channel_id)
                )
                return {"outcome": WOULD_DISCONNECT}
            result = await disconnect_team(admin_client, client, channel_id, partner, job.enterprise_id, job.team_id)
            error = result.error
            settled = False
            if sent_before and error in GONE_AFTER_OUR_CALL:
                # Our own call before the interruption did it: Slack says the partner (or anyone) is gone.
                error, settled = None, True
            if error is None:
                outcome = "ok" if result.after_error is None else f"ok_after:{result.after_error}"
                if settled:
                    outcome = "ok_settled"
                await self.disconnects.trail.record(client, self._entry(job, AuditEvent.SUCCEEDED, outcome, channel_id))
                done: dict[str, Any] = {"outcome": DISCONNECTED}  # no empty keys: the job's row is rewritten per item
                if result.after_error is not None:
                    done["after"] = result.after_error
                if settled:
                    done["settled"] = True
                return done
            if error in STOPPING_ERRORS:
                state.stop_reason = job.payload["stopping"] = error
            await self.disconnects.trail.record(client, self._entry(job, AuditEvent.FAILED, error, channel_id))
            return {"outcome": NOT_DISCONNECTED, "error": error}

        search_client = admin_token.client(client)
        await self._work_through(work, state, client, search_client, one, slot)
        if work.stopping:
            return
        if state.stop_reason is not None:
            job.payload["stopped"] = state.stop_reason
        counts = outcome_counts(job.items)
        end = ",".join(f"{k}={v}" for k, v in counts.items() if v)
        await self.disconnects.trail.record(client, self._entry(job, AuditEvent.FINISHED, end or "nothing"))
        claimed = await self.runner.finish(work, DONE, with_summary=True)
        if work.lost:
            return
        await self._summary(work, client, claimed=claimed)
        if self.home_refresh is not None:
            await self.home_refresh(client, job.user_id, job.enterprise_id, job.team_id)

    async def _work_through(
        self,
        work: JobWork,
        state: _Run,
        client: AsyncWebClient,
        search_client: AsyncWebClient,
        one: Callable[[dict[str, Any], bool], Awaitable[dict[str, Any]]],
        slot: Callable[[], Any],
    ) -> None:
        """Every channel in the job, in order; and while the plan's search isn't done, the search goes on beside the
        admin calls (its own method, its own Tier 2 pace), each channel it finds joining the job at once (those the
        admin kept excepted). Search and items are saved together: after a restart the search resumes at its cursor."""
        job = work.job
        search = Search.of(job.payload.get("search")) if job.payload.get("search") else None
        more = asyncio.Event()
        searching: asyncio.Task[None] | None = None
        if search is not None and not search.done:
            job.payload["searched_in_job"] = True
            searching = asyncio.create_task(self._search_on(work, state, client, search_client, search, more))
        try:
            while True:
                more.clear()
                if any(item.get("outcome") is None for item in job.items):
                    await work.each_item(one, slot)
                    if work.stopping:
                        return
                    continue
                if searching is not None and not searching.done():
                    await more.wait()
                    continue
                checked = self._check_pass(job, state)
                if checked is None:
                    return
                searching = asyncio.create_task(self._search_on(work, state, client, search_client, checked, more))
        finally:
            if searching is not None:
                if work.stopping:
                    searching.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await searching

    def _check_pass(self, job: Job, state: _Run) -> Search | None:
        """Once every channel found is done: when the search ran while channels were being disconnected, one more
        pass from the start, over what is still connected to the partner (a few pages: what failed, was kept, or
        is theirs), so a result set that moved under the cursor can't leave a channel out. None: nothing to do."""
        search = Search.of(job.payload.get("search")) if job.payload.get("search") else None
        if (
            search is None
            or search.error is not None
            or not job.payload.get("searched_in_job")
            or job.payload.get("search_checked")
            or job.payload.get("dry_run")
            or state.stop_reason is not None
        ):
            return None
        fresh = Search()
        for sweep in fresh.sweeps:
            if search.private_refused and sweep.types == PRIVATE_SWEEP:
                sweep.done, sweep.refused = True, search.private_refused
        job.payload["search_checked"] = True
        job.payload["search"] = fresh.as_dict()
        return fresh

    async def _search_on(
        self,
        work: JobWork,
        state: _Run,
        client: AsyncWebClient,
        search_client: AsyncWebClient,
        search: Search,
        more: asyncio.Event,
    ) -> None:
        job = work.job
        excluded = {x for x in job.payload.get("excluded") or [] if isinstance(x, str)}
        theirs = job.payload.setdefault("theirs", [])
        pending = job.payload.setdefault("pending", [])
        known = [{"id": i["id"]} for i in job.items] + [{"id": x} for x in excluded]
        findings = Findings(
            str(job.payload.get("partner") or ""), job.enterprise_id or "", known, theirs, pending, search
        )
        pacer = pacer_of(search_client)
        key = pace_key(search_client.token, SEARCH_METHOD)
        unsaved = 0
        try:
            while not search.done and state.stop_reason is None and not work.stopping:
                await self._check_stop(client, state)  # a cancel, or rights gone, stop the search too
                if state.stop_reason is not None:
                    break
                before = search.progress
                async with pacer.slot(key):
                    found = await search_page(search_client, findings)
                if search.progress == before and not search.done:
                    await asyncio.sleep(RATELIMITED_PAUSE_SECONDS)  # still limited after the client's retries
                    continue
                job.items.extend({**item, "outcome": None} for item in found if item["id"] not in excluded)
                job.payload["search"] = search.as_dict()
                # Written with the items' own checkpoints (each rewrites the whole job, cursor and all); by itself only
                # every few pages, or when no channel is waiting (a restart then re-reads at most those pages).
                unsaved += 1
                if unsaved >= SEARCH_SAVE_EVERY or search.done or not any(i.get("outcome") is None for i in job.items):
                    unsaved = 0
                    await work.save()
                more.set()
                if not found:
                    await self._progress(client, state, job.done_count, len(job.items))
            if search.error is not None:
                job.payload["search_error"] = search.error
                await self.disconnects.trail.record(
                    client, self._entry(job, AuditEvent.FAILED, f"search:{search.error}"[:80])
                )
        finally:
            more.set()

    async def _check_stop(self, client: AsyncWebClient, state: _Run) -> None:
        """Cancelled by an admin? Still allowed? Asked at most every CANCEL_CHECK / RECHECK_ADMIN seconds."""
        if state.stop_reason is not None:
            return
        now = self.clock()
        if state.job.id in self._cancelled_here or now - state.last_cancel_check >= CANCEL_CHECK_SECONDS:
            state.last_cancel_check = now
            if await self.cancel_requested(state.job.id):
                state.stop_reason = state.job.payload["stopping"] = "cancelled"
                return
        if now - state.last_admin_check >= self.recheck_admin_seconds:
            state.last_admin_check = now
            check = await self.disconnects.admins.check(client, state.requester.user_id, state.requester.enterprise_id)
            if not check.allowed and not check.undecided:
                state.stop_reason = state.job.payload["stopping"] = f"not_allowed:{check.reason}"
                await self.disconnects.trail.record(
                    client, self._entry(state.job, AuditEvent.REFUSED, check.reason, None)
                )

    async def _progress(self, client: AsyncWebClient, state: _Run, done: int, total: int) -> None:
        from services.ui.offboarding import progress_modal

        view_id = state.job.payload.get("view_id")  # read each time: cleared once the modal is gone
        if isinstance(view_id, str) and view_id:
            # views.update is cheap next to the admin call's pace: every item is shown.
            _, error = await call_outcome(client.views_update(view_id=view_id, view=progress_modal(state.job)))
            if error in ("not_found", "view_not_found"):
                state.job.payload["view_id"] = None
        now = self.clock()
        if self.home_refresh is not None and now - state.last_home >= HOME_REFRESH_SECONDS:
            state.last_home = now
            await self.home_refresh(client, state.job.user_id, state.job.enterprise_id, state.job.team_id)

    async def _summary(self, work: JobWork, client: AsyncWebClient, *, claimed: bool) -> None:
        """The one summary (claimed in the database first), to the response URL while Slack takes it, else a DM;
        and the modal's last view."""
        from services.leaving.workflow import send_list
        from services.ui.offboarding import offboarding_list_file, result_modal, summary_message

        job = work.job
        if not claimed and not await work.store.claim_summary(job.id):
            return
        # A summary too long to name every channel: the full list first, as a file in the admin's DM.
        full_list = await send_list(client, job.user_id, offboarding_list_file(job))
        view_id = job.payload.get("view_id")
        if isinstance(view_id, str) and view_id:
            await call_outcome(client.views_update(view_id=view_id, view=result_modal(job, full_list)))
        await reply_privately(client, job.user_id, job.reply_url(), summary_message(job, full_list))

    async def still_outside(
        self,
        client: AsyncWebClient,
        admin_client: AsyncWebClient,
        requester: Requester,
        partner_id: str | None,
        view_id: str | None,
        job: Job | None = None,
    ) -> bool:
        """Fail closed, again (at confirmation and as the job starts): the partner must be positively outside our org
        (services.disconnecting.directory.establish_outside); if not, audited and said, and nothing is called."""
        from services.ui.offboarding import partner_label, problem_text

        partner = partner_id or str((job.payload.get("partner") if job else None) or "")
        outside = await establish_outside(
            client, partner, requester.enterprise_id, requester.team_id, admin=admin_client
        )
        if outside.outside:
            return True
        reason = "ours" if outside.ours else outside.problem or "unknown"
        entry = (
            self._entry(job, AuditEvent.REFUSED, f"not_outside:{reason}")
            if job is not None
            else requester.entry(AuditEvent.REFUSED, f"not_outside:{reason}", None, partner)
        )
        await self.disconnects.trail.record(client, entry)
        if job is None:
            label = partner_label(partner, None)
            text = problem_text("our_org" if outside.ours else f"not_established:{reason}", partner, partner=label)
            await self._tell(client, requester, view_id, text)
        return False

    async def active_jobs(
        self, enterprise_id: str | None, offset: int = 0, limit: int = 10, kinds: Sequence[str] = (OFFBOARD,)
    ) -> HomeJobs:
        """The Home tab's jobs: a page of this org's unfinished offboardings (oldest first, every one reachable by
        paging, whatever their number), how many there are, and on the first page those finished in the last hour.

        With several `kinds` (channel by channel, then "everything"), one list: each kind's jobs oldest first, one
        kind after the other, paged together."""
        if not enterprise_id or not self.runner.store.database.opened:
            return HomeJobs([], 0, 0, [])
        running, total = await self._unfinished_page(enterprise_id, offset, limit, kinds)
        if not running and offset > 0 and total > 0:  # the page emptied as jobs finished: the last page
            offset = (total - 1) // limit * limit
            running, total = await self._unfinished_page(enterprise_id, offset, limit, kinds)
        since = datetime.now(UTC) - timedelta(hours=1)
        finished: list[Job] = []
        if offset == 0:
            for kind in kinds:
                finished.extend(await self.runner.store.finished_since(kind, enterprise_id, since=since, limit=5))
            finished.sort(key=lambda j: j.finished_at or j.created_at, reverse=True)
        return HomeJobs(running, total, offset, finished[:5])

    async def _unfinished_page(
        self, enterprise_id: str, offset: int, limit: int, kinds: Sequence[str]
    ) -> tuple[list[Job], int]:
        running: list[Job] = []
        total = 0
        for kind in kinds:  # the kinds one after the other: this kind's part of [offset, offset + limit)
            start = max(0, offset - total)
            wanted = limit - len(running)
            jobs, count = await self.runner.store.unfinished(kind, enterprise_id, offset=start, limit=max(wanted, 1))
            if wanted > 0 and start < count:
                running.extend(jobs[:wanted])
            total += count
        return running, total


@dataclass(frozen=True)
class HomeJobs:
    """A page of an org's unfinished offboarding jobs for the Home tab (services.ui.home_jobs)."""

    running: list[Job]  # oldest first, from `offset`
    total: int  # unfinished in all
    offset: int
    finished: list[Job]  # finished in the last hour, newest first (first page only)
