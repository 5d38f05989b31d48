"""What a failing database raises, for code that answers such a failure without importing SQLAlchemy itself."""

from __future__ import annotations


def database_errors() -> tuple[type[Exception], ...]:
    """OSError and SQLAlchemy's base error; imports SQLAlchemy, so only where a database is in use (OAuth mode)."""
    from sqlalchemy.exc import SQLAlchemyError

    return (OSError, SQLAlchemyError)
