"""A /leave-channel of more than one channel, as a job (services.jobs.queue): it survives restarts, deploys and crashes.

The listener writes the job (the channels, who asked, the response URL, the modal to update) before the user is told
it started; any instance's runner then checks who may make the bot leave what, learns which channels are private,
leaves the channels paced as before, and posts the one summary with its Rejoin offer. The Web API client is built
from the installation (the pasted bot token, or the installation store's bot for the job's org/workspace), never
from a request.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from services.disconnecting.admins import AdminPolicy
from services.jobs.queue import DONE, FAILED, Job, JobRunner, JobWork
from services.leaving.leave import LeaveOutcome, LeaveResult, LeaveStatus, leave_channel, private_channel_ids
from services.leaving.offers import IssuedOffer, RejoinOffers
from services.leaving.policy import LeavePolicy
from services.slack.client import pacer_of
from services.slack.delivery import post_direct_message, reply_beside_copy, reply_privately
from services.slack.files import send_file_to_user
from services.slack.pacing import pace_key
from services.slack.progress import ModalProgress
from services.slack.tokens import TokenKeeper, TokenRenewalFailed, bot_client
from services.ui.leave import (
    leave_check_failed_text,
    leave_given_up_text,
    leave_list_file,
    leave_notice_modal,
    leave_progress_modal,
    leave_result_modal,
    leave_summary_message,
    leave_summary_text,
)
from services.ui.limits import FullList, ListFile

logger = logging.getLogger(__name__)

LEAVE = "leave"
_METHOD = "conversations.leave"
NOT_INSTALLED = (
    "I couldn't finish leaving the channels you asked for: the app is no longer installed for this workspace. "
    "Ask a Slack admin to install it again, then run the command again."
)

ClientFor = Callable[[Job], Awaitable[AsyncWebClient | None]]


@dataclass
class LeaveJobs:
    runner: JobRunner
    client_for: ClientFor  # the installation's bot for a job (None: no longer installed)
    base_client: AsyncWebClient  # for the response URL when there is no installation any more
    admins: AdminPolicy
    audit_channel_id: str | None
    rejoins: RejoinOffers

    def register(self) -> None:
        self.runner.register(LEAVE, self.run, on_failed=self.given_up)

    async def given_up(self, work: JobWork) -> None:
        """The job failed for good (its attempts used up): the user hears once what was left and what wasn't."""
        job = work.job
        client = await self.client_for(job) or self.base_client
        done = [item for item in job.items if item.get("outcome") is not None]
        results = tuple(LeaveResult(item["id"], LeaveStatus(item["outcome"]), item.get("error")) for item in done)
        text = leave_given_up_text(
            LeaveOutcome(results), [item["id"] for item in job.items if item.get("outcome") is None]
        )
        view_id = job.payload.get("view_id")
        if view_id:
            await ModalProgress(client, view_id, leave_progress_modal).finish(leave_notice_modal(text))
        await reply_privately(client, job.user_id, job.reply_url(), {"text": text})

    async def submit(
        self,
        channel_ids: Sequence[str],
        *,
        user_id: str,
        enterprise_id: str | None,
        team_id: str | None,
        is_enterprise_install: bool,
        response_url: str | None,
        view_id: str | None = None,
        installation_team: str | None = None,
        request_key: str | None = None,
    ) -> str:
        """Write the job (before the user hears it started) and wake this instance's runner. With `request_key` (the
        request's trigger or view ID) the job is named by it: the same request again raises JobExists."""
        job_id = await self.runner.store.create(
            LEAVE,
            job_id=hashlib.sha256(request_key.encode()).hexdigest()[:32] if request_key else None,
            user_id=user_id,
            items=[{"id": c, "outcome": None} for c in channel_ids],
            enterprise_id=enterprise_id,
            team_id=team_id,
            is_enterprise_install=is_enterprise_install,
            response_url=response_url,
            # The installation's own workspace (None for an org-wide install): who counts as an admin is judged
            # against it, never the payload's (services.leaving.policy); `team_id` is the workspace the client acts in.
            payload={"view_id": view_id, "installation_team": installation_team},
        )
        self.runner.wake()
        return job_id

    async def run(self, work: JobWork) -> None:
        job = work.job
        client = await self.client_for(job)
        if client is None:
            await self.runner.finish(work, FAILED)
            await self._summary(work, self.base_client, {"text": NOT_INSTALLED}, None)
            return
        view_id = job.payload.get("view_id")
        progress = ModalProgress(client, view_id, leave_progress_modal) if view_id else None
        if job.summary_sent_at is None and "refused" not in job.payload:
            channel_ids = [item["id"] for item in job.items]
            rights = await LeavePolicy(self.admins, self.audit_channel_id).rights(
                client, job.user_id, channel_ids, job.enterprise_id, job.payload.get("installation_team", job.team_id)
            )
            if rights.error is not None:
                text = leave_check_failed_text(rights.error, rights.failed_method or "", channel_ids)
                if progress is not None:
                    await progress.finish(leave_notice_modal(text))
                await self.runner.finish(work, FAILED)
                await self._summary(work, client, {"text": text}, None)
                return
            for item in job.items:
                if item["id"] in rights.refused:
                    item.update(outcome=rights.refused[item["id"]].value)
            job.payload["refused"] = sorted(rights.refused)
            # A member's own listing (who may) said which are private; an admin's check listed nothing: ask once.
            private = rights.private if rights.private is not None else await private_channel_ids(client)
            job.payload["private"] = sorted(private)
            # Saved with the first items' marks (a crash before then only repeats these two look-ups).
        if progress is not None:
            work.on_progress = progress.update
        pacer = pacer_of(client)
        key = pace_key(client.token, _METHOD)

        async def one(item: dict[str, Any], sent_before: bool) -> dict[str, Any]:
            result = await leave_channel(client, item["id"])
            if sent_before and result.status is LeaveStatus.NOT_IN_CHANNEL:
                # Our own call before the interruption may have left it: Slack's answer settles it.
                return {"outcome": LeaveStatus.LEFT.value, "settled": True}
            return {"outcome": result.status.value, "error": result.error}

        await work.each_item(one, lambda: pacer.slot(key, lane=job.id))
        if work.stopping:
            return
        outcome = outcome_of(job)
        summary = leave_summary_text(outcome)
        offer = await self.rejoins.issue(outcome, job.user_id, summary)
        summary_ours = await self.runner.finish(work, DONE, with_summary=True)
        if work.lost:
            return
        await self._summary(work, client, {}, offer, outcome, progress, claimed=summary_ours)

    async def _summary(
        self,
        work: JobWork,
        client: AsyncWebClient,
        message: dict[str, Any],
        offer: Any,
        outcome: LeaveOutcome | None = None,
        progress: ModalProgress | None = None,
        claimed: bool = False,
    ) -> None:
        """The one summary: claimed in the database first, so whichever instance ends the job, it goes out once."""
        job = work.job
        if not claimed and not await work.store.claim_summary(job.id):
            return
        note = interruption_note(job)

        def noted(m: dict[str, Any]) -> dict[str, Any]:
            if not note:
                return m
            m = {**m, "text": f"{m.get('text', '')}\n{note}"}
            _append_note(m, note)
            return m

        url = job.reply_url()  # None once Slack no longer takes it: the DM then
        if outcome is None:
            await reply_privately(client, job.user_id, url, noted(message))
            return
        await deliver_leave_summary(client, job.user_id, url, outcome, offer, progress, noted)


