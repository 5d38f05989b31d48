"""Offboarding a partner (/disconnect-shared all …, the Home tab's button): its modals, its summary, its Home blocks.

Block Kit's limits (slack_sdk.models checks them; https://docs.slack.dev/reference/block-kit/views): 100 blocks a
modal, 3,000 characters a section, at most 100 options a select, option text 75, title 24, private_metadata 3,000.
Slack sends the whole view back on every view_submission (blocks, options, and the state: ../shared/slack-facts.md,
"Payload and message sizes"), so the plan is bounded whatever the partner's size: counts, the first
PLAN_LISTED channels by name, the full list as a file in the admin's DM, and a "keep these channels" picker whose
options Slack asks for as the admin types (a multi_external_select; listeners/options answers from the stored plan) —
no option is in the view, at most KEEP_MAX_SELECTED come back in its state. The request it makes Slack send stays
under SUBMIT_BODY_BOUND bytes (tests/test_offboarding_scale.py measures it at 10,000 channels).
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
    ExternalDataMultiSelectElement,
    HeaderBlock,
    InputBlock,
    MarkdownTextObject,
    Option,
    PlainTextInputElement,
    PlainTextObject,
    SectionBlock,
)
from slack_sdk.models.views import View

from services.disconnecting.partners import (
    DISCONNECTED,
    NOT_DISCONNECTED,
    OFFBOARD_EVERYTHING,
    SKIPPED,
    WOULD_DISCONNECT,
    Findings,
    FoundChannel,
    Partner,
    Search,
    estimated_seconds,
    estimated_total_seconds,
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
    sections,
    text_field,
    text_list,
    truncate,
)
from services.ui.disconnect import team_label
from services.ui.limits import (
    SHORT_LIST_LENGTH,
    FullList,
    ListFile,
    csv_text,
    full_list_note,
    lines_fit,
    list_filename,
)
from services.ui.partners import everything_status_modal, partner_problem, plan_mode_blocks

START_CALLBACK = "offboard_start"
PLAN_CALLBACK = "offboard_plan"
CONFIRM_CALLBACK = "offboard_confirm"
PROGRESS_CALLBACK = "offboard_progress"
HOME_OPEN_ACTION = "offboard_open"
CANCEL_ACTION = "offboard_cancel"
PARTNER_BLOCK = "offboard_partner"
PARTNER_ACTION = "partner"
KEEP_BLOCK = "offboard_keep"
KEEP_ACTION = "offboard_keep"  # the "keep these channels" picker; its options come from listeners/options
DRY_RUN_BLOCK = "offboard_dry_run"

TITLE = "Offboard organization"
OPTIONS_PER_SELECT = 100  # Block Kit: at most 100 options a select (and in an options response)
KEEP_MAX_SELECTED = 100  # the picker's max_selected_items: the confirmation carries them in private_metadata
OPTION_TEXT_LIMIT = 75
PLAN_LISTED = 10  # channels named in the plan; the rest in the file
LISTED_IN_SUMMARY = 400  # channels named per list in the summary message (the audit log has every one)
# The largest view_submission the plan can make Slack send: the view (its fixed blocks, 10 names, metadata) and
# 100 kept options in its state, form-encoded. Far under the app's 1 MiB request cap (server.app.MAX_BODY_BYTES).
SUBMIT_BODY_BOUND = 64 * 1024

SEARCH_SCOPE_MISSING = (
    "I couldn't search your org's shared channels: the admin token lacks the admin.conversations:read scope, which "
    "offboarding needs besides admin.conversations:write. An Org Admin should reinstall the admin install through "
    "/slack/install/admin (or add the scope to the app that issued SLACK_ADMIN_TOKEN). Nothing was changed."
)
OFFBOARD_PROBLEMS: dict[str, str] = {
    "no_partner": "Name the organization (its org ID `E…`), or the workspace (`T…`), to disconnect from every channel "
    "you share with it.",
    "our_org": "That's your own organization: offboarding disconnects another organization or workspace.",
    "unknown_name": "I couldn't find an organization or workspace called “{name}” among those connected to your org "
    "(Slack's partner directory, team.externalTeams.list). Check the name in the Home tab's list of connected "
    "organizations, or use its ID (`E…` or `T…`).",
    "ambiguous": "Several connected workspaces match “{name}”: {candidates}. Use the ID of the one you mean.",
    "nothing_shared": "{partner} isn't connected to any channel of your org, so there is nothing to disconnect.",
    "nothing_ours": "Your org created none of the channels shared with {partner}, so there is nothing you can "
    "disconnect: only the organization that created a channel can disconnect others.",
    "changed": "The channels shared with {partner} changed since you reviewed them, so I haven't started. Run it "
    "again to review the current list.",
    "plan_gone": "This plan for {partner} is no longer kept (plans last a day), so I haven't started. Run it again.",
    "all_kept": "You chose to keep every channel shared with {partner}, so there is nothing to disconnect.",
    "already_running": "An offboarding of {partner} is already running in your org (see the Home tab, where any "
    "admin can cancel it), so I haven't started another.",
    "none_chosen": "You chose to keep every channel found: leave at least one to disconnect.",
    "too_many_unticked": "You chose too many channels to keep to carry to the confirmation; keep fewer, or run it "
    "in two parts.",
}
# The search's refusal of private channels (`not_allowed`: https://docs.slack.dev/reference/methods/admin.conversations.search
# and ../shared/slack-facts.md), said in the plan, the confirmation and the summary.
PRIVATE_NOT_SEARCHED = (
    "Private channels couldn't be searched: Slack lets the admin token's user search them only with permission to "
    "manage private channels, which by default only the Primary Owner has (it can be granted in the Channel "
    "Management role), so only public channels are offboarded here."
)


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
    if (sentence := partner_problem(problem, partner_text)) is not None:
        return sentence
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


def estimate_text(count: int, pages_left: int = 0) -> str:
    """How long, at Slack's documented pace: the admin calls, and the search pages still to fetch."""
    channels = f"{count:,} channel{'s' if count != 1 else ''}"
    if not pages_left:
        return (
            f"At Slack's pace for admin calls (no published limit; admin methods usually take about 20 a minute), "
            f"{channels} take {duration_text(estimated_seconds(count))}. "
            "The job goes as fast as Slack accepts and slows down when Slack asks it to."
        )
    return (
        f"The search has about {pages_left:,} pages of 20 channels to go (Slack answers about 20 a minute): the job "
        f"searches on while it disconnects what it has found, so {channels} take about "
        f"{duration_text(estimated_total_seconds(count, pages_left))} in all. It goes as fast as Slack accepts."
    )


