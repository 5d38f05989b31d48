"""Prometheus metrics, served at GET /metrics; off with METRICS_ENABLED=false.

Every label takes its value from a small fixed set: a request kind, an outcome, a Web API method name the client
knows, a Slack error code the app has a sentence for (else `other_error`), an audit event. No token, user, team,
enterprise or channel ID is ever a label.

In one process (`python app.py`), recording is a plain dict update on the hot path (every request and Web API call),
and prometheus-client is imported at the first scrape only: a collector then turns the counts into the same families,
samples and text a prometheus-client Counter and Histogram give (tests/test_metrics_store.py compares them).
Under gunicorn, PROMETHEUS_MULTIPROC_DIR (set by gunicorn.conf.py) makes every worker write its values to files there,
and /metrics adds them up, whichever worker answers the scrape (prometheus-client's multi-process mode): there the
prometheus-client metrics are made when metrics are turned on, as that mode needs.
"""

from __future__ import annotations

import os
import time
from bisect import bisect_left
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from prometheus_client import Counter, Histogram
    from prometheus_client.metrics_core import Metric

PREFIX = "channel_admin"
REQUEST_KINDS = ("command", "view_submission", "block_actions", "event", "other")
# Ack latency buckets around Slack's 3 s: an alert on "over 2 s" reads the 2.0 bucket.
ACK_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 2.5, 3.0, 5.0, 10.0)
# Outcomes of a Web API call that aren't a Slack error code.
OK = "ok"
RATE_LIMITED = "429"
SERVER_ERROR = "5xx"
TIMEOUT = "timeout"
CONNECTION_ERROR = "connection_error"
UNREADABLE = "unexpected_response"
OTHER_ERROR = "other_error"
OTHER_METHOD = "other"
_FIXED_OUTCOMES = frozenset((OK, RATE_LIMITED, SERVER_ERROR, TIMEOUT, CONNECTION_ERROR, UNREADABLE))

# name (without the prefix), help text, label names; and the histogram's buckets.
_REQUESTS = (
    "requests",
    "Requests from Slack (HTTP or Socket Mode) by kind and outcome (acked, unhandled, bad_request, "
    "unauthorized, replay, error).",
    ("kind", "outcome"),
)
_ACK_SECONDS = (
    "ack_seconds",
    "Time from a Slack request's arrival to its acknowledgement, by kind (Slack gives up after 3 s).",
    ("kind",),
)
_API_CALLS = (
    "slack_api_calls",
    "Slack Web API calls by method and final outcome after retries: ok, a Slack error code (bounded), "
    "429, 5xx, timeout, connection_error, unexpected_response.",
    ("method", "outcome"),
)
_RETRY_AFTER_WAITS = (
    "slack_retry_after_waits",
    "429 answers waited out (Retry-After) before retrying, by Web API method.",
    ("method",),
)
_RETRY_AFTER_SECONDS = (
    "slack_retry_after_seconds",
    "Seconds Slack asked to wait (Retry-After) before a retry, by Web API method.",
    ("method",),
)
_AUDIT_ROWS = ("audit_rows_written", "Rows written to the audit log, by event.", ("event",))
_AUDIT_CHANNEL_FAILURES = (
    "audit_channel_posts_failed",
    "Audit lines that couldn't be posted to AUDIT_CHANNEL_ID (the database row stands), by error.",
    ("error",),
)
_COUNTERS = (_REQUESTS, _API_CALLS, _RETRY_AFTER_WAITS, _RETRY_AFTER_SECONDS, _AUDIT_ROWS, _AUDIT_CHANNEL_FAILURES)


@dataclass(frozen=True)
class _Metrics:
    """prometheus-client's own metrics: multi-process mode (gunicorn) only."""

    requests: Counter
    ack_seconds: Histogram
    api_calls: Counter
    retry_after_waits: Counter
    retry_after_seconds: Counter
    audit_rows: Counter
    audit_channel_failures: Counter
    # Jobs (queued / running / finished / failed, items per second) come here with the job runner.


@dataclass
class _Counts:
    """A counter's values by label values, with when each series was first counted (prometheus' `_created`)."""

    name: str
    documentation: str
    labels: tuple[str, ...]
    values: dict[tuple[str, ...], float] = field(default_factory=dict)
    created: dict[tuple[str, ...], float] = field(default_factory=dict)

    def inc(self, key: tuple[str, ...], amount: float = 1.0) -> None:
        values = self.values
        if key in values:
            values[key] += amount
        else:
            values[key] = amount
            self.created[key] = time.time()


