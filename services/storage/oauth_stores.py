"""slack_sdk's SQLAlchemy stores for OAuth installs: the installations and the OAuth state, in the app's database.

Importing this loads SQLAlchemy: only the OAuth set-up does (server.oauth). The installation table's queries that
slack_sdk's store can't be asked are in services.storage.installations, which loads SQLAlchemy only when called.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from slack_sdk.oauth.installation_store.sqlalchemy import AsyncSQLAlchemyInstallationStore
from slack_sdk.oauth.sqlalchemy_utils import normalize_datetime_for_db
from slack_sdk.oauth.state_store.sqlalchemy import AsyncSQLAlchemyOAuthStateStore

from services.storage.database import Database


class PurgingOAuthStateStore(AsyncSQLAlchemyOAuthStateStore):
    """slack_sdk's state store, deleting expired states as it issues new ones (at most once a minute).

    Every view of an install page stores a state; slack_sdk deletes a state only when it is used, so page views that
    never come back (anyone on the internet can make them) would otherwise pile up for ever.
    """

    PURGE_INTERVAL_SECONDS = 60.0

    _last_purge = float("-inf")

    async def async_issue(self, *args: Any, **kwargs: Any) -> str:
        if time.monotonic() - self._last_purge >= self.PURGE_INTERVAL_SECONDS:
            self._last_purge = time.monotonic()
            now = normalize_datetime_for_db(datetime.now(tz=UTC))
            async with self.engine.begin() as conn:
                await conn.execute(self.oauth_states.delete().where(self.oauth_states.c.expire_at < now))
        return await super().async_issue(*args, **kwargs)


def oauth_stores(
    database: Database, client_id: str, state_expiration_seconds: int
) -> tuple[AsyncSQLAlchemyInstallationStore, PurgingOAuthStateStore]:
    """The installation store and the state store, on the database's engine as it is (not migrated yet: the OAuth
    set-up builds them before start-up brings the schema up to date)."""
    engine = database.raw_engine()
    return (
        AsyncSQLAlchemyInstallationStore(client_id=client_id, engine=engine),
        PurgingOAuthStateStore(expiration_seconds=state_expiration_seconds, engine=engine),
    )
