"""Plain-language sentences for every error code Slack documents, keyed by code: data, not branches.

Each sentence says what happened and what to do. Placeholders: {channel} (a `<#C…>` mention).
"""

from __future__ import annotations

# Codes every Web API method can answer; the wording fits any action ({action}: "leave <#C1>").
COMMON_ERRORS: dict[str, str] = {
    "access_denied": "Slack denied access when I tried to {action}. A workspace admin may have restricted it; ask them to check the app's permissions.",
    "accesslimited": "Slack limits this action on the current network, so I couldn't {action}. Try again from an allowed network or ask your Slack admin.",
    "account_inactive": "I couldn't {action}: the app's token belongs to a deactivated user or workspace. Reinstall the app from an active account.",
    "deprecated_endpoint": "I couldn't {action}: Slack says the method the app uses is deprecated. Please report this to the app's maintainers.",
    "ekm_access_denied": "I couldn't {action}: your admins have suspended this through Enterprise Key Management. Ask your Slack admin.",
    "enterprise_is_restricted": "I couldn't {action}: this method can't be used from an Enterprise organization-level install. Ask your Slack admin.",
    "fatal_error": "Slack hit a serious error while I tried to {action}; part of it may have happened. Check the channel, then try again.",
    "internal_error": "Slack had an internal error while I tried to {action}; part of it may have happened. Check the channel, then try again in a minute.",
    "invalid_arg_name": "I couldn't {action}: Slack rejected an argument name in the app's request. Please report this to the app's maintainers.",
    "invalid_arguments": "I couldn't {action}: Slack said the request's arguments were invalid. Please report this to the app's maintainers.",
    "invalid_array_arg": "I couldn't {action}: Slack rejected a list argument in the app's request. Please report this to the app's maintainers.",
    "invalid_auth": "I couldn't {action}: Slack didn't accept the app's token. Ask whoever installed the app to reinstall it.",
    "invalid_charset": "I couldn't {action}: Slack rejected the request's character set. Please report this to the app's maintainers.",
    "invalid_form_data": "I couldn't {action}: Slack couldn't read the request's form data. Please report this to the app's maintainers.",
    "invalid_post_type": "I couldn't {action}: Slack rejected the request's content type. Please report this to the app's maintainers.",
    "method_deprecated": "I couldn't {action}: Slack has deprecated the method the app uses. Please report this to the app's maintainers.",
    "missing_post_type": "I couldn't {action}: the request reached Slack without a content type. Please report this to the app's maintainers.",
    "missing_scope": "I couldn't {action}: the app is missing a permission it needs. Ask a workspace admin to reinstall the app with the scopes listed in its manifest.",
    "no_permission": "I couldn't {action}: the app's token doesn't have permission for it. Ask a workspace admin to check the app's access and reinstall it.",
    "not_allowed_token_type": "I couldn't {action}: Slack doesn't accept this kind of token for it. Please report this to the app's maintainers.",
    "not_authed": "I couldn't {action}: the request reached Slack without a token. Check the app's token settings, then try again.",
    "org_login_required": "I couldn't {action}: the workspace is being migrated into an Enterprise org. Try again once the migration is complete.",
    "ratelimited": "Slack asked me to slow down, so I couldn't {action} this time. Try again in a minute.",
    "request_timeout": "I couldn't {action}: Slack received the request cut short. Try again.",
    "service_unavailable": "Slack is temporarily unavailable, so I couldn't {action}. Try again in a few minutes.",
    "team_access_not_granted": "I couldn't {action}: the app hasn't been granted access to this workspace. Ask an org admin to add the app to it.",
    "team_added_to_org": "I couldn't {action}: the workspace is joining an Enterprise org and Slack is briefly unavailable for it. Try again later.",
    "token_expired": "I couldn't {action}: the app's token has expired and Slack wouldn't renew it. Someone must install the app again on this workspace (or, for an org-wide install, on the whole org) from its install page (/slack/install).",
    "token_revoked": "I couldn't {action}: the app's token was revoked or the app was removed. Ask a workspace admin to reinstall the app.",
    "two_factor_setup_required": "I couldn't {action}: Slack requires two-factor authentication for the account behind the app's token. Set it up, then try again.",
    # Not Slack codes: what the client saw when no error code came back.
    "slack_unreachable": "I couldn't reach Slack to {action}, even after retrying. Check Slack's status page, then try again.",
    "slack_timeout": "Slack didn't answer in time when I tried to {action}; it may or may not have happened. Check the channel, then try again.",
    "slack_server_error": "Slack answered with a server error when I tried to {action}, even after retrying. Try again in a few minutes.",
    "unexpected_response": "Slack sent an answer I couldn't read when I tried to {action}. Try again in a few minutes.",
}