@dataclass
class _Observations:
    """A histogram's per-bucket counts (the last bucket is +Inf) and sums by label values."""

    name: str
    documentation: str
    labels: tuple[str, ...]
    bounds: tuple[float, ...]
    buckets: dict[tuple[str, ...], list[float]] = field(default_factory=dict)
    sums: dict[tuple[str, ...], float] = field(default_factory=dict)
    created: dict[tuple[str, ...], float] = field(default_factory=dict)

    def observe(self, key: tuple[str, ...], value: float) -> None:
        counts = self.buckets.get(key)
        if counts is None:
            counts = self.buckets[key] = [0.0] * (len(self.bounds) + 1)
            self.sums[key] = 0.0
            self.created[key] = time.time()
        counts[bisect_left(self.bounds, value)] += 1.0  # the first bucket whose bound is >= value, as prometheus'
        self.sums[key] += value


class _Store:
    """This process's metrics, in plain dicts."""

    def __init__(self) -> None:
        def counts(spec: tuple[str, str, tuple[str, ...]]) -> _Counts:
            return _Counts(f"{PREFIX}_{spec[0]}", spec[1], spec[2])

        self.requests = counts(_REQUESTS)
        self.ack_seconds = _Observations(
            f"{PREFIX}_{_ACK_SECONDS[0]}", _ACK_SECONDS[1], _ACK_SECONDS[2], tuple(float(b) for b in ACK_BUCKETS)
        )
        self.api_calls = counts(_API_CALLS)
        self.retry_after_waits = counts(_RETRY_AFTER_WAITS)
        self.retry_after_seconds = counts(_RETRY_AFTER_SECONDS)
        self.audit_rows = counts(_AUDIT_ROWS)
        self.audit_channel_failures = counts(_AUDIT_CHANNEL_FAILURES)

    def collect(self) -> Iterator[Metric]:
        """What prometheus-client's Counter and Histogram would give for the same counts (called at a scrape)."""
        from prometheus_client import metrics as prometheus_metrics
        from prometheus_client.metrics_core import Metric
        from prometheus_client.utils import floatToGoString

        go_string: Callable[[float], str] = floatToGoString  # unannotated in prometheus-client
        use_created = getattr(prometheus_metrics, "_use_created", True)
        for counter in (self.requests, self.ack_seconds, self.api_calls, self.retry_after_waits,
                        self.retry_after_seconds, self.audit_rows, self.audit_channel_failures):  # fmt: skip
            if isinstance(counter, _Observations):
                family = Metric(counter.name, counter.documentation, "histogram")
                bounds = [go_string(b) for b in (*counter.bounds, float("inf"))]
                for key, counts in list(counter.buckets.items()):
                    labels = dict(zip(counter.labels, key, strict=True))
                    total = 0.0
                    for bound, count in zip(bounds, counts, strict=True):
                        total += count
                        family.add_sample(f"{counter.name}_bucket", {**labels, "le": bound}, total)
                    family.add_sample(f"{counter.name}_count", labels, total)
                    family.add_sample(f"{counter.name}_sum", labels, counter.sums[key])
                    if use_created:
                        family.add_sample(f"{counter.name}_created", labels, counter.created[key])
            else:
                family = Metric(counter.name, counter.documentation, "counter")
                for key, value in list(counter.values.items()):
                    labels = dict(zip(counter.labels, key, strict=True))
                    family.add_sample(f"{counter.name}_total", labels, value)
                    if use_created:
                        family.add_sample(f"{counter.name}_created", labels, counter.created[key])
            yield family


_metrics: _Metrics | None = None  # multi-process mode
_store: _Store | None = None  # one process
_registered = False  # the store's collector, in prometheus-client's registry (at the first scrape)
_enabled = False


def _multiprocess() -> bool:
    return bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))


def configure(enabled: bool) -> None:
    """Turn recording on or off for this process (metrics are created, once, when first turned on)."""
    global _metrics, _store, _enabled
    if enabled and _metrics is None and _store is None:
        if _multiprocess():
            _metrics = _create()
        else:
            _store = _Store()
    _enabled = enabled


def enabled() -> bool:
    return _enabled


def _create() -> _Metrics:
    from prometheus_client import Counter, Histogram

    def counter(spec: tuple[str, str, tuple[str, ...]]) -> Counter:
        return Counter(f"{PREFIX}_{spec[0]}", spec[1], list(spec[2]))

    return _Metrics(
        requests=counter(_REQUESTS),
        ack_seconds=Histogram(
            f"{PREFIX}_{_ACK_SECONDS[0]}", _ACK_SECONDS[1], list(_ACK_SECONDS[2]), buckets=ACK_BUCKETS
        ),
        api_calls=counter(_API_CALLS),
        retry_after_waits=counter(_RETRY_AFTER_WAITS),
        retry_after_seconds=counter(_RETRY_AFTER_SECONDS),
        audit_rows=counter(_AUDIT_ROWS),
        audit_channel_failures=counter(_AUDIT_CHANNEL_FAILURES),
    )


