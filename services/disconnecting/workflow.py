"""The rules of /disconnect-shared that every step shares: who may go on, what they are told, what is audited."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from slack_sdk.models.views import View
from slack_sdk.web.async_client import AsyncWebClient

from services.audit.log import DISCONNECT_AUDIT_ACTION, DRY_RUN_AUDIT_ACTION, AuditEntry, AuditEvent
from services.audit.trail import AuditTrail
from services.disconnecting.admin_tokens import AdminToken, AdminTokenSource
from services.disconnecting.admins import AdminCheck, AdminPolicy
from services.disconnecting.partners import offboard_claim, offboarding_disconnects
from services.disconnecting.shared_channels import (
    DisconnectResult,
    describe_shared_channel,
    disconnect_team,
    host_org_of,
)
from services.error_texts import (
    ADMIN_CHECK_FAILED,
    ADMIN_ONLY,
    ADMIN_TOKEN_MISSING,
    FORM_NOT_SHOWN,
    NOT_ON_GRID,
    OFFBOARDING_RUNNING,
    OTHER_ORG,
)
from services.jobs.queue import JobStore
from services.slack.client import client_like
from services.slack.delivery import reply_privately
from services.slack.outcomes import call_outcome
from services.ui import escape_text
from services.ui.disconnect import channel_problem_text, status_modal, team_label

logger = logging.getLogger(__name__)

_PUSHED_VIEW_ATTEMPTS = 16
_PUSHED_VIEW_RETRY_SECONDS = 0.1


@dataclass(frozen=True)
class Requester:
    """Who asked, from the request Slack signed (never from private_metadata).

    `enterprise_id` is the org acted on: the org of the installation serving the request, whoever the user is, so a
    refusal is audited where that org's admins see it.
    """

    user_id: str
    enterprise_id: str | None
    team_id: str | None
    response_url: str | None
    dry_run: bool = False

    def entry(
        self, event: AuditEvent, outcome: str, channel_id: str | None, leaving_team_id: str | None = None
    ) -> AuditEntry:
        return AuditEntry(
            event=event,
            user_id=self.user_id,
            outcome=outcome,
            enterprise_id=self.enterprise_id,
            team_id=self.team_id,
            channel_id=channel_id,
            leaving_team_id=leaving_team_id,
            action=DRY_RUN_AUDIT_ACTION if self.dry_run else DISCONNECT_AUDIT_ACTION,
        )


async def show_or_tell(
    client: AsyncWebClient,
    requester: Requester,
    view: View,
    *,
    view_id: str | None = None,
    external_id: str | None = None,
) -> None:
    """Update the modal; if Slack won't, say so privately so the admin isn't left looking at "Checking…"."""
    error = await update_view(client, view, view_id=view_id, external_id=external_id)
    if error is not None:
        text = FORM_NOT_SHOWN.format(code=escape_text(error))
        await reply_privately(client, requester.user_id, requester.response_url, {"text": text})


async def update_view(
    client: AsyncWebClient, view: View, *, view_id: str | None = None, external_id: str | None = None
) -> str | None:
    """views.update by ID or external ID; returns the error code, if any (the user may have closed it).

    A view pushed in an ack is known by its external ID only once Slack has applied the ack: a
    `not_found` right after it is retried briefly.
    """
    for attempt in range(_PUSHED_VIEW_ATTEMPTS):
        _, error = await call_outcome(client.views_update(view=view, view_id=view_id, external_id=external_id))
        if error != "not_found" or external_id is None or attempt == _PUSHED_VIEW_ATTEMPTS - 1:
            break
        await asyncio.sleep(_PUSHED_VIEW_RETRY_SECONDS)
    if error is not None:
        logger.info("views.update failed: %s", error)
    return error


_REFUSALS = {"not_an_enterprise": NOT_ON_GRID, "other_org": OTHER_ORG}


def refusal(check: AdminCheck, admin_token: AdminToken | None) -> tuple[str, str] | None:
    """(audit outcome, what the user reads) when the request may not go on; None when it may."""
    if not check.allowed:
        if check.reason in _REFUSALS:
            return check.reason, _REFUSALS[check.reason]
        if not check.undecided:
            return "not_admin", ADMIN_ONLY
        return f"admin_check_failed:{check.reason}", ADMIN_CHECK_FAILED.format(code=check.reason)
    if admin_token is None or admin_token.token is None:
        problem = admin_token.problem if admin_token else None
        return problem or "admin_token_missing", (admin_token.text if admin_token else None) or ADMIN_TOKEN_MISSING
    return None


class Disconnects:
    """/disconnect-shared's guarded steps: who may go on (checked at every step), the admin calls, and their audit."""

    def __init__(
        self, admins: AdminPolicy, admin_tokens: AdminTokenSource, trail: AuditTrail, jobs: JobStore | None = None
    ) -> None:
        self.admins = admins
        self.admin_tokens = admin_tokens
        self.trail = trail
        self.jobs = jobs  # where unfinished offboardings are read (None: none are known)

    async def offboarded(
        self, requester: Requester, channel_id: str, team_ids: Sequence[str], names: dict[str, str] | None = None
    ) -> dict[str, str]:
        """The parties an unfinished offboarding (either kind) of this org is disconnecting, each with the sentence
        that says so. A party is matched as the offboarding names its partner (services.disconnecting.partners): an
        org by its `E…`, a standalone workspace by its `T…` (a channel lists a partner org by its `E…`,
        ../shared/slack-samples/api/conversations.info.json), read from the claim the offboarding holds alone."""
        if self.jobs is None or not requester.enterprise_id:
            return {}
        held: dict[str, str] = {}
        for team in dict.fromkeys(team_ids):
            job = await self.jobs.holder(offboard_claim(requester.enterprise_id, team))
            if job is None or not offboarding_disconnects(job.payload, job.items, channel_id):
                continue  # a dry run, a channel it kept, one already worked: this form goes ahead for the party
            name = job.payload.get("partner_name") or (names or {}).get(team)
            held[team] = OFFBOARDING_RUNNING.format(
                partner=team_label(team, name if isinstance(name, str) else None),
                user=job.user_id,
                channel=f"<#{channel_id}>",
                what="dry run" if requester.dry_run else "disconnect",
            )
        return held

    async def refuse_offboarded(
        self, client: AsyncWebClient, requester: Requester, channel_id: str, held: dict[str, str], *, tell: bool = True
    ) -> None:
        """Each party left out for an offboarding: audited as a refusal, and (`tell`) the admin told privately, one
        line each (the confirmation step says it in the modal instead)."""
        for team in held:
            await self.trail.record(
                client, requester.entry(AuditEvent.REFUSED, "offboarding_running", channel_id, team)
            )
        if held and tell:
            text = "\n".join(held.values())
            await reply_privately(client, requester.user_id, requester.response_url, {"text": text})

    async def without_offboarded(
        self,
        client: AsyncWebClient,
        requester: Requester,
        channel_id: str,
        team_ids: Sequence[str],
        names: dict[str, str] | None = None,
    ) -> list[str]:
        """At submit: the parties to go ahead with, those an offboarding is disconnecting left out (audited, told)."""
        held = await self.offboarded(requester, channel_id, team_ids, names)
        await self.refuse_offboarded(client, requester, channel_id, held)
        return [t for t in team_ids if t not in held]

    async def allowed_admin_token(
        self,
        client: AsyncWebClient,
        requester: Requester,
        channel_id: str | None,
        check: AdminCheck | None = None,
        *,
        view_id: str | None = None,
        external_id: str | None = None,
        leaving_team_ids: Sequence[str] = (),
    ) -> AdminToken | None:
        """Check (again) that the requester may disconnect and that an admin token exists; return that token.

        If not: audit, say why in the modal and privately, and return None.
        """
        check = check or await self.admins.check(client, requester.user_id, requester.enterprise_id)
        admin_token = await self.admin_tokens.lookup(requester.enterprise_id) if check.allowed else None
        refused = refusal(check, admin_token)
        if refused is None and admin_token is not None and admin_token.token is not None:
            return admin_token
        outcome, text = refused or ("admin_token_missing", ADMIN_TOKEN_MISSING)
        # One row per refused attempt, however many were named (the party when there is just one), under the org that
        # created the channel acted on: a stranger's attempt on our channel is seen by our admins, wherever it came from.
        named = list(dict.fromkeys(leaving_team_ids))
        entry = requester.entry(AuditEvent.REFUSED, outcome, channel_id, named[0] if len(named) == 1 else None)
        acted_on = await host_org_of(client, channel_id) if channel_id else None
        if acted_on and acted_on != entry.enterprise_id:
            entry = dataclasses.replace(entry, enterprise_id=acted_on)
        await self.trail.record(client, entry)
        if view_id or external_id:
            await update_view(client, status_modal(text), view_id=view_id, external_id=external_id)
        await reply_privately(client, requester.user_id, requester.response_url, {"text": text})
        return None

    async def checked(
        self, client: AsyncWebClient, requester: Requester, channel_id: str, teams: Sequence[str]
    ) -> tuple[AdminToken, dict[str, str]] | None:
        """A confirmation's checks, repeated wherever it is carried out (in the request, or when its job runs): the
        requester may disconnect, an admin token exists, and every team is still connected and ours to remove.

        Returns the token and the teams' names; None when refused (audited, and the admin told why).
        """
        admin_token = await self.allowed_admin_token(client, requester, channel_id, leaving_team_ids=teams)
        if admin_token is None or admin_token.token is None:
            return None
        # Read the channel again: only parties still connected, and ours to remove, go to Slack. The confirmation's
        # private_metadata comes back from Slack as the app wrote it, but a forged or stale one must not reach the
        # admin call with our own org, the host, or a partner-hosted channel.
        shared = await describe_shared_channel(client, channel_id, requester.enterprise_id, requester.team_id)
        problem = shared.problem or ("team_not_connected" if any(t not in shared.team_ids for t in teams) else None)
        if problem is not None:
            await self.trail.record(
                client,
                requester.entry(
                    AuditEvent.REFUSED, f"channel:{problem}", channel_id, teams[0] if len(teams) == 1 else None
                ),
            )
            text = channel_problem_text(problem, shared)
            text = text if "othing was changed" in text else f"{text} Nothing was changed."
            await reply_privately(client, requester.user_id, requester.response_url, {"text": text})
            return None
        return admin_token, shared.team_names

    def admin_client(self, client: AsyncWebClient, admin_token: AdminToken | str) -> AsyncWebClient:
        """The admin call goes out once (no retry but on 429): an answer that could hide a success is settled by
        reading the channel again (services.disconnecting.shared_channels.disconnect_team). An install's rotating
        token is renewed when due (AdminToken.client)."""
        if isinstance(admin_token, AdminToken):
            return admin_token.client(client, retry_server_errors=False)
        return client_like(client, token=admin_token, retry_server_errors=False)

    async def one(
        self,
        client: AsyncWebClient,
        admin_client: AsyncWebClient,
        requester: Requester,
        channel_id: str,
        team_id: str,
        *,
        pending_recorded: bool = False,
        gone_means_done: frozenset[str] = frozenset(),
    ) -> DisconnectResult:
        """One workspace: audited `confirmed … pending` before the admin call, and with what happened after it.

        `gone_means_done`: answers that, after our own earlier call for it (an interrupted job), mean that call did it.
        """
        if not pending_recorded:
            await self.trail.record(client, requester.entry(AuditEvent.CONFIRMED, "pending", channel_id, team_id))
        result = await disconnect_team(
            admin_client, client, channel_id, team_id, requester.enterprise_id, requester.team_id
        )
        if result.error in gone_means_done:
            result = DisconnectResult(team_id, None, after_error=result.error)
        await self.record_result(client, requester, channel_id, result)
        return result

    async def record_result(
        self, client: AsyncWebClient, requester: Requester, channel_id: str, result: DisconnectResult
    ) -> None:
        event = AuditEvent.SUCCEEDED if result.ok else AuditEvent.FAILED
        outcome = result.error or ("ok" if result.after_error is None else f"ok_after:{result.after_error}")
        if result.error == "outcome_unknown":
            outcome = f"outcome_unknown:{result.after_error}"
        await self.trail.record(client, requester.entry(event, outcome, channel_id, result.team_id))

    async def in_order(
        self,
        client: AsyncWebClient,
        requester: Requester,
        admin_token: str,
        channel_id: str,
        team_ids: Sequence[str],
    ) -> list[DisconnectResult]:
        """One admin call per workspace, in order, each audited before and after."""
        admin_client = self.admin_client(client, admin_token)
        return [await self.one(client, admin_client, requester, channel_id, t) for t in team_ids]

    async def dry_run(
        self, client: AsyncWebClient, requester: Requester, channel_id: str, team_ids: Sequence[str]
    ) -> None:
        """A dry run's record: one entry per workspace that a real run would disconnect, and no admin call."""
        for team_id in team_ids:
            await self.trail.record(
                client, requester.entry(AuditEvent.DRY_RUN, "would_disconnect", channel_id, team_id)
            )
