"""`app_uninstalled` and `tokens_revoked` with a pasted SLACK_BOT_TOKEN (no OAuth): answered, and logged for the
operator. Both manifests subscribe to them; without a listener Bolt answers 404 (over HTTP) or sends no ack (Socket
Mode), and Slack retries the event and counts the failures ("Events API: an event must be answered 2xx within 3 s
or Slack retries it … repeated failures can turn the app's event subscriptions off", ../shared/slack-facts.md).

With OAuth, Bolt's own token revocation listeners (server.app: enable_token_revocation_listeners) answer them and
delete the stored installation; these are registered only without an installation store. Payload shapes:
../shared/slack-samples/payloads/AppUninstalledPayload.json and TokensRevokedPayload.json (`event.tokens.oauth`: the
users whose user tokens were revoked; `event.tokens.bot`: the bot users'); Bolt runs both without authorizing them
(slack_bolt.middleware.authorization.internals.no_auth_test_events), so a revoked token is never used here.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.context.async_context import AsyncBoltContext

logger = logging.getLogger(__name__)

# At most this many user IDs are named in one log line (a revocation can list every user of a workspace).
_NAMED = 20


def _where(context: AsyncBoltContext) -> str:
    return f"workspace {context.team_id or '-'} of org {context.enterprise_id or '-'}"


def _ids(tokens: dict[str, Any], kind: str) -> list[str]:
    values = tokens.get(kind)
    return [v for v in values if isinstance(v, str) and v] if isinstance(values, list) else []


async def app_uninstalled(context: AsyncBoltContext) -> None:
    logger.error(
        "Slack says the app was uninstalled from %s: SLACK_BOT_TOKEN (and a pasted SLACK_ADMIN_TOKEN of that "
        "workspace) no longer work there. Reinstall the app and paste its new tokens, or stop this deployment.",
        _where(context),
    )


async def tokens_revoked(event: dict, context: AsyncBoltContext) -> None:
    tokens = event.get("tokens")
    revoked: dict[str, Any] = tokens if isinstance(tokens, dict) else {}
    bots, users = _ids(revoked, "bot"), _ids(revoked, "oauth")
    if bots:
        logger.error(
            "Slack says the bot token of %s was revoked (bot user %s): SLACK_BOT_TOKEN no longer works there. "
            "Reinstall the app and paste its new bot token.",
            _where(context),
            ", ".join(bots[:_NAMED]),
        )
    if users:
        more = f" and {len(users) - _NAMED} more" if len(users) > _NAMED else ""
        logger.warning(
            "Slack says the user tokens of %s user(s) of %s were revoked (%s%s): if SLACK_ADMIN_TOKEN was one of "
            "them, /disconnect-shared answers that the admin token is not usable until an Org Admin installs again.",
            len(users),
            _where(context),
            ", ".join(users[:_NAMED]),
            more,
        )
    if not bots and not users:
        logger.info("Slack sent tokens_revoked for %s naming no token", _where(context))