# conversations.leave: https://docs.slack.dev/reference/methods/conversations.leave
LEAVE_ERRORS: dict[str, str] = {
    **COMMON_ERRORS,
    "cant_leave_general": "I can't leave {channel}: it's the workspace's general channel, and Slack keeps every member in it.",
    "channel_not_found": "I can't see {channel}. It may be private with the app not in it, or it was deleted; nothing to leave.",
    "is_archived": "{channel} is archived, so there's nothing to leave. Unarchive it first if you need the app out of it.",
    "last_member": "I'm the last member of {channel}, and Slack won't let the last member leave. Someone else must join before I can leave.",
    "method_not_supported_for_channel_type": "{channel} is a direct message or another kind of conversation that apps can't leave.",
    "user_is_restricted": "I couldn't leave {channel}: the app's account is restricted, and restricted accounts can't leave channels. Ask a workspace admin.",
    "user_is_ultra_restricted": "I couldn't leave {channel}: the app's account is a single-channel guest, which can't leave channels. Ask a workspace admin.",
    "is_bot": "I couldn't leave {channel}: this is a legacy bot token, which can't leave channels. Reinstall the app to get a new bot token.",
}

# conversations.join (the Rejoin button): https://docs.slack.dev/reference/methods/conversations.join
JOIN_ERRORS: dict[str, str] = {
    **COMMON_ERRORS,
    "missing_scope": "I couldn't rejoin {channel}: rejoining needs the `channels:join` permission, which this install doesn't have yet. Ask a workspace admin to reinstall the app from its current manifest; meanwhile anyone in the channel can bring me back with `/invite`.",
    "channel_not_found": "I can't find {channel} any more: it was deleted, or it's private (then someone in it can bring me back with `/invite`).",
    "method_not_supported_for_channel_type": "I can't rejoin {channel} by myself: it's a kind of conversation apps can't join. Someone in it can bring me back with `/invite`.",
    "channel_is_limited_access": "I can't rejoin {channel}: it's a limited-access channel. Someone in it can bring me back with `/invite`.",
    "too_many_members": "I can't rejoin {channel}: it has reached Slack's member limit.",
    "user_is_restricted": "I couldn't rejoin {channel}: the app's account is restricted from joining channels. Ask a workspace admin.",
    "is_bot": "I couldn't rejoin {channel}: this is a legacy bot token, which can't join channels. Reinstall the app to get a new bot token.",
}

