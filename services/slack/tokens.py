"""Rotating tokens (https://docs.slack.dev/authentication/using-token-rotation): renewed before they expire, on every path.

With token rotation on, an OAuth install's bot and user tokens expire (12 hours) and come with a refresh token; Slack
revokes a refresh token once it is exchanged (oauth.v2.access with `grant_type=refresh_token`,
https://docs.slack.dev/reference/methods/oauth.v2.access), so a new pair must be stored before anything else can
use it. This does what slack_sdk's AsyncTokenRotator does (slack_sdk/oauth/token_rotation/async_rotator.py: renew when
the token expires within a margin, Bolt's default being 120 minutes), under a row lock in the database
(EncryptedInstallationStore.renew_bot / renew_user) so two instances never spend the same refresh token.

Every client that acts for an install goes through here: the request's authorization (server.authorization), a job's
bot client (services.leaving.workflow.installation_clients) and the Org Admin's user token (AdminTokenSource). A job's
client is a RotatingWebClient: before each call it checks the token's expiry (in memory) and, when due, takes the
install's current pair from the database, renewing it if no other instance has; a job running for hours, or resumed
after a restart, keeps working. A token pasted in SLACK_BOT_TOKEN / SLACK_ADMIN_TOKEN never expires and is used as is.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

from slack_sdk.errors import SlackApiError
from slack_sdk.oauth.installation_store import Bot, Installation
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from services.slack.client import retry_handlers_like
from services.slack.outcomes import error_of

if TYPE_CHECKING:
    from services.storage.oauth_stores import Renewed

logger = logging.getLogger(__name__)
T = TypeVar("T")

# Bolt's default (slack_bolt AsyncInstallationStoreAuthorize, token_rotation_expiration_minutes=120).
DEFAULT_MARGIN_SECONDS = 7200.0
# Slack couldn't be asked (not refused): while the token still works, it is used and renewal tried again later.
_TRANSIENT = {"slack_unreachable", "slack_timeout", "slack_server_error", "unexpected_response", "ratelimited"}
# What Slack answers for a token it no longer takes: an expired one, or one revoked (e.g. by a renewal elsewhere).
_STALE = {"token_expired", "invalid_auth"}
# A call refused for a stale token is sent again with the current one, at most this many times in all.
_ATTEMPTS = 3
# The key, in a request's AuthorizeResult, of its bot token's expiry (epoch seconds; absent or None: never expires),
# set by server.authorization.StoredInstallationAuthorize and read by listeners.payload.installation_token_expiry.
TOKEN_EXPIRES_AT = "bot_token_expires_at"


class TokenRenewalFailed(SlackApiError):
    """Slack refused to renew a rotating token (or couldn't be asked, and the token has expired).

    A SlackApiError whose `error` is `token_expired`, so every table of error texts already has a sentence for it;
    `renewal_error` keeps what oauth.v2.access answered. Which install must be redone is said by the caller, who knows.
    """

    def __init__(self, kind: str, code: str) -> None:
        self.kind = kind
        self.code = code
        self.transient = code in _TRANSIENT
        data = {"ok": False, "error": "token_expired", "renewal_error": code}
        answer = AsyncSlackResponse(
            client=None,
            http_verb="POST",
            api_url="oauth.v2.access",
            req_args={},
            data=data,
            headers={},
            status_code=200,
        )
        super().__init__(f"Slack did not renew the {kind} token ({code})", answer)  # type: ignore[no-untyped-call, unused-ignore]


class TokenKeeper:
    """Renews an install's rotating tokens through its installation store (EncryptedInstallationStore)."""

    def __init__(
        self,
        store: Any,
        client: AsyncWebClient,
        client_id: str,
        client_secret: str,
        margin_seconds: float = DEFAULT_MARGIN_SECONDS,
    ) -> None:
        self.store = store
        self.client = client
        self.client_id = client_id
        self.client_secret = client_secret
        self.margin = margin_seconds
        self._renewals: set[asyncio.Future[Any]] = set()  # renewals in flight (_uncancellable)

    def due(self, expires_at: int | None) -> bool:
        """Whether a token expiring at `expires_at` (epoch seconds; None: never) must be renewed now."""
        return expires_at is not None and expires_at - time.time() <= self.margin

    async def bot(
        self, enterprise_id: str | None, team_id: str | None, is_enterprise_install: bool | None
    ) -> Bot | None:
        """The install's latest bot (as the store's async_find_bot), its token renewed first when due."""
        bot: Bot | None = await self.store.async_find_bot(
            enterprise_id=enterprise_id, team_id=team_id, is_enterprise_install=is_enterprise_install
        )
        if bot is None or not self.due(bot.bot_token_expires_at):
            return bot
        try:
            renewed: Bot | None = await self._uncancellable(
                self.store.renew_bot(
                    enterprise_id=enterprise_id,
                    team_id=team_id,
                    is_enterprise_install=is_enterprise_install,
                    due=self.due,
                    renew=lambda refresh: self._renew(refresh, "bot"),
                )
            )
        except TokenRenewalFailed as e:
            if e.transient and _still_valid(bot.bot_token_expires_at):
                return bot
            raise
        return renewed

    async def user(self, installation: Installation) -> Installation:
        """The installation with its user token renewed first when due."""
        if not self.due(installation.user_token_expires_at) or not hasattr(self.store, "renew_user"):
            return installation
        try:
            renewed: Installation = await self._uncancellable(
                self.store.renew_user(installation, due=self.due, renew=lambda refresh: self._renew(refresh, "user"))
            )
        except TokenRenewalFailed as e:
            if e.transient and _still_valid(installation.user_token_expires_at):
                return installation
            raise
        return renewed

    async def _uncancellable(self, renewal: Awaitable[T]) -> T:
        """A renewal runs to its commit even if the task that asked is cancelled meanwhile (a job cancelled at the end
        of the shutdown grace, a search under a deadline): once Slack has answered, the refresh token it was given is
        revoked, and a transaction rolled back would lose the new pair with it (the install to be done again)."""
        task = asyncio.ensure_future(renewal)
        self._renewals.add(task)  # a reference, so the task outlives a cancelled caller
        task.add_done_callback(self._renewals.discard)
        return await asyncio.shield(task)

    async def _renew(self, refresh_token: str, kind: str) -> Renewed:
        """oauth.v2.access with grant_type=refresh_token; https://docs.slack.dev/reference/methods/oauth.v2.access"""
        from services.storage.oauth_stores import Renewed

        try:
            answer = await self.client.oauth_v2_access(
                client_id=self.client_id,
                client_secret=self.client_secret,
                grant_type="refresh_token",
                refresh_token=refresh_token,
            )
        except SlackApiError as e:
            _, code = error_of(e)
            logger.warning("Slack refused to renew a %s token (%s)", kind, code)
            raise TokenRenewalFailed(kind, code) from None
        except (OSError, TimeoutError) as e:  # aiohttp's connection errors are OSErrors
            logger.warning("Could not reach Slack to renew a %s token (%s)", kind, type(e).__name__)
            raise TokenRenewalFailed(kind, "slack_unreachable") from None
        token, expires_in = answer.get("access_token"), answer.get("expires_in")
        if answer.get("token_type") != kind or not isinstance(token, str) or not isinstance(expires_in, int):
            raise TokenRenewalFailed(kind, "unexpected_response")
        logger.info("Renewed a %s token; the new one expires in %s s", kind, expires_in)
        return Renewed(token, answer.get("refresh_token"), int(time.time()) + expires_in)


def _still_valid(expires_at: int | None) -> bool:
    return expires_at is None or expires_at > time.time()


# Given whether the current token was refused by Slack, the install's current token and its expiry.
Fetch = Callable[[], Awaitable[tuple[str | None, int | None]]]


class RotatingWebClient(AsyncWebClient):
    """A Web API client whose token is the install's current one: renewed (through `fetch`) before it expires, and
    fetched again once when Slack answers `token_expired` / `invalid_auth` (another instance may have renewed it)."""

    def __init__(self, *, fetch: Fetch, expires_at: int | None, margin: float, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._fetch = fetch
        self.expires_at = expires_at
        self._margin = margin
        self._lock = asyncio.Lock()

    def _due(self) -> bool:
        return self.expires_at is not None and self.expires_at - time.time() <= self._margin

    async def _refresh(self) -> None:
        token, expires_at = await self._fetch()
        if token:
            self.token, self.expires_at = token, expires_at

    async def api_call(self, api_method: str, **kwargs: Any) -> Any:
        for attempt in range(1, _ATTEMPTS + 1):
            if self._due():
                async with self._lock:
                    if self._due():
                        await self._refresh()
            used = self.token
            try:
                return await super().api_call(api_method, **kwargs)
            except TokenRenewalFailed:
                raise
            except SlackApiError as e:
                # Refused with a token that was current when sent: a rate-limit retry may have resent it after it
                # expired, or another instance renewed it. Take the stored one (renewed if due) and send again.
                if attempt == _ATTEMPTS or self.expires_at is None or error_of(e)[1] not in _STALE:
                    raise
                async with self._lock:
                    if self.token == used:
                        await self._refresh()
                if self.token == used:
                    raise
        raise AssertionError("unreachable")  # the last attempt returns or raises


def rotating_client(
    base: AsyncWebClient,
    *,
    token: str,
    expires_at: int | None,
    fetch: Fetch,
    margin: float,
    team_id: str | None = None,
    retry_server_errors: bool = True,
) -> AsyncWebClient:
    """As services.slack.client.client_like (the same session, pacing and retries), for an install's rotating token."""
    return RotatingWebClient(
        fetch=fetch,
        expires_at=expires_at,
        margin=margin,
        token=token,
        base_url=base.base_url,
        timeout=base.timeout,
        session=base.session,
        team_id=team_id,
        logger=base.logger,
        retry_handlers=retry_handlers_like(base, retry_server_errors=retry_server_errors),
    )


def bot_client(
    keeper: TokenKeeper,
    base: AsyncWebClient,
    bot: Bot,
    *,
    enterprise_id: str | None,
    team_id: str | None,
    is_enterprise_install: bool | None,
    acting_team_id: str | None = None,
) -> AsyncWebClient:
    """A client for an install's bot that renews its token when due (a long job's, a resumed job's)."""
    assert bot.bot_token is not None
    return bot_token_client(
        keeper,
        base,
        token=bot.bot_token,
        expires_at=bot.bot_token_expires_at,
        enterprise_id=enterprise_id,
        team_id=team_id,
        is_enterprise_install=is_enterprise_install,
        acting_team_id=acting_team_id,
    )


def bot_token_client(
    keeper: TokenKeeper,
    base: AsyncWebClient,
    *,
    token: str,
    expires_at: int | None,
    enterprise_id: str | None,
    team_id: str | None,
    is_enterprise_install: bool | None,
    acting_team_id: str | None = None,
) -> AsyncWebClient:
    """bot_client from the install's token and its expiry as a request had them (a command waiting its turn)."""

    async def fetch() -> tuple[str | None, int | None]:
        current = await keeper.bot(enterprise_id, team_id, is_enterprise_install)
        return (current.bot_token, current.bot_token_expires_at) if current else (None, None)

    return rotating_client(
        base, token=token, expires_at=expires_at, fetch=fetch, margin=keeper.margin, team_id=acting_team_id
    )


def user_client(
    keeper: TokenKeeper, base: AsyncWebClient, installation: Installation, *, retry_server_errors: bool = True
) -> AsyncWebClient:
    """A client for an installation's user token (the Org Admin's) that renews it when due."""
    state = {"installation": installation}

    async def fetch() -> tuple[str | None, int | None]:
        state["installation"] = await keeper.user(state["installation"])
        return state["installation"].user_token, state["installation"].user_token_expires_at

    assert installation.user_token is not None
    return rotating_client(
        base,
        token=installation.user_token,
        expires_at=installation.user_token_expires_at,
        fetch=fetch,
        margin=keeper.margin,
        retry_server_errors=retry_server_errors,
    )
