"""Before anything reads a request: its signature on the raw bytes, then replays.

https://docs.slack.dev/authentication/verifying-requests-from-slack: the signature is `v0=` and the hex HMAC-SHA256 of
`v0:{timestamp}:{body}` with the signing secret, and a timestamp more than five minutes off is refused. Checking it
here, on the raw bytes, means an unsigned body is never decoded, parsed or logged (Bolt checks it again later, with
slack_sdk's SignatureVerifier).

Why not SignatureVerifier here too: it decodes the whole body as UTF-8 and copies it twice before hashing, on the
event loop. Under a flood of large unsigned bodies that is the app's main cost and delays everyone's acks. The same
check done here with the standard library's one-shot HMAC on the bytes — in a worker thread for large bodies, since
hashlib releases the GIL — keeps the loop free. Headers that can't be Slack's (no timestamp, a stale one, no `v0=`
signature of the right length) are refused before the body is read at all.

A byte-identical request sent again while its timestamp is still accepted carries the same signature: it is a replay
(Slack itself re-signs its retries), and it is answered without being handled twice. Its signature is remembered for as
long as the timestamp is accepted: five minutes past the later of the timestamp and its arrival.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import ipaddress
import logging
import re
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence

logger = logging.getLogger(__name__)

REPLAY_WINDOW_SECONDS = 5 * 60  # Slack's own limit on a request's age
_MAX_REMEMBERED = 100_000  # signatures kept: ~10 MB at most, far above any real request rate over five minutes
_LOG_INTERVAL_SECONDS = 60.0  # at most one line a minute about refused or replayed requests, with the count since
_OFF_LOOP_BYTES = 64 * 1024  # larger bodies are hashed in a thread (hashlib releases the GIL on large inputs)
_SIGNATURE = re.compile(r"v0=[0-9a-f]{64}")
# Client addresses remembered by an AddressThrottle: ~2 MB at most; a flood from more addresses than this within a
# bucket's refill time (four seconds) makes the oldest start afresh, as addresses never seen do.
_MAX_ADDRESSES = 10_000
# How many addresses' worth of requests one IPv6 /48 (one subscriber, however many /64s it walks through) may send.
SUBSCRIBER_SHARE = 4


class _RateLimitedLog:
    """One line per interval with how many happened since: a flood can't fill the disk."""

    def __init__(self, level: int, message: str) -> None:
        self._level = level
        self._message = message
        self._count = 0
        self._last = float("-inf")

    def note(self) -> None:
        self._count += 1
        now = time.monotonic()
        if now - self._last >= _LOG_INTERVAL_SECONDS:
            logger.log(self._level, self._message, self._count)
            self._last = now
            self._count = 0


class RequestGuard:
    def __init__(self, signing_secret: str, clock: Callable[[], float] = time.time) -> None:
        self._secret = signing_secret.encode()
        self._clock = clock
        self._seen: OrderedDict[str, float] = OrderedDict()
        self._refused = _RateLimitedLog(
            logging.WARNING, "Refused %d request(s) without a valid Slack signature in the last minute (bodies not read "
            "or logged)"
        )  # fmt: skip
        self._replayed = _RateLimitedLog(logging.INFO, "Ignored %d replayed request(s) in the last minute")

    def plausible(self, timestamp: str | None, signature: str | None) -> bool:
        """Headers Slack could have sent: a timestamp within five minutes and a `v0=` signature. Else refused unread."""
        if not timestamp or not signature or not _SIGNATURE.fullmatch(signature) or not timestamp.isascii():
            return self._refuse()
        if (
            not timestamp.isdigit()
            or len(timestamp) > 12
            or abs(self._clock() - int(timestamp)) > REPLAY_WINDOW_SECONDS
        ):
            return self._refuse()
        return True

    async def verify(self, body: bytes, timestamp: str, signature: str) -> bool:
        """The HMAC of `v0:{timestamp}:{body}` matches; call after `plausible`."""
        message = b"v0:" + timestamp.encode() + b":" + body
        if len(body) > _OFF_LOOP_BYTES:
            digest = await asyncio.to_thread(hmac.digest, self._secret, message, hashlib.sha256)
        else:
            digest = hmac.digest(self._secret, message, hashlib.sha256)
        if hmac.compare_digest("v0=" + digest.hex(), signature):
            return True
        return self._refuse()

    def _refuse(self) -> bool:
        self._refused.note()
        return False

    def first_time(self, signature: str, timestamp: str = "") -> bool:
        """False for a signature seen while its request is still accepted: a replay of a request already handled."""
        now = self._clock()
        while self._seen:
            oldest, until = next(iter(self._seen.items()))
            if until >= now and len(self._seen) < _MAX_REMEMBERED:
                break
            self._seen.pop(oldest)
        if signature in self._seen:
            self._replayed.note()
            return False
        # A timestamp up to five minutes ahead (plausible() allows it) keeps the request valid that much longer.
        signed_at = int(timestamp) if timestamp.isdigit() else 0
        self._seen[signature] = max(now, signed_at) + REPLAY_WINDOW_SECONDS
        return True


