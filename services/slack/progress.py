"""Live progress in a modal (views.update), throttled so progress never competes with the work for Slack's limits."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from slack_sdk.models.views import View
from slack_sdk.web.async_client import AsyncWebClient

from services.slack.outcomes import call_outcome

logger = logging.getLogger(__name__)

# At most one progress update in this many seconds (views.update is Tier 4, shared with the user's other modals).
MIN_UPDATE_INTERVAL = 0.5


class ModalProgress:
    """Shows "Leaving k of n…" in an open modal; at most one update in flight, the newest count wins."""

    def __init__(self, client: AsyncWebClient, view_id: str | None, render: Callable[[int, int], View]) -> None:
        self._client = client
        self._view_id = view_id
        self._render = render
        self._last_sent = time.monotonic()  # the ack just showed "0 of n"
        self._in_flight: asyncio.Task[None] | None = None
        self._closed = view_id is None

    async def update(self, done: int, total: int) -> None:
        if self._closed or done >= total:
            return
        if self._in_flight is not None and not self._in_flight.done():
            return
        if time.monotonic() - self._last_sent < MIN_UPDATE_INTERVAL:
            return
        self._last_sent = time.monotonic()
        self._in_flight = asyncio.create_task(self._send(self._render(done, total)))

    async def finish(self, view: View) -> None:
        """Wait for any update in flight, then show the final view."""
        if self._in_flight is not None:
            await self._in_flight
        if not self._closed:
            await self._send(view)

    async def _send(self, view: View) -> None:
        _, error = await call_outcome(self._client.views_update(view_id=self._view_id, view=view))
        if error is not None:
            # The user may have closed the modal; the summary message still reaches them.
            logger.info("views.update for progress failed: %s", error)
            if error in ("not_found", "view_not_found"):
                self._closed = True
