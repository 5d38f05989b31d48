"""A Rejoin press, as a job (services.jobs.queue): it survives restarts, and its claim lives and dies with the job.

One job per offer (its ID is a digest of the button's value): a press writes it, or re-queues it once the previous
press's job has finished; a press while it is queued or running is told it is already rejoining. So the claim is the
job itself: a drain (SIGTERM) releases it for the next instance, which finishes it and rewrites the summary (no
message stays on "Rejoining…"), and after a crash it expires with the job's lease (JOB_LEASE_SECONDS), not after
minutes. After an interruption, a channel marked sent may have been joined already: conversations.join then answers
ok with `already_in_channel` (https://docs.slack.dev/reference/methods/conversations.join), which after our own
earlier call counts as rejoined.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from services.jobs.queue import DONE, FAILED, JobExists, JobRunner, JobWork
from services.leaving.offers import RejoinOffer, RejoinOffers
from services.leaving.rejoin import JoinResult, JoinStatus, join_channel, privacy_from_joins
from services.leaving.workflow import NOT_INSTALLED, ClientFor, send_list
from services.slack.client import pacer_of
from services.slack.delivery import reply_privately
from services.slack.pacing import pace_key
from services.ui.given_up import given_up_text
from services.ui.rejoin import (
    REJOIN_UNKNOWN,
    offer_summary,
    rejoin_done_message,
    rejoin_given_up_message,
    rejoin_list_file,
    rejoin_running_message,
)

logger = logging.getLogger(__name__)

REJOIN = "rejoin"
_METHOD = "conversations.join"


def job_id_for(offer: RejoinOffer) -> str:
    return hashlib.sha256(f"rejoin:{offer.key}".encode()).hexdigest()[:32]


@dataclass
class RejoinJobs:
    runner: JobRunner
    client_for: ClientFor
    base_client: AsyncWebClient
    offers: RejoinOffers

    def register(self) -> None:
        self.runner.register(REJOIN, self.run, on_failed=self.given_up)

    async def given_up(self, work: JobWork) -> None:
        """The job failed for good (its attempts used up; the queue claimed its one summary for this): the user hears
        once, in place of "Rejoining…", how many channels were rejoined, failed and not tried, with the button kept."""
        job = work.job
        client = await self.client_for(job) or self.base_client
        done = sum(1 for i in job.items if i.get("outcome") in (JoinStatus.REJOINED.value, JoinStatus.ALREADY_IN.value))
        not_done = sum(1 for i in job.items if i.get("outcome") is None)
        text = given_up_text(REJOIN, done, len(job.items) - done - not_done, not_done)
        value = str(job.payload.get("value") or "")
        offer = await self.offers.find(value)
        message = (
            rejoin_given_up_message(offer_summary(offer), text, value)
            if offer is not None
            else {"text": text, "replace_original": False}
        )
        ephemeral = bool(job.payload.get("ephemeral", True))
        await reply_privately(client, job.user_id, job.reply_url(), message, original_ephemeral=ephemeral)

    async def submit(
        self,
        offer: RejoinOffer,
        value: str,
        *,
        user_id: str,
        enterprise_id: str | None,
        team_id: str | None,
        is_enterprise_install: bool,
        response_url: str | None,
        ephemeral: bool,
        bot_user_id: str | None,
    ) -> bool:
        """Write (or re-queue) the offer's job; False while an earlier press's job is queued or running."""
        fields: dict[str, Any] = dict(
            user_id=user_id,
            items=[{"id": c, "outcome": None} for c in offer.public_ids],
            enterprise_id=enterprise_id,
            team_id=team_id,
            is_enterprise_install=is_enterprise_install,
            response_url=response_url,
            payload={"value": value, "ephemeral": ephemeral, "bot_user_id": bot_user_id},
        )
        store = self.runner.store
        try:
            await store.create(REJOIN, job_id=job_id_for(offer), **fields)
        except JobExists:
            if not await store.requeue_finished(REJOIN, job_id_for(offer), **fields):
                return False
        self.runner.wake()
        return True

    async def run(self, work: JobWork) -> None:
        job = work.job
        client = await self.client_for(job)
        ephemeral = bool(job.payload.get("ephemeral", True))

        async def answer(with_client: AsyncWebClient, message: dict[str, Any]) -> None:
            await reply_privately(with_client, job.user_id, job.reply_url(), message, original_ephemeral=ephemeral)

        offer = await self.offers.find(job.payload.get("value") or "")
        if client is None or offer is None:
            if await self.runner.finish(work, FAILED, with_summary=True):
                text = NOT_INSTALLED if client is None else REJOIN_UNKNOWN
                await answer(client or self.base_client, {"text": text, "replace_original": False})
            return
        summary = offer_summary(offer)
        if not job.payload.get("announced"):
            job.payload["announced"] = True
            await work.save()
            await answer(client, rejoin_running_message(summary, len(job.items)))
        pacer = pacer_of(client)
        key = pace_key(client.token, _METHOD)

        async def one(item: dict[str, Any], sent_before: bool) -> dict[str, Any]:
            result = await join_channel(client, item["id"])
            if sent_before and result.status is JoinStatus.ALREADY_IN:
                return {"outcome": JoinStatus.REJOINED.value, "settled": True}
            return {"outcome": result.status.value, "error": result.error}

        await work.each_item(one, lambda: pacer.slot(key, lane=job.id))
        if work.stopping:
            return
        if not await self.runner.finish(work, DONE, with_summary=True):
            return
        results, private = privacy_from_joins(
            [JoinResult(i["id"], JoinStatus(i["outcome"]), i.get("error")) for i in job.items],
            offer.private_in_order,
            offer.unknown_ids,
        )
        bot_user_id = job.payload.get("bot_user_id")
        value = str(job.payload.get("value"))
        # A result too long to name every channel: the full list first, as a file in the DM, and the message says so.
        listed = rejoin_list_file(results, private, bot_user_id, offer.expires_at)
        full_list = await send_list(client, job.user_id, listed)
        await answer(
            client, rejoin_done_message(summary, results, private, bot_user_id, value, offer.expires_at, full_list)
        )
