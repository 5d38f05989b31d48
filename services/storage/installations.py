"""What slack_sdk's installation store can't be asked: an org's org-wide installation rows that carry a user scope.

slack_sdk's SQLAlchemy store (and so SQLAlchemy) is imported on the first call, never at start-up.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from slack_sdk.oauth.installation_store import Installation
from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore


async def org_wide_rows_mentioning(
    store: AsyncInstallationStore, enterprise_id: str, user_scope: str
) -> list[Mapping[str, Any]] | None:
    """Newest first, this org's org-wide installation rows with a user token whose scopes mention `user_scope`.

    The match is a `LIKE`, which only narrows the rows: the caller decides. None when `store` is not slack_sdk's
    SQLAlchemy store, whose table this reads.
    """
    from slack_sdk.oauth.installation_store.sqlalchemy import AsyncSQLAlchemyInstallationStore
    from sqlalchemy import and_, desc, select

    if not isinstance(store, AsyncSQLAlchemyInstallationStore):
        return None
    table = store.installations
    c = table.c
    query = (
        select(table)
        .where(
            and_(
                c.client_id == store.client_id,
                c.enterprise_id == enterprise_id,
                c.is_enterprise_install.is_(True),
                c.user_token.is_not(None),
                c.user_scopes.like(f"%{user_scope}%"),
            )
        )
        .order_by(desc(c.installed_at), desc(c.id))
    )
    async with store.engine.connect() as conn:
        return [dict(row) for row in (await conn.execute(query)).mappings()]


def installation_of_row(row: Mapping[str, Any]) -> Installation:
    """The Installation a row of slack_sdk's installation table stands for, as its store would build it."""
    from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore

    return SQLAlchemyInstallationStore.build_installation_entity(row)
