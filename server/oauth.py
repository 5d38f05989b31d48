"""OAuth installs (workspace and org-wide), kept by slack_sdk's SQLAlchemy stores (services.storage.oauth_stores).

Two ways in, one way back: /slack/install asks for the bot scopes only (any workspace can install), and
/slack/install/admin asks for the same bot scopes plus the admin user scope (only an Org Admin or Owner installing on a
whole Enterprise org can grant it). Both send the installer back to the same redirect URL with a state from the same
store, so Bolt's callback finishes either; what Slack granted comes back with the code, not from the path.
"""

from __future__ import annotations

import html
from datetime import UTC, datetime
from urllib.parse import urlsplit, urlunsplit

from slack_bolt.oauth.async_callback_options import AsyncCallbackOptions, AsyncFailureArgs, AsyncSuccessArgs
from slack_bolt.oauth.async_oauth_flow import AsyncOAuthFlow
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.oauth import AuthorizeUrlGenerator
from slack_sdk.oauth.installation_store import Installation

from services.disconnecting.admin_installs import has_admin_scope, latest_admin_installation
from services.slack.scopes import ADMIN_SCOPE, ADMIN_USER_SCOPES, BOT_SCOPES, USER_SCOPES
from services.storage.database import Database
from services.storage.oauth_stores import oauth_stores
from services.storage.secrets import SecretBox

STATE_EXPIRATION_SECONDS = 600
INSTALL_PATH = "/slack/install"
ADMIN_INSTALL_PATH = "/slack/install/admin"

ADMIN_INSTALL_WHO = (
    "Use this page only if you are an Org Admin or Owner of an Enterprise org with the Channel Management role "
    "(covering public and private channels) and will pick the whole organization, not a workspace, in the top-right "
    f"corner of Slack's page; everyone else installs from {INSTALL_PATH}."
)
_PAGE = """<html>
<head><meta charset="utf-8"><link rel="icon" href="data:,"><title>{title}</title>
<style>body {{ padding: 10px 15px; font-family: verdana; max-width: 44em; margin: auto; }}</style></head>
<body>
<h2>{title}</h2>
{body}
</body>
</html>
"""


def authorization_url(api_url: str) -> str:
    """Slack's authorize page on the same host as the Web API (slack.com, slack-gov.com, a proxy)."""
    parts = urlsplit(api_url)
    return urlunsplit((parts.scheme, parts.netloc, "/oauth/v2/authorize", "", ""))


def oauth_settings(
    client_id: str, client_secret: str, database: Database, api_url: str, box: SecretBox | None = None
) -> AsyncOAuthSettings:
    """Bolt's OAuth settings, slack_sdk's SQLAlchemy stores on `database` (its schema not brought up to date yet),
    every token encrypted with `box` (SECRETS_KEY; services.storage.secrets)."""
    installation_store, state_store = oauth_stores(database, client_id, STATE_EXPIRATION_SECONDS, box)
    return AsyncOAuthSettings(
        client_id=client_id,
        client_secret=client_secret,
        scopes=BOT_SCOPES,
        user_scopes=USER_SCOPES,
        install_path=INSTALL_PATH,
        installation_store=installation_store,
        state_store=state_store,
        authorization_url=authorization_url(api_url),
        callback_options=AsyncCallbackOptions(success=installed_page, failure=_default_failure_page),
    )


# ---- /slack/install/admin ----------------------------------------------------------------------------------------


def admin_authorize_url_generator(settings: AsyncOAuthSettings) -> AuthorizeUrlGenerator:
    """Bolt's generator for /slack/install, with the admin user scope added."""
    return AuthorizeUrlGenerator(
        client_id=settings.client_id,
        redirect_uri=settings.redirect_uri,
        scopes=settings.scopes,
        user_scopes=ADMIN_USER_SCOPES,
        authorization_url=settings.authorization_url,
    )


