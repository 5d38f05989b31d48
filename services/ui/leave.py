"""/leave-channel's views and messages."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

from slack_sdk.models.blocks import (
    ContextBlock,
    ConversationFilter,
    ConversationMultiSelectElement,
    InputBlock,
    MarkdownTextObject,
    PlainTextObject,
    SectionBlock,
)
from slack_sdk.models.views import View

from services.error_texts import LEAVE_ERRORS, LEAVE_REFUSALS, error_text
from services.leaving.leave import LeaveOutcome, LeaveResult, LeaveStatus
from services.leaving.offers import IssuedOffer
from services.leaving.policy import MAX_LEAVE_CHANNELS, USERS_INFO
from services.ui import (
    MESSAGE_TEXT_LIMIT,
    channels_count,
    decode_metadata,
    encode_metadata,
    escape_text,
    failures_by_code,
    mention,
    mentions,
    sections,
    text_field,
    truncate,
    usage_reply,
)
from services.ui.limits import (
    SHORT_LIST_LENGTH,
    FullList,
    ListFile,
    csv_text,
    full_list_note,
    lines_fit,
    list_filename,
    short_mentions,
    within_budget,
)
from services.ui.rejoin import rejoin_offer_message, until

LEAVE_PICK_CALLBACK = "leave_pick"
LEAVE_PICK_BLOCK = "leave_pick_channels"
LEAVE_PICK_ACTION = "channels"
LEAVE_PROGRESS_CALLBACK = "leave_progress"

USAGE = "\n".join(
    [
        "*`/leave-channel` makes this app leave channels.*",
        "• `/leave-channel` leaves the channel you type it in.",
        "• `/leave-channel #one #two` leaves each channel you name (channel IDs such as `C0123ABCD` work too).",
        "• `/leave-channel pick` opens a form where you choose channels.",
        "• `/leave-channel help` shows this.",
        f"I leave at most {MAX_LEAVE_CHANNELS:,} channels at a time, and only channels you're in (admins: any channel).",
    ]
)


def usage_message(not_understood: str | None = None) -> str:
    return usage_reply(USAGE, not_understood, "I haven't left anything")


Listed = Callable[[Sequence[str]], str]  # channel IDs as text: every one (mentions), or the first few (short_mentions)


def _mentions(results: Sequence[LeaveResult], listed: Listed = mentions) -> str:
    return listed([r.channel_id for r in results])


def leave_failure_text(result: LeaveResult) -> str:
    code = result.error or "unexpected_response"
    channel = mention(result.channel_id)
    return error_text(LEAVE_ERRORS, code, channel=channel, action=f"leave {channel}") + f" (`{escape_text(code)}`)"


def not_a_member_text(results: Sequence[LeaveResult], listed: Listed = mentions) -> str:
    """Why channels the requester isn't in were not left (one sentence naming each of them)."""
    if len(results) == 1:
        return LEAVE_REFUSALS["not_a_member"].format(channel=mention(results[0].channel_id))
    return LEAVE_REFUSALS["not_a_member_many"].format(
        count=channels_count(len(results)), channels=_mentions(results, listed)
    )


def audit_channel_text(channel_id: str) -> str:
    return LEAVE_REFUSALS["audit_channel"].format(channel=mention(channel_id))


def leave_summary_lines(outcome: LeaveOutcome, listed: Listed = mentions) -> list[str]:
    """What was left, what the app was not in, what it wouldn't leave and why, and what failed with its reason.

    Every channel is named with `mentions`; with `short_mentions`, each list names its first few and counts the rest.
    """
    left = outcome.with_status(LeaveStatus.LEFT)
    not_in = outcome.with_status(LeaveStatus.NOT_IN_CHANNEL)
    not_a_member = outcome.with_status(LeaveStatus.NOT_A_MEMBER)
    audit = outcome.with_status(LeaveStatus.AUDIT_CHANNEL)
    failed = outcome.with_status(LeaveStatus.FAILED)
    lines: list[str] = []
    if len(outcome.results) == 1:
        only = outcome.results[0]
        if left:
            return [f"I left {mention(only.channel_id)}."]
        if not_in:
            return [f"I wasn't in {mention(only.channel_id)}, so there was nothing to leave."]
        if not_a_member:
            return [not_a_member_text(not_a_member)]
        if audit:
            return [audit_channel_text(only.channel_id)]
        return [leave_failure_text(only)]
    if left:
        lines.append(f"Left {channels_count(len(left))}: {_mentions(left, listed)}.")
    if not_in:
        lines.append(
            f"I wasn't in {channels_count(len(not_in))}, so there was nothing to leave: {_mentions(not_in, listed)}."
        )
    if not_a_member:
        lines.append(not_a_member_text(not_a_member, listed))
    lines.extend(audit_channel_text(r.channel_id) for r in audit)
    if failed:
        heading = f"Couldn't leave {channels_count(len(failed))}:"
        lines.extend(failures_by_code(heading, failed, leave_failure_text, listed))
    return lines