# admin.conversations.disconnectShared: https://docs.slack.dev/reference/methods/admin.conversations.disconnectShared
# Placeholders: {team} (the party's label), {channel}, and for token problems {token} (where the admin token came
# from, TokenSource.name) and {fix} (what to do about it, TokenSource.fix).
DISCONNECT_ERRORS: dict[str, str] = {
    **COMMON_ERRORS,
    "cannot_kick_home_team": "{team} created {channel}, and the workspace that created a channel can't be removed from it.",
    "cannot_kick_team": "Slack says only the organization that created {channel} can remove others from it, so {team} stays. Ask an admin of the organization that created it.",
    "channel_not_found": "Slack couldn't find {channel} for {token}. It may have been deleted, or it belongs to another org.",
    "feature_not_enabled": "{token} doesn't have access to disconnecting shared channels, so {team} is still connected. {fix}",
    "leaving_team_not_in_channel": "{team} isn't connected to {channel} (any more), so there was nothing to disconnect.",
    "leaving_team_required": "{channel} is shared by more than two workspaces, so Slack needs to be told which one leaves; none was named. Choose a workspace and try again.",
    "no_teams_to_disconnect": "{channel} isn't shared, so there are no workspaces to disconnect from it.",
    "not_an_admin": "Slack says {token} doesn't belong to an Org Admin or Owner, so {team} is still connected. {fix}",
    "not_an_enterprise": "Disconnecting workspaces works only on Enterprise orgs, and Slack says {token} isn't from one.",
    "not_supported": "{channel} is a direct message or the general channel, and Slack can't disconnect workspaces from those.",
    "restricted_action": "A preference stops the Org Admin behind {token} from disconnecting channels, so {team} is still connected. Ask an Org Owner to review the Channel Management settings.",
    "team_not_found": "Slack doesn't know {team}. Pick it again from the list and retry.",
    "invalid_auth": "Slack didn't accept {token}, so {team} is still connected. {fix}",
    "not_authed": "The request reached Slack without the Org Admin's token, so {team} is still connected. {fix}",
    "token_expired": "{token} has expired, so {team} is still connected. {fix}",
    "token_revoked": "{token} was revoked, so {team} is still connected. {fix}",
    "account_inactive": "The Org Admin behind {token} has been deactivated, so {team} is still connected. {fix}",
    "missing_scope": "{token} lacks the admin.conversations:write scope, so {team} is still connected. {fix}",
    "not_allowed_token_type": "Slack refused {token}: it must be an Org Admin's user token (xoxp-…). {fix}",
    "access_denied": "Slack denied {token} access when disconnecting {team} from {channel}, so it is still connected. An admin may have restricted it; check the Org Admin's permissions.",
    "enterprise_is_restricted": "Slack says this can't be done from the Enterprise organization of {token}, so {team} is still connected. Ask your Slack admin.",
    "two_factor_setup_required": "Slack requires two-factor authentication for the Org Admin behind {token}, so {team} is still connected. They set it up, then try again.",
    "no_permission": "{token} isn't permitted to disconnect {team} from {channel}. Check the admin's Channel Management role covers public and private channels.",
    "team_access_not_granted": "The app hasn't been granted access to {team}'s workspace, so it stays connected. Ask an Org Admin to add the app to that workspace.",
    # Not Slack codes: what the app learned by reading the channel again after an answer that could hide a success.
    "outcome_unknown": "I couldn't tell whether {team} was disconnected from {channel}: Slack answered with an error, and then I couldn't read the channel to check. Check who is connected in the channel's settings before trying again.",
}


class TokenSource:
    """Where the Org Admin token came from, so every sentence about it names the right place."""

    def __init__(self, name: str, fix: str) -> None:
        self.name = name
        self.fix = fix

    @classmethod
    def setting(cls) -> TokenSource:
        return cls(
            "the admin token in SLACK_ADMIN_TOKEN",
            "Whoever runs the app must put a current User OAuth Token (xoxp-…) of an Org Admin or Owner with the "
            "admin.conversations:write scope in SLACK_ADMIN_TOKEN and restart it.",
        )

    @classmethod
    def install(cls, installer: str | None) -> TokenSource:
        who = f"<@{installer}>" if installer else "an Org Admin"
        return cls(
            f"the admin token from the org-wide install by {who}",
            "An Org Admin or Owner with the Channel Management role must install the app again on the whole org "
            "through its admin install page (/slack/install/admin), granting admin.conversations:write.",
        )


# Why a chosen channel is refused in the /disconnect-shared form, before any admin call.
CHANNEL_PROBLEMS: dict[str, str] = {
    "not_shared": "This channel isn't shared with another workspace, so there's nothing to disconnect. Choose a shared channel.",
    "general": "This is a workspace's general channel, and Slack can't disconnect workspaces from it.",
    "dm": "This is a direct message; only shared channels can have workspaces disconnected.",
    "channel_not_found": "I can't see this channel. If it's private, add the app to it first (/invite the app), then choose it again.",
    "loading": "I'm still looking up the workspaces connected to this channel. Wait a moment, then submit again.",
    "no_team_chosen": "Choose at least one workspace to disconnect.",
    "team_not_connected": "A workspace you chose is no longer connected to this channel. Choose again.",
    "org_shared_only": "This channel is shared only among your own org's workspaces. Slack changes which of your workspaces have it from the admin dashboard (Manage channels), not by disconnecting; this app only disconnects other organizations.",
    "host_unknown": "Slack didn't say which organization created this channel, so I can't tell whether your org may disconnect anyone from it. Nothing was changed.",
    "partner_hosted": "{host} created this channel, and Slack lets only the organization that created a channel disconnect others from it. Ask that organization's admins; nothing was changed.",
    "only_pending": "Nobody outside your org is connected to this channel yet: the invitations are still pending, so there is nothing to disconnect.",
}

