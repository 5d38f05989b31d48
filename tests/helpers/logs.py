"""Capturing the app's log in-process (text or JSON lines), to check what it says and that no secret is in it."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from contextlib import contextmanager

from services.telemetry.logs import LEVEL_CHECKED_LOGGERS, configure_logging


@contextmanager
def log_capture(secrets: list[str], level: str = "DEBUG", log_format: str = "text") -> Iterator[io.StringIO]:
    """Everything logged at `level` through the app's own (redacting) handler, in LOG_FORMAT `log_format`."""
    stream = io.StringIO()
    root = logging.getLogger()
    # configure_logging sets these too: restored, so a later test sees the levels it would alone.
    touched = [root, *(logging.getLogger(name) for name in (*LEVEL_CHECKED_LOGGERS, "aiosqlite"))]
    before = [logger.level for logger in touched]
    handler = configure_logging(level, secrets, stream=stream, log_format=log_format)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        for logger, was in zip(touched, before, strict=True):
            logger.setLevel(was)
