"""How big a message may be, and bounding one: every message the app posts fits Slack's limits whatever the input.

Slack's limits (../shared/slack-facts.md, "Payload and message sizes"): chat.postMessage refuses a message whose
blocks hold more than about 12,000 to 13,000 characters of text (`msg_blocks_too_long`; slackapi/bolt-js#2509, refused at
~13,200 characters of markdown blocks, a maintainer: "12,000 text characters with a buffer for block containers";
slackapi/bolt-js#2867, refused at 11,341 characters counted as here), and more than 50 blocks (`invalid_blocks`,
"no more than 50 items allowed [json-pointer:/blocks]"); `text` past 40,000 characters is cut. Slack doesn't document
how it counts, so the app keeps well under what has been seen refused: at most MESSAGE_BLOCK_TEXT_BUDGET characters
of `text` strings (counted at any depth of the blocks, as block_text_length does) and MAX_MESSAGE_BLOCKS blocks.

Long lists don't belong in a message at all: a summary names the first few and counts the rest ("and 812 more"), and
the whole list goes in a file (services.slack.files). `bound_message` is the last guard, for any message.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from slack_sdk.models.blocks import Block

from services.ui import MESSAGE_TEXT_LIMIT, mention, truncate

# Characters of block text in one message: under the 11,341 slackapi/bolt-js#2867 saw refused, with room for what
# Slack counts that we don't (block containers).
MESSAGE_BLOCK_TEXT_BUDGET = 10_000
MAX_MESSAGE_BLOCKS = 50
# One list-bearing part of a message (a leave's summary, a rejoin's result): two such parts and their notes stay
# within MESSAGE_BLOCK_TEXT_BUDGET. A part over it is shortened, and its full list sent as a file.
LIST_TEXT_BUDGET = 4_000
# Items a shortened list names before "and N more" (a channel mention is about 16 characters with its comma).
SHORT_LIST_LENGTH = 20

CUT_NOTE = "…cut here: the rest is more than a Slack message can hold."


def _as_dicts(blocks: Sequence[Block | dict[str, Any]]) -> list[dict[str, Any]]:
    return [b.to_dict() if isinstance(b, Block) else b for b in blocks]


def block_text_length(value: Any) -> int:
    """Characters of text in blocks (dicts or slack_sdk Blocks): every `text` string, at any depth."""
    if isinstance(value, Block):
        value = value.to_dict()
    if isinstance(value, list | tuple):
        return sum(block_text_length(v) for v in value)
    if isinstance(value, dict):
        return sum(len(v) if k == "text" and isinstance(v, str) else block_text_length(v) for k, v in value.items())
    return 0


def message_size(message: dict[str, Any]) -> tuple[int, int]:
    """(characters of block text, number of blocks) of a message."""
    blocks = message.get("blocks") or []
    return block_text_length(blocks), len(blocks)


def fits(message: dict[str, Any]) -> bool:
    """Whether a message is within the app's bound (and so within Slack's limits)."""
    chars, count = message_size(message)
    return chars <= MESSAGE_BLOCK_TEXT_BUDGET and count <= MAX_MESSAGE_BLOCKS


def lines_fit(lines: Sequence[str], budget: int = LIST_TEXT_BUDGET) -> bool:
    """Whether lines (one part of a message) fit their share of the message's budget."""
    return sum(len(line) + 1 for line in lines) <= budget


LINES_CUT = "…and more: the full list has every channel."


def within_budget(lines: Sequence[str], budget: int = LIST_TEXT_BUDGET, keep_last: int = 0) -> list[str]:
    """Lines (already shortened to a few channels a list) within their share of a message: as they are when they
    fit; otherwise the first ones that fit, LINES_CUT, and the last `keep_last` (what to do next, say). One line per
    error code can outgrow the share however few channels each names: a leave failing for every reason Slack has.
    """
    if lines_fit(lines, budget):
        return list(lines)
    last = list(lines[len(lines) - keep_last :]) if keep_last > 0 else []
    first = lines[: len(lines) - len(last)]
    room = budget - sum(len(line) + 1 for line in [*last, LINES_CUT])
    kept: list[str] = []
    for line in first:
        if len(line) + 1 > room:
            if not kept and room > 1:
                kept.append(_cut_text(line, room - 1))
            break
        kept.append(line)
        room -= len(line) + 1
    return [*kept, LINES_CUT, *last]


