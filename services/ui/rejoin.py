"""The Rejoin button on a leave summary, and what the message says once it is pressed."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from functools import lru_cache, partial
from typing import Any

from slack_sdk.models.blocks import SectionBlock

from services.error_texts import JOIN_ERRORS, error_text
from services.leaving.offers import RejoinOffer
from services.leaving.rejoin import JoinResult, JoinStatus
from services.ui import (
    MESSAGE_TEXT_LIMIT,
    channels_count,
    escape_text,
    failures_by_code,
    mention,
    mentions,
    sections,
    truncate,
)
from services.ui.limits import (
    SHORT_LIST_LENGTH,
    FullList,
    ListFile,
    bound_message,
    csv_text,
    full_list_note,
    lines_fit,
    list_filename,
    short_mentions,
    within_budget,
)

REJOIN_BLOCK = "rejoin"
REJOIN_ACTION = "rejoin_channels"

REJOIN_UNKNOWN = (
    "I have no record of that leave any more, so this Rejoin button can't bring me back. "
    "Anyone in a channel can still invite me back with `/invite`."
)
REJOIN_BUSY = (
    "I'm already rejoining those channels for an earlier press of *Rejoin*; "
    "the message it was pressed in will say how it went."
)
LASTING_COPY = "A copy with the Rejoin button is in your messages with me; it stays after a reload."
REJOIN_NOT_YOURS = "Only the person who asked me to leave can use this Rejoin button."


@lru_cache(maxsize=256)  # every copy of a summary (the DM, the reply, the modal) names the same moment
def until(moment: datetime) -> str:
    """A moment in Slack's date formatting: shown in each reader's own time zone, the UTC fallback where it can't be.

    https://docs.slack.dev/messaging/formatting-message-text#date-formatting
    """
    fallback = f"{moment.astimezone(UTC):%Y-%m-%d %H:%M} UTC"
    return f"<!date^{int(moment.timestamp())}^{{date_short_pretty}} at {{time}}|{fallback}>"


def _invite(bot_user_id: str | None) -> str:
    return f"/invite <@{bot_user_id}>" if bot_user_id else "`/invite` and the app's name"


# The Block Kit of these messages, as the dicts slack_sdk.models would make of them (tests/test_ui_render.py checks
# they are the same): built directly, since these messages go out on every leave and slack_sdk's to_dict() walks and
# validates every object each time. Nothing here is mutated after it is built (the constant parts are shared).
_REJOIN_TEXT = {"type": "plain_text", "text": "Rejoin", "emoji": True}


def _section_texts(lines: Sequence[str]) -> list[str]:
    """The texts of the mrkdwn sections that services.ui.sections packs `lines` into (under Block Kit's limits)."""
    return [block.text.text for block in sections(lines) if isinstance(block, SectionBlock) and block.text is not None]


def _mrkdwn_section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def _context(note: str) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": note}]}


def _rejoin_actions(button_value: str) -> dict[str, Any]:
    button = {"type": "button", "text": _REJOIN_TEXT, "action_id": REJOIN_ACTION, "value": button_value}
    return {"type": "actions", "block_id": REJOIN_BLOCK, "elements": [button]}


def _message(
    summary: str, extra: Sequence[str], button_value: str | None = None, note: str | None = None
) -> dict[str, Any]:
    """The summary message, rebuilt: the leave, what happened since, and the button while it is still useful."""
    lines = [*summary.split("\n"), *(["", *extra] if extra else [])]
    blocks = [_mrkdwn_section(text) for text in _section_texts(lines)]
    if note:
        blocks.append(_context(note))
    if button_value is not None:
        blocks.append(_rejoin_actions(button_value))
    # Bounded whatever it holds (a summary kept before summaries were shortened may be long): the button stays.
    return bound_message({"text": truncate("\n".join(lines), MESSAGE_TEXT_LIMIT), "blocks": blocks})


def offer_summary(offer: RejoinOffer) -> str:
    """The leave summary the button sat under: kept whole when stored, else rebuilt from the channels left."""
    if offer.summary:
        return offer.summary
    if len(offer.left_ids) == 1:
        return f"I left {mention(offer.left_ids[0])}."
    return f"Left {_listed(offer.left_ids)}."


def rejoin_offer_message(
    summary: str, button_value: str, expires_at: datetime, lasting_copy: bool = False
) -> dict[str, Any]:
    """The summary with its Rejoin button; `lasting_copy` when a copy of it was posted in the app's DM with the user."""
    note = (
        f"Changed your mind? *Rejoin* brings me back into the channels I just left. It works until {until(expires_at)}."
    )
    return _message(summary, [], button_value, f"{note} {LASTING_COPY}" if lasting_copy else note)


def rejoin_running_message(summary: str, count: int) -> dict[str, Any]:
    return {
        **_message(summary, [f":hourglass_flowing_sand: Rejoining {channels_count(count)}…"]),
        "replace_original": True,
    }


def rejoin_given_up_message(summary: str, text: str, button_value: str) -> dict[str, Any]:
    """The rejoin job given up after its attempts (services.ui.given_up): said under the summary, in place of
    "Rejoining…", with the button kept for another try."""
    return {**_message(summary, text.split("\n"), button_value), "replace_original": True}


def rejoin_expired_message(summary: str, expires_at: datetime, bot_user_id: str | None) -> dict[str, Any]:
    line = (
        f"This Rejoin button has expired: it worked until {until(expires_at)}, 24 hours after the leave. "
        f"Anyone in a channel can still bring me back by typing {_invite(bot_user_id)} there."
    )
    return {**_message(summary, [line]), "replace_original": True}


Listed = Callable[[Sequence[str]], str]  # channel IDs as text: every one (mentions), or the first few (short_mentions)


def _listed(channel_ids: Sequence[str], listed: Listed = mentions) -> str:
    if len(channel_ids) == 1:
        return mention(channel_ids[0])
    return f"{channels_count(len(channel_ids))}: {listed(channel_ids)}"


def _join_failure(result: JoinResult) -> str:
    code = result.error or "unexpected_response"
    channel = mention(result.channel_id)
    return error_text(JOIN_ERRORS, code, channel=channel, action=f"rejoin {channel}") + f" (`{escape_text(code)}`)"


def rejoin_result_lines(
    results: Sequence[JoinResult],
    private_ids: Sequence[str],
    bot_user_id: str | None,
    expires_at: datetime,
    listed: Listed = mentions,
) -> list[str]:
    """What the press did, channel by channel, every channel named once (with `short_mentions`: the first few of each
    list, and how many more)."""

    def ids(status: JoinStatus) -> list[str]:
        return [r.channel_id for r in results if r.status is status]

    lines = ["*Rejoin:*"]
    if rejoined := ids(JoinStatus.REJOINED):
        lines.append(f"I'm back in {_listed(rejoined, listed)}.")
    if already := ids(JoinStatus.ALREADY_IN):
        lines.append(f"I was already back in {_listed(already, listed)}.")
    if archived := ids(JoinStatus.ARCHIVED):
        were = f"{mention(archived[0])} was" if len(archived) == 1 else f"{len(archived)} channels were"
        them = "it" if len(archived) == 1 else f"them: {listed(archived)}"
        lines.append(
            f"{were} archived after I left, so I didn't rejoin {them}. Unarchive a channel first if you need me in it."
        )
    failed = [r for r in results if r.status is JoinStatus.FAILED]
    if failed:
        heading = f"Couldn't rejoin {channels_count(len(failed))}:"
        lines.extend(failures_by_code(heading, failed, _join_failure, listed))
    if private_ids:
        lines.append(
            f"Slack doesn't let an app rejoin private channels by itself: {listed(private_ids)}. "
            f"Someone in each can bring me back by typing {_invite(bot_user_id)} there."
        )
    if any(r.retryable for r in results):
        lines.append(f"Press *Rejoin* again to retry the ones that failed (it works until {until(expires_at)}).")
    return lines


def rejoin_lines(
    results: Sequence[JoinResult], private_ids: Sequence[str], bot_user_id: str | None, expires_at: datetime
) -> tuple[list[str], bool]:
    """The result's lines naming every channel when they fit their share of a message (services.ui.limits), else
    naming the first few of each list; and whether they were shortened (the full list then goes in a file)."""
    lines = rejoin_result_lines(results, private_ids, bot_user_id, expires_at)
    if lines_fit(lines):
        return lines, False
    short = partial(short_mentions, shown=SHORT_LIST_LENGTH)
    # The last line (the retry, or the private channels to invite the app back into) is kept whatever is cut.
    return within_budget(rejoin_result_lines(results, private_ids, bot_user_id, expires_at, short), keep_last=1), True


def rejoin_list_file(
    results: Sequence[JoinResult],
    private_ids: Sequence[str],
    bot_user_id: str | None,
    expires_at: datetime,
    moment: datetime | None = None,
) -> ListFile | None:
    """The full list of a rejoin whose result is shortened, one channel a row; None when the message names them all."""
    if not rejoin_lines(results, private_ids, bot_user_id, expires_at)[1]:
        return None
    rows = [(r.channel_id, r.status.value, r.error or "") for r in results]
    rows += [(c, "private_not_rejoined", "") for c in private_ids]
    back = sum(1 for r in results if r.status is JoinStatus.REJOINED)
    return ListFile(
        filename=list_filename("rejoin", moment),
        content=csv_text(("channel_id", "result", "error"), rows),
        title=f"Rejoin: {channels_count(len(rows))}, every one",
        initial_comment=(
            f"The full list of the rejoin you asked for: {len(rows):,} channels, back in {back:,}, one a row "
            "(result: rejoined, already_in, archived, failed with Slack's error, or private_not_rejoined: "
            "someone in the channel can invite me back)."
        ),
    )


def rejoin_done_message(
    summary: str,
    results: Sequence[JoinResult],
    private_ids: Sequence[str],
    bot_user_id: str | None,
    button_value: str,
    expires_at: datetime,
    full_list: FullList | None = None,
) -> dict[str, Any]:
    """The button stays only while a retry could still help. A shortened result says where its full list is."""
    retry = button_value if any(r.retryable for r in results) else None
    lines = rejoin_lines(results, private_ids, bot_user_id, expires_at)[0]
    note = full_list_note(full_list)
    return {**_message(summary, [*lines, *([note] if note else [])], retry), "replace_original": True}
