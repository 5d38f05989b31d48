"""Offboarding a partner (/disconnect-shared all …, the Home tab's button): its modals, its summary, its Home blocks.

Block Kit's limits (slack_sdk.models checks them; https://docs.slack.dev/reference/block-kit/views): 100 blocks a
modal, 3,000 characters a section, at most 100 options a select, option text 75, title 24, private_metadata 3,000.
The channels we host are offered 100 to a multi-select, all ticked, so the admin unticks what stays; the lists of
channels the partner hosts and of pending invitations are text, cut at 3,000 characters with a count of the rest (the
summary at the end names every one).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    ButtonElement,
    ConfirmObject,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    InputBlock,
    MarkdownTextObject,
    Option,
    PlainTextInputElement,
    PlainTextObject,
    SectionBlock,
    StaticMultiSelectElement,
)
from slack_sdk.models.views import View

from services.disconnecting.partners import (
    DISCONNECTED,
    NOT_DISCONNECTED,
    SKIPPED,
    WOULD_DISCONNECT,
    FoundChannel,
    Partner,
    Plan,
    estimated_seconds,
    outcome_counts,
)
from services.error_texts import DISCONNECT_ERRORS, TokenSource, error_text
from services.jobs.queue import FINISHED, Job
from services.ui import (
    MESSAGE_TEXT_LIMIT,
    SECTION_TEXT_LIMIT,
    capitalize,
    decode_metadata,
    dry_run_checkbox,
    encode_metadata,
    escape_text,
    mention,
    text_field,
    text_list,
    truncate,
)
from services.ui.disconnect import team_label

START_CALLBACK = "offboard_start"
PLAN_CALLBACK = "offboard_plan"
CONFIRM_CALLBACK = "offboard_confirm"
PROGRESS_CALLBACK = "offboard_progress"
HOME_OPEN_ACTION = "offboard_open"
CANCEL_ACTION = "offboard_cancel"
PARTNER_BLOCK = "offboard_partner"
PARTNER_ACTION = "partner"
CHANNELS_BLOCK_PREFIX = "offboard_channels_"  # + page number
CHANNELS_ACTION = "channels"
DRY_RUN_BLOCK = "offboard_dry_run"

TITLE = "Offboard organization"
OPTIONS_PER_SELECT = 100
MAX_SELECTS = 80  # 8,000 channels to untick from; the rest of the modal needs under 20 blocks
OPTION_TEXT_LIMIT = 75
LISTED_IN_SUMMARY = 400  # channels named per list in the summary message (the audit log has every one)

SEARCH_SCOPE_MISSING = (
    "I couldn't search your org's shared channels: the admin token lacks the admin.conversations:read scope, which "
    "offboarding needs besides admin.conversations:write. An Org Admin should reinstall the admin install through "
    "/slack/install/admin (or add the scope to the app that issued SLACK_ADMIN_TOKEN). Nothing was changed."
)
OFFBOARD_PROBLEMS: dict[str, str] = {
    "no_partner": "Name the organization (its org ID `E…`), or the workspace (`T…`), to disconnect from every channel "
    "you share with it.",
    "our_org": "That's your own organization: offboarding disconnects another organization or workspace.",
    "unknown_name": "I couldn't find a workspace called “{name}” among those connected to your org's shared channels. "
    "Slack offers no look-up of an organization by name, so for an organization use its org ID (`E…`, in its "
    "Slack Connect details).",
    "ambiguous": "Several connected workspaces match “{name}”: {candidates}. Use the ID of the one you mean.",
    "nothing_shared": "{partner} isn't connected to any channel of your org, so there is nothing to disconnect.",
    "nothing_ours": "Your org created none of the channels shared with {partner}, so there is nothing you can "
    "disconnect: only the organization that created a channel can disconnect others.",
    "changed": "The channels shared with {partner} changed since you reviewed them, so I haven't started. Run it "
    "again to review the current list.",
    "already_running": "An offboarding of {partner} is already running in your org (see the Home tab, where any "
    "admin can cancel it), so I haven't started another.",
    "none_chosen": "Tick at least one channel to disconnect.",
    "too_many_unticked": "You unticked too many channels to carry to the confirmation; untick fewer, or run it in "
    "two parts.",
}


def problem_text(problem: str, partner_text: str = "", partner: str = "", candidates: str = "") -> str:
    if problem.startswith("search:"):
        code = problem.split(":", 1)[1]
        if code == "missing_scope":  # the search needs :read, which admin installs made before offboarding lack
            return SEARCH_SCOPE_MISSING
        return error_text(
            DISCONNECT_ERRORS,
            code,
            action="search your org's shared channels",
            team="the organization",
            channel="your org's channels",
            token=TokenSource.setting().name,
            fix="The org-wide admin install must grant admin.conversations:read as well (reinstall it through "
            "/slack/install/admin).",
        )
    template = OFFBOARD_PROBLEMS.get(problem, problem)
    return template.format(name=escape_text(partner_text[:80]), partner=partner, candidates=candidates)


def partner_label(partner_id: str, name: str | None) -> str:
    return team_label(partner_id, name)


def duration_text(seconds: float) -> str:
    if seconds < 90:
        return "about a minute" if seconds > 30 else "under a minute"
    minutes = round(seconds / 60)
    if minutes < 90:
        return f"about {minutes} minutes"
    return f"about {minutes / 60:.1f} hours"


def estimate_text(count: int) -> str:
    return (
        f"At Slack's pace for admin calls (no published limit; admin methods usually take about 20 a minute), "
        f"{count} channel{'s' if count != 1 else ''} take {duration_text(estimated_seconds(count))}. "
        "The job goes as fast as Slack accepts and slows down when Slack asks it to."
    )


def status_modal(text: str, callback_id: str = PROGRESS_CALLBACK) -> View:
    return View(
        type="modal",
        callback_id=callback_id,
        title=TITLE,
        close="Close",
        blocks=[SectionBlock(text=MarkdownTextObject(text=truncate(text, SECTION_TEXT_LIMIT)))],
    )


def loading_modal(partner_text: str | None = None) -> View:
    who = f" `{escape_text(partner_text[:80])}`" if partner_text else ""
    return status_modal(f"Checking your admin rights and finding the channels shared with{who or ' them'}…")


def _dry_run_block(dry_run: bool) -> InputBlock:
    return dry_run_checkbox(
        DRY_RUN_BLOCK,
        "Dry run: walk through it all, change nothing",
        "Every channel is checked and audited as a dry run.",
        dry_run,
    )


def start_modal(dry_run: bool = False) -> View:
    """From the Home tab: who to offboard."""
    return View(
        type="modal",
        callback_id=START_CALLBACK,
        title=TITLE,
        submit="Find channels",
        close="Cancel",
        blocks=[
            InputBlock(
                block_id=PARTNER_BLOCK,
                label="Organization or workspace",
                element=PlainTextInputElement(
                    action_id=PARTNER_ACTION, placeholder="E0123ABCD (an org), T0123ABCD or a workspace name"
                ),
                hint="Every channel your org created and shares with it will be disconnected from it.",
            ),
            _dry_run_block(dry_run),
        ],
    )


def _channel_option(channel: FoundChannel) -> Option:
    notes = [n for n, on in (("private", channel.is_private), ("archived", channel.is_archived)) if on]
    suffix = f" ({', '.join(notes)})" if notes else ""
    name = f"#{channel.name}" if channel.name else channel.id
    text = truncate(name, OPTION_TEXT_LIMIT - len(suffix)) + suffix
    return Option(value=channel.id, text=PlainTextObject(text=text, emoji=False))


def _label(channel: FoundChannel) -> str:
    notes = [n for n, on in (("archived", channel.is_archived),) if on]
    return mention(channel.id) + (f" _({', '.join(notes)})_" if notes else "")


def _listed(heading: str, channels: Sequence[FoundChannel], what: str) -> SectionBlock:
    """A list as one section: cut under 3,000 characters with a count of what wasn't shown."""
    text = heading
    for shown, channel in enumerate(channels):
        piece = ("\n" if shown == 0 else ", ") + _label(channel)
        if len(text) + len(piece) + 80 > SECTION_TEXT_LIMIT:
            text += f"\n…and {len(channels) - shown} more ({what})"
            break
        text += piece
    return SectionBlock(text=MarkdownTextObject(text=text))