def short_list(items: Sequence[str], shown: int = SHORT_LIST_LENGTH) -> str:
    """The first `shown` items, then how many more: "<#C1>, <#C2> and 812 more"."""
    if len(items) <= shown:
        return ", ".join(items)
    return f"{', '.join(items[:shown])} and {len(items) - shown:,} more"


def short_mentions(channel_ids: Sequence[str], shown: int = SHORT_LIST_LENGTH) -> str:
    """The first `shown` channels as mentions, then how many more."""
    return short_list([mention(c) for c in channel_ids], shown)


@dataclass(frozen=True)
class ListFile:
    """A full list too long for a message, as a file for the person's DM (services.slack.files.send_file_to_user)."""

    filename: str
    content: str
    title: str
    initial_comment: str


def list_filename(kind: str, moment: datetime | None = None, extension: str = "csv") -> str:
    """`leave-2026-12-06-1405.csv`: what the list is, and when (UTC, to the minute)."""
    return f"{kind}-{(moment or datetime.now(UTC)).astimezone(UTC):%Y-%m-%d-%H%M}.{extension}"


def _cell(value: str) -> str:
    """A cell a spreadsheet shows as text: one starting like a formula (a channel's name is the user's text) gets a
    leading apostrophe (OWASP, "CSV Injection")."""
    return f"'{value}" if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def csv_text(header: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """A CSV file's text (RFC 4180 quoting, one row a line), every cell safe to open in a spreadsheet."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows([_cell(v) for v in row] for row in rows)
    return out.getvalue()


@dataclass(frozen=True)
class FullList:
    """A shortened summary's full list: the file's name, and whether it reached the person's DM."""

    filename: str
    sent: bool


def full_list_note(full: FullList | None) -> str | None:
    """What a shortened summary says of its full list: in the file sent beside it, or that the file couldn't go.

    None (nothing to say) when the summary wasn't shortened.
    """
    if full is None:
        return None
    if full.sent:
        return f"The lists above are shortened: the full list is in `{full.filename}`, the file I sent you in our messages."
    return (
        "The lists above are shortened, and I couldn't send you the full list as a file "
        "(an admin may need to reinstall the app so it can send files: it needs the files:write and im:write scopes)."
    )


def _cut_text(text: str, room: int) -> str:
    """A section's text cut to `room` characters, between list items where it can be, with an ellipsis."""
    if len(text) <= room:
        return text
    cut = text.rfind(", ", 0, max(room - 1, 0))
    return (text[:cut] if cut > 0 else text[: max(room - 1, 0)]) + "…"


def bound_message(message: dict[str, Any], note: str = CUT_NOTE) -> dict[str, Any]:
    """The message within MESSAGE_BLOCK_TEXT_BUDGET and MAX_MESSAGE_BLOCKS: as it is when it fits; otherwise its
    blocks in order while they fit, a context block with `note`, then its closing blocks, always kept: the context
    and actions blocks after its last section (a deadline, a button).

    Its `text` (the notification and fallback) is kept under Slack's 40,000 characters too.
    """
    bounded = dict(message)
    if isinstance(bounded.get("text"), str):
        bounded["text"] = truncate(bounded["text"], MESSAGE_TEXT_LIMIT)
    blocks = _as_dicts(message.get("blocks") or [])
    if "blocks" in message:
        bounded["blocks"] = blocks
    if fits(bounded):
        return bounded
    end = len(blocks)
    while end > 0 and blocks[end - 1].get("type") in ("context", "actions"):
        end -= 1
    body, tail = blocks[:end], blocks[end:]
    cut = {"type": "context", "elements": [{"type": "mrkdwn", "text": note}]}
    room = MESSAGE_BLOCK_TEXT_BUDGET - block_text_length([*tail, cut])
    slots = MAX_MESSAGE_BLOCKS - len(tail) - 1
    kept: list[dict[str, Any]] = []
    for block in body:
        size = block_text_length(block)
        if len(kept) >= slots or room <= 0:
            break
        if size <= room:
            kept.append(block)
            room -= size
            continue
        text = (block.get("text") or {}) if block.get("type") == "section" else {}
        if isinstance(text, dict) and isinstance(text.get("text"), str) and room > 100:
            shortened = {**block, "text": {**text, "text": _cut_text(text["text"], room - (size - len(text["text"])))}}
            if block_text_length(shortened) <= room:
                kept.append(shortened)
        break
    bounded["blocks"] = [*kept, cut, *tail]
    return bounded
