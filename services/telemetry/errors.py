"""SENTRY_DSN: errors reported to Sentry, with the logs' redaction applied to every event. Off by default; sentry_sdk is
imported only when a DSN is set.

What is sent: exceptions the process doesn't handle and every ERROR log line (Sentry's logging integration; lower
levels ride along as breadcrumbs), with their stack traces. What never is, whatever the event carries: a token, the
signing secret or any other configured secret, a response URL, an OAuth code or state, a trigger ID (the logs'
RedactingFilter runs over every string of the event and of each breadcrumb, keys included, at any depth), request bodies
(max_request_body_size "never"), local variables of the stack frames (include_local_variables off: a frame's locals
can hold a token), cookies and authorization headers. No performance tracing (traces_sample_rate unset), and no
integration is switched on because its library happens to be installed (auto_enabling_integrations off): the events
come from the logging and exception hooks only.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any

from services.telemetry.logs import REDACTED, RedactingFilter

logger = logging.getLogger(__name__)

# Header and field names whose value is a credential wherever it appears in an event.
_SECRET_KEYS = frozenset(
    {"authorization", "cookie", "set-cookie", "x-slack-signature", "proxy-authorization", "client_secret", "password"}
)


def scrubber(secrets: Iterable[str]) -> Callable[[Any], Any]:
    """A function that returns a copy of an event (or breadcrumb) with every string redacted as the logs are."""
    redact = RedactingFilter(secrets).redact

    def scrub(value: Any) -> Any:
        if isinstance(value, str):
            return redact(value)
        if isinstance(value, dict):
            # Keys are redacted too (a log record's extras can be keyed by anything); two keys redacted alike
            # keep the last value.
            return {
                scrub(key): (REDACTED if isinstance(key, str) and key.lower() in _SECRET_KEYS else scrub(item))
                for key, item in value.items()
            }
        if isinstance(value, (list, tuple)):
            return [scrub(item) for item in value]
        return value

    return scrub


def configure_error_reporting(dsn: str | None, secrets: Iterable[str] = ()) -> bool:
    """Start Sentry's client when `dsn` is set; True when it did."""
    if not dsn:
        return False
    import sentry_sdk

    scrub = scrubber(secrets)

    def before_send(event: Any, _hint: Any) -> Any:
        return scrub(event)

    def before_breadcrumb(crumb: Any, _hint: Any) -> Any:
        return scrub(crumb)

    sentry_sdk.init(
        dsn=dsn,
        send_default_pii=False,
        include_local_variables=False,
        max_request_body_size="never",
        auto_enabling_integrations=False,
        before_send=before_send,
        before_breadcrumb=before_breadcrumb,
    )
    logger.info("Error reporting to Sentry is on (events redacted as the logs are)")
    return True
