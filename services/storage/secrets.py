"""Tokens encrypted at rest: every bot, user and refresh token the app stores is a Fernet token under SECRETS_KEY.

SECRETS_KEY holds one or more Fernet keys (`Fernet.generate_key()`: 32 random bytes, URL-safe base64), comma-separated,
the newest first. `cryptography`'s MultiFernet writes with the first and reads with any of them
(https://cryptography.io/en/latest/fernet/#cryptography.fernet.MultiFernet), so a key is rotated by putting the new one
first: old rows stay readable, and start-up re-encrypts them under the new key (`secure_stored_tokens`), after which the
old key can be dropped. Fernet is AES-128-CBC with an HMAC-SHA256 over the whole token: a changed or truncated value is
refused, never decrypted into garbage.

A stored value is `fernet:` followed by the Fernet token, so a plaintext row (written before encryption, or without a
key) and an encrypted one are told apart without trying a key. `cryptography` is imported on first use: a pasted-token
start never loads it.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

PREFIX = "fernet:"
# The columns of slack_sdk's installation tables that hold a secret (slack_installations, slack_bots).
INSTALLATION_SECRETS = ("bot_token", "bot_refresh_token", "user_token", "user_refresh_token")
BOT_SECRETS = ("bot_token", "bot_refresh_token")
SECRET_COLUMNS: dict[str, tuple[str, ...]] = {"slack_installations": INSTALLATION_SECRETS, "slack_bots": BOT_SECRETS}

NO_KEY = (
    "The database holds encrypted tokens and SECRETS_KEY is not set: set SECRETS_KEY to the key(s) they were written "
    "with (comma-separated, the newest first), then start again."
)
WRONG_KEY = (
    "SECRETS_KEY can't decrypt the tokens stored in the database: put the key they were written with back in "
    "SECRETS_KEY (after the new one, comma-separated), then start again."
)


class SecretsError(Exception):
    """A stored secret can't be read: no key, or none of the keys wrote it. The message is one line for the operator."""


def is_fernet_key(key: str) -> bool:
    """Whether `key` has the shape of a Fernet key (URL-safe base64 of 32 bytes), checked without `cryptography`."""
    try:
        return len(base64.urlsafe_b64decode(key.encode("ascii"))) == 32
    except (ValueError, binascii.Error, UnicodeEncodeError):
        return False


class SecretBox:
    """Encrypts with the first key, decrypts with any (cryptography's MultiFernet)."""

    def __init__(self, keys: Sequence[str]) -> None:
        from cryptography.fernet import Fernet, MultiFernet

        if not keys:
            raise ValueError("at least one key is needed")
        self._fernets = [Fernet(k.encode("ascii")) for k in keys]
        self._multi = MultiFernet(self._fernets)

    def encrypt(self, value: str) -> str:
        return PREFIX + self._multi.encrypt(value.encode("utf-8")).decode("ascii")

    def decrypt(self, stored: str) -> str:
        """The clear value of a stored one; a plaintext value (no prefix) comes back as it is."""
        if not is_encrypted(stored):
            return stored
        from cryptography.fernet import InvalidToken

        try:
            return self._multi.decrypt(stored[len(PREFIX) :].encode("ascii")).decode("utf-8")
        except (InvalidToken, UnicodeError) as e:
            raise SecretsError(WRONG_KEY) from e

    def current(self, stored: str) -> bool:
        """Whether a stored value is encrypted under the newest key (nothing to re-encrypt)."""
        from cryptography.fernet import InvalidToken

        if not is_encrypted(stored):
            return False
        try:
            self._fernets[0].decrypt(stored[len(PREFIX) :].encode("ascii"))
        except (InvalidToken, UnicodeError):  # a mangled value: decrypt() says it is unreadable, in one line
            return False
        return True

    def reseal(self, stored: str) -> str:
        """A stored value encrypted under the newest key (a plaintext one encrypted, an old key's re-encrypted)."""
        return self.encrypt(self.decrypt(stored))


def is_encrypted(stored: str | None) -> bool:
    return bool(stored) and stored.startswith(PREFIX)  # type: ignore[union-attr]


