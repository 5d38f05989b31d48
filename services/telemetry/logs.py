"""Logging set-up that keeps tokens, secrets and response URLs out of every log line."""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any, TextIO

from services.telemetry import context as log_context

REDACTED = "[redacted]"

# Slack tokens (xoxb-, xoxp-, xapp-, …) and response URLs (…/commands/T…/… or …/actions/T…/…),
# plain or URL-encoded as they appear in raw request bodies.
_PATTERNS = [
    re.compile(r"\bx(?:ox[a-z]|app)-[A-Za-z0-9-]+"),
    re.compile(r"https?://[^\s\"'\\<>|]*?/(?:commands|actions)/[^\s\"'\\<>|]+"),
    re.compile(r"https?%3A%2F%2F[^\s&\"'\\]+", re.IGNORECASE),
    # files.getUploadURLExternal's `upload_url` (https://files.slack.com/upload/v1/…): a one-time grant to write a
    # file, in slack_sdk's DEBUG lines (the answer's body, then the POST's URL: slack_sdk/web/async_internal_utils.py).
    re.compile(r"https?://[^\s\"'\\<>|]*?/upload/v1/[^\s\"'\\<>|,]+"),
]
# Whole request bodies (Bolt logs them for unhandled or unsigned requests), and single fields that are secrets or
# one-use grants: the OAuth `code` and `state`, the legacy verification `token`, `trigger_id`. Form-encoded
# (`code=…`), JSON (`"code": "…"`) and Python-repr (`'code': '…'`) shapes.
_REPLACEMENTS = [
    (re.compile(r"(request body:\s*).*", re.IGNORECASE | re.DOTALL), r"\1" + REDACTED),
    (re.compile(r"(Invalid request signature detected.*?body: ).*", re.DOTALL), r"\1" + REDACTED),
    (re.compile(r"\b(code|state|token|trigger_id|verification_token)=[^&\s\"',)]+"), r"\1=" + REDACTED),
    (
        re.compile(r"([\"'](?:code|state|token|trigger_id|verification_token)[\"']\s*:\s*)[\"'][^\"']*[\"']"),
        r"\1'" + REDACTED + "'",
    ),
    # A parsed query string as Bolt logs it at DEBUG: {'code': ['…'], 'state': ['…']}.
    (
        re.compile(r"([\"'](?:code|state|token|trigger_id|verification_token)[\"']\s*:\s*)\[[^\]]*\]"),
        r"\1['" + REDACTED + "']",
    ),
    # Bolt's "Failed to fetch oauth.v2.access result with code: …" (slack_bolt/oauth/async_oauth_flow.py).
    (re.compile(r"(result with code:\s*)\S+"), r"\1" + REDACTED),
]


class RedactingFilter(logging.Filter):
    """Rewrites each record's message with secrets and response URLs replaced."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self._secrets = sorted({s for s in secrets if s}, key=len, reverse=True)

    def redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, REDACTED)
        for pattern in _PATTERNS:
            text = pattern.sub(REDACTED, text)
        for pattern, replacement in _REPLACEMENTS:
            text = pattern.sub(replacement, text)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        record.msg = self.redact(message)
        record.args = None
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True


# Bolt warns about SLACK_BOT_TOKEN in the environment when the app passes its own client, as this one does on purpose.
_NOISE = ("As you gave `client` as well, `token` will be unused.",)
# slack_sdk logs this at INFO for every retried call (each 429 and 5xx) whenever its logger has no level of its own
# (slack_sdk/web/async_internal_utils.py): per-call chatter that belongs at DEBUG.
_RETRY_NOTICE = "A retry handler found"


# Loggers of slack_sdk and Bolt whose code asks `logger.level <= logging.DEBUG` (the logger's own level, not the
# effective one) before building its DEBUG lines: with no level of their own (0) that is always true, and every Web
# API call, response-URL post and request formats its whole request and response (headers, body) into a string that
# is then dropped. Given the root's level above DEBUG, they build none; at DEBUG they are left without a level of
# their own, as before (they inherit the root's). What is logged is the same either way.
# (slack_sdk/web/async_internal_utils.py, slack_sdk/webhook/async_client.py, slack_bolt/app/async_app.py; Bolt's
# middleware loggers copy the level of "slack_bolt.App", the logger server.app gives the AsyncApp, when it is built.)
LEVEL_CHECKED_LOGGERS = (
    "slack_sdk.web.async_base_client",
    "slack_sdk.web.base_client",
    "slack_sdk.webhook.async_client",
    "slack_bolt.App",
)


class DropKnownNoise(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not (isinstance(record.msg, str) and record.msg.startswith(_NOISE))


class RetryNoticesAtDebug(logging.Filter):
    """slack_sdk's "A retry handler found: …" lines become DEBUG lines: shown at LOG_LEVEL=DEBUG, dropped above it."""

    def __init__(self, level: int) -> None:
        super().__init__()
        self._level = level

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno == logging.INFO and isinstance(record.msg, str) and record.msg.startswith(_RETRY_NOTICE):
            if self._level > logging.DEBUG:
                return False
            record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        return True


