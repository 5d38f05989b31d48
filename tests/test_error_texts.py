"""Slack's documented error codes: the fake answers every one, and every one has its own sentence, safe to show."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from services.disconnecting.shared_channels import DisconnectResult
from services.error_texts import COMMON_ERRORS, DISCONNECT_ERRORS, LEAVE_ERRORS, TokenSource, error_text
from services.ui.disconnect import (
    outcome_message,
)
from tests.helpers.fake_slack import DISCONNECT_ERROR_CODES, LEAVE_ERROR_CODES

SEEDS = Path(__file__).resolve().parent.parent.parent / "shared" / "seeds"


def seed_error_codes(name: str) -> list[str]:
    if not (SEEDS / name).exists():
        pytest.skip(f"Slack's reference pages are not beside the repo ({SEEDS})")
    text = (SEEDS / name).read_text()
    errors = (
        text.split("ErrorDescription", 1)[1] if "ErrorDescription" in text else text.split("Error\nDescription", 1)[1]
    )
    errors = errors.split("Warnings", 1)[0]
    return list(dict.fromkeys(re.findall(r"^\s*([a-z][a-z0-9_]+)\s*$", errors, re.MULTILINE)))


def test_the_fake_knows_every_code_on_the_reference_page() -> None:
    assert sorted(seed_error_codes("conversations.leave.txt")) == sorted(LEAVE_ERROR_CODES)


def test_the_fake_knows_every_disconnect_code_on_the_reference_page() -> None:
    assert sorted(seed_error_codes("admin.conversations.disconnectShared.txt")) == sorted(DISCONNECT_ERROR_CODES)


def test_every_documented_disconnect_code_has_its_own_sentence() -> None:
    for source in (TokenSource.setting(), TokenSource.install("U0123ABCD")):
        values = {"team": "*A* (`T1`)", "channel": "<#C1>", "action": "disconnect *A* (`T1`) from <#C1>"}
        values |= {"token": source.name, "fix": source.fix}
        sentences = {code: error_text(DISCONNECT_ERRORS, code, **values) for code in DISCONNECT_ERROR_CODES}
        assert len(set(sentences.values())) == len(sentences)
        # Every sentence about the admin token names where that token came from, and no other place.
        about_token = [t for t in sentences.values() if "token" in t.lower() and "Org Admin's token" not in t]
        assert all(source.name in t for t in about_token if "SLACK_ADMIN_TOKEN" in t or "install" in t)
        other = TokenSource.install("U0123ABCD") if source.name.endswith("SLACK_ADMIN_TOKEN") else TokenSource.setting()
        assert not any(other.name in t for t in sentences.values())


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


def test_an_unknown_disconnect_code_gets_a_sentence_that_names_it() -> None:
    text = outcome_message("C1", [DisconnectResult("T1", "brand_new_code")], {"T1": "Acme"})["text"]
    assert "`brand_new_code`" in text and "*Acme* (`T1`)" in text and "<#C1>" in text
