"""Capturing the app's log in-process (text or JSON lines), to check what it says and that no secret is in it."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from contextlib import contextmanager

from services.telemetry.logs import configure_logging


@contextmanager
def log_capture(secrets: list[str], level: str = "DEBUG", log_format: str = "text") -> Iterator[io.StringIO]:
    """Everything logged at `level` through the app's own (redacting) handler, in LOG_FORMAT `log_format`."""
    stream = io.StringIO()
    root = logging.getLogger()
    before = root.level
    handler = configure_logging(level, secrets, stream=stream, log_format=log_format)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        root.setLevel(before)
