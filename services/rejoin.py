"""Undoing a leave: the Rejoin button's record (24 hours) and rejoining public channels (conversations.join)."""

from __future__ import annotations

import asyncio
import importlib
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import Enum

from slack_sdk.web.async_client import AsyncWebClient

from services.api_calls import call_outcome
from services.bulk import each_paced
from services.leave import LeaveOutcome, LeaveStatus
from services.storage import Database

logger = logging.getLogger(__name__)

REJOIN_WINDOW = timedelta(hours=24)
# A rejoin that has been "in progress" this long was cut off (a restart): another press may take over.
_CLAIM_STALE_AFTER = timedelta(minutes=10)
# Records are kept a while past the window so an old button still gets "expired", not "unknown".
_KEEP_FOR = timedelta(days=7)

# Answers worth pressing the button again for; anything else would fail the same way again.
RETRYABLE_JOIN_ERRORS = frozenset(
    {
        "ratelimited",
        "internal_error",
        "fatal_error",
        "service_unavailable",
        "request_timeout",
        "slack_unreachable",
        "slack_timeout",
        "slack_server_error",
        "unexpected_response",
    }
)


def _aware(moment: datetime) -> datetime:
    """SQLite gives back naive datetimes; everything here is UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _ids(text: str) -> tuple[str, ...]:
    return tuple(i for i in text.split(",") if i)


@dataclass(frozen=True)
class RejoinOffer:
    id: str
    created_at: datetime
    user_id: str
    enterprise_id: str | None
    team_id: str | None
    public_ids: tuple[str, ...]
    private_ids: tuple[str, ...]
    summary: str

    def expired(self, now: datetime) -> bool:
        return now - self.created_at > REJOIN_WINDOW


def _quietly(task: asyncio.Task) -> None:
    """A failed warm-up is reported when the record is written (offer_for), not here."""
    if not task.cancelled():
        task.exception()


class RejoinOffers:
    """Rows of `rejoin_offer`: what each Rejoin button would undo, and whether a rejoin is running."""

    def __init__(self, database: Database) -> None:
        self._database = database
        self._warming: asyncio.Task | None = None

    def warm_up(self) -> None:
        """Open the database while the channels are being left, so the summary never waits for it.

        The first leave after start-up would otherwise pay for loading SQLAlchemy and creating the tables.
        """
        if self._warming is None:
            self._warming = asyncio.create_task(self._warm())
            self._warming.add_done_callback(_quietly)

    async def _warm(self) -> None:
        # Loading SQLAlchemy is ~0.2 s of CPU: in a thread, the event loop keeps serving while it happens.
        await asyncio.to_thread(importlib.import_module, "sqlalchemy.ext.asyncio")
        await asyncio.to_thread(importlib.import_module, "services.tables")
        await self._database.engine()

    async def create(
        self,
        user_id: str,
        enterprise_id: str | None,
        team_id: str | None,
        public_ids: Sequence[str],
        private_ids: Sequence[str],
        summary: str,
    ) -> str:
        from sqlalchemy import delete, insert

        from services.tables import rejoin_offer

        offer_id = uuid.uuid4().hex
        now = datetime.now(UTC)
        engine = await self._database.engine()
        async with engine.begin() as conn:
            await conn.execute(delete(rejoin_offer).where(rejoin_offer.c.created_at < now - _KEEP_FOR))
            await conn.execute(
                insert(rejoin_offer).values(
                    id=offer_id,
                    created_at=now,
                    user_id=user_id,
                    enterprise_id=enterprise_id,
                    team_id=team_id,
                    public_ids=",".join(public_ids),
                    private_ids=",".join(private_ids),
                    summary=summary,
                    claimed_at=None,
                )
            )
        return offer_id

    async def offer_for(
        self, outcome: LeaveOutcome, user_id: str, enterprise_id: str | None, team_id: str | None, summary: str
    ) -> str | None:
        """A Rejoin button's ID when something was left; None when nothing was, or the offer can't be kept."""
        left = [r.channel_id for r in outcome.with_status(LeaveStatus.LEFT)]
        if not left:
            return None
        public = [c for c in left if c not in outcome.private_ids]
        private = [c for c in left if c in outcome.private_ids]
        try:
            return await self.create(user_id, enterprise_id, team_id, public, private, summary)
        except Exception as e:  # noqa: BLE001 - the summary matters more than the button
            logger.warning(
                "Couldn't keep the Rejoin record (%s); the summary goes out without the button", type(e).__name__
            )
            return None

    async def find(self, offer_id: str) -> RejoinOffer | None:
        from sqlalchemy import select

        from services.tables import rejoin_offer

        engine = await self._database.engine()
        async with engine.connect() as conn:
            row = (await conn.execute(select(rejoin_offer).where(rejoin_offer.c.id == offer_id))).first()
        if row is None:
            return None
        r = row._mapping
        return RejoinOffer(
            id=r["id"],
            created_at=_aware(r["created_at"]),
            user_id=r["user_id"],
            enterprise_id=r["enterprise_id"],
            team_id=r["team_id"],
            public_ids=_ids(r["public_ids"]),
            private_ids=_ids(r["private_ids"]),
            summary=r["summary"],
        )

    async def claim(self, offer_id: str) -> bool:
        """Mark a rejoin as running; False when another press (on any instance) is already at it."""
        from sqlalchemy import or_, update

        from services.tables import rejoin_offer

        now = datetime.now(UTC)
        engine = await self._database.engine()
        async with engine.begin() as conn:
            result = await conn.execute(
                update(rejoin_offer)
                .where(rejoin_offer.c.id == offer_id)
                .where(or_(rejoin_offer.c.claimed_at.is_(None), rejoin_offer.c.claimed_at < now - _CLAIM_STALE_AFTER))
                .values(claimed_at=now)
            )
        return result.rowcount == 1

    async def release(self, offer_id: str) -> None:
        from sqlalchemy import update

        from services.tables import rejoin_offer

        engine = await self._database.engine()
        async with engine.begin() as conn:
            await conn.execute(update(rejoin_offer).where(rejoin_offer.c.id == offer_id).values(claimed_at=None))


class JoinStatus(Enum):
    REJOINED = "rejoined"
    ALREADY_IN = "already_in"
    ARCHIVED = "archived"
    FAILED = "failed"


@dataclass(frozen=True)
class JoinResult:
    channel_id: str
    status: JoinStatus
    error: str | None = None

    @property
    def retryable(self) -> bool:
        return self.status is JoinStatus.FAILED and (self.error or "") in RETRYABLE_JOIN_ERRORS


def join_result(channel_id: str, body: dict, error: str | None) -> JoinResult:
    """The one place that decides what conversations.join's answer means."""
    if error is None and body.get("ok") is True:
        warnings = (body.get("response_metadata") or {}).get("warnings") or []
        if body.get("warning") == "already_in_channel" or "already_in_channel" in warnings:
            return JoinResult(channel_id, JoinStatus.ALREADY_IN)
        return JoinResult(channel_id, JoinStatus.REJOINED)
    if error == "is_archived":
        return JoinResult(channel_id, JoinStatus.ARCHIVED)
    return JoinResult(channel_id, JoinStatus.FAILED, error or "unexpected_response")


async def join_channel(client: AsyncWebClient, channel_id: str) -> JoinResult:
    """conversations.join for the bot; https://docs.slack.dev/reference/methods/conversations.join"""
    body, error = await call_outcome(client.conversations_join(channel=channel_id))
    if error:
        logger.info("conversations.join %s: %s", channel_id, error)
    return join_result(channel_id, body, error)


async def join_channels(client: AsyncWebClient, channel_ids: Sequence[str]) -> list[JoinResult]:
    """Rejoin public channels, paced like leaving; each channel is tried once per press."""
    if not channel_ids:
        return []
    return await each_paced(client, "conversations.join", channel_ids, lambda c: join_channel(client, c))