def leave_lines(outcome: LeaveOutcome) -> tuple[list[str], bool]:
    """The summary's lines naming every channel when they fit their share of a message (services.ui.limits), else
    naming the first few of each list ("and 980 more"); and whether they were shortened (the full list then goes in
    a file: leave_list_file)."""
    lines = leave_summary_lines(outcome)
    if lines_fit(lines):
        return lines, False
    return within_budget(leave_summary_lines(outcome, partial(short_mentions, shown=SHORT_LIST_LENGTH))), True


def leave_summary_text(outcome: LeaveOutcome) -> str:
    return truncate("\n".join(leave_lines(outcome)[0]), MESSAGE_TEXT_LIMIT)


def leave_list_file(outcome: LeaveOutcome, moment: datetime | None = None) -> ListFile | None:
    """The full list of a leave whose summary is shortened, one channel a row; None when the summary names them all."""
    if not leave_lines(outcome)[1]:
        return None
    rows = (
        (r.channel_id, r.status.value, r.error or "", "yes" if r.channel_id in outcome.private_ids else "")
        for r in outcome.results
    )
    left = len(outcome.with_status(LeaveStatus.LEFT))
    return ListFile(
        filename=list_filename("leave", moment),
        content=csv_text(("channel_id", "result", "error", "private"), rows),
        title=f"Leave: {channels_count(len(outcome.results))}, every one",
        initial_comment=(
            f"The full list of the leave you asked for: {len(outcome.results):,} channels, {left:,} left, one a row "
            "(result: left, not_in_channel, not_a_member, audit_channel or failed, with Slack's error)."
        ),
    )


def _with_note(text: str, full_list: FullList | None) -> str:
    note = full_list_note(full_list)
    return f"{text}\n{note}" if note else text


def leave_summary_message(
    outcome: LeaveOutcome,
    offer: IssuedOffer | None = None,
    lasting_copy: bool = False,
    full_list: FullList | None = None,
) -> dict[str, Any]:
    """The summary; with a Rejoin button and its deadline when something was left and the offer could be kept.

    The DM copy is this message as is; the ephemeral reply says where that copy is when it was posted (`lasting_copy`).
    A shortened summary says where its full list is (`full_list`: the file sent, or not, beside it).
    """
    text = _with_note(leave_summary_text(outcome), full_list)
    if offer is None:
        return {"text": text}
    return rejoin_offer_message(text, offer.value, offer.expires_at, lasting_copy)


def leave_started_text(count: int) -> str:
    return f"Leaving {channels_count(count)}… I'll post a summary here when I'm done."


def leave_given_up_text(outcome: LeaveOutcome, not_done: Sequence[str]) -> str:
    """A leave job given up after its attempts (services.jobs.queue.MAX_ATTEMPTS): what was done, and what wasn't."""
    lines = [
        "I couldn't finish leaving the channels you asked for: something went wrong inside the app each time I "
        "tried, so I stopped."
    ]
    if outcome.results:
        lines.append(f"What I did: {leave_summary_text(outcome)}")
    if not_done:
        lines.append(
            f"I didn't get to {channels_count(len(not_done))}: {mentions(not_done)}. Run /leave-channel again for "
            "them; if it keeps happening, tell whoever runs the app."
        )
    return truncate("\n".join(lines), MESSAGE_TEXT_LIMIT)


def too_busy_text() -> str:
    """More commands running and waiting than services.slack.admission holds: nothing is left, and the ack says so."""
    return LEAVE_REFUSALS["busy"]


def stopping_text() -> str:
    """A one-channel leave that came while the app was shutting down: nothing is left, and the ack says so."""
    return LEAVE_REFUSALS["stopping"]


def restarted_text(channel_id: str) -> str:
    """A one-channel leave the app stopped before it finished (a deploy's shutdown, services.slack.admission)."""
    return LEAVE_REFUSALS["restarted"].format(channel=mention(channel_id))


