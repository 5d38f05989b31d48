"""Capturing the app's DEBUG log in-process, to check what it says and that no secret is in it."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from contextlib import contextmanager

from services.telemetry.logs import configure_logging


@contextmanager
def debug_capture(secrets: list[str]) -> Iterator[io.StringIO]:
    """Everything logged at DEBUG through the app's own (redacting) handler."""
    stream = io.StringIO()
    root = logging.getLogger()
    level = root.level
    handler = configure_logging("DEBUG", secrets, stream=stream)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
