"""slack_sdk's SQLAlchemy stores for OAuth installs: the installations and the OAuth state, in the app's database.

Importing this loads SQLAlchemy: only the OAuth set-up does (server.oauth). The installation table's queries that
slack_sdk's store can't be asked are in services.storage.installations, which loads SQLAlchemy only when called.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, NamedTuple

import sqlalchemy
from slack_sdk.oauth.installation_store import Bot, Installation
from slack_sdk.oauth.installation_store.sqlalchemy import (
    AsyncSQLAlchemyInstallationStore,
    SQLAlchemyInstallationStore,
)
from slack_sdk.oauth.sqlalchemy_utils import normalize_datetime_for_db
from slack_sdk.oauth.state_store.sqlalchemy import AsyncSQLAlchemyOAuthStateStore
from sqlalchemy import and_, desc

from services.storage.database import Database
from services.storage.secrets import BOT_SECRETS, INSTALLATION_SECRETS, SecretBox, SecretsError, is_encrypted


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


class EncryptedText(sqlalchemy.types.TypeDecorator[str]):
    """A token column: encrypted on the way in with the box's newest key, decrypted on the way out; without a box,
    written as it is (a plaintext row is read as it is either way; an encrypted one without a box is SecretsError)."""

    impl = sqlalchemy.Text
    cache_ok = False  # the box is part of what the type does, and isn't a cache key

    def __init__(self, box: SecretBox | None) -> None:
        super().__init__()
        self.box = box

    def process_bind_param(self, value: str | None, dialect: Any) -> str | None:
        if value is None or self.box is None or is_encrypted(value):
            return value
        return self.box.encrypt(value)

    def process_result_value(self, value: str | None, dialect: Any) -> str | None:
        if value is None or not is_encrypted(value):
            return value
        if self.box is None:
            from services.storage.secrets import NO_KEY

            raise SecretsError(NO_KEY)
        return self.box.decrypt(value)


class Renewed(NamedTuple):
    """What oauth.v2.access answered to a refresh: the new access token, the new refresh token, when it expires."""

    token: str
    refresh_token: str | None
    expires_at: int


# Given the stored refresh token, ask Slack for a new pair (services.slack.tokens); raises when Slack refuses.
Renew = Callable[[str], Awaitable[Renewed]]
# Whether a token expiring at this epoch second (None: it never expires) must be renewed now.
Due = Callable[[int | None], bool]


class EncryptedInstallationStore(AsyncSQLAlchemyInstallationStore):
    """slack_sdk's SQLAlchemy installation store, with every token and refresh token encrypted at rest (SECRETS_KEY),
    an installation and its bot saved in one transaction, and rotating tokens renewed under a row lock.

    Every query slack_sdk (or services.storage.installations) makes through these tables decrypts on the way out:
    the columns' type does it.
    """

    def __init__(self, client_id: str, engine: Any, box: SecretBox | None = None) -> None:
        super().__init__(client_id=client_id, engine=engine)
        self.box = box
        for table, columns in ((self.installations, INSTALLATION_SECRETS), (self.bots, BOT_SECRETS)):
            for name in columns:
                table.c[name].type = EncryptedText(box)

    async def async_save(self, installation: Installation) -> None:
        """slack_sdk's save (the installation row, then its bot row), both in one transaction: a refreshed pair is
        never half written."""
        async with self.engine.begin() as conn:
            i = installation.to_dict()
            i["client_id"] = self.client_id
            for key in ("installed_at", "bot_token_expires_at", "user_token_expires_at"):
                i[key] = normalize_datetime_for_db(i.get(key))
            await self._upsert(conn, self.installations, i, installation.enterprise_id, installation.team_id)
            await self._save_bot(conn, installation.to_bot())

    async def async_save_bot(self, bot: Bot) -> None:
        async with self.engine.begin() as conn:
            await self._save_bot(conn, bot)

    async def _save_bot(self, conn: Any, bot: Bot) -> None:
        b = bot.to_dict()
        b["client_id"] = self.client_id
        b["installed_at"] = normalize_datetime_for_db(b.get("installed_at"))
        b["bot_token_expires_at"] = normalize_datetime_for_db(b.get("bot_token_expires_at"))
        await self._upsert(conn, self.bots, b, bot.enterprise_id, bot.team_id)

    async def _upsert(
        self, conn: Any, table: sqlalchemy.Table, row: dict[str, Any], enterprise_id: str | None, team_id: str | None
    ) -> None:
        """Update `table`'s row for this client, install and `installed_at` in place, or insert it if there is none."""
        c = table.c
        found = await conn.execute(
            sqlalchemy.select(c.id)
            .where(
                and_(
                    c.client_id == self.client_id,
                    c.enterprise_id == enterprise_id,
                    c.team_id == team_id,
                    c.installed_at == row["installed_at"],
                )
            )
            .limit(1)
        )
        row_id = found.scalar()
        if row_id is None:
            await conn.execute(table.insert(), row)
        else:
            await conn.execute(table.update().where(c.id == row_id).values(**row))

    async def renew_bot(
        self, *, enterprise_id: str | None, team_id: str | None, is_enterprise_install: bool | None, due: Due,
        renew: Renew,
    ) -> Bot | None:  # fmt: skip
        """The workspace's (or org's) latest bot, its token renewed first if `due` says so.

        One transaction: a no-op UPDATE of the bot rows first (a row lock on PostgreSQL, the file's write lock on
        SQLite, before anything is read), so two instances never spend the same single-use refresh token: the second
        waits, then reads the pair the first stored and finds nothing due. The new pair is written to the bot row and
        to the installation rows that carried the old one, in the same transaction.
        """
        if is_enterprise_install or team_id is None:
            team_id = None
        b = self.bots.c
        mine = and_(b.client_id == self.client_id, b.enterprise_id == enterprise_id, b.team_id == team_id)
        async with self.engine.begin() as conn:
            await conn.execute(self.bots.update().where(mine).values(bot_token_expires_at=b.bot_token_expires_at))
            query = self.bots.select().where(and_(mine, b.bot_token.is_not(None))).order_by(desc(b.installed_at))
            row = (await conn.execute(query.limit(1))).mappings().first()
            if row is None:
                return None
            bot = SQLAlchemyInstallationStore.build_bot_entity(row)
            if not bot.bot_refresh_token or not due(bot.bot_token_expires_at):
                return bot
            old_refresh = bot.bot_refresh_token
            # Everything that could fail (reading, decrypting) before Slack is asked: once it answers, the old refresh
            # token is revoked, and nothing but writing the new pair may stand between its answer and the commit.
            i = self.installations.c
            carriers = await conn.execute(
                sqlalchemy.select(i.id, i.bot_refresh_token).where(
                    and_(i.client_id == self.client_id, i.enterprise_id == enterprise_id, i.team_id == team_id)
                )
            )
            ids = [r.id for r in carriers if r.bot_refresh_token == old_refresh]
            fresh = await renew(old_refresh)
            bot.bot_token, bot.bot_refresh_token, bot.bot_token_expires_at = fresh
            values = {
                "bot_token": fresh.token,
                "bot_refresh_token": fresh.refresh_token,
                "bot_token_expires_at": _db_time(fresh.expires_at),
            }
            await conn.execute(self.bots.update().where(b.id == row["id"]).values(**values))
            if ids:
                await conn.execute(self.installations.update().where(i.id.in_(ids)).values(**values))
            return bot

    async def renew_user(self, installation: Installation, *, due: Due, renew: Renew) -> Installation:
        """The installation with its user token renewed first if `due` says so (its row locked, as renew_bot)."""
        if not installation.user_refresh_token or not due(installation.user_token_expires_at):
            return installation
        i = self.installations.c
        installed_at = normalize_datetime_for_db(installation.to_dict().get("installed_at"))
        this = and_(
            i.client_id == self.client_id,
            i.enterprise_id == installation.enterprise_id,
            i.team_id == installation.team_id,
            i.user_id == installation.user_id,
            i.installed_at == installed_at,
        )
        async with self.engine.begin() as conn:
            await conn.execute(
                self.installations.update().where(this).values(user_token_expires_at=i.user_token_expires_at)
            )
            row = (await conn.execute(self.installations.select().where(this).limit(1))).mappings().first()
            if row is None:
                return installation  # deleted meanwhile (uninstalled): its token is what the caller will learn of
            stored = SQLAlchemyInstallationStore.build_installation_entity(row)
            renewed = Installation(**installation.to_dict_for_copying())
            renewed.user_token = stored.user_token
            renewed.user_refresh_token = stored.user_refresh_token
            renewed.user_token_expires_at = stored.user_token_expires_at
            if not stored.user_refresh_token or not due(stored.user_token_expires_at):
                return renewed  # another instance renewed it meanwhile
            fresh = await renew(stored.user_refresh_token)
            renewed.user_token, renewed.user_refresh_token, renewed.user_token_expires_at = fresh
            await conn.execute(
                self.installations.update()
                .where(i.id == row["id"])
                .values(
                    user_token=fresh.token,
                    user_refresh_token=fresh.refresh_token,
                    user_token_expires_at=_db_time(fresh.expires_at),
                )
            )
            return renewed


def _db_time(epoch: int) -> datetime | None:
    return normalize_datetime_for_db(datetime.fromtimestamp(epoch, tz=UTC))


def oauth_stores(
    database: Database, client_id: str, state_expiration_seconds: int, box: SecretBox | None = None
) -> tuple[EncryptedInstallationStore, PurgingOAuthStateStore]:
    """The installation store (tokens encrypted with `box`) and the state store, on the database's engine as it is
    (not migrated yet: the OAuth set-up builds them before start-up brings the schema up to date)."""
    engine = database.raw_engine()
    return (
        EncryptedInstallationStore(client_id=client_id, engine=engine, box=box),
        PurgingOAuthStateStore(expiration_seconds=state_expiration_seconds, engine=engine),
    )
