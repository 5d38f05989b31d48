"""Turning any Web API answer or failure into (body, error code), so callers never see an exception."""

from __future__ import annotations

import logging
from collections.abc import Awaitable
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError

logger = logging.getLogger(__name__)


def _status_of(response: Any) -> int | None:
    status = getattr(response, "status_code", None)
    if status is None:
        status = getattr(response, "status", None)  # an aiohttp response, for a non-JSON body
    return status if isinstance(status, int) else None


def error_of(error: SlackApiError) -> tuple[dict, str]:
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


async def call_outcome(call: Awaitable[Any]) -> tuple[dict, str | None]:
    """Await a client call; return its body and None, or what is known and an error code."""
    try:
        response = await call
    except SlackApiError as e:
        return error_of(e)
    except TimeoutError:
        return {}, "slack_timeout"
    except aiohttp.ClientError as e:
        logger.warning("Web API call failed to connect: %s", type(e).__name__)
        return {}, "slack_unreachable"
    data = getattr(response, "data", None)
    return (data if isinstance(data, dict) else {}), None
