"""Which stored installation carries an Org Admin's admin.conversations:write user token.

An org keeps a row per install. The admin install (an Org Admin or Owner, org-wide, /slack/install/admin) is the only
one with the admin scope; anyone may later reinstall through /slack/install (bot scopes only, no user token), and
slack_sdk's find_installation(user_id=None) returns just that latest row. So look for the newest org-wide row whose
user token carries the scope, whoever installed after it.
"""

from __future__ import annotations

from collections.abc import Sequence

from slack_sdk.oauth.installation_store import Installation
from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore

from services.slack.scopes import ADMIN_SCOPE
from services.storage.installations import installation_of_row, org_wide_rows_mentioning


def has_admin_scope(user_scopes: str | Sequence[str] | None) -> bool:
    """Whether a stored or returned user-scope list (Slack's comma-separated string, or a list) holds the admin scope."""
    if not user_scopes:
        return False
    scopes = user_scopes.split(",") if isinstance(user_scopes, str) else user_scopes
    return ADMIN_SCOPE in (s.strip() for s in scopes)


async def latest_admin_installation(store: AsyncInstallationStore, enterprise_id: str) -> Installation | None:
    """The newest org-wide installation of this org whose user token carries admin.conversations:write, or None."""
    rows = await org_wide_rows_mentioning(store, enterprise_id, ADMIN_SCOPE)
    if rows is None:
        # Not the SQLAlchemy store: only the latest org-wide installation can be asked for.
        latest = await store.async_find_installation(
            enterprise_id=enterprise_id, team_id=None, is_enterprise_install=True
        )
        return latest if latest and latest.user_token and has_admin_scope(latest.user_scopes) else None
    row = next((r for r in rows if has_admin_scope(r["user_scopes"])), None)
    if row is None:
        return None
    # The installer's latest installation, with the org's latest bot token merged in by slack_sdk...
    found = await store.async_find_installation(
        enterprise_id=enterprise_id, team_id=None, user_id=row["user_id"], is_enterprise_install=True
    )
    if found is not None and found.user_token == row["user_token"]:
        return found
    # ...unless that same admin reinstalled later without the scope: the row with the scope still holds the token.
    return installation_of_row(row)
