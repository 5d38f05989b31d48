"""Unit tests of the services: parsing, the error table against the seed, views within Block Kit limits, pacing."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path

import pytest

from services.disconnecting.admins import is_org_admin
from services.disconnecting.shared_channels import DisconnectResult, Party, SharedChannel
from services.error_texts import COMMON_ERRORS, DISCONNECT_ERRORS, LEAVE_ERRORS, TokenSource, error_text
from services.leaving.leave import LeaveOutcome, LeaveResult, LeaveStatus, result_from_response
from services.slack.pacing import Pacer
from services.ui.command_text import LeaveKind, parse_disconnect_text, parse_leave_text
from services.ui.disconnect import (
    ConfirmMetadata,
    FormMetadata,
    checking_modal,
    confirm_modal,
    form_modal,
    outcome_message,
)
from services.ui.leave import leave_pick_modal, leave_progress_modal, leave_result_modal, private_metadata
from tests.fake_slack import DISCONNECT_ERROR_CODES, LEAVE_ERROR_CODES

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


async def test_pacer_learns_the_accepted_rate_from_a_429_burst() -> None:
    now = [100.0]
    pacer = Pacer(clock=lambda: now[0])
    for _ in range(20):  # 20 answers accepted, then 4 calls in flight come back 429
        await pacer.wait_turn("k")
        pacer.answered("k", limited=False)
    for _ in range(4):
        pacer.answered("k", limited=True)
        pacer.rate_limited("k", retry_after=1.0)
    now[0] += 1.1  # the pause is over
    await pacer.wait_turn("k")
    learned = pacer.interval("k")
    assert learned == pytest.approx(1 / 20 * 1.05)
    pacer.rate_limited("k", retry_after=1.0)  # almost nothing accepted in the window: no rate to learn, pace stays
    now[0] += 1.1
    await pacer.wait_turn("k")
    assert pacer.interval("k") == learned
    for _ in range(12):  # Slack now accepts fewer than our pace: slower to match, never faster
        now[0] += learned
        await pacer.wait_turn("k")
        pacer.answered("k", limited=False)
    pacer.rate_limited("k", retry_after=1.0)
    now[0] += 1.1
    await pacer.wait_turn("k")
    assert pacer.interval("k") > learned
    now[0] += 61  # a quiet minute forgets it
    await pacer.wait_turn("k")
    assert pacer.interval("k") == 0


async def test_pacer_keeps_what_it_learned_from_a_whole_minute_retry_after() -> None:
    """20 a minute, Retry-After: 60 (a whole window): the pace is learned when the pause ends and kept after it."""
    now = [100.0]
    pacer = Pacer(clock=lambda: now[0])
    for _ in range(20):
        await pacer.wait_turn("k")
        pacer.answered("k", limited=False)
    pacer.rate_limited("k", retry_after=60.0)
    now[0] += 60.1
    await pacer.wait_turn("k")
    assert pacer.interval("k") == pytest.approx(60 / 20 * 1.05)
    now[0] += 3.2
    await pacer.wait_turn("k")
    assert pacer.interval("k") == pytest.approx(60 / 20 * 1.05)


def long_shared_channel(n: int) -> SharedChannel:
    teams = tuple(Party(f"T{i:010d}" if i % 2 else f"E{i:010d}", "limited" if i % 3 else "connected") for i in range(n))
    names = {t.id: "Ünïcode Workspace <with> *markup* & a very long name " * 6 for t in teams}
    names["THOST00000"] = "Host"
    return SharedChannel("C0123ABCDE", "x" * 80, "THOST00000", teams, names, None, "EHOST00000")


@pytest.mark.parametrize("n", [1, 3, 100])
def test_disconnect_views_hold_block_kit_limits_with_long_names(n: int) -> None:
    shared = long_shared_channel(n)
    metadata = FormMetadata.for_channel("https://hooks.slack.com/commands/T1/2/3", shared).encode()
    assert len(metadata) <= 3000
    confirm_metadata = ConfirmMetadata("https://hooks.slack.com/commands/T1/2/3", "C0123ABCDE", shared.team_ids)
    for view in (
        checking_modal("disconnect-confirm-" + "f" * 32),
        form_modal("C0123ABCDE", shared, shared.team_ids[:2], metadata),
        form_modal("C0123ABCDE", None, (), metadata),
        confirm_modal(shared, shared.team_ids, confirm_metadata.encode(), "ext"),
    ):
        data = view.to_dict()  # slack_sdk.models validates Block Kit's limits here
        assert len(data["blocks"]) <= 100
        for block in data["blocks"]:
            assert len(block.get("text", {}).get("text", "")) <= 3000
            for option in block.get("element", {}).get("options", []):
                assert len(option["text"]["text"]) <= 75
    assert "<with>" not in json.dumps(confirm_modal(shared, shared.team_ids, "{}", "ext").to_dict())


def test_outcome_message_escapes_team_names() -> None:
    results = [DisconnectResult("T1", None), DisconnectResult("T2", "restricted_action")]
    text = outcome_message("C1", results, {"T1": "<!channel> Evil", "T2": "Fine & Co"})["text"]
    assert "<!channel>" not in text
    assert "&lt;!channel&gt; Evil" in text and "Fine &amp; Co" in text
    assert text.splitlines()[0].startswith("Disconnected from <#C1>:")
    assert text.splitlines()[1] == "Not disconnected from <#C1>:"


@pytest.mark.parametrize(
    ("text", "channel", "teams", "help_", "dry_run"),
    [
        ("", "CHERE", (), False, False),
        ("--dry-run", "CHERE", (), False, True),
        ("<#C0123ABCDE> \u2014dry-run T0123ABCDE", "C0123ABCDE", ("T0123ABCDE",), False, True),
        ("T0123ABCDE DRY-RUN", "CHERE", ("T0123ABCDE",), False, True),
        ("--dry-runs", None, (), True, False),
        ("<#C0123ABCDE|shared> T0123ABCDE", "C0123ABCDE", ("T0123ABCDE",), False, False),
        ("C0123ABCDE T0123ABCDE T0123ABCDE TABCDEFGHI", "C0123ABCDE", ("T0123ABCDE", "TABCDEFGHI"), False, False),
        ("T0123ABCDE", "CHERE", ("T0123ABCDE",), False, False),
        ("<#C0123ABCDE> <#C0123ABCDF>", None, (), True, False),
        ("help", None, (), True, False),
        ("remove acme", None, (), True, False),
    ],
)
def test_parse_disconnect_text(text: str, channel: str | None, teams: tuple, help_: bool, dry_run: bool) -> None:
    request = parse_disconnect_text(text, "CHERE")
    assert request.help is help_
    if not help_:
        assert (request.channel_id, request.team_ids, request.dry_run) == (channel, teams, dry_run)


@pytest.mark.parametrize(
    ("user", "allowed"),
    [
        ({"is_admin": True, "enterprise_user": {"is_admin": False, "is_owner": False}}, False),
        ({"enterprise_user": {"is_admin": True}}, True),
        ({"enterprise_user": {"is_owner": True}}, True),
        ({"enterprise_user": {"is_primary_owner": True}}, True),
        # Outside an Enterprise org nobody is an Org Admin: a standalone workspace's admins don't count.
        ({"is_admin": True}, False),
        ({"is_owner": True}, False),
        ({"is_primary_owner": True}, False),
        ({"is_admin": False, "is_restricted": True}, False),
        ({"enterprise_user": {"is_admin": "true"}}, False),
    ],
)
def test_who_counts_as_an_admin(user: dict, allowed: bool) -> None:
    assert is_org_admin(user) is allowed


async def test_a_sqlite_database_folder_is_created_on_first_use(tmp_path) -> None:
    from services.storage.migrate import upgrade

    url = f"sqlite+aiosqlite:///{tmp_path}/nested/dir/audit.db"
    await upgrade(url)
    await upgrade(url)  # idempotent
    assert (tmp_path / "nested" / "dir" / "audit.db").exists()


async def test_audit_log_records_concurrently_and_the_command_prints(database_url: str, capsys) -> None:
    from services.audit.log import AuditEntry, AuditEvent, AuditLog, main
    from services.storage.database import Database

    url = database_url
    database = Database(url)
    log = AuditLog(database)
    await asyncio.gather(
        *(log.record(AuditEntry(AuditEvent.REFUSED, f"U{i:09d}", "not_admin", channel_id="C1")) for i in range(30))
    )
    assert len(await log.latest(100)) == 30
    await database.close()
    await asyncio.to_thread(main, ["--last", "3", "--database-url", url])
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3
    assert all("refused" in line and "outcome=not_admin" in line and "UTC" in line for line in lines)


def test_an_unknown_disconnect_code_gets_a_sentence_that_names_it() -> None:
    text = outcome_message("C1", [DisconnectResult("T1", "brand_new_code")], {"T1": "Acme"})["text"]
    assert "`brand_new_code`" in text and "*Acme* (`T1`)" in text and "<#C1>" in text