def status_modal(text: str, callback_id: str = PROGRESS_CALLBACK) -> View:
    """A message in the modal; Close closes the whole stack (`clear_on_close`,
    https://docs.slack.dev/reference/views/modal-views), never back to a plan already confirmed."""
    return everything_status_modal(text, callback_id)


def searching_modal(label: str, found: int) -> View:
    return status_modal(f"Finding the channels shared with {label}… Found {found:,} channels so far.")


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
                    action_id=PARTNER_ACTION, placeholder="Partner Corp, E0123ABCD (an org) or T0123ABCD"
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
    """The plan carries the stored plan's ID (services.disconnecting.partners.PlanStore), not its channels, and what
    the confirmation (pushed in the submission's ack, with no call before it) says."""

    response_url: str | None
    partner_id: str
    partner_name: str | None = None
    plan_id: str = ""
    total: int = 0  # channels to disconnect: found, or Slack's count while the search goes on
    searching: bool = False
    pages_left: int = 0
    private_refused: bool = False

    @classmethod
    def of(cls, response_url: str | None, partner: Partner, plan_id: str, findings: Findings) -> PlanMetadata:
        return cls(
            response_url,
            findings.partner_id,
            partner.name,
            plan_id,
            to_disconnect(findings),
            not findings.search.done,
            findings.search.pages_left(),
            findings.search.private_refused is not None,
        )

    def encode(self) -> str:
        return encode_metadata(
            {
                "r": self.response_url,
                "p": self.partner_id,
                "n": (self.partner_name or "")[:80],
                "i": self.plan_id,
                "t": self.total,
                "s": self.searching,
                "g": self.pages_left,
                "v": self.private_refused,
            }
        )

    @classmethod
    def decode(cls, text: str | None) -> PlanMetadata:
        data = decode_metadata(text)
        total, pages = data.get("t"), data.get("g")
        return cls(
            text_field(data, "r"),
            text_field(data, "p") or "",
            text_field(data, "n"),
            text_field(data, "i") or "",
            total if isinstance(total, int) and total >= 0 else 0,
            data.get("s") is True,
            pages if isinstance(pages, int) and pages >= 0 else 0,
            data.get("v") is True,
        )