@dataclass(frozen=True)
class PlanMetadata:
    """The plan carries a fingerprint of every channel it offers to disconnect, listed or not (past 8,000 the modal
    lists only the first), and their count."""

    response_url: str | None
    partner_id: str
    partner_name: str | None = None
    digest: str = ""
    total: int = 0

    def encode(self) -> str:
        return encode_metadata(
            {
                "r": self.response_url,
                "p": self.partner_id,
                "n": (self.partner_name or "")[:80],
                "h": self.digest,
                "t": self.total,
            }
        )

    @classmethod
    def decode(cls, text: str | None) -> PlanMetadata:
        data = decode_metadata(text)
        total = data.get("t")
        return cls(
            text_field(data, "r"),
            text_field(data, "p") or "",
            text_field(data, "n"),
            text_field(data, "h") or "",
            total if isinstance(total, int) and total >= 0 else 0,
        )


@dataclass(frozen=True)
class ConfirmMetadata:
    """The confirmation carries what was unticked and the plan's fingerprint (300 IDs don't fit in 3,000)."""

    response_url: str | None
    partner_id: str
    partner_name: str | None
    excluded: tuple[str, ...]
    digest: str
    count: int
    dry_run: bool = False

    def encode(self) -> str:
        return encode_metadata(
            {
                "r": self.response_url,
                "p": self.partner_id,
                "n": (self.partner_name or "")[:80],
                "x": list(self.excluded),
                "h": self.digest,
                "k": self.count,
                "d": self.dry_run,
            }
        )

    @classmethod
    def decode(cls, text: str | None) -> ConfirmMetadata:
        data = decode_metadata(text)
        count = data.get("k")
        return cls(
            text_field(data, "r"),
            text_field(data, "p") or "",
            text_field(data, "n"),
            text_list(data, "x"),
            text_field(data, "h") or "",
            count if isinstance(count, int) else 0,
            data.get("d") is True,
        )


