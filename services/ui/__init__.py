"""Every Block Kit view and message the app shows, built with slack_sdk.models in this package."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any, Protocol, TypeVar

from slack_sdk.models.blocks import (
    Block,
    CheckboxesElement,
    InputBlock,
    MarkdownTextObject,
    Option,
    PlainTextObject,
    SectionBlock,
)

SECTION_TEXT_LIMIT = 3000
MESSAGE_TEXT_LIMIT = 39000
MAX_RESULT_BLOCKS = 40


def escape_text(text: str) -> str:
    """Escape user text for mrkdwn so it can never render as a mention or a link."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("`", "'")


def mention(channel_id: str) -> str:
    return f"<#{channel_id}>"


def channels_count(n: int) -> str:
    return "1 channel" if n == 1 else f"{n} channels"


def mentions(channel_ids: Sequence[str]) -> str:
    return ", ".join(mention(c) for c in channel_ids)


class ChannelFailure(Protocol):
    @property
    def channel_id(self) -> str: ...

    @property
    def error(self) -> str | None: ...


Failure = TypeVar("Failure", bound=ChannelFailure)


def failures_by_code(
    heading: str,
    failed: Sequence[Failure],
    sentence: Callable[[Failure], str],
    listed: Callable[[Sequence[str]], str] = mentions,
) -> list[str]:
    """The heading, then one line per error code: the first channel's sentence and the others with that code.

    Grouping keeps a summary of hundreds of channels short while naming every channel once (`listed` may name the
    first few and count the rest: services.ui.limits).
    """
    by_code: dict[str, list[Failure]] = {}
    for result in failed:
        by_code.setdefault(result.error or "unexpected_response", []).append(result)
    lines = [heading]
    for first, *rest in by_code.values():
        same = f" The same for {len(rest)} more: {listed([r.channel_id for r in rest])}." if rest else ""
        lines.append(f"• {sentence(first)}{same}")
    return lines


def truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _pieces(line: str, limit: int) -> list[str]:
    """Split an over-long line between list items (", ") so no channel is cut in half."""
    pieces: list[str] = []
    while len(line) > limit:
        cut = line.rfind(", ", 0, limit)
        cut = cut + 1 if cut > 0 else limit
        pieces.append(line[:cut])
        line = line[cut:].lstrip()
    return [*pieces, line]


def sections(lines: Sequence[str]) -> list[Block]:
    """Pack lines into sections under Block Kit's text and block limits."""
    blocks: list[Block] = []
    chunk = ""
    for line in (piece for whole in lines for piece in _pieces(whole, SECTION_TEXT_LIMIT)):
        if chunk and len(chunk) + 1 + len(line) > SECTION_TEXT_LIMIT:
            blocks.append(SectionBlock(text=MarkdownTextObject(text=chunk)))
            chunk = ""
        chunk = f"{chunk}\n{line}" if chunk else line
    if chunk:
        blocks.append(SectionBlock(text=MarkdownTextObject(text=chunk)))
    if len(blocks) > MAX_RESULT_BLOCKS:
        blocks = blocks[: MAX_RESULT_BLOCKS - 1]
        blocks.append(
            SectionBlock(text=MarkdownTextObject(text="…and more: the message I sent you has the full list."))
        )
    return blocks


def encode_metadata(data: dict[str, Any]) -> str:
    """A modal's private_metadata (never a token); compact JSON."""
    return json.dumps(data, separators=(",", ":"))


def decode_metadata(text: str | None) -> dict[str, Any]:
    """private_metadata back to a dict; anything unreadable is an empty one."""
    try:
        data = json.loads(text or "{}")
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def text_field(data: dict[str, Any], key: str) -> str | None:
    value = data.get(key)
    return value if isinstance(value, str) and value else None


def text_list(data: dict[str, Any], key: str) -> tuple[str, ...]:
    value = data.get(key)
    return tuple(v for v in value if isinstance(v, str) and v) if isinstance(value, list) else ()


def usage_reply(usage: str, not_understood: str | None, nothing_done: str) -> str:
    """The usage text, led by what could not be read (escaped, so it can never render as a mention)."""
    if not_understood is None:
        return usage
    return f"I didn't understand `{escape_text(not_understood)}`, so {nothing_done}.\n\n{usage}"


def capitalize(text: str) -> str:
    """The first letter upper-case, for sentences that start with a placeholder ("the admin token …")."""
    return text[:1].upper() + text[1:]


DRY_RUN_ACTION = "dry_run"
DRY_RUN_VALUE = "dry_run"


def dry_run_checkbox(block_id: str, text: str, description: str, ticked: bool) -> InputBlock:
    """The optional *Dry run* box of /disconnect-shared's forms (its value read by listeners.payload)."""
    option = Option(value=DRY_RUN_VALUE, text=PlainTextObject(text=text), description=PlainTextObject(text=description))
    return InputBlock(
        block_id=block_id,
        label="Dry run",
        optional=True,
        element=CheckboxesElement(
            action_id=DRY_RUN_ACTION, options=[option], initial_options=[option] if ticked else None
        ),
    )
