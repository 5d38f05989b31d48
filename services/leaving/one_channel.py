"""`/leave-channel` in one channel: checked, left and reported after the ack, in arrival order within bounds.

No job in the database: the work is four calls (who may, the leave, the DM copy, the reply) and a row per command
would cost more than the work. What bounds it, and what a shutdown does to it, is services.slack.admission's.

A waiting command is a tuple of strings (the garbage collector stops tracking such a tuple, so thousands waiting add
nothing to its full collections, which stall the acks); its client is made when its turn comes, as Bolt makes one
per request (slack_bolt/app/async_app.py, `_init_context`: the installation's token, `team_id` of the request).

A rotating token (token rotation on an OAuth install) lives at least the renewal margin after the ack (the request's
authorization renews it first when due), but a command may wait longer: the margin set short, or a renewal Slack
couldn't answer while the token was still good. So its client, like a job's (services.slack.tokens.bot_client),
renews the install's token when due and takes the current one when Slack answers `token_expired`; it costs nothing
until then (https://docs.slack.dev/authentication/using-token-rotation).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import NamedTuple

from slack_sdk.web.async_client import AsyncWebClient

from services.leaving.leave import leave_channels
from services.leaving.offers import RejoinOffers
from services.leaving.policy import LeavePolicy
from services.leaving.workflow import deliver_leave_summary
from services.slack.admission import WorkGate
from services.slack.client import client_like
from services.slack.delivery import answer_failures_after_ack, reply_privately
from services.slack.tokens import TokenKeeper, bot_token_client
from services.ui.leave import leave_check_failed_text, leave_summary_text, restarted_text

logger = logging.getLogger(__name__)


class OneLeave(NamedTuple):
    """What a one-channel leave needs until its turn: strings (and the token's expiry, an int) only."""

    token: str | None  # the installation's bot token, as the request's client had it
    team_id: str | None  # the request's workspace, for an org-wide install's calls (Bolt's per-request client)
    org: str | None  # the installation's org and workspace (listeners.payload.installation_org/_team)
    team: str | None
    user_id: str
    response_url: str | None
    channel_id: str
    expires_at: int | None = None  # the token's expiry (epoch seconds) when it rotates; None when it never expires


class OneChannelLeaves:
    def __init__(
        self,
        client: AsyncWebClient,
        leave_policy: LeavePolicy,
        rejoin_offers: RejoinOffers,
        running: int,
        waiting: int,
        keeper: TokenKeeper | None = None,
    ) -> None:
        self._client = client
        self._keeper = keeper  # OAuth installs: renews a rotating token (services.slack.tokens)
        self._policy = leave_policy
        self._offers = rejoin_offers
        self.gate: WorkGate[OneLeave] = WorkGate(running, waiting, run=self._run, dropped=self._tell_stopped)

    def submit(self, leave: OneLeave) -> bool:
        """Taken (it will run in its turn) or not (past the bounds, or shutting down: nothing is done)."""
        return self.gate.submit(leave)

    @property
    def stopping(self) -> bool:
        return self.gate.closed

    async def drain(self, grace: float) -> None:
        await self.gate.drain(grace)

    def _client_for(self, leave: OneLeave) -> AsyncWebClient:
        keeper = self._keeper
        if keeper is None or leave.expires_at is None or leave.token is None:
            return client_like(self._client, token=leave.token, team_id=leave.team_id)
        # The install that served the request: an org-wide one has no workspace of its own.
        return bot_token_client(
            keeper,
            self._client,
            token=leave.token,
            expires_at=leave.expires_at,
            enterprise_id=leave.org,
            team_id=leave.team,
            is_enterprise_install=leave.team is None,
            acting_team_id=leave.team_id,
        )

    async def _run(self, leave: OneLeave) -> None:
        client = self._client_for(leave)
        async with answer_failures_after_ack(client, leave.user_id, leave.response_url):
            await leave_now(
                client,
                leave.org,
                leave.team,
                self._policy,
                self._offers,
                leave.user_id,
                leave.response_url,
                [leave.channel_id],
            )

    async def _tell_stopped(self, leave: OneLeave) -> None:
        text = restarted_text(leave.channel_id)
        await reply_privately(self._client_for(leave), leave.user_id, leave.response_url, {"text": text})


async def leave_now(
    client: AsyncWebClient,
    org: str | None,
    team: str | None,
    leave_policy: LeavePolicy,
    rejoin_offers: RejoinOffers,
    user_id: str,
    response_url: str | None,
    channel_ids: Sequence[str],
) -> None:
    """Check who may, leave, offer Rejoin and report: the whole of a leave made in the request's own time."""
    rejoin_offers.warm_up(len(channel_ids))
    rights = await leave_policy.rights(client, user_id, channel_ids, org, team)
    if rights.error is not None:
        text = leave_check_failed_text(rights.error, rights.failed_method or "", channel_ids)
        await reply_privately(client, user_id, response_url, {"text": text})
        return
    outcome = await leave_channels(client, channel_ids, refused=rights.refused, known_private=rights.private)
    offer = await rejoin_offers.issue(outcome, user_id, leave_summary_text(outcome))
    await deliver_leave_summary(client, user_id, response_url, outcome, offer)