def box_of(keys: Sequence[str]) -> SecretBox | None:
    return SecretBox(keys) if keys else None


async def secure_stored_tokens(engine: AsyncEngine, box: SecretBox | None) -> int:
    """At start-up (and in the migration that introduced encryption): every stored token under the newest key.

    With a key: plaintext values are encrypted and values under an older key re-encrypted, each row in a short
    transaction of its own; returns how many values changed. Without a key: nothing changes; SecretsError (one line
    naming SECRETS_KEY) if any stored value is encrypted, since the app could not read it. A value none of the keys can
    read is SecretsError too.

    PostgreSQL: a row at a time, not all in one transaction: another instance may be renewing a token meanwhile (its
    bot rows locked, then its installation rows written: EncryptedInstallationStore.renew_bot), and one transaction
    holding installation rows while it waits for a bot row deadlocks with it; PostgreSQL then aborts one of the two,
    and an aborted renewal loses the pair Slack has just issued. A one-row transaction holds nothing while it waits.
    SQLite has one writer at a time (no such deadlock), and a commit per row would cost an fsync each (13 s instead of
    0.6 s for 1,000 installs): one transaction there.
    """
    from sqlalchemy import inspect

    async with engine.connect() as conn:
        present = await conn.run_sync(lambda c: [t for t in SECRET_COLUMNS if inspect(c).has_table(t)])
        await conn.commit()
        row_by_row = conn.dialect.name != "sqlite"
        changed = 0
        for table in present:
            changed += await conn.run_sync(secure_table, table, SECRET_COLUMNS[table], box, row_by_row)
        await conn.commit()
    return changed


def secure_table(
    connection: Any, table: str, columns: tuple[str, ...], box: SecretBox | None, commit_each: bool = False
) -> int:
    """One table's secret columns, read and rewritten on a synchronous connection (run_sync; also Alembic's, which
    commits the migration as a whole). `commit_each`: the read, then each row's update, committed on their own."""
    from sqlalchemy import column, select
    from sqlalchemy import table as table_clause

    t = table_clause(table, column("id"), *(column(c) for c in columns))
    overwrite_freed_pages(connection)
    changed = 0
    rows = connection.execute(select(t)).mappings().all()
    if commit_each:
        connection.commit()
    for row in rows:
        values = {c: row[c] for c in columns if row[c]}
        if box is None:
            if any(is_encrypted(v) for v in values.values()):
                raise SecretsError(NO_KEY)
            continue
        updates = {c: box.reseal(v) for c, v in values.items() if not box.current(v)}
        if updates:
            # Only if each value is still the one read: a renewal committed meanwhile (another instance) is kept.
            unchanged = [t.c[c] == values[c] for c in updates]
            connection.execute(t.update().where(t.c.id == row["id"], *unchanged).values(**updates))
            if commit_each:
                connection.commit()
            changed += len(updates)
    return changed


def overwrite_freed_pages(connection: Any) -> None:
    """SQLite: content that is deleted or overwritten is zeroed in the file (PRAGMA secure_delete, on by default in
    some builds only), so a token encrypted in place leaves no clear copy in a free page. PostgreSQL keeps old row
    versions until VACUUM: docs/tokens.md says to run it after encrypting an existing database."""
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql("PRAGMA secure_delete = ON")


def unseal_stored_tokens(connection: Any, box: SecretBox | None) -> None:
    """Every stored token back in clear (a schema downgrade, on Alembic's synchronous connection): SecretsError when a
    token is encrypted and no key reads it."""
    from sqlalchemy import column, inspect, select
    from sqlalchemy import table as table_clause

    for name, columns in SECRET_COLUMNS.items():
        if not inspect(connection).has_table(name):
            continue
        t = table_clause(name, column("id"), *(column(c) for c in columns))
        for row in connection.execute(select(t)).mappings().all():
            encrypted = {c: row[c] for c in columns if is_encrypted(row[c])}
            if not encrypted:
                continue
            if box is None:
                raise SecretsError(NO_KEY)
            clear = {c: box.decrypt(v) for c, v in encrypted.items()}
            connection.execute(t.update().where(t.c.id == row["id"]).values(**clear))