class PageThrottle:
    """A token bucket for pages anyone can open without a signature (the install pages): each view writes a row, so
    a flood is refused (429) before it reaches the database. Generous for people: installs are rare."""

    def __init__(
        self,
        per_second: float = 5.0,
        burst: int = 20,
        clock: Callable[[], float] = time.monotonic,
        what: str = "install page view(s)",
    ) -> None:
        self._rate = per_second
        self._burst = float(burst)
        self._tokens = float(burst)
        self._clock = clock
        self._at = clock()
        self._refused = _RateLimitedLog(logging.WARNING, f"Refused %d {what} over the rate limit in the last minute")

    def allow(self) -> bool:
        now = self._clock()
        self._tokens = min(self._burst, self._tokens + (now - self._at) * self._rate)
        self._at = now
        if self._tokens >= 1:
            self._tokens -= 1
            return True
        self._refused.note()
        return False


def client_address(peer: str | None, forwarded_for: Sequence[str], trusted_hops: int) -> str:
    """The client's address: the connecting peer's, or, behind `trusted_hops` reverse proxies that each append the
    address they were reached from to X-Forwarded-For, the entry the outermost trusted proxy wrote (the
    `trusted_hops`-th from the right). Anything left of it was written by the client, so it is never believed; a
    header with fewer entries than that, or an entry that isn't an address, falls back to the peer."""
    if trusted_hops > 0:
        entries = [part.strip() for header in forwarded_for for part in header.split(",")]
        if len(entries) >= trusted_hops:
            found = _forwarded_address(entries[-trusted_hops])
            if found is not None:
                return found
    return peer or "unknown"


def _forwarded_address(entry: str) -> str | None:
    """An X-Forwarded-For entry's address: bare, or with the port some proxies add (`1.2.3.4:5678`, and IPv6 in
    brackets, `[2001:db8::1]:443`, as RFC 7239 writes it; Azure Application Gateway does). Read as unusable, such
    an entry made every client the proxy's address: one bucket for everyone."""
    host = entry
    if entry.startswith("["):
        host, bracket, _ = entry[1:].partition("]")
        if not bracket:
            return None
    elif entry.count(":") == 1:
        host, _, port = entry.partition(":")
        if not port.isdigit():
            return None
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        return None


def _bucket_keys(address: str) -> tuple[str, ...]:
    """The buckets a request from `address` spends: one per IPv4 address; per IPv6 /64 (what one subscriber's device
    gets: an address each would be a bucket each) and also per /48, the most one subscriber is usually given (a /56 or
    a /48): without it, one subscriber walking through 65,536 /64s was 65,536 clients and emptied the overall bucket,
    refusing everyone. A /48 gets SUBSCRIBER_SHARE times one address's rate."""
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return (address[:64],)
    if isinstance(parsed, ipaddress.IPv6Address):
        if parsed.ipv4_mapped is not None:
            return (str(parsed.ipv4_mapped),)
        bare = ipaddress.IPv6Address(int(parsed))  # without a %zone: the same address whatever zone is written
        return (
            str(ipaddress.ip_network(f"{bare}/64", strict=False)),
            str(ipaddress.ip_network(f"{bare}/48", strict=False)),
        )
    return (str(parsed),)


class AddressThrottle:
    """A token bucket per client address (server.request_guard.client_address) for pages anyone can open: one address
    sending faster than the bucket refills is refused (429) while every other address is served as before.

    Memory is bounded: at most `max_addresses` buckets, the least recently used dropped first (a dropped address
    starts again with a full bucket: the same as an address never seen). An overall bucket, generous and spent only
    by requests an address's own bucket allowed, keeps many addresses at once from reaching the database unbounded.
    """

    def __init__(
        self,
        per_second: float = 5.0,
        burst: int = 20,
        *,
        overall_per_second: float = 50.0,
        overall_burst: int = 200,
        max_addresses: int = _MAX_ADDRESSES,
        clock: Callable[[], float] = time.monotonic,
        what: str = "install page view(s)",
    ) -> None:
        self._rate = per_second
        self._burst = float(burst)
        self._max = max_addresses
        self._clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # key -> (tokens, when counted)
        self._overall = PageThrottle(overall_per_second, overall_burst, clock, what=what)
        self._refused = _RateLimitedLog(
            logging.WARNING, f"Refused %d {what} over one address's rate limit in the last minute"
        )

    def __len__(self) -> int:
        return len(self._buckets)

    def allow(self, address: str) -> bool:
        now = self._clock()
        keys = _bucket_keys(address)
        counted: list[tuple[str, float]] = []
        allowed = True
        for i, key in enumerate(keys):  # the address's bucket, then (IPv6) its /48's, SUBSCRIBER_SHARE times larger
            scale = 1.0 if i == 0 else float(SUBSCRIBER_SHARE)
            tokens, at = self._buckets.pop(key, (self._burst * scale, now))
            tokens = min(self._burst * scale, tokens + (now - at) * self._rate * scale)
            allowed = allowed and tokens >= 1
            counted.append((key, tokens))
        for key, tokens in counted:  # the /48 last: the most recently used, the last evicted
            self._buckets[key] = (tokens - 1 if allowed else tokens, now)
        while len(self._buckets) > self._max:
            self._buckets.popitem(last=False)
        if not allowed:
            self._refused.note()
            return False
        return self._overall.allow()