def to_disconnect(findings: Findings) -> int:
    """Channels of ours: those found, or while the search goes on, Slack's count less theirs and pending found."""
    search = findings.search
    expected = search.expected
    if search.done or not expected:
        return len(findings.ours)
    return max(expected - len(findings.theirs) - len(findings.pending), len(findings.ours))


@dataclass(frozen=True)
class ConfirmMetadata:
    """The confirmation carries the plan's ID and the channels kept (at most KEEP_MAX_SELECTED: they fit in 3,000)."""

    response_url: str | None
    partner_id: str
    partner_name: str | None
    excluded: tuple[str, ...]
    plan_id: str
    count: int
    dry_run: bool = False
    searching: bool = False  # the search goes on in the job: `count` is Slack's count, not all found yet
    pages_left: int = 0
    private_refused: bool = False

    def encode(self) -> str:
        return encode_metadata(
            {
                "r": self.response_url,
                "p": self.partner_id,
                "n": (self.partner_name or "")[:80],
                "x": list(self.excluded),
                "i": self.plan_id,
                "k": self.count,
                "d": self.dry_run,
                "s": self.searching,
                "g": self.pages_left,
                "v": self.private_refused,
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
            text_field(data, "i") or "",
            count if isinstance(count, int) else 0,
            data.get("d") is True,
            data.get("s") is True,
            pages if isinstance(pages := data.get("g"), int) and pages >= 0 else 0,
            data.get("v") is True,
        )


METADATA_LIMIT = 3000


def channel_option(channel: FoundChannel) -> Option:
    return _channel_option(channel)


def _first(channels: Sequence[FoundChannel], limit: int = PLAN_LISTED) -> str:
    return ", ".join(_label(c) for c in channels[:limit])


def plan_modal(findings: Findings, partner: Partner, metadata: str, dry_run: bool = False) -> View:
    """What offboarding would do, bounded whatever the size: counts (and how the search stands), the first channels
    by name, the full list in a file, and a picker to keep a few; theirs and pending counted and named briefly."""
    plan = findings.plan()
    search = findings.search
    label = partner_label(plan.partner_id, partner.name)
    archived = sum(1 for c in plan.ours if c.is_archived)
    private = sum(1 for c in plan.ours if c.is_private)
    so_far = "" if search.done else " so far"
    expected = search.expected
    heading = f"*Channels shared with {label}: {plan.total:,}{so_far}*"
    if not search.done:
        heading += (
            f" (of about {expected:,}; the job searches the rest)" if expected else " (the job searches the rest)"
        )
    notes = ", ".join(f"{n:,} {what}" for n, what in ((private, "private"), (archived, "archived")) if n)
    blocks: list[Any] = [
        SectionBlock(
            text=MarkdownTextObject(
                text=truncate(
                    heading
                    + f"\n• *{len(plan.ours):,}* your org created: they will be disconnected"
                    + (f" ({notes})" if notes else "")
                    + (", and every one the search finds next" if not search.done else "")
                    + f"\n• *{len(plan.theirs):,}* created by another organization: only it can disconnect them"
                    + f"\n• *{len(plan.pending):,}* pending invitations: not connected yet, nothing to disconnect",
                    SECTION_TEXT_LIMIT,
                )
            )
        ),
        *plan_mode_blocks(plan.partner_id, partner.name, metadata, dry_run),  # the second way (services.ui.partners)
    ]
    if search.private_refused:
        blocks.append(SectionBlock(text=MarkdownTextObject(text=PRIVATE_NOT_SEARCHED)))
    will_disconnect = plan.ours or not search.done
    if will_disconnect:
        count = to_disconnect(findings)
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=estimate_text(count, search.pages_left()))]))
    if plan.ours:
        rest = len(plan.ours) - PLAN_LISTED
        where = "the full list is in a file I've sent you in a DM" if search.done else "the summary lists every one"
        blocks.append(
            SectionBlock(
                text=MarkdownTextObject(
                    text=truncate(
                        f"*First to disconnect:* {_first(plan.ours)}"
                        + (f" …and {rest:,} more ({where})." if rest > 0 else ""),
                        SECTION_TEXT_LIMIT,
                    )
                )
            )
        )
        blocks.append(
            InputBlock(
                block_id=KEEP_BLOCK,
                label="Channels to keep connected (optional)",
                optional=True,
                element=ExternalDataMultiSelectElement(
                    action_id=KEEP_ACTION,
                    placeholder="Type a channel name to keep it",
                    min_query_length=0,
                    max_selected_items=KEEP_MAX_SELECTED,
                ),
                hint=f"Everything else found is disconnected. Keep up to {KEEP_MAX_SELECTED} here; to spare more, "
                "run it again after.",
            )
        )
    if plan.theirs:
        rest = len(plan.theirs) - PLAN_LISTED
        blocks.append(
            SectionBlock(
                text=MarkdownTextObject(
                    text=f"*Created by another organization ({len(plan.theirs):,}):* only the organization that "
                    f"created a channel can disconnect others from it. Ask its admins: {_first(plan.theirs)}"
                    + (f" …and {rest:,} more (in the summary)." if rest > 0 else "")
                )
            )
        )
    if plan.pending:
        rest = len(plan.pending) - PLAN_LISTED
        blocks.append(
            SectionBlock(
                text=MarkdownTextObject(
                    text=f"*Invitations pending ({len(plan.pending):,}):* not connected yet, so nothing to "
                    f"disconnect: {_first(plan.pending)}"
                    + (f" …and {rest:,} more (in the summary)." if rest > 0 else "")
                )
            )
        )
    if will_disconnect:
        blocks.append(_dry_run_block(dry_run))
    else:
        # No input block then: Slack requires `submit` with one, and there is nothing to submit
        # (https://docs.slack.dev/reference/views/modal-views, `submit`).
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=problem_text("nothing_ours", partner=label))]))
    return View(
        type="modal",
        callback_id=PLAN_CALLBACK,
        title=TITLE,
        submit="Review" if will_disconnect else None,
        close="Cancel",
        private_metadata=metadata,
        blocks=blocks,
    )