ADMIN_ONLY = (
    "`/disconnect-shared` is for org admins: only Org Admins and Owners (and people the app's operators list in "
    "ADMIN_USER_IDS) can disconnect workspaces from shared channels. Nothing was changed. If you need a workspace "
    "disconnected, ask one of your org's admins."
)
ADMIN_CHECK_FAILED = (
    "I couldn't confirm that you're an org admin (Slack answered `{code}` when I looked you up), so I stopped "
    "before changing anything. Try again in a minute."
)
FORM_NOT_SHOWN = (
    "I couldn't show the next step of the form (Slack answered `{code}`), so nothing was changed. "
    "Close the form and run /disconnect-shared again."
)
ADMIN_TOKEN_MISSING = (
    "The app has no Org Admin token, so it can't disconnect workspaces yet. What's missing: SLACK_ADMIN_TOKEN. "
    "To get it, an Org Admin or Owner with the Channel Management role (covering public and private channels) "
    "installs the app on the whole org (an org-wide install, not a single workspace), granting the "
    "admin.conversations:write user scope; then whoever runs the app copies the User OAuth Token (xoxp-…) from "
    "OAuth & Permissions into SLACK_ADMIN_TOKEN and restarts it."
)

ORG_INSTALL_MISSING = (
    "The app isn't installed on the whole org, so it has no Org Admin token to disconnect workspaces with. "
    "An Org Admin or Owner with the Channel Management role (covering public and private channels) must install the "
    "app on the whole org, not a single workspace, granting the admin.conversations:write user scope "
    "(the app's admin install page, /slack/install/admin)."
)
ORG_INSTALL_WITHOUT_ADMIN_SCOPE = (
    "The app's org-wide installation (by <@{installer}>) doesn't carry the admin.conversations:write user scope, so it "
    "can't disconnect workspaces. An Org Admin or Owner with the Channel Management role must reinstall the app on the "
    "whole org and grant admin.conversations:write (the app's admin install page, /slack/install/admin)."
)
NOT_ON_GRID = (
    "`/disconnect-shared` needs an Enterprise org: Slack offers admin.conversations.disconnectShared only on the "
    "Enterprise plan, and this workspace isn't part of an Enterprise org. Nothing was changed. (`/leave-channel` "
    "works here as usual.)"
)
ADMIN_TOKEN_OTHER_ORG = (
    "The app's admin token (SLACK_ADMIN_TOKEN) belongs to another Enterprise org, and it is never used for this "
    "one. Nothing was changed. An Org Admin of this org must install the app on the whole org through its admin "
    "install page (/slack/install/admin)."
)
OTHER_ORG = (
    "`/disconnect-shared` can only be used by Org Admins and Owners of the org the app is installed in, and Slack "
    "says you belong to another organization. Nothing was changed."
)
# A party that an unfinished offboarding of the same org is disconnecting (services.disconnecting.workflow):
# the single-channel form sends nothing for it, so Slack isn't asked twice for the same channel and party.
OFFBOARDING_RUNNING = (
    "An offboarding of {partner} is running in this org (started by <@{user}>): it disconnects {channel} from them "
    "too, so this {what} leaves them out. Wait for its summary, or cancel it from the Home tab first."
)

# views.open: https://docs.slack.dev/reference/methods/views.open
VIEWS_OPEN_ERRORS: dict[str, str] = {
    **COMMON_ERRORS,
    "expired_trigger_id": "The form took longer than Slack allows to open. Run the command again.",
    "exchanged_trigger_id": "That command already opened a form. Run the command again for a new one.",
    "invalid_trigger_id": "Slack didn't recognise the command's form request. Run the command again.",
    "view_too_large": "The form was too large for Slack to show. Please report this to the app's maintainers.",
}

