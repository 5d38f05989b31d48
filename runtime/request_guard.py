"""Before anything reads a request: its signature on the raw bytes, then replays.

https://docs.slack.dev/authentication/verifying-requests-from-slack: the signature is an HMAC of `v0:timestamp:body`
with the signing secret, and a timestamp more than five minutes off is refused. Checking it here, on the raw bytes,
means an unsigned body is never decoded, parsed or logged (Bolt checks it again, later; both use slack_sdk's
SignatureVerifier). A byte-identical request sent again inside those five minutes carries the same signature: it is
a replay (Slack itself re-signs its retries), and it is answered without being handled twice.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict

from slack_sdk.signature import SignatureVerifier

logger = logging.getLogger(__name__)

REPLAY_WINDOW_SECONDS = 5 * 60  # Slack's own limit on a request's age
_MAX_REMEMBERED = 100_000  # signatures kept: ~10 MB at most, far above any real request rate over five minutes
_WARNING_INTERVAL_SECONDS = 60.0  # at most one warning a minute about bad signatures, with the count since


class RequestGuard:
    def __init__(self, signing_secret: str, clock=time.time) -> None:
        self._verifier = SignatureVerifier(signing_secret, clock=_Clock(clock))
        self._clock = clock
        self._seen: OrderedDict[str, float] = OrderedDict()
        self._rejected_since_warning = 0
        self._last_warning = float("-inf")

    def verify(self, body: bytes, timestamp: str | None, signature: str | None) -> bool:
        """The signature and timestamp are Slack's; a failure is counted and logged at most once a minute."""
        try:
            if timestamp and signature and self._verifier.is_valid(body, timestamp, signature):
                return True
        except (ValueError, TypeError):  # a timestamp that isn't a number
            pass
        self._rejected_since_warning += 1
        now = time.monotonic()
        if now - self._last_warning >= _WARNING_INTERVAL_SECONDS:
            logger.warning(
                "Refused %d request(s) without a valid Slack signature in the last minute (body not logged)",
                self._rejected_since_warning,
            )
            self._last_warning = now
            self._rejected_since_warning = 0
        return False

    def first_time(self, signature: str) -> bool:
        """False for a signature seen in the last five minutes: a replay of a request already handled."""
        now = self._clock()
        while self._seen:
            oldest, at = next(iter(self._seen.items()))
            if now - at <= REPLAY_WINDOW_SECONDS and len(self._seen) < _MAX_REMEMBERED:
                break
            self._seen.pop(oldest)
        key = signature.strip()
        if key in self._seen:
            return False
        self._seen[key] = now
        return True


class _Clock:
    """slack_sdk's SignatureVerifier asks a clock object for now()."""

    def __init__(self, clock) -> None:
        self._clock = clock

    def now(self) -> float:
        return self._clock()