def json_line_formatter(redact: Callable[[str], str]) -> logging.Formatter:
    """The LOG_FORMAT=json formatter (python-json-logger is imported only when JSON logs are asked for)."""
    from pythonjsonlogger.json import JsonFormatter

    class JsonLineFormatter(JsonFormatter):
        """One JSON object a line: time (UTC, ISO 8601), level, logger, message, then the request's or job's ID and its
        workspace and org when known (services.telemetry.context), and a traceback when there is one.

        Only these fields: a record's `extra` attributes are not written (nothing unredacted can slip through them).
        Messages arrive redacted (RedactingFilter runs before any formatter); tracebacks are redacted here.
        """

        def __init__(self, redact: Callable[[str], str]) -> None:
            super().__init__()
            self._redact = redact

        def add_fields(self, log_data: dict[str, Any], record: logging.LogRecord, message_dict: dict[str, Any]) -> None:
            log_data["time"] = datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")
            log_data["level"] = record.levelname
            log_data["logger"] = record.name
            log_data["message"] = record.getMessage()
            log_data.update(getattr(record, "log_context", None) or {})
            for name in ("exc_info", "stack_info"):
                if message_dict.get(name):
                    log_data[name] = message_dict[name]

        def formatException(self, ei: Any) -> str:
            return self._redact(str(super().formatException(ei)))

        def formatStack(self, stack_info: str) -> str:
            return self._redact(str(super().formatStack(stack_info)))

    return JsonLineFormatter(redact)


class WithLogContext(logging.Filter):
    """Copies the current request's or job's IDs onto the record (for JsonLineFormatter)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.log_context = log_context.current()
        return True


class AppLogHandler(logging.StreamHandler[TextIO]):
    """The app's one handler on the root logger (configure_logging replaces it, never adds a second)."""


def configure_logging(
    level: str, secrets: Iterable[str] = (), stream: TextIO | None = None, log_format: str = "text"
) -> logging.Handler:
    """One stderr handler on the root logger, with redaction, as plain text or JSON lines; returns the handler."""
    numeric = logging.getLevelName(level) if isinstance(level, str) else level
    handler = AppLogHandler(stream or sys.stderr)
    redacting = RedactingFilter(secrets)
    handler.addFilter(DropKnownNoise())
    handler.addFilter(RetryNoticesAtDebug(numeric))
    handler.addFilter(redacting)  # before formatting: both formats write the redacted message
    if log_format == "json":
        handler.addFilter(WithLogContext())
        handler.setFormatter(json_line_formatter(redacting.redact))
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    for old in list(root.handlers):
        if isinstance(old, AppLogHandler):
            root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    for name in LEVEL_CHECKED_LOGGERS:
        logging.getLogger(name).setLevel(numeric if numeric > logging.DEBUG else logging.NOTSET)
    # aiosqlite logs every statement with its parameters at DEBUG: OAuth state, installation rows. Never useful
    # enough to carry secrets into a log, so it stays at INFO whatever LOG_LEVEL says.
    logging.getLogger("aiosqlite").setLevel(max(logging.INFO, numeric))
    return handler
