"""The faults Slack can answer with, each as the fake's scripted answers (the failing-Slack tests' matrix)."""

from __future__ import annotations

from tests.helpers.fake_slack import Scripted

FAULTS = {
    "429 with Retry-After": lambda: [Scripted(body={"ok": False, "error": "ratelimited"}, status=429, headers={"Retry-After": "1"})],
    "429 without Retry-After": lambda: [Scripted(body={"ok": False, "error": "ratelimited"}, status=429)],
    "429 with an empty body": lambda: [Scripted(status=429, text="")],
    "500": lambda: [Scripted(status=500, text="oops")] * 3,
    "503": lambda: [Scripted(status=503, text="busy")] * 3,
    "non-JSON": lambda: [Scripted(text="<html>maintenance</html>")],
    "connection reset": lambda: [Scripted(reset=True)] * 3,
    "hang past the timeout": lambda: [Scripted(body={"ok": True}, delay=2.5)],
}  # fmt: skip
