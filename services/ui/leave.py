"""/leave-channel's views and messages."""

from __future__ import annotations

from collections.abc import Sequence

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

from services.error_texts import LEAVE_ERRORS, error_text
from services.leave import LeaveOutcome, LeaveResult, LeaveStatus
from services.rejoin_offers import IssuedOffer
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
    ]
)


def usage_message(not_understood: str | None = None) -> str:
    return usage_reply(USAGE, not_understood, "I haven't left anything")


def _mentions(results: Sequence[LeaveResult]) -> str:
    return mentions([r.channel_id for r in results])


def leave_failure_text(result: LeaveResult) -> str:
    code = result.error or "unexpected_response"
    channel = mention(result.channel_id)
    return error_text(LEAVE_ERRORS, code, channel=channel, action=f"leave {channel}") + f" (`{escape_text(code)}`)"


def leave_summary_lines(outcome: LeaveOutcome) -> list[str]:
    """What was left, what the app was not in, and what failed with its reason."""
    left = outcome.with_status(LeaveStatus.LEFT)
    not_in = outcome.with_status(LeaveStatus.NOT_IN_CHANNEL)
    failed = outcome.with_status(LeaveStatus.FAILED)
    lines: list[str] = []
    if len(outcome.results) == 1:
        only = outcome.results[0]
        if left:
            return [f"I left {mention(only.channel_id)}."]
        if not_in:
            return [f"I wasn't in {mention(only.channel_id)}, so there was nothing to leave."]
        return [leave_failure_text(only)]
    if left:
        lines.append(f"Left {channels_count(len(left))}: {_mentions(left)}.")
    if not_in:
        lines.append(f"I wasn't in {channels_count(len(not_in))}, so there was nothing to leave: {_mentions(not_in)}.")
    if failed:
        lines.extend(failures_by_code(f"Couldn't leave {channels_count(len(failed))}:", failed, leave_failure_text))
    return lines


def leave_summary_text(outcome: LeaveOutcome) -> str:
    return truncate("\n".join(leave_summary_lines(outcome)), MESSAGE_TEXT_LIMIT)


def leave_summary_message(outcome: LeaveOutcome, offer: IssuedOffer | None = None, lasting_copy: bool = False) -> dict:
    """The summary; with a Rejoin button and its deadline when something was left and the offer could be kept.

    The DM copy is this message as is; the ephemeral reply says where that copy is when it was posted (`lasting_copy`).
    """
    text = leave_summary_text(outcome)
    if offer is None:
        return {"text": text}
    return rejoin_offer_message(text, offer.value, offer.expires_at, lasting_copy)


def leave_started_text(count: int) -> str:
    return f"Leaving {channels_count(count)}… I'll post a summary here when I'm done."


def leave_pick_modal(current_channel: str | None, metadata: str) -> View:
    element = ConversationMultiSelectElement(
        action_id=LEAVE_PICK_ACTION,
        placeholder="Choose channels",
        initial_conversations=[current_channel] if current_channel else None,
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
                        text="The app leaves each channel you choose. Channels it isn't in are reported, not changed."
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


def leave_result_modal(outcome: LeaveOutcome, offer: IssuedOffer | None = None, lasting_copy: bool = False) -> View:
    return View(
        type="modal",
        callback_id=LEAVE_PROGRESS_CALLBACK,
        title="Leave channels",
        close="Done",
        blocks=[*sections(leave_summary_lines(outcome)), *_rejoin_hint(offer, lasting_copy)],
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


def private_metadata(response_url: str | None, channel_id: str | None, user_id: str | None) -> str:
    """What the pick modal carries from its command to its submission (never a token)."""
    return encode_metadata({"response_url": response_url, "channel_id": channel_id, "user_id": user_id})


def read_private_metadata(text: str | None) -> dict[str, str | None]:
    data = decode_metadata(text)
    return {k: text_field(data, k) for k in ("response_url", "channel_id", "user_id")}