async def send_list(client: AsyncWebClient, user_id: str, listed: ListFile | None) -> FullList | None:
    """A shortened summary's full list, as a file in the person's DM; None when there is no list to send."""
    if listed is None:
        return None
    sent = await send_file_to_user(
        client,
        user_id,
        filename=listed.filename,
        content=listed.content,
        title=listed.title,
        initial_comment=listed.initial_comment,
    )
    return FullList(listed.filename, sent)


def _as_is(message: dict[str, Any]) -> dict[str, Any]:
    return message


async def deliver_leave_summary(
    client: AsyncWebClient,
    user_id: str,
    response_url: str | None,
    outcome: LeaveOutcome,
    offer: IssuedOffer | None,
    progress: ModalProgress | None = None,
    noted: Callable[[dict[str, Any]], dict[str, Any]] = _as_is,
) -> None:
    """A leave's summary, whatever its size: the full list as a file in the DM when the summary names only the first
    channels of each list (services.ui.limits), then the summary with its Rejoin button as a DM (the lasting copy),
    the modal's last view, and the ephemeral reply by the response URL while Slack takes it.

    Every message is within Slack's limits, so the DM copy with the button exists whatever the number of channels;
    with no response URL usable, that DM is the summary itself. `noted` adds what the job has to say (an interruption).
    """
    full_list = await send_list(client, user_id, leave_list_file(outcome))
    if offer is None:
        if progress is not None:
            await progress.finish(leave_result_modal(outcome, full_list=full_list))
        await reply_privately(
            client, user_id, response_url, noted(leave_summary_message(outcome, None, False, full_list))
        )
        return
    # The lasting copy first (a DM survives a reload), so the modal and the reply can say truly whether it exists.
    posted = await post_direct_message(client, user_id, noted(leave_summary_message(outcome, offer, False, full_list)))
    if progress is not None:
        # With no response URL the DM is the summary itself, not a copy of it.
        lasting = posted and bool(response_url)
        await progress.finish(leave_result_modal(outcome, offer, lasting_copy=lasting, full_list=full_list))
    beside = noted(leave_summary_message(outcome, offer, posted, full_list))
    await reply_beside_copy(client, user_id, response_url, beside, posted)


