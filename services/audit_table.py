"""The audit_log table (SQLAlchemy Core), imported only once the database is first used."""

from sqlalchemy import Column, DateTime, Integer, MetaData, String, Table

metadata = MetaData()

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=True), nullable=False, index=True),
    Column("action", String(40), nullable=False),
    Column("event", String(20), nullable=False),
    Column("user_id", String(32), nullable=False),
    Column("enterprise_id", String(32)),
    Column("team_id", String(32)),
    Column("channel_id", String(32)),
    Column("leaving_team_id", String(32)),
    Column("outcome", String(80), nullable=False),
)
