"""Where the Org Admin's user token for admin.conversations.disconnectShared comes from, for which org."""

from __future__ import annotations

from dataclasses import dataclass

from slack_sdk.oauth.installation_store import Installation
from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore
from slack_sdk.web.async_client import AsyncWebClient

from services.error_texts import (
    ADMIN_TOKEN_MISSING,
    ADMIN_TOKEN_OTHER_ORG,
    NOT_ON_GRID,
    ORG_INSTALL_MISSING,
    ORG_INSTALL_WITHOUT_ADMIN_SCOPE,
    TokenSource,
    admin_token_renewal_text,
)
from services.slack.client import client_like
from services.slack.tokens import TokenKeeper, TokenRenewalFailed, user_client


@dataclass(frozen=True)
class AdminToken:
    token: str | None  # an xoxp- user token; never a bot token
    problem: str | None = None  # for the audit log when there is no usable token
    text: str | None = None  # for the admin: who must (re)install, and with what
    source: TokenSource | None = None  # where it came from, for every sentence about it
    # An OAuth install's (possibly rotating) token: client() renews it when due, for a job that runs for hours.
    installation: Installation | None = None
    keeper: TokenKeeper | None = None

    def client(self, base: AsyncWebClient, *, retry_server_errors: bool = True) -> AsyncWebClient:
        """A client for this token on `base`'s session and pacing (client_like); an install's rotating token is
        renewed before it expires, on every call (services.slack.tokens.user_client)."""
        if self.keeper is not None and self.installation is not None and self.installation.user_token_expires_at:
            return user_client(self.keeper, base, self.installation, retry_server_errors=retry_server_errors)
        return client_like(base, token=self.token, retry_server_errors=retry_server_errors)


class AdminTokenSource:
    """SLACK_ADMIN_TOKEN for its own org (learned with auth.test at start-up); otherwise that org's admin install.

    A token is never used for another org than its own: an admin of one installed org can't reach another's
    channels through it.
    """

    def __init__(
        self,
        override: str | None,
        installation_store: AsyncInstallationStore | None,
        override_org: str | None = None,
        keeper: TokenKeeper | None = None,
    ) -> None:
        self._override = override
        self._override_org = override_org
        self._store = installation_store
        self._keeper = keeper

    async def lookup(self, org_id: str | None) -> AdminToken:
        if not org_id:
            return AdminToken(None, "not_an_enterprise", NOT_ON_GRID)
        if self._override is not None and self._override_org == org_id:
            return AdminToken(self._override, source=TokenSource.setting())
        if self._store is None:
            if self._override is not None:
                return AdminToken(None, "admin_token_other_org", ADMIN_TOKEN_OTHER_ORG)
            return AdminToken(None, "admin_token_missing", ADMIN_TOKEN_MISSING)
        from services.disconnecting.admin_installs import latest_admin_installation

        installation = await latest_admin_installation(self._store, org_id)
        if installation is not None and installation.user_token:
            source = TokenSource.install(installation.user_id)
            if self._keeper is not None:
                try:
                    installation = await self._keeper.user(installation)  # a rotating token renewed when due
                except TokenRenewalFailed as e:
                    # The admin must install again; the sentence for token_expired names this install and the fix.
                    return AdminToken(None, "admin_token_expired", admin_token_renewal_text(source, e.code), source)
            return AdminToken(installation.user_token, source=source, installation=installation, keeper=self._keeper)
        latest = await self._store.async_find_installation(
            enterprise_id=org_id, team_id=None, is_enterprise_install=True
        )
        if latest is None:
            return AdminToken(None, "org_install_missing", ORG_INSTALL_MISSING)
        installer = latest.user_id or "unknown"
        return AdminToken(None, "admin_scope_missing", ORG_INSTALL_WITHOUT_ADMIN_SCOPE.format(installer=installer))