def keep_options(findings: Findings, typed: str, more: Sequence[dict[str, Any]] = ()) -> list[Option]:
    """The channels of ours whose name (or ID) holds what was typed, first OPTIONS_PER_SELECT: the plan's, in its
    order, then `more` (found by name while the plan's search goes on), each once."""
    wanted = typed.strip().lstrip("#").casefold()
    extra = Findings(findings.partner_id, findings.our_org, ours=list(more)).plan().ours
    seen: set[str] = set()
    options: list[Option] = []
    for channel in (*findings.plan().ours, *extra):
        if channel.id in seen or len(options) >= OPTIONS_PER_SELECT:
            continue
        if not wanted or wanted in (channel.name or "").casefold() or wanted == channel.id.casefold():
            seen.add(channel.id)
            options.append(_channel_option(channel))
    return options


def plan_file(findings: Findings, label: str) -> tuple[str, str, str, str]:
    """The whole plan as a CSV (filename, content, title, comment): every channel, its kind and what happens to it."""

    def row(item: dict[str, Any], what: str) -> tuple[str, str, str, str, str]:
        flag = {True: "true", False: "false"}
        return (
            str(item["id"]),
            str(item.get("name") or ""),
            flag[item.get("private") is True],
            flag[item.get("archived") is True],
            what,
        )

    rows = [row(i, "disconnect") for i in findings.ours]
    rows += [row(i, "created by another organization") for i in findings.theirs]
    rows += [row(i, "invitation pending") for i in findings.pending]
    comment = (
        f"The offboarding plan for {label}: {len(findings.ours):,} channels your org created (disconnected unless you "
        f"keep them), {len(findings.theirs):,} created by another organization, {len(findings.pending):,} pending."
    )
    if findings.search.private_refused:
        comment += " " + PRIVATE_NOT_SEARCHED
    content = csv_text(("channel_id", "name", "private", "archived", "plan"), rows)  # spreadsheet-safe cells
    return "offboarding-plan.csv", content, f"Offboarding plan: {label}"[:200], comment


