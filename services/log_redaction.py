"""Logging set-up that keeps tokens, secrets and response URLs out of every log line."""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterable

REDACTED = "[redacted]"

# Slack tokens (xoxb-, xoxp-, xapp-, …) and response URLs (…/commands/T…/… or …/actions/T…/…),
# plain or URL-encoded as they appear in raw request bodies.
_PATTERNS = [
    re.compile(r"\bx(?:ox[a-z]|app)-[A-Za-z0-9-]+"),
    re.compile(r"https?://[^\s\"'\\<>|]*?/(?:commands|actions)/[^\s\"'\\<>|]+"),
    re.compile(r"https?%3A%2F%2F[^\s&\"'\\]+", re.IGNORECASE),
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


class DropKnownNoise(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not (isinstance(record.msg, str) and record.msg.startswith(_NOISE))


def configure_logging(level: str, secrets: Iterable[str] = (), stream=None) -> logging.Handler:
    """One stderr handler on the root logger, with redaction; returns the handler."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(DropKnownNoise())
    handler.addFilter(RedactingFilter(secrets))
    root = logging.getLogger()
    for old in list(root.handlers):
        if getattr(old, "_redacting", False):
            root.removeHandler(old)
    handler._redacting = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level)
    # aiosqlite logs every statement with its parameters at DEBUG: OAuth state, installation rows. Never useful
    # enough to carry secrets into a log, so it stays at INFO whatever LOG_LEVEL says.
    logging.getLogger("aiosqlite").setLevel(
        max(logging.INFO, logging.getLevelName(level) if isinstance(level, str) else level)
    )
    return handler
