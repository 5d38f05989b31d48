"""Reading slash-command text: what the user asked for (beside payload.py, which reads the rest of a request)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import Enum

from services.disconnecting.shared_channels import MAX_PARTIES_PER_RUN

# With should_escape on, Slack sends channel references as <#C123|name>, <#C123|> or <#C123>.
_CHANNEL_MENTION = re.compile(r"<#([CGD][A-Z0-9]{2,40})(?:\|[^<>]*)?>")
# A bare conversation ID as copied from Slack's "About" tab.
_BARE_CHANNEL_ID = re.compile(r"[CGD][A-Z0-9]{8,40}")
_WORD_LIMIT = 40
_SEPARATORS = re.compile(r"[\s,]+")


class LeaveKind(Enum):
    CURRENT = "current"
    NAMED = "named"
    PICK = "pick"
    HELP = "help"


@dataclass(frozen=True)
class LeaveRequest:
    kind: LeaveKind
    channel_ids: tuple[str, ...] = ()
    not_understood: str | None = field(default=None)


def channel_id_of(word: str) -> str | None:
    """The conversation ID in one word of command text, or None."""
    match = _CHANNEL_MENTION.fullmatch(word)
    if match:
        return match.group(1)
    if _BARE_CHANNEL_ID.fullmatch(word):
        return word
    return None


def parse_leave_text(text: str | None, current_channel: str) -> LeaveRequest:
    """`""` → this channel; channel references → those; `pick` → modal; `help` or anything else → usage."""
    words = [w for w in _SEPARATORS.split(text or "") if w]
    if not words:
        return LeaveRequest(LeaveKind.CURRENT, (current_channel,))
    if len(words) == 1 and words[0].lower() in ("pick", "choose", "modal"):
        return LeaveRequest(LeaveKind.PICK)
    if len(words) == 1 and words[0].lower() in ("help", "-h", "--help", "?"):
        return LeaveRequest(LeaveKind.HELP)
    ids: dict[str, None] = {}  # in the order named, each once (linear in the text, whatever its size)
    for word in words:
        channel_id = channel_id_of(word)
        if channel_id is None:
            return LeaveRequest(LeaveKind.HELP, not_understood=word[:_WORD_LIMIT])
        ids[channel_id] = None
    return LeaveRequest(LeaveKind.NAMED, tuple(ids))


_TEAM_ID = re.compile(r"[TE][A-Z0-9]{2,40}")  # a workspace (T…) or an Enterprise org (E…)


@dataclass(frozen=True)
class DisconnectRequest:
    channel_id: str | None = None
    team_ids: tuple[str, ...] = ()
    help: bool = False
    not_understood: str | None = None
    dry_run: bool = False
    too_many: bool = False  # more than MAX_PARTIES_PER_RUN named
    named: int = 0  # with too_many: how many different organizations or workspaces the text names


# `--dry-run`, also as typed on clients that turn "--" into an em or en dash (U+2014, U+2013).
_DRY_RUN = re.compile(r"(?:--|[\u2014\u2013-])?dry-?run", re.IGNORECASE)


def parse_disconnect_text(text: str | None, current_channel: str | None) -> DisconnectRequest:
    """`[<#C…>|C…] [T…]… [--dry-run]` prefills the modal; `help` or anything else → usage."""
    words = [w for w in _SEPARATORS.split(text or "") if w]
    if len(words) == 1 and words[0].lower() in ("help", "-h", "--help", "?"):
        return DisconnectRequest(help=True)
    channel_id: str | None = None
    team_ids: dict[str, None] = {}  # ordered, and linear however many are typed
    dry_run = False
    for word in words:
        if _DRY_RUN.fullmatch(word):
            dry_run = True
            continue
        named_channel = channel_id_of(word)
        if named_channel is not None and channel_id in (None, named_channel):
            channel_id = named_channel
        elif _TEAM_ID.fullmatch(word):
            team_ids[word] = None
            if len(team_ids) > MAX_PARTIES_PER_RUN:
                named = len({*team_ids, *(w for w in words if _TEAM_ID.fullmatch(w))})
                return DisconnectRequest(channel_id or current_channel or None, too_many=True, named=named)
        else:
            return DisconnectRequest(help=True, not_understood=word[:_WORD_LIMIT])
    return DisconnectRequest(channel_id or current_channel or None, tuple(team_ids), dry_run=dry_run)


@dataclass(frozen=True)
class OffboardRequest:
    """`/disconnect-shared all <org or workspace> [--dry-run]`: every channel shared with one partner."""

    partner: str  # an `E…`, a `T…`, or a name (may hold spaces); "" when none was given
    dry_run: bool = False


def parse_offboard_text(text: str | None) -> OffboardRequest | None:
    """None unless the text starts with `all`; the rest (less `--dry-run`) names the partner."""
    words = [w for w in (text or "").split() if w]
    if not words or words[0].lower() != "all":
        return None
    dry_run = any(_DRY_RUN.fullmatch(w) for w in words[1:])
    partner = " ".join(w for w in words[1:] if not _DRY_RUN.fullmatch(w))
    return OffboardRequest(partner[:200], dry_run)
