"""The leave summary and Rejoin messages are built as plain dicts (they go out on every leave): the same Block Kit,
within the same limits, as slack_sdk.models would build and validate."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import pytest
from slack_sdk.models.blocks import ActionsBlock, ButtonElement, ContextBlock, MarkdownTextObject

from services.leaving.rejoin import JoinResult, JoinStatus
from services.ui import MESSAGE_TEXT_LIMIT, sections, truncate
from services.ui.limits import bound_message, fits
from services.ui.rejoin import (
    REJOIN_ACTION,
    REJOIN_BLOCK,
    rejoin_done_message,
    rejoin_expired_message,
    rejoin_offer_message,
    rejoin_result_lines,
    rejoin_running_message,
)

EXPIRES = datetime(2026, 12, 3, 9, 30, tzinfo=UTC)


def reference(summary: str, extra: Sequence[str], button_value: str | None = None, note: str | None = None) -> dict:
    """The message as slack_sdk.models builds it (to_dict() validates every block against Block Kit's limits), within
    the bound on a message (services.ui.limits: a summary kept whole before summaries were shortened is cut there)."""
    lines = [*summary.split("\n"), *(["", *extra] if extra else [])]
    blocks: list[Any] = sections(lines)
    if note:
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=note)]))
    if button_value is not None:
        button = ButtonElement(text="Rejoin", action_id=REJOIN_ACTION, value=button_value)
        blocks.append(ActionsBlock(block_id=REJOIN_BLOCK, elements=[button]))
    message = {"text": truncate("\n".join(lines), MESSAGE_TEXT_LIMIT), "blocks": [b.to_dict() for b in blocks]}
    bounded = bound_message(message)
    assert fits(bounded)
    return bounded


SUMMARIES = [
    "I left <#C0123ABCD>.",
    "Left 2 channels: <#C1>, <#C2>.\nI wasn't in 1 channel, so there was nothing to leave: <#C3>.",
    "Left 900 channels: " + ", ".join(f"<#C{i:08d}>" for i in range(900)) + ".",  # over one section's 3,000
    "\n".join(f"• line {i} " + "x" * 2900 for i in range(60)),  # over 40 blocks: cut with "…and more"
]


@pytest.mark.parametrize("summary", SUMMARIES)
@pytest.mark.parametrize("lasting_copy", [False, True])
def test_the_offer_is_what_slack_sdk_would_build(summary: str, lasting_copy: bool) -> None:
    value = "r1|1796200000|U0123|C1,*G2"
    message = rejoin_offer_message(summary, value, EXPIRES, lasting_copy)
    note = message["blocks"][-2]["elements"][0]["text"]
    assert message == reference(summary, [], value, note)
    assert ("A copy with the Rejoin button" in note) is lasting_copy


@pytest.mark.parametrize("summary", SUMMARIES)
def test_the_rewritten_messages_are_what_slack_sdk_would_build(summary: str) -> None:
    running = rejoin_running_message(summary, 3)
    assert running == {
        **reference(summary, [":hourglass_flowing_sand: Rejoining 3 channels…"]),
        "replace_original": True,
    }
    expired = rejoin_expired_message(summary, EXPIRES, "U0BOT")
    line = expired["text"].split("\n")[-1]
    assert expired == {**reference(summary, [line]), "replace_original": True}
    results = [JoinResult("C1", JoinStatus.REJOINED), JoinResult("C2", JoinStatus.FAILED, "ratelimited")]
    done = rejoin_done_message(summary, results, ["G2"], "U0BOT", "r1|x", EXPIRES)
    extra = rejoin_result_lines(results, ["G2"], "U0BOT", EXPIRES)
    assert done["blocks"][-1]["type"] == "actions"  # a retry could help: the button stays
    assert done == {**reference(summary, extra, "r1|x"), "replace_original": True}