# ---- bounded label values ----------------------------------------------------------------------------------------


def _known_methods() -> frozenset[str]:
    from slack_sdk.web.async_client import AsyncWebClient

    return frozenset(
        name.replace("_", ".") for name in vars(AsyncWebClient) if "_" in name.strip("_") and not name.startswith("_")
    )


# Codes the app handles without a sentence in services.error_texts (audit channel hints, not-a-member answers, …).
_MORE_CODES = ("not_in_channel", "is_archived", "channel_not_found", "user_not_found", "expired_trigger_id")


def _known_error_codes() -> frozenset[str]:
    from services import error_texts

    codes: set[str] = set(_MORE_CODES)
    for name, value in vars(error_texts).items():
        if name.endswith("_ERRORS") and isinstance(value, dict):
            codes.update(value)
    return frozenset(codes)


_methods: frozenset[str] | None = None
_codes: frozenset[str] | None = None


def method_label(method: str) -> str:
    """A Web API method's name as a label (`conversations.leave`); `other` for anything the client doesn't know."""
    global _methods
    if _methods is None:
        _methods = _known_methods()
    dotted = method.replace("_", ".")
    return dotted if dotted in _methods else OTHER_METHOD


def error_label(code: str) -> str:
    """A Slack error code as a label, from the codes the app has a sentence for; `other_error` otherwise."""
    global _codes
    if _codes is None:
        _codes = _known_error_codes()
    return code if code in _codes else OTHER_ERROR


def request_kind(body: Any) -> str:
    """command / view_submission / block_actions / event / other, from a parsed Slack request body."""
    if not isinstance(body, dict):
        return "other"
    if isinstance(body.get("command"), str):
        return "command"
    kind = body.get("type")
    if kind == "event_callback":
        return "event"
    return kind if kind in ("view_submission", "block_actions") else "other"


def response_outcome(status: int) -> str:
    return {200: "acked", 400: "bad_request", 401: "unauthorized", 404: "unhandled"}.get(status, "error")


# ---- recording (each a no-op when metrics are off) ----------------------------------------------------------------


def request_handled(kind: str, outcome: str, seconds: float | None = None) -> None:
    if not _enabled:
        return
    kind = kind if kind in REQUEST_KINDS else "other"
    if _store is not None:
        _store.requests.inc((kind, outcome))
        if seconds is not None:
            _store.ack_seconds.observe((kind,), seconds)
    elif _metrics is not None:
        _metrics.requests.labels(kind, outcome).inc()
        if seconds is not None:
            _metrics.ack_seconds.labels(kind).observe(seconds)


# (method, outcome) as called -> the labels: the same few pairs come back on every call.
_api_call_labels: dict[tuple[str, str], tuple[str, str]] = {}


def api_call(method: str, outcome: str) -> None:
    """One Web API call's final outcome: OK, RATE_LIMITED, SERVER_ERROR, TIMEOUT, … or a Slack error code."""
    if not _enabled:
        return
    key = _api_call_labels.get((method, outcome))
    if key is None:
        label = outcome if outcome in _FIXED_OUTCOMES else error_label(outcome)
        key = (method_label(method), label)
        if len(_api_call_labels) < 10_000:  # bounded: both labels come from fixed sets, whatever was called
            _api_call_labels[(method, outcome)] = key
    if _store is not None:
        _store.api_calls.inc(key)
    elif _metrics is not None:
        _metrics.api_calls.labels(*key).inc()


def retry_after_wait(method: str, seconds: float) -> None:
    if not _enabled:
        return
    label = method_label(method)
    if _store is not None:
        _store.retry_after_waits.inc((label,))
        _store.retry_after_seconds.inc((label,), seconds)
    elif _metrics is not None:
        _metrics.retry_after_waits.labels(label).inc()
        _metrics.retry_after_seconds.labels(label).inc(seconds)


def audit_row_written(event: str) -> None:
    if not _enabled:
        return
    if _store is not None:
        _store.audit_rows.inc((event,))
    elif _metrics is not None:
        _metrics.audit_rows.labels(event).inc()


def audit_channel_post_failed(error: str) -> None:
    if not _enabled:
        return
    if _store is not None:
        _store.audit_channel_failures.inc((error_label(error),))
    elif _metrics is not None:
        _metrics.audit_channel_failures.labels(error_label(error)).inc()


def exposition() -> tuple[bytes, str]:
    """The text a scrape gets, and its content type: this process's metrics, or every gunicorn worker's."""
    from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest

    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        # prometheus-client leaves MultiProcessCollector's __init__ unannotated: called through a typed name.
        collect_workers: Callable[[CollectorRegistry], object] = multiprocess.MultiProcessCollector
        collect_workers(registry)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    global _registered
    if _store is not None and not _registered:
        REGISTRY.register(_store)
        _registered = True
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
