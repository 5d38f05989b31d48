"""A /disconnect-shared of several workspaces, as a job (services.jobs.queue): it survives restarts and crashes.

The listener writes the job (the channel, the team IDs in order, who asked, the response URL; never a token) before
the admin hears it started. Whichever instance runs it repeats the admin check and looks the admin token up again
(AdminTokenSource), reads the channel again, then for each workspace: audits `confirmed … pending`, makes the admin
call once (client_like(retry_server_errors=False)), settles an ambiguous answer by reading the channel again
(shared_channels.disconnect_team), and audits the result. One summary (outcome_message), exactly once.

After a crash, a workspace marked sent without a result may have been disconnected just before it: it is settled by
reading the channel (gone: done), and only if it is still connected is the call made again, where
`leaving_team_not_in_channel` (https://docs.slack.dev/reference/methods/admin.conversations.disconnectShared, and
../shared/seeds/admin.conversations.disconnectShared.txt) after our own earlier call also counts as done.
A `confirmed … pending` audit row that no job will finish (its process died outside a job, or its job was given up)
is closed by `sweep` as outcome unknown, and the admin is told to check the channel.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from services.audit.log import AuditEvent
from services.disconnecting.admin_tokens import AdminToken
from services.disconnecting.shared_channels import GONE_AFTER_OUR_CALL, DisconnectResult, describe_shared_channel
from services.disconnecting.workflow import Disconnects, Requester
from services.jobs.queue import DONE, FAILED, FINISHED, Job, JobExists, JobRunner, JobWork
from services.leaving.workflow import NOT_INSTALLED, ClientFor
from services.slack.delivery import post_direct_message, reply_privately
from services.storage.handled_requests import HandledRequests
from services.ui.disconnect import outcome_message
from services.ui.given_up import given_up_text

logger = logging.getLogger(__name__)

DISCONNECT = "disconnect"
# A `confirmed … pending` row older than this with no result and no job to finish it is closed as outcome unknown.
DANGLING_AFTER = timedelta(minutes=15)
OUTCOME_UNKNOWN_NO_JOB = "outcome_unknown:interrupted"
GIVEN_UP = "given_up"  # a workspace never sent when the job was given up
OUTCOME_UNKNOWN_GIVEN_UP = "outcome_unknown:given_up"  # sent, no answer recorded, when the job was given up
OFFBOARDING_RUNNING = "offboarding_running"  # a party left out: an unfinished offboarding is disconnecting it
DANGLING_TEXT = (
    "Outcome unknown — check the channel: I asked Slack to disconnect {team} from <#{channel}> and was stopped "
    "before I learned whether it happened. Open the channel's details to see whether that workspace is still "
    "connected, and run /disconnect-shared again if it is."
)


def job_id_for(view_id: str | None, user_id: str) -> str:
    """One job per confirmation: the same submission again (a replay, on any instance) finds its row taken."""
    return hashlib.sha256(f"disconnect:{view_id}:{user_id}".encode()).hexdigest()[:32]


def requester_of(job: Job) -> Requester:
    return Requester(job.user_id, job.enterprise_id, job.team_id, job.reply_url())


def _result(item: dict[str, Any]) -> DisconnectResult:
    error = None if item.get("outcome") == "ok" else item.get("outcome")
    return DisconnectResult(item["id"], error, after_error=item.get("after_error"))


@dataclass
class DisconnectJobs:
    runner: JobRunner
    client_for: ClientFor
    base_client: AsyncWebClient
    disconnects: Disconnects
    # Every instance sweeps: each row is closed by the first to claim it, so the admin is told once.
    handled: HandledRequests
    dangling_after: timedelta = DANGLING_AFTER

    def register(self) -> None:
        self.runner.register(DISCONNECT, self.run, on_failed=self.given_up)
        self.runner.maintain(self.sweep)

    async def given_up(self, work: JobWork) -> None:
        """The job failed for good (its attempts used up; the queue claimed its one summary for this): each workspace
        it didn't finish is audited (one sent without an answer as outcome unknown, which also closes its `confirmed …
        pending` row so the sweep doesn't tell the admin again), and the admin hears once what was done."""
        job = work.job
        client = await self.client_for(job) or self.base_client
        requester = requester_of(job)
        channel_id = job.payload.get("channel_id")
        items = [i for i in job.items if not i.get("left_out")]  # those left out for an offboarding were told
        unfinished = [i for i in items if i.get("outcome") is None]
        for item in unfinished:
            outcome = OUTCOME_UNKNOWN_GIVEN_UP if item.get("sent") else GIVEN_UP
            await self.disconnects.trail.record(
                client, requester.entry(AuditEvent.FAILED, outcome, channel_id, item["id"])
            )
        done = sum(1 for i in items if i.get("outcome") == "ok")
        unknown = [f"`{i['id']}`" for i in unfinished if i.get("sent")]
        note = (
            f"I may have disconnected {', '.join(unknown)} just before I stopped: open <#{channel_id}>'s details to see."
            if unknown
            else ""
        )
        text = given_up_text(DISCONNECT, done, len(items) - done - len(unfinished), len(unfinished), note=note)
        await reply_privately(client, job.user_id, job.reply_url(), {"text": text})

    async def submit(
        self,
        channel_id: str,
        team_ids: Sequence[str],
        *,
        user_id: str,
        enterprise_id: str | None,
        team_id: str | None,
        is_enterprise_install: bool,
        response_url: str | None,
        view_id: str | None,
    ) -> bool:
        """Write the job and wake this instance's runner; False when this confirmation has a job already (a replay)."""
        try:
            await self.runner.store.create(
                DISCONNECT,
                job_id=job_id_for(view_id, user_id),
                user_id=user_id,
                items=[{"id": t, "outcome": None} for t in team_ids],
                enterprise_id=enterprise_id,
                team_id=team_id,
                is_enterprise_install=is_enterprise_install,
                response_url=response_url,
                payload={"channel_id": channel_id},
            )
        except JobExists:
            return False
        self.runner.wake()
        return True

    async def run(self, work: JobWork) -> None:
        job = work.job
        channel_id = job.payload["channel_id"]
        client = await self.client_for(job)
        if client is None:
            if await self.runner.finish(work, FAILED, with_summary=True):
                await reply_privately(self.base_client, job.user_id, job.reply_url(), {"text": NOT_INSTALLED})
            return
        requester = requester_of(job)
        # Repeated on every run and resume: still an admin, still a token (looked up now, never stored).
        fresh = [i["id"] for i in job.items if i.get("outcome") is None and not i.get("sent")]
        checked: tuple[AdminToken, dict[str, str]] | None = None
        if fresh:
            checked = await self.disconnects.checked(client, requester, channel_id, fresh)
            if checked is not None:
                job.payload.setdefault("names", {}).update({t: checked[1][t] for t in fresh if t in checked[1]})
        else:
            allowed = await self.disconnects.allowed_admin_token(
                client, requester, channel_id, leaving_team_ids=[i["id"] for i in job.items]
            )
            checked = None if allowed is None else (allowed, {})
        if checked is None or checked[0].token is None:  # refused: audited and told by the check
            await self.runner.finish(work, FAILED, with_summary=True)
            return
        admin_token = checked[0]
        assert admin_token.token is not None
        if fresh:
            # Checked again as the job starts: a party an unfinished offboarding is disconnecting is left out (audited
            # as refused, the admin told), so Slack isn't asked twice for the same channel and party.
            kept = await self.disconnects.without_offboarded(client, requester, channel_id, fresh, checked[1])
            for item in job.items:
                if item["id"] in fresh and item["id"] not in kept:
                    item.update(outcome=OFFBOARDING_RUNNING, left_out=True)
            if len(kept) < len(fresh):
                await work.save()
        admin_client = self.disconnects.admin_client(client, admin_token)

        async def one(item: dict[str, Any], sent_before: bool) -> dict[str, Any]:
            team = item["id"]
            if sent_before:
                settled = await self._settled(client, requester, channel_id, team)
                if settled is not None:
                    return settled
            result = await self.disconnects.one(
                client, admin_client, requester, channel_id, team, pending_recorded=sent_before,
                gone_means_done=GONE_AFTER_OUR_CALL if sent_before else frozenset(),
            )  # fmt: skip
            if sent_before and result.ok and result.after_error in GONE_AFTER_OUR_CALL:
                return {"outcome": "ok", "settled": True}  # audited as ok_after:<code>; the summary says why
            return {"outcome": result.error or "ok", "after_error": result.after_error}

        # In the order the admin confirmed them, one at a time.
        await work.each_item(one, work.in_order)
        if work.stopping:
            return
        if not await self.runner.finish(work, DONE, with_summary=True):
            return
        results = [_result(i) for i in job.items if not i.get("left_out")]
        if not results:
            return  # every party left out: the admin was told why, and nothing was sent
        message = outcome_message(channel_id, results, job.payload.get("names") or {}, admin_token.source)
        note = self.interruption_note(job)
        if note:
            message = {**message, "text": f"{message['text']}\n{note}"}
        await reply_privately(client, job.user_id, job.reply_url(), message)

    async def _settled(
        self, client: AsyncWebClient, requester: Requester, channel_id: str, team: str
    ) -> dict[str, Any] | None:
        """An item that may have reached Slack before an interruption: gone from the channel means done."""
        shared = await describe_shared_channel(client, channel_id, requester.enterprise_id, requester.team_id)
        gone = shared.problem in ("not_shared", "org_shared_only") or (
            shared.problem in (None, "only_pending") and team not in shared.team_ids
        )
        if not gone:
            return None  # still connected (or unreadable): the call is made, and its answer settles it
        await self.disconnects.record_result(client, requester, channel_id, DisconnectResult(team, None))
        return {"outcome": "ok", "settled": True}

    async def _client_of_row(self, job: Job) -> AsyncWebClient:
        """The bot of the workspace the row was written from, or of its org-wide install."""
        client = await self.client_for(job)
        if client is None and job.enterprise_id:
            job.is_enterprise_install = True
            client = await self.client_for(job)
        return client or self.base_client

    @staticmethod
    def interruption_note(job: Job) -> str | None:
        if not job.interrupted:
            return None
        note = "This was interrupted (the app restarted) and picked up where it stopped; no workspace was sent twice."
        settled = [i["id"] for i in job.items if i.get("settled")]
        if settled:
            note = (
                "This was interrupted (the app restarted) and picked up where it stopped. Slack confirmed that "
                f"{', '.join(f'`{t}`' for t in settled)} had already been disconnected by my call just before the "
                "interruption."
            )
        return note

    async def sweep(self) -> int:
        """Close every `confirmed … pending` audit row that nothing will finish: outcome unknown, the admin told."""
        now = datetime.now(UTC)
        rows = await self.disconnects.trail.log.dangling(now - self.dangling_after)
        if not rows:
            return 0
        covered: set[tuple[str | None, str]] = set()
        for j in await self.runner.store.all(kind=DISCONNECT):
            if j.status not in FINISHED:
                covered.update((j.payload.get("channel_id"), i["id"]) for i in j.items)
        closed = 0
        for row in rows:
            if (row["channel_id"], row["leaving_team_id"]) in covered:
                continue
            requester = Requester(row["user_id"], row["enterprise_id"], row["team_id"], None)
            job = Job(
                "", DISCONNECT, FAILED, now, row["user_id"], row["enterprise_id"], row["team_id"], False, None, {}, []
            )
            client = await self._client_of_row(job)
            # Claimed right before the closing row is written: of the instances sweeping, one closes it. (A crash
            # between the two leaves the row to a sweep after the claim expires: handled_requests.KEEP_FOR.)
            if not await self.handled.first_time(f"sweep:{row['id']}"):
                continue
            await self.disconnects.trail.record(
                client,
                requester.entry(AuditEvent.FAILED, OUTCOME_UNKNOWN_NO_JOB, row["channel_id"], row["leaving_team_id"]),
            )
            text = DANGLING_TEXT.format(team=f"`{row['leaving_team_id']}`", channel=row["channel_id"])
            await post_direct_message(client, row["user_id"], {"text": text})
            closed += 1
        if closed:
            logger.warning(
                "Closed %s disconnect audit row(s) left pending by an interruption as outcome unknown", closed
            )
        return closed
