"""How often one person may start /disconnect-shared: each attempt costs Web API calls (views.open, users.info,
conversations.info, team.info) on the workspace's rate limits, refused or not, so a member repeating it can't spend
them for everyone. Per process: enough against one person's loop, without a database write before the ack."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

ATTEMPTS_PER_MINUTE = 6  # far above what an admin does by hand
_WINDOW_SECONDS = 60.0
_MAX_PEOPLE = 10_000  # people remembered at once; the oldest are forgotten first


class AttemptLimiter:
    def __init__(self, per_minute: int = ATTEMPTS_PER_MINUTE, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_minute = per_minute
        self._clock = clock
        self._recent: dict[str, deque[float]] = {}

    def allow(self, user_id: str) -> bool:
        """Count an attempt by `user_id`; False when they made `per_minute` in the last minute already."""
        now = self._clock()
        recent = self._recent.pop(user_id, None) or deque()
        while recent and now - recent[0] >= _WINDOW_SECONDS:
            recent.popleft()
        allowed = len(recent) < self.per_minute
        if allowed:
            recent.append(now)
        self._recent[user_id] = recent  # re-inserted: the dict's order is least recently seen first
        while len(self._recent) > _MAX_PEOPLE:
            del self._recent[next(iter(self._recent))]
        return allowed
