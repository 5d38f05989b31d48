"""Property-based tests of the command-text parsers: any text, never a crash, never an ID that wasn't typed."""

from __future__ import annotations

import re

from hypothesis import example, given, settings
from hypothesis import strategies as st

from services.ui.command_text import LeaveKind, parse_disconnect_text, parse_leave_text
from services.ui.disconnect import usage_message as disconnect_usage
from services.ui.leave import usage_message as leave_usage

CURRENT = "CCURRENT01"
PREFIXES = list("CGDTUWBEAFKLSV")
ids = st.builds(
    lambda p, rest: p + rest, st.sampled_from(PREFIXES), st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", max_size=14)
)
mentions = st.one_of(
    ids,
    ids.map(lambda i: f"<#{i}>"),
    ids.map(lambda i: f"<#{i}|>"),
    st.tuples(ids, st.text(max_size=30)).map(lambda t: f"<#{t[0]}|{t[1]}>"),
    ids.map(lambda i: f"<@{i}>"),
    st.sampled_from(["<!channel>", "<!here>", "<!everyone>", "<<#C0123ABCDE>>", "<#<#C0123ABCDE>>", "pick", "help"]),
)
command_texts = st.one_of(
    st.text(max_size=300),
    st.lists(st.one_of(mentions, st.text(max_size=12)), max_size=20).map(" ".join),
    st.lists(mentions, max_size=40).map(lambda ws: ", ".join(ws)),
)
# What Slack would render as a mention or a special link if it reached a message unescaped.
MARKUP = re.compile(r"<[#@!]")


def typed(identifier: str, text: str) -> bool:
    return identifier in text


@settings(max_examples=400, deadline=None)
@given(command_texts)
@example("x" * 10_000)
@example("\x00\x01\x02\x1b[31m\u202e <#C0123ABCDE|\n> \ud7ff")
@example("<#C0123ABCDE|<#C9999ABCDE|nested>>")
def test_leave_parser_never_raises_and_only_returns_typed_ids(text: str) -> None:
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


@settings(max_examples=400, deadline=None)
@given(command_texts)
@example("T" * 10_000)
@example("<!here> T0123ABCDE <#C0123ABCDE>")
def test_disconnect_parser_never_raises_and_only_returns_typed_ids(text: str) -> None:
    request = parse_disconnect_text(text, current_channel=CURRENT)
    if request.help:
        reply = disconnect_usage(request.not_understood)
        assert not MARKUP.search(reply)
        return
    assert request.channel_id == CURRENT or typed(request.channel_id or "", text)
    assert all(typed(t, text) and t[0] in "TE" for t in request.team_ids)  # a workspace or an Enterprise org
