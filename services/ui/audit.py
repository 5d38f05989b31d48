"""How an audit entry reads: one line in the audit channel, one entry in the App Home audit view."""

from __future__ import annotations

from services.audit.log import AuditEvent
from services.disconnecting.attempts import ATTEMPTS_PER_MINUTE, OVER_LIMIT_OUTCOME
from services.disconnecting.shared_channels import MAX_PARTIES_PER_RUN, TOO_MANY_PARTIES_OUTCOME
from services.ui import escape_text, mention, truncate
from services.ui.disconnect import team_label

# Why /disconnect-shared refused someone, as the audit log records it (the `outcome` of a refused entry).
REFUSAL_REASONS: dict[str, str] = {
    "not_admin": "not an Org Admin or Owner",
    "admin_token_missing": "no admin token is set up",
    "org_install_missing": "the app isn't installed on the whole org",
    "admin_scope_missing": "the org-wide install lacks admin.conversations:write",
    "not_an_enterprise": "this workspace isn't part of an Enterprise org",
    "other_org": "they belong to another organization",
    "admin_token_other_org": "the configured admin token belongs to another org",
    "already_running": "an offboarding of that organization or workspace is already running in the org",
    "admin_token_expired": "the org-wide install's admin token expired and Slack wouldn't renew it",
}
_CHECK_FAILED = "admin_check_failed:"
_AFTER_ERROR = "ok_after:"  # disconnected, confirmed by reading the channel again after this error
_UNKNOWN = "outcome_unknown:"  # an ambiguous error, and the channel couldn't be read again


def refusal_reason(outcome: str) -> str:
    code, _, count = outcome.partition(":")
    if code == OVER_LIMIT_OUTCOME and count.isdigit():
        return f"{count} more attempt{'s' if count != '1' else ''} within a minute, past {ATTEMPTS_PER_MINUTE} a minute"
    if code == TOO_MANY_PARTIES_OUTCOME and count.isdigit():
        return f"named {count} organizations or workspaces, more than {MAX_PARTIES_PER_RUN} in one run"
    if outcome.startswith("channel:"):
        return f"the channel can't be disconnected by this org (`{escape_text(outcome[len('channel:') :])}`)"
    if outcome.startswith(_CHECK_FAILED):
        return f"couldn't check their admin rights (`{escape_text(outcome[len(_CHECK_FAILED) :])}`)"
    return REFUSAL_REASONS.get(outcome, f"`{escape_text(outcome)}`")


# The events whose line is fixed but for the outcome ({outcome}, escaped); the others read their outcome's prefix.
_OUTCOME_TEXTS: dict[str, str] = {
    AuditEvent.DRY_RUN.value: ":test_tube: Dry run: would disconnect, nothing changed",
    AuditEvent.CONFIRMED.value: ":hourglass: Confirmed; no result recorded yet",
    AuditEvent.STARTED.value: ":arrow_forward: Offboarding started ({outcome})",
    AuditEvent.FINISHED.value: ":checkered_flag: Offboarding ended ({outcome})",
    AuditEvent.CANCELLED.value: ":octagonal_sign: Offboarding cancelled",
    AuditEvent.SKIPPED.value: ":fast_forward: Not attempted (`{outcome}`)",
    AuditEvent.EXPORTED.value: ":outbox_tray: Audit log exported to their DM (`{outcome}`)",
    AuditEvent.PURGED.value: ":wastebasket: Old entries purged by the retention policy (`{outcome}`)",
}


def outcome_text(event: str, outcome: str) -> str:
    """The outcome column: what happened, in a few words with an emoji that scans."""
    if event == AuditEvent.SUCCEEDED.value:
        if outcome.startswith(_AFTER_ERROR):
            return f":white_check_mark: Disconnected (confirmed after `{escape_text(outcome[len(_AFTER_ERROR) :])}`)"
        return ":white_check_mark: Disconnected"
    if event == AuditEvent.FAILED.value:
        if outcome.startswith(_UNKNOWN):
            return f":grey_question: Outcome unknown after `{escape_text(outcome[len(_UNKNOWN) :])}`: check the channel"
        return f":x: Failed (`{escape_text(outcome)}`)"
    if event == AuditEvent.REFUSED.value:
        return f":no_entry: Refused: {refusal_reason(outcome)}"
    template = _OUTCOME_TEXTS.get(event)
    if template is not None:
        return template.format(outcome=escape_text(outcome))
    return f"`{escape_text(event)}` (`{escape_text(outcome)}`)"


