"""The App Home tab: what the app does for everyone, and the audit log for admins."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    ButtonElement,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    SectionBlock,
)
from slack_sdk.models.views import View

from services.audit.log import DRY_RUN_AUDIT_ACTION, OFFBOARD_DRY_RUN_AUDIT_ACTION
from services.ui import escape_text, truncate
from services.ui.audit import channel_label, outcome_text, person
from services.ui.disconnect import USAGE as DISCONNECT_USAGE
from services.ui.disconnect import team_label
from services.ui.leave import USAGE as LEAVE_USAGE

HOME_PAGE_SIZE = 25
OLDER_ACTION = "audit_older"
NEWEST_ACTION = "audit_newest"
EXPORT_ACTION = (
    "audit_export"  # the audit log of the admin's org as a CSV file in their DM (services.audit.home_export)
)
PAGING_BLOCK = "audit_paging"

ABOUT = (
    "*Channel Admin* makes this app leave channels, and lets Org Admins disconnect workspaces from shared "
    "channels, with a confirmation and an audit log. Everything it tells you is visible only to you."
)
ADMINS_ONLY_NOTE = "Org Admins and Owners also see the `/disconnect-shared` audit log here."


def _about_blocks() -> list[Any]:
    return [
        HeaderBlock(text="Channel Admin"),
        SectionBlock(text=MarkdownTextObject(text=ABOUT)),
        SectionBlock(text=MarkdownTextObject(text=LEAVE_USAGE)),
        SectionBlock(text=MarkdownTextObject(text=DISCONNECT_USAGE)),
    ]


def member_home(note: str | None = None) -> View:
    """What everyone who isn't an admin sees: what the app does and how to use its two commands."""
    blocks = [*_about_blocks(), ContextBlock(elements=[MarkdownTextObject(text=note or ADMINS_ONLY_NOTE)])]
    return View(type="home", blocks=blocks)


def _when(at: datetime) -> str:
    """Shown in the reader's own time zone by Slack; the fallback is UTC."""
    at = at if at.tzinfo else at.replace(tzinfo=UTC)
    fallback = at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{int(at.timestamp())}^{{date_short_pretty}} {{time}}|{fallback}>"


def audit_entry_text(
    row: dict[str, Any], users: dict[str, str], channels: dict[str, str], teams: dict[str, str]
) -> str:
    """time · who · channel · workspace, then the outcome."""
    team = row["leaving_team_id"]
    workspace = team_label(team, teams.get(team)) if team else "no workspace chosen"
    outcome = outcome_text(row["event"], row["outcome"])
    if row["action"] in (DRY_RUN_AUDIT_ACTION, OFFBOARD_DRY_RUN_AUDIT_ACTION) and row["event"] != "dry_run":
        outcome += " _(dry run)_"
    parts = [
        f"*{_when(row['at'])}*",
        person(row["user_id"], users.get(row["user_id"])),
        channel_label(row["channel_id"], channels.get(row["channel_id"] or "")),
        workspace,
    ]
    return truncate(" · ".join(parts) + "\n" + outcome, 3000)


def admin_home(
    rows: Sequence[dict[str, Any]],
    users: dict[str, str],
    channels: dict[str, str],
    teams: dict[str, str],
    more: bool,
    older_page: bool,
    extra_blocks: Sequence[Any] = (),
) -> View:
    """The newest audit entries (or an older page), with buttons to page back and return to the newest."""
    title = "Audit log: older entries" if older_page else "Audit log: latest entries"
    blocks: list[Any] = [
        *_about_blocks(),
        *extra_blocks,
        DividerBlock(),
        HeaderBlock(text=title),
        ContextBlock(
            elements=[
                MarkdownTextObject(
                    text=f"Every `/disconnect-shared` attempt in this org, newest first, {HOME_PAGE_SIZE} at a time."
                )
            ]
        ),
    ]
    if not rows:
        empty = "No older entries." if older_page else "No `/disconnect-shared` attempts yet."
        blocks.append(SectionBlock(text=MarkdownTextObject(text=empty)))
    blocks.extend(SectionBlock(text=MarkdownTextObject(text=audit_entry_text(r, users, channels, teams))) for r in rows)
    buttons = []
    if more and rows:
        buttons.append(ButtonElement(text="Load older", action_id=OLDER_ACTION, value=str(rows[-1]["id"])))
    if older_page:
        buttons.append(ButtonElement(text="Back to newest", action_id=NEWEST_ACTION, value="newest"))
    if rows:
        buttons.append(ButtonElement(text="Export as CSV", action_id=EXPORT_ACTION, value="export"))
    if buttons:
        blocks.append(ActionsBlock(block_id=PAGING_BLOCK, elements=buttons))
    return View(type="home", blocks=blocks)


def admin_check_failed_note(code: str) -> str:
    return (
        f"I couldn't check whether you're an admin (`{escape_text(code)}`), so the audit log is hidden. "
        "Open this tab again in a moment to retry."
    )
