"""What a Rejoin button undoes, for 24 hours: carried in the button itself, or kept in the database when too long.

A button's value comes back exactly as the app posted it (Slack signs every request and users can't edit a
message's blocks), so an inline value is as trustworthy as a stored row. Most leaves fit: the leave path then needs no
database at all. Only a leave of more channels than a button can carry opens the database.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from services.leaving.leave import LeaveOutcome, LeaveStatus
from services.storage.database import Database
from services.storage.offer_rows import (
    claim_offer_row,
    insert_offer_row,
    offer_row,
    open_offer_rows,
    release_offer_row,
)

logger = logging.getLogger(__name__)

REJOIN_WINDOW = timedelta(hours=24)
BUTTON_VALUE_LIMIT = 2000  # Block Kit's limit for a button's value
# About what a button's value holds (12 or 13 characters a channel): bigger leaves open the database while the channels
# are being left, in case their offer has to be stored.
WARM_UP_ABOVE = 150
# A rejoin that has been "in progress" this long was cut off (a restart): another press may take over.
_CLAIM_STALE_AFTER = timedelta(minutes=10)
# Stored records are kept a while past the window so an old button still gets "expired", not "unknown".
_KEEP_FOR = timedelta(days=7)
_INLINE = "r1"
_STORED = "r1db"
_PRIVATE_MARK = "*"
_UNKNOWN_MARK = "?"  # privacy not asked of Slack when leaving (one channel): the press learns it from the join


def _aware(moment: datetime) -> datetime:
    """SQLite gives back naive datetimes; everything here is UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@dataclass(frozen=True)
class RejoinOffer:
    key: str  # the button's value (inline) or the stored row's ID
    stored: bool
    created_at: datetime
    user_id: str
    left_ids: tuple[str, ...]  # every channel left, in the summary's order
    private_ids: frozenset[str]
    summary: str | None = None  # the whole leave summary (stored offers only)
    unknown_ids: frozenset[str] = frozenset()  # privacy not known: joined like public ones, see privacy_from_joins

    @property
    def public_ids(self) -> tuple[str, ...]:
        return tuple(c for c in self.left_ids if c not in self.private_ids)

    @property
    def private_in_order(self) -> tuple[str, ...]:
        return tuple(c for c in self.left_ids if c in self.private_ids)

    @property
    def expires_at(self) -> datetime:
        return expires_at(self.created_at)

    def expired(self, now: datetime) -> bool:
        return now - self.created_at > REJOIN_WINDOW


def expires_at(created_at: datetime) -> datetime:
    """The last moment a press still works, to the second (an inline value keeps whole seconds)."""
    return created_at.replace(microsecond=0) + REJOIN_WINDOW


@dataclass(frozen=True)
class IssuedOffer:
    """A Rejoin button just made: its value, and until when it works (what every copy of the summary says)."""

    value: str
    expires_at: datetime


def inline_value(
    created_at: datetime,
    user_id: str,
    left_ids: Sequence[str],
    private_ids: frozenset[str],
    unknown_ids: frozenset[str] = frozenset(),
) -> str:
    def marked(c: str) -> str:
        return _PRIVATE_MARK + c if c in private_ids else _UNKNOWN_MARK + c if c in unknown_ids else c

    channels = ",".join(marked(c) for c in left_ids)
    return "|".join([_INLINE, str(int(created_at.timestamp())), user_id, channels])


def parse_inline(value: str) -> RejoinOffer | None:
    parts = value.split("|")
    # The moment is ten ASCII digits or so: a forged "²" or 25 digits would raise below instead of being refused.
    if len(parts) != 4 or parts[0] != _INLINE or not (parts[1].isascii() and parts[1].isdigit()) or not parts[2]:
        return None
    if len(parts[1]) > 11:
        return None
    marks = _PRIVATE_MARK + _UNKNOWN_MARK
    marked = [c for c in parts[3].split(",") if c.lstrip(marks)]
    left = tuple(c.lstrip(marks) for c in marked)
    private = frozenset(c.lstrip(marks) for c in marked if c.startswith(_PRIVATE_MARK))
    unknown = frozenset(c.lstrip(marks) for c in marked if c.startswith(_UNKNOWN_MARK))
    created = datetime.fromtimestamp(int(parts[1]), UTC)
    return RejoinOffer(value, False, created, parts[2], left, private, unknown_ids=unknown)


