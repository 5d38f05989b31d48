"""Settings from the environment and `.env` (the environment wins)."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlparse

from dotenv import dotenv_values

_USER_ID = re.compile(r"[UW][A-Z0-9]{2,40}")
_CHANNEL_ID = re.compile(r"[CG][A-Z0-9]{2,40}")
# A Fernet key: 32 bytes in URL-safe base64 (cryptography.fernet.Fernet.generate_key), checked without importing it.
_FERNET_KEY = re.compile(r"[A-Za-z0-9_-]{43}=")

DEFAULT_API_URL = "https://slack.com/api/"
DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./data/channel-admin.db"
_BOOLEANS = {"true": True, "1": True, "yes": True, "on": True, "false": False, "0": False, "no": False, "off": False}


# A token pasted from an app with token rotation on expires within 12 hours, and only an OAuth install can renew it.
_EXPIRING = (
    "{name} is an expiring token (xoxe.…: the app has token rotation on), which stops working within 12 hours and "
    "which only an OAuth install can renew: install through OAuth instead (SLACK_CLIENT_ID, SLACK_CLIENT_SECRET and "
    "SECRETS_KEY; see docs/tokens.md), or paste the token of an app with token rotation off."
)


class SettingsError(Exception):
    """A required setting is missing or malformed; the message is one line for the operator."""


@dataclass(frozen=True)
class Settings:
    bot_token: str | None
    signing_secret: str | None
    app_token: str | None
    api_url: str
    port: int
    log_level: str
    api_timeout: float
    retry_backoff_seconds: float = 0.5
    admin_token: str | None = None
    admin_user_ids: frozenset[str] = frozenset()
    database_url: str = DEFAULT_DATABASE_URL
    client_id: str | None = None
    client_secret: str | None = None
    audit_channel_id: str | None = None
    metrics_enabled: bool = True
    job_lease_seconds: float = 30.0
    job_poll_seconds: float = 5.0
    job_retention_days: float = 7.0
    shutdown_grace_seconds: float = 10.0
    log_format: str = "text"
    audit_retention_days: int | None = None  # None: the audit log is kept forever
    metrics_port: int | None = None  # /metrics on a port of its own instead of PORT
    metrics_token: str | None = None  # /metrics only with `Authorization: Bearer <this>`
    trusted_proxy_hops: int = 0  # reverse proxies in front of the app whose X-Forwarded-For is believed
    sentry_dsn: str | None = None  # errors reported to Sentry (services.telemetry.errors)
    secrets_key: tuple[str, ...] = ()  # SECRETS_KEY: Fernet keys, the newest first (services.storage.secrets)
    token_refresh_margin_seconds: float = 7200.0  # refresh a rotating token this long before it expires

    @property
    def socket_mode(self) -> bool:
        return self.app_token is not None

    @property
    def oauth(self) -> bool:
        """Installations come through OAuth (/slack/install) instead of one pasted bot token."""
        return self.bot_token is None and self.client_id is not None and self.client_secret is not None

    def secrets(self) -> list[str]:
        """Every secret value, so logging can redact it wherever it appears."""
        candidates = (
            self.bot_token,
            self.signing_secret,
            self.app_token,
            self.admin_token,
            self.client_secret,
            self.metrics_token,
            self.sentry_dsn,
        )
        return [s for s in (*candidates, *self.secrets_key) if s]


def _clean(value: str | None) -> str | None:
    value = (value or "").strip()
    return value or None


def load_settings(environ: Mapping[str, str] | None = None, env_file: str | None = ".env") -> Settings:
    """Read and check every setting; raise SettingsError naming the first bad one."""
    values: dict[str, str | None] = dict(dotenv_values(env_file)) if env_file and os.path.exists(env_file) else {}
    values.update(os.environ if environ is None else environ)

    app_token = _clean(values.get("SLACK_APP_TOKEN"))
    if app_token is not None and not app_token.startswith("xapp-"):
        raise SettingsError(
            "SLACK_APP_TOKEN must start with xapp-: create an app-level token with the connections:write scope "
            "under Basic Information > App-Level Tokens in your app's settings (or unset it to run in HTTP mode)."
        )

    client_id = _clean(values.get("SLACK_CLIENT_ID"))
    client_secret = _clean(values.get("SLACK_CLIENT_SECRET"))
    if (client_id is None) != (client_secret is None):
        missing = "SLACK_CLIENT_SECRET" if client_secret is None else "SLACK_CLIENT_ID"
        raise SettingsError(
            f"{missing} is not set: OAuth installs need both the Client ID and the Client Secret, from "
            "Basic Information > App Credentials in your app's settings."
        )

    bot_token = _clean(values.get("SLACK_BOT_TOKEN"))
    if bot_token is None and client_id is None:
        raise SettingsError(
            "SLACK_BOT_TOKEN is not set: install the app, then copy the Bot User OAuth Token (xoxb-…) "
            "from OAuth & Permissions in your app's settings (or set SLACK_CLIENT_ID and SLACK_CLIENT_SECRET "
            "to install through OAuth)."
        )
    if bot_token is not None and bot_token.startswith("xoxe."):
        raise SettingsError(_EXPIRING.format(name="SLACK_BOT_TOKEN"))
    if bot_token is not None and not bot_token.startswith("xoxb-"):
        raise SettingsError(
            "SLACK_BOT_TOKEN must start with xoxb-: copy the Bot User OAuth Token (not the User OAuth Token) "
            "from OAuth & Permissions in your app's settings."
        )

    signing_secret = _clean(values.get("SLACK_SIGNING_SECRET"))
    if signing_secret is None and app_token is None:
        raise SettingsError(
            "SLACK_SIGNING_SECRET is not set (HTTP mode needs it to verify requests): copy the Signing Secret "
            "from Basic Information > App Credentials in your app's settings."
        )

    api_url = _clean(values.get("SLACK_API_URL")) or DEFAULT_API_URL
    parsed = urlparse(api_url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise SettingsError("SLACK_API_URL must be an http(s) URL such as https://slack.com/api/.")
    if not api_url.endswith("/"):
        api_url += "/"

    port_text = _clean(values.get("PORT")) or "3000"
    if not port_text.isdigit() or not 1 <= int(port_text) <= 65535:
        raise SettingsError("PORT must be a whole number from 1 to 65535.")

    log_level = (_clean(values.get("LOG_LEVEL")) or "INFO").upper()
    if log_level not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
        raise SettingsError("LOG_LEVEL must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL.")

    timeout_text = _clean(values.get("SLACK_API_TIMEOUT")) or "10"
    try:
        api_timeout = float(timeout_text)
    except ValueError:
        api_timeout = 0.0
    if not 0 < api_timeout <= 120:
        raise SettingsError("SLACK_API_TIMEOUT must be a number of seconds above 0 and at most 120.")

    # At least 0.1 s: a retry that doesn't wait is a burst at Slack while it is failing (tests set the field directly).
    retry_backoff_seconds = _seconds(values, "SLACK_RETRY_BACKOFF_SECONDS", 0.5, 0.1, 10)

    admin_token = _clean(values.get("SLACK_ADMIN_TOKEN"))
    if admin_token is not None and admin_token.startswith("xoxe."):
        raise SettingsError(_EXPIRING.format(name="SLACK_ADMIN_TOKEN"))
    if admin_token is not None and not admin_token.startswith("xoxp-"):
        raise SettingsError(
            "SLACK_ADMIN_TOKEN must start with xoxp-: after an Org Admin installs the app on the whole org, copy the "
            "User OAuth Token from OAuth & Permissions in your app's settings (or unset it)."
        )

    admin_user_ids = frozenset(part.strip() for part in (values.get("ADMIN_USER_IDS") or "").split(",") if part.strip())
    bad_ids = sorted(i for i in admin_user_ids if not _USER_ID.fullmatch(i))
    if bad_ids:
        raise SettingsError(
            f"ADMIN_USER_IDS must be comma-separated Slack user IDs such as U0123ABCD; {bad_ids[0][:40]!r} is not one "
            "(find an ID in the person's Slack profile: ⋮ > Copy member ID)."
        )

    audit_channel_id = _clean(values.get("AUDIT_CHANNEL_ID"))
    if audit_channel_id is not None and not _CHANNEL_ID.fullmatch(audit_channel_id):
        raise SettingsError(
            "AUDIT_CHANNEL_ID must be a channel ID such as C0123ABCD, not a name: open the channel's details in Slack "
            "and copy the ID at the bottom of the About tab (or unset it)."
        )

    database_url = async_database_url(_clean(values.get("DATABASE_URL")) or DEFAULT_DATABASE_URL)

    log_format = (_clean(values.get("LOG_FORMAT")) or "text").lower()
    if log_format not in ("text", "json"):
        raise SettingsError("LOG_FORMAT must be text (the default) or json (one JSON object a line).")

    metrics_text = (_clean(values.get("METRICS_ENABLED")) or "true").lower()
    if metrics_text not in _BOOLEANS:
        raise SettingsError("METRICS_ENABLED must be true or false (GET /metrics for Prometheus; on by default).")

    job_lease_seconds = _seconds(values, "JOB_LEASE_SECONDS", 30.0, 0.5, 3600)
    job_poll_seconds = _seconds(values, "JOB_POLL_SECONDS", 5.0, 0.01, 3600)
    job_retention_days = _seconds(values, "JOB_RETENTION_DAYS", 7.0, 0, 3650)
    shutdown_grace_seconds = _seconds(values, "SHUTDOWN_GRACE_SECONDS", 10.0, 0, 3600)

    retention_text = _clean(values.get("AUDIT_RETENTION_DAYS"))
    if retention_text is not None and not (retention_text.isdigit() and 1 <= int(retention_text) <= 36500):
        raise SettingsError(
            "AUDIT_RETENTION_DAYS must be a whole number of days from 1 to 36500 (or unset, to keep the audit log "
            "forever)."
        )

    metrics_port_text = _clean(values.get("METRICS_PORT"))
    if metrics_port_text is not None and not (metrics_port_text.isdigit() and 1 <= int(metrics_port_text) <= 65535):
        raise SettingsError("METRICS_PORT must be a whole number from 1 to 65535 (or unset: /metrics on PORT).")
    if metrics_port_text is not None and int(metrics_port_text) == int(port_text):
        raise SettingsError("METRICS_PORT must differ from PORT (unset it to serve /metrics on PORT).")

    metrics_token = _clean(values.get("METRICS_TOKEN"))
    if metrics_token is not None and (len(metrics_token) < 16 or not metrics_token.isascii() or " " in metrics_token):
        raise SettingsError(
            "METRICS_TOKEN must be at least 16 characters (ASCII, no spaces): a random one, e.g. from "
            "`python -c 'import secrets; print(secrets.token_urlsafe(32))'` (or unset it)."
        )

    hops_text = _clean(values.get("TRUSTED_PROXY_HOPS")) or "0"
    if not hops_text.isdigit() or int(hops_text) > 5:
        raise SettingsError(
            "TRUSTED_PROXY_HOPS must be a whole number from 0 to 5: how many reverse proxies in front of the app add "
            "to X-Forwarded-For (0, the default: the connecting address is the client's)."
        )

    sentry_dsn = _clean(values.get("SENTRY_DSN"))
    if sentry_dsn is not None and urlparse(sentry_dsn).scheme not in ("http", "https"):
        raise SettingsError("SENTRY_DSN must be the https:// DSN from your Sentry project's settings (or unset it).")

    secrets_key = tuple(part.strip() for part in (values.get("SECRETS_KEY") or "").split(",") if part.strip())
    if any(not _FERNET_KEY.fullmatch(k) for k in secrets_key):
        raise SettingsError(
            "SECRETS_KEY must be one or more Fernet keys, comma-separated, the newest first: make one with "
            "`python -m services.storage.secrets` (44 characters of URL-safe base64)."
        )
    if bot_token is None and client_id is not None and not secrets_key:
        raise SettingsError(
            "SECRETS_KEY is not set: OAuth installs keep bot and Org Admin tokens in the database, and the app "
            "encrypts them with it. Make one with `python -m services.storage.secrets` and keep it apart from the "
            "database (see docs/tokens.md)."
        )
    # At most half a rotating token's 12 hours: a margin as long as its life makes it due as soon as it is issued.
    token_refresh_margin_seconds = _seconds(values, "TOKEN_REFRESH_MARGIN_SECONDS", 7200.0, 0, 21600)

    return Settings(
        bot_token=bot_token,
        signing_secret=signing_secret,
        app_token=app_token,
        api_url=api_url,
        port=int(port_text),
        log_level=log_level,
        api_timeout=api_timeout,
        retry_backoff_seconds=retry_backoff_seconds,
        admin_token=admin_token,
        admin_user_ids=admin_user_ids,
        database_url=database_url,
        client_id=client_id,
        client_secret=client_secret,
        audit_channel_id=audit_channel_id,
        metrics_enabled=_BOOLEANS[metrics_text],
        log_format=log_format,
        job_lease_seconds=job_lease_seconds,
        job_poll_seconds=job_poll_seconds,
        job_retention_days=job_retention_days,
        shutdown_grace_seconds=shutdown_grace_seconds,
        audit_retention_days=int(retention_text) if retention_text is not None else None,
        metrics_port=int(metrics_port_text) if metrics_port_text is not None else None,
        metrics_token=metrics_token,
        trusted_proxy_hops=int(hops_text),
        sentry_dsn=sentry_dsn,
        secrets_key=secrets_key,
        token_refresh_margin_seconds=token_refresh_margin_seconds,
    )


def _seconds(values: Mapping[str, str | None], name: str, default: float, low: float, high: float) -> float:
    """A number setting (seconds or days) within [low, high]."""
    text = _clean(values.get(name))
    if text is None:
        return default
    try:
        number = float(text)
    except ValueError:
        number = float("nan")
    if not low <= number <= high:
        raise SettingsError(f"{name} must be a number from {low:g} to {high:g}.")
    return number


def async_database_url(url: str) -> str:
    """SQLAlchemy URLs as people write them, with the asyncio driver this app uses."""
    for plain, driver in (
        ("sqlite://", "sqlite+aiosqlite://"),
        ("postgresql://", "postgresql+psycopg://"),
        ("postgres://", "postgresql+psycopg://"),
    ):
        if url.startswith(plain):
            return driver + url[len(plain) :]
    return url
