"""Turning any Web API answer or failure into (body, error code), so callers never see an exception."""

from __future__ import annotations

import logging
from collections.abc import Awaitable
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError

from services.telemetry import metrics

logger = logging.getLogger(__name__)


def _status_of(response: Any) -> int | None:
    status = getattr(response, "status_code", None)
    if status is None:
        status = getattr(response, "status", None)  # an aiohttp response, for a non-JSON body
    return status if isinstance(status, int) else None


def error_of(error: SlackApiError) -> tuple[dict[str, Any], str]:
    """Read a SlackApiError defensively: the body may be empty, non-JSON, or have no `error`."""
    response = error.response
    data = getattr(response, "data", None)
    body = data if isinstance(data, dict) else {}
    status = _status_of(response)
    code = body.get("error")
    if isinstance(code, str) and code:
        return body, code
    if status == 429:
        return body, "ratelimited"
    if status is not None and status >= 500:
        return body, "slack_server_error"
    return body, "unexpected_response"


async def call_outcome(call: Awaitable[Any]) -> tuple[dict[str, Any], str | None]:
    """Await a client call; return its body and None, or what is known and an error code.

    Every Web API call the app makes passes here: its final outcome (after the client's retries) is counted in the
    metrics, by method.
    """
    method = _method_of(call)
    try:
        response = await call
    except SlackApiError as e:
        body, code = error_of(e)
        metrics.api_call(method, _outcome_label(_status_of(e.response), body, code))
        return body, code
    except TimeoutError:
        metrics.api_call(method, metrics.TIMEOUT)
        return {}, "slack_timeout"
    except aiohttp.ClientError as e:
        logger.warning("Web API call failed to connect: %s", type(e).__name__)
        metrics.api_call(method, metrics.CONNECTION_ERROR)
        return {}, "slack_unreachable"
    data = getattr(response, "data", None)
    metrics.api_call(method, metrics.OK)
    return (data if isinstance(data, dict) else {}), None


def _method_of(call: Awaitable[Any]) -> str:
    """`conversations_leave` for `client.conversations_leave(...)` (the coroutine's name); "" if unknown."""
    code = getattr(call, "cr_code", None)
    return getattr(code, "co_name", "") or ""


def _outcome_label(status: int | None, body: dict[str, Any], code: str) -> str:
    if status == 429:
        return metrics.RATE_LIMITED
    if status is not None and status >= 500:
        return metrics.SERVER_ERROR
    if not body:
        return metrics.UNREADABLE
    return code