def person(user_id: str, name: str | None) -> str:
    """Someone by name with their ID (names change; IDs don't). Never a mention, which would notify them."""
    return f"*{escape_text(truncate(name, 60))}* (`{user_id}`)" if name else f"`{user_id}`"


def channel_label(channel_id: str | None, name: str | None) -> str:
    if not channel_id:
        return "no channel"
    return f"#{escape_text(truncate(name, 80))} (`{channel_id}`)" if name else mention(channel_id)


def audit_channel_line(
    event: str,
    outcome: str,
    user: str,
    channel: str,
    team: str | None,
    dry_run: bool,
    job_id: str | None = None,
) -> str:
    """One line per attempt; `user`, `channel` and `team` are already labels."""
    workspace = team or "a workspace"
    job = f" (job `{job_id}`)" if job_id else ""
    test = "a dry run of " if dry_run else ""
    if event == AuditEvent.STARTED.value:
        return f":arrow_forward: {user} started {test}offboarding {workspace}: {escape_text(outcome)}{job}."
    if event == AuditEvent.FINISHED.value:
        what = "A dry run of offboarding" if dry_run else "Offboarding"
        return f":checkered_flag: {what} {workspace} ended: {escape_text(outcome)}{job}."
    if event == AuditEvent.CANCELLED.value:
        return f":octagonal_sign: {user} cancelled {test}offboarding {workspace}{job}."
    if job_id and event == AuditEvent.FAILED.value:
        return f":x: Offboarding {workspace}: {channel} failed, Slack answered `{escape_text(outcome)}`{job}."
    if event == AuditEvent.SUCCEEDED.value:
        return f":white_check_mark: {user} disconnected {workspace} from {channel}."
    if event == AuditEvent.FAILED.value:
        return f":x: {user} tried to disconnect {workspace} from {channel}; Slack answered `{escape_text(outcome)}`."
    if event == AuditEvent.DRY_RUN.value:
        return f":test_tube: Dry run by {user}: would disconnect {workspace} from {channel}; nothing changed."
    if outcome.startswith(f"{OVER_LIMIT_OUTCOME}:"):  # a minute's refused attempts: no channel or workspace chosen
        return f":no_entry: {user} was refused {refusal_reason(outcome)}."
    attempt = "a dry run to disconnect" if dry_run else "disconnecting"
    return f":no_entry: {user} was refused {attempt} {workspace} from {channel}: {refusal_reason(outcome)}."


def team_text(team_id: str | None, name: str | None) -> str | None:
    return team_label(team_id, name) if team_id else None


# ---- the Home tab's export (services.audit.home_export) --------------------------------------------------------------

EXPORT_FILENAME = "audit-log-{org}-{day}.csv"
EXPORT_TITLE = "Audit log export"
EXPORT_REFUSED = (
    "Only Org Admins and Owners (and the people the app's ADMIN_USER_IDS names) can export the audit log, so nothing "
    "was exported. This attempt is recorded in the audit log."
)
EXPORT_CHECK_FAILED = (
    "I couldn't check whether you're an admin (`{error}`), so nothing was exported. Press Export again in a minute."
)
EXPORT_TOO_SOON = "An export of the audit log was sent a moment ago: wait a minute before asking for another."
EXPORT_NOT_SENT = (
    "I couldn't send you the audit log export as a file (`{error}`). Ask an admin of this app to check it has the "
    "files:write and im:write scopes (reinstall it if not), or ask for it with `channel-admin audit export`."
)
EXPORT_FAILED = "I couldn't read the audit log just now (`{error}`), so nothing was exported. Try again in a minute."


def export_comment(count: int, days: int, limit: int) -> str:
    """The message the export file arrives with: what it holds, and what it doesn't."""
    entries = f"{count:,} entr{'y' if count == 1 else 'ies'}"
    text = f"The audit log of this org for the last {days} days: {entries}, newest first (times in UTC)."
    if count >= limit:
        text += (
            " That is the most one export holds: older entries of the period are not in this file. An operator can "
            "export everything with `channel-admin audit export --since …`."
        )
    return text