METADATA_LIMIT = 3000


def plan_modal(plan: Plan, partner: Partner, metadata: str, dry_run: bool = False) -> View:
    """What offboarding would do, with counts: ours (ticked, untick to keep), theirs (named), pending."""
    label = partner_label(plan.partner_id, partner.name)
    archived = sum(1 for c in plan.ours if c.is_archived)
    blocks: list[Any] = [
        SectionBlock(
            text=MarkdownTextObject(
                text=truncate(
                    f"*Channels shared with {label}: {plan.total}*\n"
                    f"• *{len(plan.ours)}* your org created: they will be disconnected"
                    + (f" ({archived} archived)" if archived else "")
                    + f"\n• *{len(plan.theirs)}* created by another organization: only it can disconnect them"
                    + f"\n• *{len(plan.pending)}* pending invitations: not connected yet, nothing to disconnect",
                    SECTION_TEXT_LIMIT,
                )
            )
        )
    ]
    if plan.ours:
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=estimate_text(len(plan.ours)))]))
        pages = [plan.ours[i : i + OPTIONS_PER_SELECT] for i in range(0, len(plan.ours), OPTIONS_PER_SELECT)]
        for number, page in enumerate(pages[:MAX_SELECTS], start=1):
            options = [_channel_option(c) for c in page]
            first = (number - 1) * OPTIONS_PER_SELECT + 1
            label_text = (
                "Channels to disconnect (untick to keep)"
                if len(pages) == 1
                else f"Channels {first}–{first + len(page) - 1} of {len(plan.ours)} to disconnect"
            )
            blocks.append(
                InputBlock(
                    block_id=f"{CHANNELS_BLOCK_PREFIX}{number}",
                    label=label_text,
                    optional=True,
                    element=StaticMultiSelectElement(
                        action_id=CHANNELS_ACTION, options=options, initial_options=options
                    ),
                )
            )
        if len(pages) > MAX_SELECTS:
            rest = len(plan.ours) - MAX_SELECTS * OPTIONS_PER_SELECT
            blocks.append(
                ContextBlock(elements=[MarkdownTextObject(text=f"{rest} more are disconnected too (not listed).")])
            )
    if plan.theirs:
        blocks.append(
            _listed(
                f"*Created by another organization ({len(plan.theirs)}):* only the organization that created a "
                "channel can disconnect others from it. Ask its admins:",
                plan.theirs,
                "in the summary",
            )
        )
    if plan.pending:
        blocks.append(
            _listed(
                f"*Invitations pending ({len(plan.pending)}):* not connected yet, so nothing to disconnect:",
                plan.pending,
                "in the summary",
            )
        )
    if plan.ours:
        blocks.append(_dry_run_block(dry_run))
    else:
        # No input block then: Slack requires `submit` with one, and there is nothing to submit
        # (https://docs.slack.dev/reference/views/modal-views, `submit`).
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=problem_text("nothing_ours", partner=label))]))
    return View(
        type="modal",
        callback_id=PLAN_CALLBACK,
        title=TITLE,
        submit="Review" if plan.ours else None,
        close="Cancel",
        private_metadata=metadata,
        blocks=blocks,
    )


