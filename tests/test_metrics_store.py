"""The in-process metrics (plain dicts, prometheus-client imported at the first scrape) expose exactly what
prometheus-client's own Counter and Histogram would for the same events."""

from __future__ import annotations

import re

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

from services.telemetry import metrics

# `_created` holds the moment a series was first counted: the same lines, with the times left out.
CREATED = re.compile(r"^(\S+_created\{[^}]*\}) \S+$", re.MULTILINE)


def without_times(text: str) -> str:
    return CREATED.sub(r"\1 <time>", text)


def test_the_store_exposes_what_prometheus_client_would() -> None:
    store = metrics._Store()
    registry = CollectorRegistry()
    reference = CollectorRegistry()
    registry.register(store)  # a collector: it has collect()

    def counter(counts: metrics._Counts) -> Counter:
        return Counter(counts.name, counts.documentation, list(counts.labels), registry=reference)

    requests = counter(store.requests)
    ack = Histogram(
        store.ack_seconds.name,
        store.ack_seconds.documentation,
        list(store.ack_seconds.labels),
        buckets=metrics.ACK_BUCKETS,
        registry=reference,
    )
    calls = counter(store.api_calls)
    waits, waited = counter(store.retry_after_waits), counter(store.retry_after_seconds)
    rows, failures = counter(store.audit_rows), counter(store.audit_channel_failures)

    for kind, outcome, seconds in [
        ("command", "acked", 0.004),
        ("command", "acked", 0.005),  # on a bound: in that bucket, as prometheus-client counts it
        ("event", "acked", 2.9),
        ("command", "acked", 12.0),  # past every bound: +Inf
        ("other", "unauthorized", 0.0),
    ]:
        store.requests.inc((kind, outcome))
        requests.labels(kind, outcome).inc()
        store.ack_seconds.observe((kind,), seconds)
        ack.labels(kind).observe(seconds)
    for method, outcome in [("conversations.leave", "ok"), ("users.info", "ok"), ("conversations.leave", "5xx")]:
        store.api_calls.inc((method, outcome))
        calls.labels(method, outcome).inc()
    store.retry_after_waits.inc(("conversations.leave",))
    waits.labels("conversations.leave").inc()
    store.retry_after_seconds.inc(("conversations.leave",), 1.5)
    waited.labels("conversations.leave").inc(1.5)
    store.audit_rows.inc(("refused",))
    rows.labels("refused").inc()
    store.audit_channel_failures.inc(("not_in_channel",))
    failures.labels("not_in_channel").inc()

    ours, theirs = generate_latest(registry).decode(), generate_latest(reference).decode()
    assert without_times(ours) == without_times(theirs)
    assert "channel_admin_requests_created" in ours


def test_nothing_recorded_means_no_series() -> None:
    registry = CollectorRegistry()
    registry.register(metrics._Store())
    assert "_total{" not in generate_latest(registry).decode()
