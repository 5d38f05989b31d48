"""What a log line is about: the request (or job) being handled, and its workspace and org, in a context variable.

A Bolt middleware sets it for each request (server.app); asyncio copies it into every task started while handling
that request, so lines logged after the ack carry the same IDs. JSON logs (LOG_FORMAT=json) write these fields.
"""

from __future__ import annotations

import secrets
from contextvars import ContextVar

FIELDS = ("request_id", "job_id", "team_id", "enterprise_id")

_current: ContextVar[dict[str, str]] = ContextVar("log_context", default={})  # noqa: B039 - never mutated


def new_id() -> str:
    return secrets.token_hex(8)


def start_request(team_id: str | None = None, enterprise_id: str | None = None) -> str:
    """A fresh request ID, with the request's workspace and org (when known); replaces what was there."""
    request_id = new_id()
    _current.set(_only_known(request_id=request_id, team_id=team_id, enterprise_id=enterprise_id))
    return request_id


def bind(**fields: str | None) -> None:
    """Add fields to the current context (a job's ID, say), keeping the others."""
    _current.set({**_current.get(), **_only_known(**fields)})


def current() -> dict[str, str]:
    return _current.get()


def _only_known(**fields: str | None) -> dict[str, str]:
    unknown = set(fields) - set(FIELDS)
    if unknown:
        raise ValueError(f"not a log context field: {sorted(unknown)}")
    return {name: value for name, value in fields.items() if isinstance(value, str) and value}