def keys_from_environment() -> list[str]:
    """SECRETS_KEY as the app reads it (the environment, then .env), for the migrations, without the Slack settings."""
    import os

    from dotenv import dotenv_values

    values = dict(dotenv_values(".env")) if os.path.exists(".env") else {}
    values.update(os.environ)
    return [k.strip() for k in (values.get("SECRETS_KEY") or "").split(",") if k.strip()]


def generate_key() -> str:
    """A new Fernet key, for SECRETS_KEY."""
    from cryptography.fernet import Fernet

    return Fernet.generate_key().decode("ascii")


async def stored_token_status(engine: AsyncEngine, box: SecretBox | None) -> dict[str, int]:
    """How the stored token values stand, read only: `newest` (under the first key), `older` (under another key of
    SECRETS_KEY: re-encrypted at the next start, or by `reseal`), `clear`, `unreadable` (no key of SECRETS_KEY reads it)."""
    from sqlalchemy import column, inspect, select
    from sqlalchemy import table as table_clause

    counts = {"newest": 0, "older": 0, "clear": 0, "unreadable": 0}
    async with engine.connect() as conn:
        present = await conn.run_sync(lambda c: [t for t in SECRET_COLUMNS if inspect(c).has_table(t)])
        for name in present:
            t = table_clause(name, *(column(c) for c in SECRET_COLUMNS[name]))
            for row in (await conn.execute(select(t))).all():
                for value in (v for v in row if v):
                    if not is_encrypted(value):
                        counts["clear"] += 1
                    elif box is not None and box.current(value):
                        counts["newest"] += 1
                    else:
                        try:
                            if box is None:
                                raise SecretsError(NO_KEY)
                            box.decrypt(value)
                            counts["older"] += 1
                        except SecretsError:
                            counts["unreadable"] += 1
    return counts


def main(argv: list[str] | None = None) -> None:
    """`python -m services.storage.secrets` (also `channel-admin secrets`): a new key; how the stored tokens stand;
    re-encrypt them under the newest key now (what every start does)."""
    import argparse
    import asyncio
    import sys

    parser = argparse.ArgumentParser(
        prog="channel-admin secrets",
        description="SECRETS_KEY and the tokens stored in DATABASE_URL (docs/tokens.md).",
    )
    parser.add_argument(
        "action",
        nargs="?",
        default="new-key",
        choices=("new-key", "status", "reseal"),
        help="new-key (the default): print a new Fernet key; status: count the stored token values by key, read "
        "only; reseal: encrypt every stored token under SECRETS_KEY's first key now (as every start does)",
    )
    parser.add_argument("--database-url", help="default: DATABASE_URL from the environment or .env")
    args = parser.parse_args(argv)
    if args.action == "new-key":
        print(generate_key())
        return
    from sqlalchemy.ext.asyncio import create_async_engine

    from services.settings import async_database_url
    from services.storage.migrate import database_url_from_environment

    url = async_database_url(args.database_url) if args.database_url else database_url_from_environment()
    keys = keys_from_environment()
    try:
        box = box_of(keys)
    except ValueError:
        sys.exit("SECRETS_KEY must be one or more Fernet keys, comma-separated, the newest first.")

    async def run() -> int:
        engine = create_async_engine(url)
        try:
            if args.action == "reseal":
                if box is None:
                    print("SECRETS_KEY is not set: nothing to encrypt with.", file=sys.stderr)
                    return 1
                print(
                    f"Re-encrypted {await secure_stored_tokens(engine, box)} stored token value(s) under the newest key."
                )
                return 0
            counts = await stored_token_status(engine, box)
        except SecretsError as e:
            print(str(e), file=sys.stderr)
            return 1
        finally:
            await engine.dispose()
        print(
            f"{counts['newest']} under the newest key, {counts['older']} under an older key, {counts['clear']} in "
            f"clear, {counts['unreadable']} unreadable with SECRETS_KEY"
        )
        return 1 if counts["unreadable"] or counts["clear"] else 0

    sys.exit(asyncio.run(run()))


if __name__ == "__main__":  # python -m services.storage.secrets [new-key|status|reseal]
    main()
