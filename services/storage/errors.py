"""What a failing database raises, for code that answers such a failure without importing SQLAlchemy itself."""

from __future__ import annotations

import sys


def database_errors() -> tuple[type[Exception], ...]:
    """OSError and SQLAlchemy's base error; imports SQLAlchemy, so only where a database is in use (OAuth mode)."""
    from sqlalchemy.exc import SQLAlchemyError

    return (OSError, SQLAlchemyError)


def unavailable(error: BaseException) -> bool:
    """Whether `error` says the database can't be reached or used for now (a server stopped or restarting, a dropped
    connection, SQLite's file locked or its disk full), as opposed to a mistake in what was asked of it.

    SQLAlchemy is looked at only when it is loaded: a SQLAlchemy error can't have happened otherwise.
    """
    if isinstance(error, (OSError, TimeoutError)):
        return True
    if "sqlalchemy" not in sys.modules:
        return False
    from sqlalchemy import exc

    if isinstance(error, exc.DBAPIError) and error.connection_invalidated:
        return True
    return isinstance(error, (exc.OperationalError, exc.InterfaceError, exc.DisconnectionError, exc.TimeoutError))
