"""Unit tests of the services: parsing, the error table against the seed, views within Block Kit limits, pacing."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from services.command_text import LeaveKind, parse_leave_text
from services.error_texts import COMMON_ERRORS, LEAVE_ERRORS, error_text
from services.leave import LeaveOutcome, LeaveResult, LeaveStatus, result_from_response
from services.pacing import Pacer
from services.ui.leave import leave_pick_modal, leave_progress_modal, leave_result_modal, private_metadata
from tests.fake_slack import LEAVE_ERROR_CODES

SEEDS = Path(__file__).resolve().parent.parent.parent / "shared" / "seeds"


def seed_error_codes(name: str) -> list[str]:
    text = (SEEDS / name).read_text()
    errors = (
        text.split("ErrorDescription", 1)[1] if "ErrorDescription" in text else text.split("Error\nDescription", 1)[1]
    )
    errors = errors.split("Warnings", 1)[0]
    return list(dict.fromkeys(re.findall(r"^\s*([a-z][a-z0-9_]+)\s*$", errors, re.MULTILINE)))


def test_the_fake_knows_every_code_on_the_reference_page() -> None:
    assert sorted(seed_error_codes("conversations.leave.txt")) == sorted(LEAVE_ERROR_CODES)


def test_every_documented_leave_code_has_its_own_sentence() -> None:
    sentences = {
        code: error_text(LEAVE_ERRORS, code, channel="<#C1>", action="leave <#C1>") for code in LEAVE_ERROR_CODES
    }
    assert len(set(sentences.values())) == len(sentences)
    generic = error_text(LEAVE_ERRORS, "zzz_unknown", channel="<#C1>", action="leave <#C1>")
    assert "zzz_unknown" in generic
    assert generic not in sentences.values()


def test_unknown_code_cannot_smuggle_markup() -> None:
    text = error_text(COMMON_ERRORS, "<!channel>", action="leave <#C1>")
    assert "<!channel>" not in text


@pytest.mark.parametrize(
    ("text", "kind", "ids"),
    [
        ("", LeaveKind.CURRENT, ("CHERE",)),
        ("   ", LeaveKind.CURRENT, ("CHERE",)),
        ("pick", LeaveKind.PICK, ()),
        ("help", LeaveKind.HELP, ()),
        ("<#C123|general> <#C456|> <#C789>", LeaveKind.NAMED, ("C123", "C456", "C789")),
        ("C0123ABCDE, <#C0123ABCDE|dup> G0123ABCDE", LeaveKind.NAMED, ("C0123ABCDE", "G0123ABCDE")),
        ("C12", LeaveKind.HELP, ()),
        ("<#C123|a> nonsense", LeaveKind.HELP, ()),
        ("<@U0123ABCDE>", LeaveKind.HELP, ()),
        ("<#C1<#C2>>", LeaveKind.HELP, ()),
    ],
)
def test_parse_leave_text(text: str, kind: LeaveKind, ids: tuple[str, ...]) -> None:
    request = parse_leave_text(text, current_channel="CHERE")
    assert request.kind is kind
    assert request.channel_ids == ids


@pytest.mark.parametrize(
    ("body", "error", "status"),
    [
        ({"ok": True}, None, LeaveStatus.LEFT),
        ({"ok": False, "not_in_channel": True}, "unexpected_response", LeaveStatus.NOT_IN_CHANNEL),
        ({"ok": True, "not_in_channel": True}, None, LeaveStatus.NOT_IN_CHANNEL),
        ({"ok": False, "error": "is_archived"}, "is_archived", LeaveStatus.FAILED),
        ({}, None, LeaveStatus.FAILED),
    ],
)
def test_one_place_decides_what_leave_answers_mean(body: dict, error: str | None, status: LeaveStatus) -> None:
    assert result_from_response("C1", body, error).status is status


def long_outcome(n: int) -> LeaveOutcome:
    return LeaveOutcome(tuple(LeaveResult(f"C{i:010d}", LeaveStatus.FAILED, "channel_not_found") for i in range(n)))


@pytest.mark.parametrize("n", [1, 35, 500])
def test_views_hold_block_kit_limits(n: int) -> None:
    for view in (
        leave_pick_modal("C0123ABCDE", private_metadata("https://hooks.slack.com/commands/T1/2/3", "C1", "U1")),
        leave_progress_modal(n // 2, n),
        leave_result_modal(long_outcome(n)),
    ):
        data = view.to_dict()  # slack_sdk.models validates the limits here
        assert len(data["blocks"]) <= 100
        assert all(len(b.get("text", {}).get("text", "")) <= 3000 for b in data["blocks"])


async def test_pacer_learns_the_accepted_rate_from_a_429() -> None:
    now = [100.0]
    pacer = Pacer(clock=lambda: now[0])
    for _ in range(20):
        await pacer.wait_turn("k")
    pacer.rate_limited("k", retry_after=1.0)
    assert 1 / 20 < pacer.interval("k") < 1 / 15
    pacer.rate_limited("k", retry_after=1.0)  # the rest of the same burst does not compound
    assert pacer.interval("k") < 1 / 15