def confirm_modal(metadata: ConfirmMetadata, external_id: str | None = None) -> View:
    label = partner_label(metadata.partner_id, metadata.partner_name)
    count = f"{metadata.count} channel{'s' if metadata.count != 1 else ''}"
    kept = f" The {len(metadata.excluded)} you unticked stay connected." if metadata.excluded else ""
    if metadata.dry_run:
        lines = [
            f"*Dry run: disconnect {label} from {count}?*",
            "*Nothing will change.* Each channel is checked and recorded in the audit log as a dry run; you get the "
            f"summary a real run would give.{kept}",
        ]
    else:
        lines = [
            f"*Disconnect {label} from {count}?*",
            f"People of {label} lose access to each of these channels at once; the channels and their history stay "
            "with your org. Getting them back means sharing each channel again." + kept,
            estimate_text(metadata.count),
            "It runs as a job: you can close this window, watch it in the app's Home tab, and any admin can cancel "
            "it (what is done stays done). Every channel is recorded in the audit log.",
        ]
    return View(
        type="modal",
        callback_id=CONFIRM_CALLBACK,
        external_id=external_id,
        title="Confirm dry run" if metadata.dry_run else "Confirm offboarding",
        submit="Dry run" if metadata.dry_run else "Disconnect",
        close="Back",
        private_metadata=metadata.encode(),
        blocks=[SectionBlock(text=MarkdownTextObject(text=truncate(line, SECTION_TEXT_LIMIT))) for line in lines],
    )


def progress_line(job: Job) -> str:
    counts = outcome_counts(job.items)
    total = len(job.items)
    label = partner_label(str(job.payload.get("partner") or ""), job.payload.get("partner_name"))
    if job.payload.get("dry_run"):
        return f"Dry run for {label}: checked {counts[WOULD_DISCONNECT]} of {total}…"
    line = f"Disconnected {counts[DISCONNECTED]} of {total} from {label}…"
    if counts[NOT_DISCONNECTED]:
        line += f" ({counts[NOT_DISCONNECTED]} failed)"
    if job.payload.get("stopping") == "cancelled":
        line += " Cancelling: the channel in progress finishes; what is done stays done."
    return line


def cancel_button(job_id: str) -> ButtonElement:
    return ButtonElement(
        text="Cancel",
        action_id=CANCEL_ACTION,
        value=job_id,
        style="danger",
        confirm=ConfirmObject(
            title="Cancel offboarding?",
            text="No more channels are disconnected; those already disconnected stay disconnected.",
            confirm="Cancel it",
            deny="Keep going",
        ),
    )


def progress_modal(job: Job) -> View:
    blocks: list[Any] = [
        SectionBlock(text=MarkdownTextObject(text=f"*{progress_line(job)}*")),
        ContextBlock(
            elements=[
                PlainTextObject(
                    text="You can close this window: the job goes on, the Home tab shows it, and you'll get a summary."
                )
            ]
        ),
    ]
    if job.status not in FINISHED and job.payload.get("stopping") != "cancelled":
        blocks.append(ActionsBlock(block_id="offboard_progress_actions", elements=[cancel_button(job.id)]))
    return View(type="modal", callback_id=PROGRESS_CALLBACK, title=TITLE, close="Close", blocks=blocks)


def result_modal(job: Job) -> View:
    text = summary_message(job)["text"]
    return status_modal(truncate(text, SECTION_TEXT_LIMIT))


def _mentions(items: Sequence[dict[str, Any]], limit: int = LISTED_IN_SUMMARY) -> str:
    shown = ", ".join(mention(i["id"]) for i in items[:limit])
    rest = len(items) - limit
    return shown + (f", …and {rest} more (the audit log lists them)" if rest > 0 else "")


def _stop_text(reason: str) -> str:
    if reason == "cancelled":
        return "It was cancelled by an admin: no further channel was disconnected, and those done stay disconnected."
    if reason.startswith("not_allowed"):
        return "It stopped because you may no longer do this (your admin rights or the admin token changed)."
    if reason == "not_installed":
        return "It stopped: the app is no longer installed for this workspace."
    return f"It stopped because every further call would fail the same way (`{escape_text(reason)}`)."


