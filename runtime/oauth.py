"""OAuth installs (workspace and org-wide) kept in the database by slack_sdk's SQLAlchemy stores."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_sdk.oauth.installation_store.sqlalchemy import AsyncSQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.sqlalchemy import AsyncSQLAlchemyOAuthStateStore
from sqlalchemy import MetaData
from sqlalchemy.ext.asyncio import AsyncEngine

from services.scopes import BOT_SCOPES, USER_SCOPES

STATE_EXPIRATION_SECONDS = 600


def authorization_url(api_url: str) -> str:
    """Slack's authorize page on the same host as the Web API (slack.com, slack-gov.com, a proxy)."""
    parts = urlsplit(api_url)
    return urlunsplit((parts.scheme, parts.netloc, "/oauth/v2/authorize", "", ""))


def oauth_settings(client_id: str, client_secret: str, engine: AsyncEngine, api_url: str) -> AsyncOAuthSettings:
    return AsyncOAuthSettings(
        client_id=client_id,
        client_secret=client_secret,
        scopes=BOT_SCOPES,
        user_scopes=USER_SCOPES,
        installation_store=AsyncSQLAlchemyInstallationStore(client_id=client_id, engine=engine),
        state_store=AsyncSQLAlchemyOAuthStateStore(expiration_seconds=STATE_EXPIRATION_SECONDS, engine=engine),
        authorization_url=authorization_url(api_url),
    )


def oauth_metadatas(settings: AsyncOAuthSettings) -> list[MetaData]:
    """The tables the two stores need, for create_schema()."""
    return [settings.installation_store.metadata, settings.state_store.metadata]  # type: ignore[union-attr]
