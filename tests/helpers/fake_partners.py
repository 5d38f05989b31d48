"""The fake's partner-level methods: team.externalTeams.list and team.externalTeams.disconnect (FakeSlack inherits it).

From Slack's record of a real answer (../shared/slack-samples/api/team.externalTeams.list.json, "S:" below) and the
reference pages (https://docs.slack.dev/reference/methods/team.externalTeams.list,
https://docs.slack.dev/reference/methods/team.externalTeams.disconnect):
- list: Enterprise Grid only; a bot token with `team:read` and `conversations.connect:manage`; `limit` (default 20),
  `cursor` (a partner's `team_id`, from `response_metadata.next_cursor`), `sort_field` (`team_name`, default;
  `last_active_timestamp`; `connection_status`), `sort_direction` (`asc`, default; `desc`),
  `connection_status_filter` (`CONNECTED`, `DISCONNECTED`, `BLOCKED`, `IN_REVIEW`); documented errors
  `invalid_workspace_filter`, `not_allowed`, `restricted_action`.
- disconnect: a bot token with `conversations.connect:manage`; `target_team` required (`missing_argument`);
  `invalid_target_team`, `restricted_action`; "the disconnect process occurs in the background and may take some time
  to complete": here it completes `external_disconnect_delay` seconds after the call (every channel, DM and group DM
  shared with the partner loses it; the partner is then listed as DISCONNECTED with no channels).

Each partner is listed by the ID the rest of the fake uses for it: an Enterprise org by its `E…`, a standalone
workspace by its `T…` (the reference's example lists a `T…`; S: masks it). Counts are computed from the channels.
"""

from __future__ import annotations

import asyncio
import json
import random
import string
import time
from dataclasses import dataclass, field
from typing import Any

STATUSES = ("CONNECTED", "DISCONNECTED", "BLOCKED", "IN_REVIEW")
SORT_FIELDS = ("team_name", "last_active_timestamp", "connection_status")
LIST_SCOPES = ("team:read", "conversations.connect:manage")
DISCONNECT_SCOPE = "conversations.connect:manage"


@dataclass
class PartnerRecord:
    """What the fake knows of a partner beyond its channels: activity, status, prefs."""

    last_active: int = 0
    status: str | None = None  # None: CONNECTED while it shares anything
    restricted: bool = False  # team.externalTeams.disconnect answers restricted_action
    disconnecting_since: float | None = None


@dataclass
class _PartnersState:
    records: dict[str, PartnerRecord] = field(default_factory=dict)
    handles: list[asyncio.TimerHandle] = field(default_factory=list)