def confirm_modal(metadata: ConfirmMetadata, external_id: str | None = None) -> View:
    label = partner_label(metadata.partner_id, metadata.partner_name)
    count = f"{metadata.count:,} channel{'s' if metadata.count != 1 else ''}"
    if metadata.searching:
        count = f"about {count} (the search goes on in the job, and each one it finds is disconnected too)"
    kept = f" The {len(metadata.excluded)} you chose to keep stay connected." if metadata.excluded else ""
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
            estimate_text(metadata.count, metadata.pages_left),
            "It runs as a job: you can close this window, watch it in the app's Home tab, and any admin can cancel "
            "it (what is done stays done). Every channel is recorded in the audit log.",
        ]
    if metadata.private_refused:
        lines.append(PRIVATE_NOT_SEARCHED)
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
    search = Search.of(job.payload.get("search")) if job.payload.get("search") else None
    searching = search is not None and not search.done and job.status not in FINISHED
    found = " found so far" if searching else ""
    if job.payload.get("dry_run"):
        line = f"Dry run for {label}: checked {counts[WOULD_DISCONNECT]:,} of {total:,}{found}…"
    else:
        line = f"Disconnected {counts[DISCONNECTED]:,} of {total:,}{found} from {label}…"
        if counts[NOT_DISCONNECTED]:
            line += f" ({counts[NOT_DISCONNECTED]:,} failed)"
    if searching and search is not None:
        expected = search.expected
        line += f" Still searching: {search.found:,} channels found" + (f" of about {expected:,}." if expected else ".")
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
    # Close closes the whole stack: never back to the plan (ticked, Review enabled) the job already works from.
    return View(
        type="modal", callback_id=PROGRESS_CALLBACK, title=TITLE, close="Close", clear_on_close=True, blocks=blocks
    )


def result_modal(job: Job, full_list: FullList | None = None) -> View:
    """The job's modal at the end: the summary (shortened as the message is, with where its full list is); Close
    closes the whole stack, as status_modal's."""
    return View(
        type="modal",
        callback_id=PROGRESS_CALLBACK,
        title=TITLE,
        close="Close",
        clear_on_close=True,
        blocks=sections(summary_message(job, full_list)["text"].split("\n")),
    )


def _mentions(items: Sequence[dict[str, Any]], limit: int = LISTED_IN_SUMMARY) -> str:
    shown = ", ".join(mention(i["id"]) for i in items[:limit])
    rest = len(items) - limit
    return shown + (f" and {rest:,} more" if rest > 0 else "")


def _stop_text(reason: str) -> str:
    if reason == "cancelled":
        return "It was cancelled by an admin: no further channel was disconnected, and those done stay disconnected."
    if reason.startswith("not_allowed"):
        return "It stopped because you may no longer do this (your admin rights or the admin token changed)."
    if reason.startswith("not_outside"):
        return "It stopped before any call: I couldn't establish again that this partner is outside your organization."
    if reason == "not_installed":
        return "It stopped: the app is no longer installed for this workspace."
    return f"It stopped because every further call would fail the same way (`{escape_text(reason)}`)."


def search_notes(job: Job) -> list[str]:
    """What the search couldn't cover, for the summary: private channels Slack wouldn't search, a search stopped."""
    search = Search.of(job.payload.get("search")) if job.payload.get("search") else None
    notes = [PRIVATE_NOT_SEARCHED] if search is not None and search.private_refused else []
    error = job.payload.get("search_error")
    if isinstance(error, str) and error:
        notes.append(
            f"The search for more channels stopped (`{escape_text(error)}`), so channels it hadn't reached yet are "
            "still connected: run it again to find them."
        )
    return notes


def summary_message(job: Job, full_list: FullList | None = None) -> dict[str, Any]:
    """Counts, the channels disconnected, those that failed grouped by reason with Slack's sentence, theirs, pending.

    Every channel is named when the lists fit their share of a message (services.ui.limits); otherwise each list
    names its first channels and counts the rest, and the message says where the full list is (`full_list`: the
    file sent beside it, offboarding_list_file).
    """
    lines = _summary_lines(job, LISTED_IN_SUMMARY)
    if not lines_fit(lines):
        lines = _summary_lines(job, SHORT_LIST_LENGTH)
    note = full_list_note(full_list)
    if note:
        lines.append(note)
    return {"text": truncate("\n".join(lines), MESSAGE_TEXT_LIMIT)}


def summary_is_shortened(job: Job) -> bool:
    return not lines_fit(_summary_lines(job, LISTED_IN_SUMMARY))


