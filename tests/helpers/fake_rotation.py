"""The fake Slack's token rotation (https://docs.slack.dev/authentication/using-token-rotation).

A mixin FakeSlack inherits (tests/helpers/fake_slack.py); what it relies on of it: `tokens` (a token's identity),
`client_id` / `client_secret` checks done by its oauth.v2.access.

What Slack documents, and the fake does when `rotation_seconds` is set (it is None, rotation off, by default):
- With rotation on, oauth.v2.access answers an install with an expiring access token (`xoxe.xoxb-…`, `xoxe.xoxp-…`),
  `expires_in` (seconds; 43,200 at Slack, 12 hours; here `rotation_seconds`) and a `refresh_token` (`xoxe-1-…`), for
  the bot at the top level and for the user under `authed_user` (slack-samples/api/oauth.v2.access.json has both
  `refresh_token` and `expires_in` in each place).
- oauth.v2.access with `grant_type=refresh_token` and `refresh_token` answers a new access token, a new refresh token,
  `expires_in` and `token_type` (`bot` or `user`, what slack_sdk's AsyncTokenRotator checks). The guide: "The refresh
  token is then revoked, and a new refresh token is used to exchange the new expiring access token when it expires"
  — so a refresh token is single-use here: used again it answers `invalid_refresh_token` (the code Slack documents
  for a refresh token it won't take, tooling.tokens.rotate: "The given refresh token is invalid").
- An access token past its expiry answers `token_expired` (Slack's common error "Authentication token has expired");
  a token Slack never issued or has revoked answers `invalid_auth`. The access token a refresh replaced keeps working
  until its own expiry (the guide revokes the refresh token, not the access token).
"""

from __future__ import annotations

import random
import string
import time
from typing import Any


def _random(k: int) -> str:
    return "".join(random.choices(string.ascii_letters + string.digits, k=k))


class FakeRotation:
    tokens: dict[str, dict[str, Any]]

    def _rotation_init(self) -> None:
        self.rotation_seconds: float | None = None  # set to turn token rotation on for installs from now on
        self.token_expiry: dict[str, float] = {}  # access token -> epoch second it expires at
        self.refresh_tokens: dict[str, str] = {}  # live refresh token -> the access token it was issued with
        self.spent_refresh_tokens: set[str] = set()
        self.refreshes: list[str] = []  # the kind ("bot"/"user") of every refresh Slack granted, in order
        self.refuse_refresh: str | None = None  # an error code refreshes answer (the install must be redone)...
        self.refuse_kinds: set[str] = {"bot", "user"}  # ...for these kinds of token

    def rotating_token(self, token: str, body: dict[str, Any]) -> str:
        """An install's token, made expiring when rotation is on: renamed `xoxe.` + token, with its refresh token and
        `expires_in` added to `body` (the top level for the bot, `authed_user` for the user)."""
        if self.rotation_seconds is None:
            return token
        rotating = "xoxe." + token
        self.tokens[rotating] = self.tokens.pop(token)
        refresh = f"xoxe-1-{_random(40)}"
        self.refresh_tokens[refresh] = rotating
        self.token_expiry[rotating] = time.time() + self.rotation_seconds
        body.update(refresh_token=refresh, expires_in=int(self.rotation_seconds))
        return rotating

    def _refresh_grant(self, params: dict[str, Any]) -> dict[str, Any]:
        """oauth.v2.access with grant_type=refresh_token (client credentials already checked)."""
        refresh = params.get("refresh_token") or ""
        old = self.refresh_tokens.get(refresh)
        if old is None:
            return {"ok": False, "error": "invalid_refresh_token"}
        identity = self.tokens[old]
        kind = "bot" if identity["kind"] == "bot" else "user"
        if self.refuse_refresh and kind in self.refuse_kinds:
            return {"ok": False, "error": self.refuse_refresh}
        del self.refresh_tokens[refresh]
        self.spent_refresh_tokens.add(refresh)
        prefix = "xoxe.xoxb-" if kind == "bot" else "xoxe.xoxp-"
        token = f"{prefix}renewed-{_random(24)}"
        self.tokens[token] = dict(identity)
        new_refresh = f"xoxe-1-{_random(40)}"
        self.refresh_tokens[new_refresh] = token
        seconds = self.rotation_seconds or 43200
        self.token_expiry[token] = time.time() + seconds
        self.refreshes.append(kind)
        return {
            "ok": True,
            "access_token": token,
            "token_type": kind,
            "expires_in": int(seconds),
            "refresh_token": new_refresh,
            "scope": ",".join(sorted(identity.get("scopes") or ())),
        }

    def latest_token(self, kind: str) -> str:
        """The access token of that kind ("bot"/"user") issued last, at an install or a refresh."""
        issued = [t for t in self.token_expiry if (self.tokens[t]["kind"] == "bot") == (kind == "bot")]
        return issued[-1]

    def _expired(self, token: str | None) -> dict[str, Any] | None:
        """`token_expired` for an access token past its expiry."""
        expiry = self.token_expiry.get(token or "")
        if expiry is not None and time.time() >= expiry:
            return {"ok": False, "error": "token_expired"}
        return None