def _append_note(message: dict[str, Any], note: str) -> None:
    blocks = message.get("blocks")
    if isinstance(blocks, list):
        message["blocks"] = [*blocks, {"type": "context", "elements": [{"type": "mrkdwn", "text": note}]}]


def interruption_note(job: Job) -> str | None:
    if not job.interrupted:
        return None
    settled = [item["id"] for item in job.items if item.get("settled")]
    note = "This was interrupted (the app restarted) and picked up where it stopped; no channel was handled twice."
    if settled:
        mentions = ", ".join(f"<#{c}>" for c in settled)
        note += f" Slack confirmed I had already left {mentions} just before the interruption."
    return note


def outcome_of(job: Job) -> LeaveOutcome:
    results = tuple(LeaveResult(item["id"], LeaveStatus(item["outcome"]), item.get("error")) for item in job.items)
    refused = frozenset(job.payload.get("refused") or ())  # once, not per item: 1,000 items made it quadratic
    private = frozenset(job.payload.get("private") or ()) & frozenset(
        item["id"] for item in job.items if item["id"] not in refused
    )
    return LeaveOutcome(results, private)


def installation_clients(
    base: AsyncWebClient, bot_token: str | None, installation_store: Any = None, keeper: TokenKeeper | None = None
) -> ClientFor:
    """How a job gets its client: the pasted bot token, or the installation store's bot for the job's org/workspace.

    With `team_id` set (client_like), an org-level token carries the job's workspace as Bolt's request clients do.
    With a TokenKeeper (OAuth installs), a rotating bot token is renewed when due, before the job starts and during it
    (services.slack.tokens.bot_client): a job running for hours, or resumed after a restart, keeps working.
    """
    from services.slack.client import client_like

    async def client_for(job: Job) -> AsyncWebClient | None:
        if bot_token is not None:
            return client_like(base, token=bot_token, team_id=job.team_id)
        if installation_store is None:
            return None
        if keeper is not None:
            where = {"enterprise_id": job.enterprise_id, "team_id": job.team_id}
            try:
                bot = await keeper.bot(**where, is_enterprise_install=job.is_enterprise_install)
            except TokenRenewalFailed as e:
                logger.warning("Job %s: its install's bot token couldn't be renewed (%s)", job.id, e.code)
                bot = await installation_store.async_find_bot(**where, is_enterprise_install=job.is_enterprise_install)
                # Its calls then answer token_expired, whose sentence says which install to redo.
            if bot is None or not bot.bot_token:
                return None
            return bot_client(
                keeper, base, bot, **where, is_enterprise_install=job.is_enterprise_install, acting_team_id=job.team_id
            )
        bot = await installation_store.async_find_bot(
            enterprise_id=job.enterprise_id, team_id=job.team_id, is_enterprise_install=job.is_enterprise_install
        )
        if bot is None or not bot.bot_token:
            return None
        return client_like(base, token=bot.bot_token, team_id=job.team_id)

    return client_for