def _quietly(task: asyncio.Task[None]) -> None:
    """A failed warm-up is reported when the record is written (offer_for), not here."""
    if not task.cancelled():
        task.exception()


class RejoinOffers:
    def __init__(self, database: Database) -> None:
        self._database = database
        self._warming: asyncio.Task[None] | None = None
        self._running: set[str] = set()  # inline offers being rejoined in this process

    def warm_up(self, channel_count: int) -> None:
        """Before a big leave, open the database in the background, so the summary never waits for it."""
        if channel_count > WARM_UP_ABOVE and self._warming is None:
            self._warming = asyncio.create_task(self._warm())
            self._warming.add_done_callback(_quietly)

    async def _warm(self) -> None:
        await open_offer_rows(self._database)

    async def issue(self, outcome: LeaveOutcome, user_id: str, summary: str) -> IssuedOffer | None:
        """The Rejoin button for a leave; None when nothing was left, or the offer can't be kept.

        Every copy of the summary (the ephemeral reply and the DM) carries this same value, so a press in either
        place is claimed like any other press: the first one rejoins, a later one finds the app already back.
        """
        left = [r.channel_id for r in outcome.with_status(LeaveStatus.LEFT)]
        if not left:
            return None
        now = datetime.now(UTC).replace(microsecond=0)
        value = inline_value(now, user_id, left, outcome.private_ids, outcome.unknown_ids)
        if len(value) <= BUTTON_VALUE_LIMIT:
            return IssuedOffer(value, expires_at(now))
        try:
            stored = f"{_STORED}|{await self._store(now, user_id, left, outcome.private_ids, summary)}"
        except Exception as e:  # noqa: BLE001 - the summary matters more than the button
            logger.warning(
                "Couldn't keep the Rejoin record (%s); the summary goes out without the button", type(e).__name__
            )
            return None
        return IssuedOffer(stored, expires_at(now))

    async def _store(
        self, now: datetime, user_id: str, left: Sequence[str], private: frozenset[str], summary: str
    ) -> str:
        offer_id = uuid.uuid4().hex
        row = {
            "id": offer_id,
            "created_at": now,
            "user_id": user_id,
            "public_ids": ",".join(c for c in left if c not in private),
            "private_ids": ",".join(c for c in left if c in private),
            "summary": summary,
            "claimed_at": None,
        }
        await insert_offer_row(self._database, row, purge_before=now - _KEEP_FOR)
        return offer_id

    async def find(self, value: str) -> RejoinOffer | None:
        """The offer behind a button's value; None for a value this app never made or a record that's gone."""
        kind, _, offer_id = value.partition("|")
        if kind != _STORED:
            return parse_inline(value)
        r = await offer_row(self._database, offer_id)
        if r is None:
            return None
        public = tuple(c for c in r["public_ids"].split(",") if c)
        private = tuple(c for c in r["private_ids"].split(",") if c)
        created = _aware(r["created_at"])
        return RejoinOffer(r["id"], True, created, r["user_id"], public + private, frozenset(private), r["summary"])

    async def claim(self, offer: RejoinOffer) -> bool:
        """Mark a rejoin as running; False when another press is already at it (stored: on any instance)."""
        if not offer.stored:
            if offer.key in self._running:
                return False
            self._running.add(offer.key)
            return True
        now = datetime.now(UTC)
        return await claim_offer_row(self._database, offer.key, now, stale_before=now - _CLAIM_STALE_AFTER)

    async def release(self, offer: RejoinOffer) -> None:
        if not offer.stored:
            self._running.discard(offer.key)
            return
        await release_offer_row(self._database, offer.key)
