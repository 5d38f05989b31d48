"""The command-text parsers: examples, and properties over any text (never a crash, never an ID that wasn't typed)."""

from __future__ import annotations

import re

import pytest

from listeners.command_text import LeaveKind, parse_disconnect_text, parse_leave_text
from services.ui.disconnect import usage_message as disconnect_usage
from services.ui.leave import usage_message as leave_usage

CURRENT = "CCURRENT01"
PREFIXES = list("CGDTUWBEAFKLSV")
# What Slack would render as a mention or a special link if it reached a message unescaped.
MARKUP = re.compile(r"<[#@!]")


def command_texts():  # a Hypothesis strategy
    """Any text, and texts made of channel/user mentions and IDs as Slack sends them.

    Hypothesis is imported here, not at the top: pytest rewrites its ~70 modules in every worker that imports it, and
    only the worker that runs these two tests needs it.
    """
    from hypothesis import strategies as st

    ids = st.builds(
        lambda p, rest: p + rest,
        st.sampled_from(PREFIXES),
        st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", max_size=14),
    )
    mentions = st.one_of(
        ids,
        ids.map(lambda i: f"<#{i}>"),
        ids.map(lambda i: f"<#{i}|>"),
        st.tuples(ids, st.text(max_size=30)).map(lambda t: f"<#{t[0]}|{t[1]}>"),
        ids.map(lambda i: f"<@{i}>"),
        st.sampled_from(
            ["<!channel>", "<!here>", "<!everyone>", "<<#C0123ABCDE>>", "<#<#C0123ABCDE>>", "pick", "help"]
        ),
    )
    return st.one_of(
        st.text(max_size=300),
        st.lists(st.one_of(mentions, st.text(max_size=12)), max_size=20).map(" ".join),
        st.lists(mentions, max_size=40).map(lambda ws: ", ".join(ws)),
    )


def typed(identifier: str, text: str) -> bool:
    return identifier in text


def test_leave_parser_never_raises_and_only_returns_typed_ids() -> None:
    from hypothesis import example, given, settings

    @settings(max_examples=400, deadline=None)
    @given(command_texts())
    @example("x" * 10_000)
    @example("\x00\x01\x02\x1b[31m\u202e <#C0123ABCDE|\n> \ud7ff")
    @example("<#C0123ABCDE|<#C9999ABCDE|nested>>")
    def check(text: str) -> None:
        request = parse_leave_text(text, current_channel=CURRENT)
        if request.kind is LeaveKind.CURRENT:
            assert request.channel_ids == (CURRENT,)
        else:
            assert all(typed(c, text) for c in request.channel_ids)
            assert len(set(request.channel_ids)) == len(request.channel_ids)
        if request.kind is LeaveKind.HELP:
            reply = leave_usage(request.not_understood)
            assert not MARKUP.search(reply)
            assert len(reply) < 2000

    check()


def test_disconnect_parser_never_raises_and_only_returns_typed_ids() -> None:
    from hypothesis import example, given, settings

    @settings(max_examples=400, deadline=None)
    @given(command_texts())
    @example("T" * 10_000)
    @example("<!here> T0123ABCDE <#C0123ABCDE>")
    def check(text: str) -> None:
        request = parse_disconnect_text(text, current_channel=CURRENT)
        if request.help:
            reply = disconnect_usage(request.not_understood)
            assert not MARKUP.search(reply)
            return
        assert request.channel_id == CURRENT or typed(request.channel_id or "", text)
        assert all(typed(t, text) and t[0] in "TE" for t in request.team_ids)  # a workspace or an Enterprise org

    check()


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
