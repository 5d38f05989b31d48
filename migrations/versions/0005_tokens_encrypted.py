"""Tokens encrypted at rest: slack_sdk's token columns become Text, and every stored token is encrypted (SECRETS_KEY).

A Fernet token is longer than the value it encrypts (about 1.4 times, plus 80 characters), and a rotating token
(`xoxe.xoxb-…`) is already longer than slack_sdk's String(200) on its own; PostgreSQL enforces that length, SQLite
doesn't. So the four token columns of slack_installations and slack_bots become Text (SQLite: batch mode rebuilds the
tables, rows and indexes kept), then every plaintext token is encrypted with SECRETS_KEY's newest key, read from the
environment or .env as the app reads it (services.storage.secrets). Without a key the rows stay as they are; the app
refuses OAuth without one, and encrypts them at its next start with one (secure_stored_tokens runs at every start).

The downgrade decrypts (with the key) and gives the columns their String(200) back.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from services.storage.secrets import (
    SECRET_COLUMNS,
    SecretsError,
    box_of,
    keys_from_environment,
    overwrite_freed_pages,
    secure_table,
    unseal_stored_tokens,
)

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _retype(length: int | None) -> None:
    inspector = sa.inspect(op.get_bind())
    for table, columns in SECRET_COLUMNS.items():
        if not inspector.has_table(table):
            continue
        with op.batch_alter_table(table) as batch:
            for column in columns:
                old, new = (sa.String(length=200), sa.Text()) if length is None else (sa.Text(), sa.String(length))
                batch.alter_column(column, existing_type=old, type_=new, existing_nullable=True)


def upgrade() -> None:
    overwrite_freed_pages(op.get_bind())  # SQLite: the tables batch mode drops leave no clear copy behind
    _retype(None)
    box = box_of(keys_from_environment())
    if box is None:
        return
    bind = op.get_bind()
    inspector = sa.inspect(bind)
    for table, columns in SECRET_COLUMNS.items():
        if inspector.has_table(table):
            secure_table(bind, table, columns, box)


def downgrade() -> None:
    bind = op.get_bind()
    try:
        unseal_stored_tokens(bind, box_of(keys_from_environment()))
    except SecretsError as e:
        raise RuntimeError(f"Can't downgrade: {e}") from None
    _retype(200)
