"""Prometheus metrics (prometheus-client), served at GET /metrics; off with METRICS_ENABLED=false.

Every label takes its value from a small fixed set: a request kind, an outcome, a Web API method name the client
knows, a Slack error code the app has a sentence for (else `other_error`), an audit event. No token, user, team,
enterprise or channel ID is ever a label.

Under gunicorn, PROMETHEUS_MULTIPROC_DIR (set by gunicorn.conf.py) makes every worker write its values to files there,
and /metrics adds them up, whichever worker answers the scrape (prometheus-client's multi-process mode).
prometheus-client is imported only when metrics are on.
"""

from __future__ import annotations

import glob
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from prometheus_client import Counter, Histogram

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
JOB_KINDS = ("leave", "disconnect", "rejoin")
JOB_EVENTS = ("queued", "running", "finished", "failed", "paused")  # paused: the database was unavailable


@dataclass(frozen=True)
class _Metrics:
    requests: Counter
    ack_seconds: Histogram
    api_calls: Counter
    retry_after_waits: Counter
    retry_after_seconds: Counter
    audit_rows: Counter
    audit_channel_failures: Counter
    jobs: Counter
    job_items: Counter


_metrics: _Metrics | None = None
_enabled = False
_creating = threading.Lock()


def configure(enabled: bool) -> None:
    """Turn recording on or off for this process. prometheus-client is imported, and the metrics created, at the
    first thing recorded or scraped: start-up and a restart with nothing to do don't load it."""
    global _enabled
    _enabled = enabled


def _recording() -> _Metrics | None:
    global _metrics
    if not _enabled:
        return None
    if _metrics is None:
        with _creating:  # warm_up may be creating them in a thread: registered once
            if _metrics is None:
                _metrics = _create()
    return _metrics


def warm_up() -> None:
    """Create the metrics now, from a thread once the app serves: the first request (with OAuth there is no
    start-up auth.test to count) must not import prometheus-client before its acknowledgement goes out."""
    _recording()


def enabled() -> bool:
    return _enabled


def _create() -> _Metrics:
    from prometheus_client import Counter, Histogram

    return _Metrics(
        requests=Counter(
            f"{PREFIX}_requests",
            "Requests from Slack (HTTP or Socket Mode) by kind and outcome (acked, unhandled, bad_request, "
            "unauthorized, replay, error).",
            ["kind", "outcome"],
        ),
        ack_seconds=Histogram(
            f"{PREFIX}_ack_seconds",
            "Time from a Slack request's arrival to its acknowledgement, by kind (Slack gives up after 3 s).",
            ["kind"],
            buckets=ACK_BUCKETS,
        ),
        api_calls=Counter(
            f"{PREFIX}_slack_api_calls",
            "Slack Web API calls by method and final outcome after retries: ok, a Slack error code (bounded), "
            "429, 5xx, timeout, connection_error, unexpected_response.",
            ["method", "outcome"],
        ),
        retry_after_waits=Counter(
            f"{PREFIX}_slack_retry_after_waits",
            "429 answers waited out (Retry-After) before retrying, by Web API method.",
            ["method"],
        ),
        retry_after_seconds=Counter(
            f"{PREFIX}_slack_retry_after_seconds",
            "Seconds Slack asked to wait (Retry-After) before a retry, by Web API method.",
            ["method"],
        ),
        audit_rows=Counter(f"{PREFIX}_audit_rows_written", "Rows written to the audit log, by event.", ["event"]),
        audit_channel_failures=Counter(
            f"{PREFIX}_audit_channel_posts_failed",
            "Audit lines that couldn't be posted to AUDIT_CHANNEL_ID (the database row stands), by error.",
            ["error"],
        ),
        jobs=Counter(
            f"{PREFIX}_jobs",
            "Job transitions by kind (leave, disconnect, rejoin) and event: queued (written), running (claimed by "
            "an instance, again after a takeover or a resume), finished, failed.",
            ["kind", "event"],
        ),
        job_items=Counter(
            f"{PREFIX}_job_items_done",
            "Job items done (a channel left or joined, a workspace disconnected), by kind: its rate is items per "
            "second.",
            ["kind"],
        ),
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
    if (m := _recording()) is None:
        return
    kind = kind if kind in REQUEST_KINDS else "other"
    m.requests.labels(kind, outcome).inc()
    if seconds is not None:
        m.ack_seconds.labels(kind).observe(seconds)


def api_call(method: str, outcome: str) -> None:
    """One Web API call's final outcome: OK, RATE_LIMITED, SERVER_ERROR, TIMEOUT, … or a Slack error code."""
    if (m := _recording()) is None:
        return
    fixed = (OK, RATE_LIMITED, SERVER_ERROR, TIMEOUT, CONNECTION_ERROR, UNREADABLE)
    m.api_calls.labels(method_label(method), outcome if outcome in fixed else error_label(outcome)).inc()


def retry_after_wait(method: str, seconds: float) -> None:
    if (m := _recording()) is None:
        return
    label = method_label(method)
    m.retry_after_waits.labels(label).inc()
    m.retry_after_seconds.labels(label).inc(seconds)


def audit_row_written(event: str) -> None:
    if (m := _recording()) is not None:
        m.audit_rows.labels(event).inc()


def audit_channel_post_failed(error: str) -> None:
    if (m := _recording()) is not None:
        m.audit_channel_failures.labels(error_label(error)).inc()


def job_event(kind: str, event: str) -> None:
    """A job was queued, claimed (running), finished or failed."""
    if event in JOB_EVENTS and (m := _recording()) is not None:
        m.jobs.labels(kind if kind in JOB_KINDS else "other", event).inc()


def job_item_done(kind: str) -> None:
    if (m := _recording()) is not None:
        m.job_items.labels(kind if kind in JOB_KINDS else "other").inc()


def exposition() -> tuple[bytes, str]:
    """The text a scrape gets, and its content type: this process's metrics, or every gunicorn worker's."""
    from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest

    _recording()  # this process's families are listed even before anything was counted

    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess
        from prometheus_client.registry import Collector

        class WorkersFiles(Collector):
            """Every worker's files but the empty ones: prometheus-client creates a file before sizing it, and reading
            it in that moment raises (struct.error), failing the whole scrape; a worker killed then leaves it empty
            for good, failing every scrape after (https://github.com/prometheus/client_python/issues/1199)."""

            def collect(self) -> Any:
                folder = os.environ["PROMETHEUS_MULTIPROC_DIR"]
                files = [f for f in glob.glob(os.path.join(folder, "*.db")) if _has_content(f)]
                # What MultiProcessCollector.collect does, on those files (merge is unannotated in the library).
                merge: Callable[..., Any] = multiprocess.MultiProcessCollector.merge
                return merge(files, accumulate=True)

        registry = CollectorRegistry()
        registry.register(WorkersFiles())
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


def _has_content(path: str) -> bool:
    try:
        return os.path.getsize(path) > 0
    except OSError:  # removed meanwhile (a dead worker's live gauges)
        return False