class FakePartners:
    """Mixed into FakeSlack: it uses its channels, orgs, teams, tokens and _scope/_token_org."""

    external_disconnect_delay = 0.5  # seconds until a background disconnect completes

    # ---- state and setup (tests call these) ---------------------------------------------------------------------
    @property
    def _partners(self) -> _PartnersState:
        state = self.__dict__.get("_partners_state")
        if state is None:
            state = self.__dict__["_partners_state"] = _PartnersState()
        return state

    def partner_record(self, party: str) -> PartnerRecord:
        return self._partners.records.setdefault(party, PartnerRecord())

    def set_partner(
        self, party: str, *, last_active: int | None = None, status: str | None = None, restricted: bool | None = None
    ) -> None:
        record = self.partner_record(party)
        if last_active is not None:
            record.last_active = last_active
        if status is not None:
            record.status = status
        if restricted is not None:
            record.restricted = restricted

    def grant_bot_scopes(self, *scopes: str) -> None:
        """The bot token (and org-level bot tokens) gain these scopes: an install that granted them."""
        for identity in self.tokens.values():  # type: ignore[attr-defined]
            if identity.get("kind") == "bot":
                identity["scopes"].update(scopes)

    # ---- what the methods read ------------------------------------------------------------------------------------
    def _home_party(self) -> str:
        return self.enterprise_id or self.team_id  # type: ignore[attr-defined]

    def external_parties(self) -> list[str]:
        """Every outside party connected to a channel of ours, or known to the directory (disconnected, blocked…)."""
        ours = self._home_party()
        found: dict[str, None] = {}
        for channel in self.channels.values():  # type: ignore[attr-defined]
            host_party = self.party_of(self._host(channel))  # type: ignore[attr-defined]
            for party in [host_party, *channel.connected, *channel.limited]:
                if party != ours and (host_party == ours or ours in channel.connected_teams):
                    found[party] = None
        for party in self._partners.records:
            found[party] = None
        return [p for p in found if p != ours]

    def _counts(self, party: str) -> dict[str, int]:
        counts = {"public_channel_count": 0, "private_channel_count": 0, "im_channel_count": 0, "mpim_channel_count": 0}
        ours = self._home_party()
        for channel in self.channels.values():  # type: ignore[attr-defined]
            host_party = self.party_of(self._host(channel))  # type: ignore[attr-defined]
            parties = {host_party, *channel.connected, *channel.limited}
            if party not in parties or ours not in parties:
                continue
            kind = (
                "im_channel_count"
                if channel.is_im
                else "mpim_channel_count"
                if channel.is_mpim
                else "private_channel_count"
                if channel.is_private
                else "public_channel_count"
            )
            counts[kind] += 1
        return counts

    def partner_status(self, party: str) -> str:
        record = self.partner_record(party)
        if record.status:
            return record.status
        return "CONNECTED" if any(self._counts(party).values()) else "DISCONNECTED"

    def _organization(self, party: str) -> dict[str, Any]:
        """One partner as S: `organizations[]` shows it (the fields this app reads, and the masked rest's keys)."""
        if party.startswith("E"):
            name = self.org_name(party)  # type: ignore[attr-defined]
            workspaces = self.workspaces_of(party)  # type: ignore[attr-defined]
        else:
            name = self.teams.get(party, {}).get("name", "")  # type: ignore[attr-defined]
            workspaces = [party]
        record = self.partner_record(party)
        return {
            "team_id": party,
            "team_name": name,
            "team_domain": "".join(c if c.isalnum() else "-" for c in name.lower()).strip("-")[:21],
            **self._counts(party),
            "connected_workspaces": [
                {"workspace_id": w, "workspace_name": self.teams[w]["name"]}  # type: ignore[attr-defined]
                for w in workspaces
            ],
            "slack_connect_prefs": {},
            "connection_status": self.partner_status(party),
            "last_active_timestamp": record.last_active,
            "is_sponsored": False,
            "canvas": {"total_count": 0, "ownership_details": []},
            "lists": {"total_count": 0, "ownership_details": []},
        }

    # ---- the methods ---------------------------------------------------------------------------------------------
    def _m_team_externalTeams_list(self, params: dict, identity: dict) -> dict:
        if identity["kind"] != "bot":
            return {"ok": False, "error": "not_allowed_token_type"}
        for scope in LIST_SCOPES:
            if missing := self._scope(identity, scope):  # type: ignore[attr-defined]
                return missing
        if not self._token_org(identity):  # type: ignore[attr-defined]
            return {"ok": False, "error": "not_allowed"}  # "can only be used on Enterprise Grid workspaces"
        status_filter = str(params.get("connection_status_filter") or "")
        sort_field = str(params.get("sort_field") or "team_name")
        descending = str(params.get("sort_direction") or "asc") == "desc"
        organizations = [self._organization(p) for p in self.external_parties()]
        if status_filter:
            organizations = [o for o in organizations if o["connection_status"] == status_filter]
        key = sort_field if sort_field in SORT_FIELDS else "team_name"
        organizations.sort(key=lambda o: (o[key], o["team_id"]), reverse=descending)
        cursor = str(params.get("cursor") or "")
        start = next((i for i, o in enumerate(organizations) if o["team_id"] == cursor), 0) if cursor else 0
        limit = max(1, min(int(params.get("limit") or 20), 1000))
        page = organizations[start : start + limit]
        following = organizations[start + limit]["team_id"] if start + limit < len(organizations) else ""
        return {
            "ok": True,
            "organizations": page,
            "total_count": len(organizations),
            "response_metadata": {"next_cursor": following},
        }

    def _m_team_externalTeams_disconnect(self, params: dict, identity: dict) -> dict:
        if identity["kind"] != "bot":
            return {"ok": False, "error": "not_allowed_token_type"}
        if missing := self._scope(identity, DISCONNECT_SCOPE):  # type: ignore[attr-defined]
            return missing
        if not self._token_org(identity):  # type: ignore[attr-defined]
            return {"ok": False, "error": "not_allowed"}  # Enterprise Grid only
        target = str(params.get("target_team") or "")
        if not target:
            return {"ok": False, "error": "missing_argument"}
        if target == self._home_party() or target not in self.external_parties():
            return {"ok": False, "error": "invalid_target_team"}
        record = self.partner_record(target)
        if record.restricted:
            return {"ok": False, "error": "restricted_action"}
        if record.disconnecting_since is None:
            record.disconnecting_since = time.monotonic()
            loop = asyncio.get_running_loop()
            self._partners.handles.append(loop.call_later(self.external_disconnect_delay, self._disconnected, target))
        return {"ok": True}

    def _m_views_push(self, params: dict, identity: dict) -> dict:
        """A view pushed onto an open modal's stack with an interaction's trigger_id
        (https://docs.slack.dev/reference/methods/views.push): the trigger rules and view checks of views.open."""
        trigger_id = params.get("trigger_id", "")
        opened_at = self.triggers.pop(trigger_id, None)  # type: ignore[attr-defined]
        if opened_at is None:
            return {"ok": False, "error": "invalid_trigger_id"}
        if time.monotonic() - opened_at > 3.0:
            return {"ok": False, "error": "expired_trigger_id"}
        view = params.get("view")
        view = json.loads(view) if isinstance(view, str) else view
        error = self._view_error(view)  # type: ignore[attr-defined]
        if error or not isinstance(view, dict):
            return {"ok": False, "error": error or "invalid_arguments"}
        view_id = "V" + "".join(random.choices(string.ascii_uppercase + string.digits, k=10))
        return {"ok": True, "view": self._store_view(view_id, view)}  # type: ignore[attr-defined]

    def _disconnected(self, party: str) -> None:
        """The background disconnect completes: every conversation shared with the partner loses it."""
        ours = self._home_party()
        for channel in self.channels.values():  # type: ignore[attr-defined]
            hosted_by_them = self.party_of(self._host(channel)) == party  # type: ignore[attr-defined]
            gone = ours if hosted_by_them else party  # their channels: we are the ones cut off
            for bucket in (channel.connected, channel.limited, channel.pending):
                if gone in bucket:
                    bucket.remove(gone)
        record = self.partner_record(party)
        record.status = "DISCONNECTED"
        record.disconnecting_since = None
