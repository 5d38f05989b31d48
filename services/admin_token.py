"""Where the Org Admin's user token for admin.conversations.disconnectShared comes from."""

from __future__ import annotations

from dataclasses import dataclass

from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore

from services.error_texts import ADMIN_TOKEN_MISSING, NOT_ON_GRID, ORG_INSTALL_MISSING, ORG_INSTALL_WITHOUT_ADMIN_SCOPE
from services.scopes import ADMIN_SCOPE


@dataclass(frozen=True)
class AdminToken:
    token: str | None  # an xoxp- user token; never a bot token
    problem: str | None = None  # for the audit log when there is no usable token
    text: str | None = None  # for the admin: who must (re)install, and with what


class AdminTokenSource:
    """SLACK_ADMIN_TOKEN when set; otherwise the org-wide installation of an Org Admin, checked for the scope."""

    def __init__(self, override: str | None, installation_store: AsyncInstallationStore | None) -> None:
        self._override = override
        self._store = installation_store

    async def lookup(self, enterprise_id: str | None) -> AdminToken:
        if self._override is not None:
            return AdminToken(self._override)
        if self._store is None:
            return AdminToken(None, "admin_token_missing", ADMIN_TOKEN_MISSING)
        if not enterprise_id:
            return AdminToken(None, "not_an_enterprise", NOT_ON_GRID)
        installation = await self._store.async_find_installation(
            enterprise_id=enterprise_id, team_id=None, is_enterprise_install=True
        )
        if installation is None:
            return AdminToken(None, "org_install_missing", ORG_INSTALL_MISSING)
        scopes = installation.user_scopes or []
        if isinstance(scopes, str):
            scopes = scopes.split(",")
        if not installation.user_token or ADMIN_SCOPE not in scopes:
            installer = installation.user_id or "unknown"
            return AdminToken(None, "admin_scope_missing", ORG_INSTALL_WITHOUT_ADMIN_SCOPE.format(installer=installer))
        return AdminToken(installation.user_token)
