"""Authorising each request without a Web API call before its ack.

Bolt's own InstallationStoreAuthorize calls auth.test for every request (twice with a user token) before the
listener can ack; with a slow Web API that spends the 3 seconds. Everything auth.test would tell us was stored at
install time (slack_sdk's installation store keeps bot_user_id and bot_id), so these read it from there.

Bolt's own authorization is also where its token rotator runs; since this replaces it, the same is done here: a
rotating bot token that expires within the margin is renewed first (services.slack.tokens.TokenKeeper), and when
Slack refuses, the request is answered with a sentence naming the install to redo (TOKEN_PROBLEM, answered by the
middleware in server.app) instead of Bolt's generic "please reinstall".
"""

from __future__ import annotations

from slack_bolt.authorization import AuthorizeResult
from slack_bolt.authorization.async_authorize import AsyncAuthorize
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore

from services.error_texts import token_renewal_text
from services.slack.identity import BotIdentity
from services.slack.tokens import TOKEN_EXPIRES_AT, TokenKeeper, TokenRenewalFailed

# The context key under which a failed renewal's sentence waits for the middleware that answers it (server.app).
TOKEN_PROBLEM = "token_problem"


class StaticTokenAuthorize(AsyncAuthorize):
    """One workspace, one bot token, checked once with auth.test at start-up."""

    def __init__(self, bot_token: str, identity: BotIdentity) -> None:
        super().__init__()
        self._token = bot_token
        self._identity = identity

    async def __call__(
        self,
        *,
        context: AsyncBoltContext,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None,
        **_: object,
    ) -> AuthorizeResult:
        # The installation's org, not the payload's: admin power is bound to it (listeners.payload.installation_org).
        return AuthorizeResult(
            enterprise_id=self._identity.enterprise_id,
            team_id=self._identity.team_id,  # the installation's, never the payload's (listeners.payload)
            user_id=user_id,
            bot_user_id=self._identity.user_id,
            bot_id=self._identity.bot_id,
            bot_token=self._token,
        )


class StoredInstallationAuthorize(AsyncAuthorize):
    """The bot token of the workspace's (or, for an org-wide install, the org's) latest installation."""

    def __init__(self, installation_store: AsyncInstallationStore, keeper: TokenKeeper | None = None) -> None:
        super().__init__()
        self._store = installation_store
        self._keeper = keeper

    async def __call__(
        self,
        *,
        context: AsyncBoltContext,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None,
        **_: object,
    ) -> AuthorizeResult | None:
        is_org_wide = context.is_enterprise_install
        try:
            if self._keeper is not None:
                bot = await self._keeper.bot(enterprise_id, team_id, is_org_wide)
            else:
                bot = await self._store.async_find_bot(
                    enterprise_id=enterprise_id, team_id=team_id, is_enterprise_install=is_org_wide
                )
        except TokenRenewalFailed as e:
            context[TOKEN_PROBLEM] = token_renewal_text(e.code, enterprise_id if is_org_wide else None, team_id)
            return AuthorizeResult(enterprise_id=enterprise_id, team_id=team_id, user_id=user_id)
        if bot is None or not bot.bot_token:
            return None  # Bolt answers "please install the app"
        # The installation's org, not the payload's: admin power is bound to it (listeners.payload.installation_org).
        result = AuthorizeResult(
            enterprise_id=bot.enterprise_id,
            team_id=bot.team_id,  # the installation's (None when org-wide), never the payload's
            user_id=user_id,
            bot_user_id=bot.bot_user_id,
            bot_id=bot.bot_id,
            bot_token=bot.bot_token,
            bot_scopes=bot.bot_scopes,
        )
        # A rotating token's expiry: work done after the ack renews it when due (services.leaving.one_channel).
        result[TOKEN_EXPIRES_AT] = bot.bot_token_expires_at
        return result