def too_many_channels_text(count: int) -> str:
    """Named channels over the cap: nothing is left."""
    return LEAVE_REFUSALS["too_many"].format(number=f"{count:,}", limit=f"{MAX_LEAVE_CHANNELS:,}")


def too_many_picked_text(count: int) -> str:
    """The pick modal's inline error for a selection over the cap."""
    return LEAVE_REFUSALS["too_many_picked"].format(number=f"{count:,}", limit=f"{MAX_LEAVE_CHANNELS:,}")


def leave_check_failed_text(code: str, method: str, channel_ids: Sequence[str]) -> str:
    """Slack couldn't confirm who the requester is or which channels they're in: nothing is left."""
    what = mention(channel_ids[0]) if len(channel_ids) == 1 else f"those {channels_count(len(channel_ids))}"
    step = "looked you up" if method == USERS_INFO else "checked which channels you're in"
    return LEAVE_REFUSALS["check_failed"].format(what=what, code=escape_text(code), step=step)


def leave_pick_modal(current_channel: str | None, metadata: str) -> View:
    element = ConversationMultiSelectElement(
        action_id=LEAVE_PICK_ACTION,
        placeholder="Choose channels",
        initial_conversations=[current_channel] if current_channel else None,
        max_selected_items=MAX_LEAVE_CHANNELS,
        filter=ConversationFilter(include=["public", "private"]),
    )
    return View(
        type="modal",
        callback_id=LEAVE_PICK_CALLBACK,
        title="Leave channels",
        submit="Leave",
        close="Cancel",
        private_metadata=metadata,
        blocks=[
            InputBlock(block_id=LEAVE_PICK_BLOCK, label="Channels for the app to leave", element=element),
            ContextBlock(
                elements=[
                    MarkdownTextObject(
                        text=(
                            f"Choose up to {MAX_LEAVE_CHANNELS:,} channels. The app leaves those you're in (admins: "
                            "any channel); channels it isn't in are reported, not changed."
                        )
                    )
                ]
            ),
        ],
    )


def leave_progress_modal(done: int, total: int) -> View:
    return View(
        type="modal",
        callback_id=LEAVE_PROGRESS_CALLBACK,
        title="Leave channels",
        close="Close",
        blocks=[
            SectionBlock(text=MarkdownTextObject(text=f"*Leaving {done} of {total}…*")),
            ContextBlock(
                elements=[PlainTextObject(text="You can close this window: I'll send you a summary when I'm done.")]
            ),
        ],
    )


def leave_result_modal(
    outcome: LeaveOutcome,
    offer: IssuedOffer | None = None,
    lasting_copy: bool = False,
    full_list: FullList | None = None,
) -> View:
    lines = leave_lines(outcome)[0]
    note = full_list_note(full_list)
    return View(
        type="modal",
        callback_id=LEAVE_PROGRESS_CALLBACK,
        title="Leave channels",
        close="Done",
        blocks=[*sections([*lines, *([note] if note else [])]), *_rejoin_hint(offer, lasting_copy)],
    )


def leave_notice_modal(text: str) -> View:
    """The pick modal's end when nothing was left because the request couldn't be checked."""
    return View(
        type="modal",
        callback_id=LEAVE_PROGRESS_CALLBACK,
        title="Leave channels",
        close="Done",
        blocks=sections([text]),
    )


def _rejoin_hint(offer: IssuedOffer | None, lasting_copy: bool) -> list[ContextBlock]:
    if offer is None:
        return []
    where = (
        "The summary I sent you has a *Rejoin* button, and so does its copy in your messages with me "
        "(that one stays after a reload)."
        if lasting_copy
        else "The summary I sent you has a *Rejoin* button."
    )
    text = f"Changed your mind? {where} It works until {until(offer.expires_at)}."
    return [ContextBlock(elements=[MarkdownTextObject(text=text)])]


@dataclass(frozen=True)
class PickMetadata:
    """What the pick form carries from its command to its submission (never a token)."""

    response_url: str | None
    channel_id: str | None
    user_id: str | None

    def encode(self) -> str:
        return encode_metadata(
            {"response_url": self.response_url, "channel_id": self.channel_id, "user_id": self.user_id}
        )

    @classmethod
    def decode(cls, text: str | None) -> PickMetadata:
        data = decode_metadata(text)
        return cls(text_field(data, "response_url"), text_field(data, "channel_id"), text_field(data, "user_id"))