# A rotating token Slack wouldn't renew (https://docs.slack.dev/authentication/using-token-rotation): which install to
# redo. {where}: the workspace or the org; {code}: what oauth.v2.access answered.
TOKEN_RENEWAL_FAILED = (
    "This app's token for {where} expired and Slack wouldn't renew it (it answered `{code}`), so I can't act here. "
    "Someone who may install apps there must install the app again from its install page (/slack/install{org_wide})."
)
TOKEN_RENEWAL_UNREACHABLE = (
    "This app's token for {where} expired and I couldn't reach Slack to renew it (`{code}`). Try again in a minute."
)


def token_renewal_text(code: str, enterprise_id: str | None, team_id: str | None) -> str:
    """The sentence for a bot token Slack didn't renew: the org-wide install (`enterprise_id`) or the workspace's."""
    where = f"the whole org {enterprise_id}" if enterprise_id else f"the workspace {team_id or ''}".rstrip()
    if code in ("slack_unreachable", "slack_timeout", "slack_server_error", "unexpected_response", "ratelimited"):
        return TOKEN_RENEWAL_UNREACHABLE.format(where=where, code=code)
    org_wide = ", choosing the whole organization" if enterprise_id else ""
    return TOKEN_RENEWAL_FAILED.format(where=where, code=_safe_code(code), org_wide=org_wide)


ADMIN_TOKEN_RENEWAL_FAILED = "Slack wouldn't renew {token} (it answered `{code}`), so nothing was changed. {fix}"


def admin_token_renewal_text(source: TokenSource, code: str) -> str:
    """The sentence for an Org Admin token Slack didn't renew: whose install it came from, and what to do."""
    return ADMIN_TOKEN_RENEWAL_FAILED.format(token=source.name, code=_safe_code(code), fix=source.fix)


GENERIC_ERROR = "Slack answered `{code}` when I tried to {action}; nothing else is known about this error. Try again, and if it keeps happening, share the code with your Slack admin."


def error_text(table: dict[str, str], code: str, **values: str) -> str:
    """The sentence for `code`, with placeholders filled; an unknown code gets one that names it."""
    template = table.get(code)
    if template is None:
        return GENERIC_ERROR.format(code=_safe_code(code), **values)
    return template.format(**values)


def _safe_code(code: str) -> str:
    """An error code is Slack's word, but never let it carry markup into a message."""
    cleaned = "".join(ch for ch in code if ch.isalnum() or ch in "_-.")
    return cleaned[:60] or "unknown"


# /leave-channel's refusals (services.leaving.policy): what the bot won't leave, and why, in plain sentences.
# Placeholders: {channel} (a mention), {count} ("3 channels"), {channels} (mentions), {number} and {limit} (numbers
# as written, "1,001"), {code} (Slack's answer), {step} (what the app was doing), {what} (the channels).
LEAVE_REFUSALS: dict[str, str] = {
    "not_a_member": "You're not in {channel}, and only people in a channel (or admins) can make me leave it.",
    "not_a_member_many": "You're not in {count}, and only people in a channel (or admins) can make me leave one: {channels}.",
    "audit_channel": "I stay in {channel}: it's the channel where /disconnect-shared attempts are recorded.",
    "too_many": "That's {number} channels, and I leave at most {limit} per /leave-channel, so I haven't left anything. Run it again for {limit} or fewer at a time.",
    "too_many_picked": "You chose {number} channels; I leave at most {limit} at a time. Remove some, then submit again.",
    "check_failed": "Slack couldn't confirm that you may make me leave {what} (`{code}` when I {step}), so I haven't left anything. Try again in a minute.",
    "busy": "I'm working through more /leave-channel requests than I can hold right now, so I haven't left anything. Try again in a minute.",
    "stopping": "I'm restarting, so I haven't left anything. Run /leave-channel again in a minute.",
    "restarted": "I was restarting and couldn't finish leaving {channel}. Run /leave-channel there again in a minute: if I had already left, it does no harm.",
}

# Work after the ack that failed unexpectedly (listeners.errors, services.leaving.one_channel).
UNEXPECTED = (
    "Something went wrong inside the app while handling that, so it may not have finished. "
    "Check what changed, then try again; if it keeps happening, tell whoever runs the app."
)

# /disconnect-shared started more often than services.disconnecting.attempts allows.
TOO_MANY_ATTEMPTS = (
    "You've started /disconnect-shared {count} times in the last minute. Wait a minute, then try again: each attempt "
    "uses some of your workspace's Slack API allowance."
)