async def admin_install_page(flow: AsyncOAuthFlow, request: AsyncBoltRequest) -> BoltResponse:
    """What Bolt's install page does (a new state in the store, the state cookie), asking for the admin scope too."""
    settings = flow.settings
    state = await flow.issue_new_state(request)
    team = request.query.get("team")
    url = admin_authorize_url_generator(settings).generate(state=state, team=team[0] if team else None)
    cookie = settings.state_utils.build_set_cookie_for_new_state(state)
    body = (
        f"<p>{html.escape(ADMIN_INSTALL_WHO)}</p>\n"
        f'<p><a href="{html.escape(url)}">Install for /disconnect-shared (bot scopes and the '
        f"{ADMIN_SCOPE} user scope)</a></p>"
    )
    return BoltResponse(
        status=200,
        body=_PAGE.format(title="Channel Admin: admin install", body=body),
        headers=await flow.append_set_cookie_headers({"Content-Type": "text/html; charset=utf-8"}, cookie),
    )


# ---- after Slack sends the installer back ----------------------------------------------------------------------------


async def _default_failure_page(args: AsyncFailureArgs) -> BoltResponse:
    return await args.default.failure(args)


async def installed_page(args: AsyncSuccessArgs) -> BoltResponse:
    """Bolt's success page, saying what this install gives: which commands work, and what the admin scope did."""
    installation = args.installation
    store = args.settings.installation_store
    admin = None
    if installation.enterprise_id and not has_admin_scope(installation.user_scopes):
        admin = await latest_admin_installation(store, installation.enterprise_id)
    paragraphs = install_summary(installation, admin)
    body = "\n".join(f"<p>{html.escape(p)}</p>" for p in paragraphs)
    if installation.is_enterprise_install and installation.enterprise_url and installation.app_id:
        # Where Bolt's own success page sends an org-wide installer: the org's page for adding the app to workspaces.
        add = f"{installation.enterprise_url}manage/organization/apps/profile/{installation.app_id}/workspaces/add"
        body += f'\n<p><a href="{html.escape(add)}">Choose the workspaces that get the app</a></p>'
    body += '\n<p><a href="slack://open">Open Slack</a></p>'
    return BoltResponse(
        status=200,
        body=_PAGE.format(title="Installed", body=body),
        headers={
            "Content-Type": "text/html; charset=utf-8",
            "Set-Cookie": args.settings.state_utils.build_set_cookie_for_deletion(),
        },
    )


def install_summary(installation: Installation, admin: Installation | None) -> list[str]:
    """What an install gives, from what Slack returned: where, the commands, and the admin scope (granted or not)."""
    granted = ", ".join(installation.user_scopes or []) or "none"
    org = _named(installation.enterprise_name, installation.enterprise_id)
    if installation.is_enterprise_install:
        where = f"Installed on the whole Enterprise org {org}."
        leave = "/leave-channel and the Rejoin button work in every workspace of the org that the app is added to."
    else:
        team = _named(installation.team_name, installation.team_id)
        where = f"Installed on the workspace {team}" + (f", part of the Enterprise org {org}." if org else ".")
        leave = "/leave-channel and the Rejoin button work in this workspace."
    lines = [where, leave]
    if has_admin_scope(installation.user_scopes) and installation.user_token:
        if installation.is_enterprise_install:
            lines.append(
                f"/disconnect-shared: Slack granted {ADMIN_SCOPE} to you ({installation.user_id}) on the whole org, so "
                "the command will use your user token. Slack attributes each disconnect to you; the app's audit log "
                "records who asked."
            )
        else:
            lines.append(
                f"Slack granted {ADMIN_SCOPE} on a single workspace, which its documentation says it doesn't do; "
                "/disconnect-shared uses only an org-wide installation's token, so it won't use this one."
            )
        return lines
    if not installation.enterprise_id:
        lines.append(
            "/disconnect-shared needs an Enterprise org (Slack offers admin.conversations.disconnectShared only on "
            "Enterprise plans): here it says so and changes nothing."
        )
        return lines
    lines.append(f"This installation carries no {ADMIN_SCOPE} (user scopes Slack granted: {granted}).")
    if admin is not None:
        when = datetime.fromtimestamp(admin.installed_at, tz=UTC).strftime("%Y-%m-%d %H:%M UTC")
        lines.append(
            f"/disconnect-shared keeps using the earlier admin install by {admin.user_id} ({when}), which does carry it."
        )
    else:
        lines.append(
            "/disconnect-shared will say it has no admin token until an Org Admin or Owner with the Channel "
            f"Management role installs from {ADMIN_INSTALL_PATH}, picking the whole organization."
        )
    return lines


def _named(name: str | None, ident: str | None) -> str:
    if name and ident:
        return f"{name} ({ident})"
    return name or ident or ""