def summary_message(job: Job) -> dict[str, Any]:
    """Counts, the channels disconnected, those that failed grouped by reason with Slack's sentence, theirs, pending."""
    partner = str(job.payload.get("partner") or "")
    label = partner_label(partner, job.payload.get("partner_name"))
    counts = outcome_counts(job.items)
    dry_run = job.payload.get("dry_run") is True
    stopped = job.payload.get("stopped")
    theirs = [i for i in job.payload.get("theirs") or [] if isinstance(i, dict)]
    pending = [i for i in job.payload.get("pending") or [] if isinstance(i, dict)]
    lines: list[str] = []
    if dry_run:
        lines.append(
            f"*Dry run: nothing was changed.* A real run would disconnect {label} from "
            f"{counts[WOULD_DISCONNECT]} channel{'s' if counts[WOULD_DISCONNECT] != 1 else ''}: "
            + _mentions([i for i in job.items if i.get("outcome") == WOULD_DISCONNECT])
        )
    else:
        lines.append(
            f"*Offboarding {label}: disconnected from {counts[DISCONNECTED]} of {len(job.items)} channels*"
            + (f", {counts[NOT_DISCONNECTED]} failed" if counts[NOT_DISCONNECTED] else "")
            + (f", {counts[SKIPPED]} not attempted" if counts[SKIPPED] else "")
            + "."
        )
    if isinstance(stopped, str) and stopped:
        lines.append(_stop_text(stopped))
    done = [i for i in job.items if i.get("outcome") == DISCONNECTED]
    if done:
        lines.append(f"*Disconnected ({len(done)}):* {_mentions(done)}")
    failed = [i for i in job.items if i.get("outcome") == NOT_DISCONNECTED]
    if failed:
        lines.append(f"*Not disconnected ({len(failed)}), by reason:*")
        by_code: dict[str, list[dict[str, Any]]] = {}
        for item in failed:
            by_code.setdefault(str(item.get("error") or "unexpected_response"), []).append(item)
        for code, items in by_code.items():
            sentence = error_text(
                DISCONNECT_ERRORS,
                code,
                team=label,
                channel=mention(items[0]["id"]),
                action=f"disconnect {label} from {mention(items[0]['id'])}",
                token="the Org Admin's token",
                fix="An Org Admin must reinstall the app on the whole org through /slack/install/admin.",
            )
            same = f" The same for {len(items) - 1} more: {_mentions(items[1:])}." if len(items) > 1 else ""
            lines.append(f"• {capitalize(sentence)} (`{escape_text(code)}`){same}")
    skipped = [i for i in job.items if i.get("outcome") == SKIPPED]
    if skipped:
        lines.append(f"*Not attempted ({len(skipped)}):* {_mentions(skipped)}")
    if theirs:
        lines.append(
            f"*Created by another organization ({len(theirs)}), so only it can disconnect {label}:* "
            f"{_mentions(theirs)}. Ask its admins."
        )
    if pending:
        lines.append(f"*Invitations still pending ({len(pending)}):* {_mentions(pending)}.")
    if job.interrupted:
        lines.append("_This was interrupted (the app restarted) and picked up where it stopped; no channel twice._")
    return {"text": truncate("\n".join(lines), MESSAGE_TEXT_LIMIT)}


def home_blocks(running: Sequence[Job], total: int = 0, offset: int = 0, finished: Sequence[Job] = ()) -> list[Any]:
    """The Home tab's offboarding part, for admins: the button, a page of the org's unfinished jobs (`running`, of
    `total`, from `offset`) each with its progress and Cancel, and those `finished` lately (services.ui.home_jobs)."""
    from services.ui.home_jobs import job_list_blocks

    blocks: list[Any] = [
        DividerBlock(),
        HeaderBlock(text="Offboard an organization"),
        SectionBlock(
            text=MarkdownTextObject(
                text="Disconnect one organization or workspace from every channel your org shares with it, "
                "as one job you can follow here and cancel."
            )
        ),
        ActionsBlock(
            block_id="offboard_home_actions",
            elements=[ButtonElement(text="Offboard an organization", action_id=HOME_OPEN_ACTION, value="open")],
        ),
    ]
    blocks.extend(
        job_list_blocks(
            running,
            max(total, len(running)),
            offset,
            finished,
            progress=progress_line,
            ended=lambda job: str(summary_message(job)["text"]).split("\n", 1)[0],
            cancel=cancel_button,
        )
    )
    return blocks


def metadata_fits(metadata: ConfirmMetadata) -> bool:
    return len(metadata.encode()) <= METADATA_LIMIT