_RESULTS = {
    DISCONNECTED: "disconnected",
    NOT_DISCONNECTED: "not_disconnected",
    SKIPPED: "not_attempted",
    WOULD_DISCONNECT: "would_disconnect",
}


def offboarding_list_file(job: Job) -> ListFile | None:
    """The full list of an offboarding whose summary is shortened, one channel a row (ours with their result, theirs,
    pending invitations); None when the summary names every channel."""
    if not summary_is_shortened(job):
        return None
    partner = str(job.payload.get("partner") or "")
    label = partner_label(partner, job.payload.get("partner_name"))
    rows: list[tuple[str, str, str, str]] = []
    for item in job.items:
        result = _RESULTS.get(str(item.get("outcome")), "not_attempted")
        rows.append((item["id"], str(item.get("name") or ""), result, str(item.get("error") or "")))
    for kind, key in (("created_by_another_org", "theirs"), ("invitation_pending", "pending")):
        for item in job.payload.get(key) or []:
            if isinstance(item, dict) and isinstance(item.get("id"), str):
                rows.append((item["id"], str(item.get("name") or ""), kind, ""))
    dry = "dry-run-" if job.payload.get("dry_run") is True else ""
    return ListFile(
        filename=list_filename(f"offboarding-{dry}{partner or 'partner'}"),
        content=csv_text(("channel_id", "name", "result", "error"), rows),
        title=f"Offboarding {partner or 'a partner'}: every channel",
        initial_comment=(
            f"The full list of the offboarding of {label}{' (dry run: nothing was changed)' if dry else ''}: "
            f"{len(rows):,} channels, one a row (result: disconnected, not_disconnected with Slack's error, "
            "not_attempted, would_disconnect, created_by_another_org, invitation_pending)."
        ),
    )


def _summary_lines(job: Job, limit: int) -> list[str]:
    """The summary's lines, each list naming at most `limit` channels."""
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
            + _mentions([i for i in job.items if i.get("outcome") == WOULD_DISCONNECT], limit)
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
    lines.extend(search_notes(job))
    done = [i for i in job.items if i.get("outcome") == DISCONNECTED]
    if done:
        lines.append(f"*Disconnected ({len(done)}):* {_mentions(done, limit)}")
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
            same = f" The same for {len(items) - 1} more: {_mentions(items[1:], limit)}." if len(items) > 1 else ""
            lines.append(f"• {capitalize(sentence)} (`{escape_text(code)}`){same}")
    skipped = [i for i in job.items if i.get("outcome") == SKIPPED]
    if skipped:
        lines.append(f"*Not attempted ({len(skipped)}):* {_mentions(skipped, limit)}")
    if theirs:
        lines.append(
            f"*Created by another organization ({len(theirs)}), so only it can disconnect {label}:* "
            f"{_mentions(theirs, limit)}. Ask its admins."
        )
    if pending:
        lines.append(f"*Invitations still pending ({len(pending)}):* {_mentions(pending, limit)}.")
    if job.interrupted:
        lines.append("_This was interrupted (the app restarted) and picked up where it stopped; no channel twice._")
    return lines


def home_blocks(running: Sequence[Job], total: int = 0, offset: int = 0, finished: Sequence[Job] = ()) -> list[Any]:
    """The Home tab's offboarding part, for admins: the button, a page of the org's unfinished jobs (`running`, of
    `total`, from `offset`) each with its progress and Cancel, and those `finished` lately (services.ui.home_jobs)."""
    from services.ui.home_jobs import job_list_blocks
    from services.ui.partners import (
        everything_cancel_button,
        everything_progress_line,
        everything_summary,
    )

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
            progress=lambda job: (
                everything_progress_line(job) if job.kind == OFFBOARD_EVERYTHING else progress_line(job)
            ),
            ended=lambda job: str(
                (everything_summary(job) if job.kind == OFFBOARD_EVERYTHING else summary_message(job))["text"]
            ).split("\n", 1)[0],
            cancel=cancel_button,
            cancel_for=lambda job: everything_cancel_button(job) if job.kind == OFFBOARD_EVERYTHING else None,
        )
    )
    return blocks


def metadata_fits(metadata: ConfirmMetadata) -> bool:
    return len(metadata.encode()) <= METADATA_LIMIT
