"""The fake Slack is true to real Slack: every answer it gives, and every payload the test sender posts, has only fields
Slack's recorded traffic has, at the same place, with the same JSON type (../shared/slack-samples/, README there);
then the Enterprise Grid and Slack Connect behaviours it models, tested directly.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, parse_qsl, urlencode, urlsplit

import aiohttp
import pytest

from tests.helpers.app import Org, Partner
from tests.helpers.fake_slack import FakeSlack, Scripted
from tests.helpers.slack_requests import Reply, SlackSender

SAMPLES = Path(__file__).resolve().parents[2] / "shared" / "slack-samples"
VIEW_DOCS = "https://docs.slack.dev/reference/interaction-payloads/view-interactions-payload"
# Fields real Slack sends that a recorded sample lacks: (sample, path) -> (what to compare them with, source).
# A callable gets the samples folder.
EXTRAS: dict[tuple[str, str], tuple[Any, str]] = {
    ("conversations.leave", "$.not_in_channel"): (True, "seeds/conversations.leave.txt, 'Alternate response'"),
    ("ViewSubmissionPayload", "$.view.blocks"): ("views.open:$.view.blocks", VIEW_DOCS),
    ("ViewSubmissionPayload", "$.response_urls"): (
        [{"block_id": "", "action_id": "", "channel_id": "", "response_url": ""}],
        VIEW_DOCS + " (response_urls; empty unless an input has response_url_enabled)",
    ),
    ("BlockActionPayload", "$.view.blocks"): ("views.open:$.view.blocks", VIEW_DOCS),
    ("AppHomeOpenedPayload", "$.event.view.blocks"): (
        "views.open:$.view.blocks",
        "https://docs.slack.dev/reference/events/app_home_opened (the event's view carries the Home tab's blocks)",
    ),
}
# Fields Slack documents (or is recorded sending) as null: (sample, path) -> source.
NULLABLE: dict[tuple[str, str], str] = {
    ("oauth.v2.access", "$.team"): "https://api.slack.com/enterprise/apps/reference: an org-wide install has team null",
    ("oauth.v2.access", "$.enterprise"): (
        "https://docs.slack.dev/tools/node-slack-sdk/reference/oauth/interfaces/OAuthV2Response: "
        "enterprise {id, name} | null (a workspace outside any Enterprise org)"
    ),
    ("ViewSubmissionPayload", "$.view.previous_view_id"): VIEW_DOCS + ': "previous_view_id": null',
    ("ViewSubmissionPayload", "$.enterprise"): VIEW_DOCS + ': "enterprise": null outside an Enterprise org',
    ("BlockActionPayload", "$.view.previous_view_id"): VIEW_DOCS + ': "previous_view_id": null (same view object)',
    ("BlockActionPayload", "$.enterprise"): VIEW_DOCS + ": the interaction envelope's enterprise is null outside Grid",
    ("AppHomeOpenedPayload", "$.authorizations[].enterprise_id"): (
        "https://api.slack.com/enterprise/apps/reference (authorizations); outside an Enterprise org it is null in "
        "Slack's recorded events (e.g. slackapi/bolt-python tests/scenario_tests)"
    ),
}


def load(name: str) -> Any:
    folder = "api" if (SAMPLES / "api" / f"{name}.json").exists() else "payloads"
    return json.loads((SAMPLES / folder / f"{name}.json").read_text())


def at(document: Any, path: str) -> Any:
    for key in path.removeprefix("$.").split("."):
        document = document[key]
    return document


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    names: dict[type, str] = {str: "str", dict: "dict", list: "list"}
    return names.get(type(value), type(value).__name__)


def mismatches(name: str, value: Any, shape: Any, path: str = "$") -> list[str]:
    """Where `value` has a field `shape` (a sample) lacks, or a different JSON type; [] when it fits."""
    if value is None:
        return [] if (name, path) in NULLABLE else [f"{path}: null, the sample has {_kind(shape)}"]
    if _kind(value) != _kind(shape):
        return [f"{path}: {_kind(value)}, the sample has {_kind(shape)}"]
    if isinstance(value, dict):
        if shape == {}:  # a map whose keys Slack's SDK doesn't record (view.state, metadata payloads)
            return []
        found: list[str] = []
        for key, item in value.items():
            if key in shape:
                found += mismatches(name, item, shape[key], f"{path}.{key}")
            elif (name, f"{path}.{key}") in EXTRAS:
                extra, _ = EXTRAS[(name, f"{path}.{key}")]
                if isinstance(extra, str) and ":" in extra:
                    source, _, where = extra.partition(":")
                    extra = at(load(source), where)
                found += mismatches(name, item, extra, f"{path}.{key}")
            else:
                found.append(f"{path}.{key}: not in the sample")
        return found
    if isinstance(value, list):
        found = []
        for item in value:
            options = [mismatches(name, item, one, f"{path}[]") for one in shape]
            if shape and not any(o == [] for o in options):
                closest: list[str] = min(options, key=len)
                found += closest
            elif not shape:
                found.append(f"{path}[]: the sample's array is empty, so no element shape is recorded")
        return found
    return []


def check(name: str, answer: Any) -> None:
    problems = mismatches(name, answer, load(name))
    assert problems == [], f"{name} differs from Slack's recorded shape: {problems}\n{json.dumps(answer)[:800]}"


@pytest.fixture
def samples() -> Path:
    if not SAMPLES.is_dir():
        pytest.skip(f"Slack's recorded samples aren't at {SAMPLES} (../shared/ beside the repo)")
    return SAMPLES


async def api(fake: FakeSlack, method: str, token: str | None = None, **params: Any) -> dict:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    form = {k: json.dumps(v) if isinstance(v, (dict, list)) else str(v) for k, v in params.items()}
    async with (
        aiohttp.ClientSession() as session,
        session.post(fake.api_url + method, data=form, headers=headers) as response,
    ):
        return await response.json()


async def authorize(fake: FakeSlack, **query: str) -> tuple[int, str, dict[str, str]]:
    """Visit the fake's install page: (status, page text, the redirect's query when it redirects)."""
    query = {"client_id": fake.client_id, "state": "st4te", **query}
    async with (
        aiohttp.ClientSession() as session,
        session.get(fake.authorize_url + "?" + urlencode(query), allow_redirects=False) as page,
    ):
        text = await page.text()
        location = page.headers.get("Location", "")
    return page.status, text, {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


async def exchange(fake: FakeSlack, code: str) -> dict:
    return await api(fake, "oauth.v2.access", client_id=fake.client_id, client_secret=fake.client_secret, code=code)


@dataclass
class World:
    """Our Grid org (home workspace + a sister workspace), a partner org, standalone partners, and the channels."""

    ours: str  # hosted by us: partner org + standalone connected, an org invited (pending), a limited connection
    theirs: str  # hosted by the partner org's workspace, our org connected
    org_shared: str  # our home workspace and our sister workspace only
    plain: str  # not shared
    secret: str  # private, the bot in it
    sister: str
    invited: str
    limited: str
    admin_token: str  # our Org Admin, with the admin read and write scopes
    org_bot: str  # our org-wide install's bot token


def build_world(fake: FakeSlack, org: Org, partner: Partner) -> World:
    sister = fake.add_team("Sister Workspace", enterprise_id=fake.enterprise_id)
    invited = fake.add_org("Invited Ltd")
    limited = fake.add_team("Limited Co")
    return World(
        ours=fake.add_shared_channel(
            "deal-room", connected=[partner.workspace, partner.standalone], pending=[invited], limited=[limited]
        ),
        theirs=fake.add_shared_channel("their-room", host=partner.workspace, connected=[fake.team_id]),
        org_shared=fake.add_shared_channel("org-wide", connected=[sister]),
        plain=fake.add_channel("plain"),
        secret=fake.add_channel("secret", is_private=True),
        sister=sister,
        invited=invited,
        limited=limited,
        admin_token=fake.add_admin_token(scopes={"admin.conversations:read", "admin.conversations:write"}),
        org_bot=fake.add_org_bot_token(),
    )


# ---- every Web API answer against its sample --------------------------------------------------------------------


async def test_every_answer_has_the_recorded_shape(samples: Path, fake_slack: FakeSlack, org: Org, partner: Partner):
    fake, world = fake_slack, build_world(fake_slack, org, partner)
    bot = fake.bot_token
    answers: dict[str, list[dict]] = {}

    async def ask(method: str, token: str | None, **params: Any) -> dict:
        answer = await api(fake, method, token, **params)
        answers.setdefault(method, []).append(answer)
        return answer

    # A standalone partner installs the app (bot scopes only) through the install page.
    solo = fake.add_user(team_id=partner.standalone, workspace_admin=True)
    fake.installing_as(solo)
    _, _, redirect = await authorize(fake, scope="channels:read,team:read,users:read", redirect_uri="https://a.test/r")
    solo_install = await ask("oauth.v2.access", None, client_id=fake.client_id, client_secret=fake.client_secret,
                             code=redirect["code"], redirect_uri="https://a.test/r")  # fmt: skip
    solo_bot = solo_install["access_token"]
    # Our Org Admin installs org-wide with the admin scope.
    fake.installing_as(org.admin, org_wide=True)
    _, _, redirect = await authorize(fake, scope="commands,chat:write", user_scope="admin.conversations:write")
    assert (await ask("oauth.v2.access", None, client_id=fake.client_id, client_secret=fake.client_secret,
                      code=redirect["code"]))["team"] is None  # fmt: skip
    await ask("oauth.v2.access", None, client_id=fake.client_id, client_secret=fake.client_secret, code="used")

    for token in (bot, world.org_bot, world.admin_token, partner.admin_token, solo_bot, "xoxb-unknown"):
        await ask("auth.test", token)
    for token, params in (
        (bot, {}), (bot, {"team": partner.workspace}), (bot, {"team": partner.standalone}), (bot, {"team": partner.org}),
        (world.org_bot, {"team_id": world.sister}), (world.admin_token, {}),
    ):  # fmt: skip
        await ask("team.info", token, **params)
    for user in (org.admin, org.member, partner.admin, solo, "U0NOBODY00"):
        await ask("users.info", bot, user=user)
    for channel in (world.ours, world.theirs, world.org_shared, world.plain, world.secret):
        await ask("conversations.info", bot, channel=channel)
        await ask("conversations.info", world.org_bot, channel=channel, team_id=fake.team_id)
    await ask("conversations.info", partner.admin_token, channel=world.ours)  # missing_scope, needed/provided
    await ask("conversations.info", solo_bot, channel=world.plain)  # not a participant: channel_not_found
    await ask("conversations.info", solo_bot, channel=world.ours)  # a standalone partner sees our channel

    await ask("users.conversations", bot, types="public_channel,private_channel", limit=5000)
    await ask("users.conversations", world.org_bot)  # missing_argument
    await ask("users.conversations", world.org_bot, team_id=fake.team_id, limit=2)
    await ask("users.conversations", solo_bot)

    outsider = fake.add_channel("outsider", bot_member=False)
    await ask("conversations.join", bot, channel=outsider)
    await ask("conversations.join", bot, channel=outsider)  # already_in_channel warning
    await ask("conversations.join", bot, channel="C0NOWHERE0")
    await ask("conversations.leave", bot, channel=outsider)
    fake.not_in_channel_ok = True
    await ask("conversations.leave", bot, channel=outsider)
    fake.not_in_channel_ok = False
    await ask("conversations.leave", bot, channel=outsider)
    await ask("conversations.leave", bot, channel=fake.add_channel("general", is_general=True))

    view = {"type": "modal", "callback_id": "pick", "title": {"type": "plain_text", "text": "Pick"},
            "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "Hi"}}]}  # fmt: skip
    await ask("views.open", bot, trigger_id=fake.new_trigger_id(), view=view)
    await ask("views.open", bot, trigger_id="1.2.gone", view=view)

    await ask("apps.connections.open", fake.app_token)
    await ask("apps.connections.open", bot)

    await ask("admin.conversations.search", world.admin_token)
    await ask("admin.conversations.search", world.admin_token, connected_team_ids=partner.org, query="deal")
    await ask("admin.conversations.search", partner.admin_token)  # missing_scope

    # Slack's partner directory (tests/helpers/fake_partners.py): a bot token with its scopes; not on Grid; a user token.
    fake.grant_bot_scopes("conversations.connect:manage")
    await ask("team.externalTeams.list", world.org_bot, sort_field="last_active_timestamp", limit=2)
    await ask("team.externalTeams.list", solo_bot)
    await ask("team.externalTeams.list", world.admin_token)

    disconnect = "admin.conversations.disconnectShared"
    await ask(disconnect, partner.admin_token, channel_id=world.ours, leaving_team_ids=partner.org)
    await ask(disconnect, world.admin_token, channel_id=world.ours, leaving_team_ids=partner.org)
    await ask(disconnect, bot, channel_id=world.ours)

    for method, given in answers.items():
        for answer in given:
            check(method, answer)
    implemented = {
        p.stem for p in (samples / "api").glob("*.json")
        if p.stem == "oauth.v2.access" or hasattr(fake, "_m_" + p.stem.replace(".", "_"))
    }  # fmt: skip
    assert implemented <= set(answers), f"not driven: {implemented - set(answers)}"
    assert {"admin.conversations.search", "users.conversations", "team.info"} <= implemented


# ---- every payload the sender posts against its sample ----------------------------------------------------------


class Recorder(SlackSender):
    """The test sender, posting nowhere: it keeps each body as Slack would have sent it."""

    def __init__(self, fake: FakeSlack) -> None:
        super().__init__("http://unused", fake, None)  # type: ignore[arg-type]  # no HTTP session: it never posts
        self.sent: list[tuple[str, Any]] = []

    async def post(self, body: bytes, **_: Any) -> Reply:
        text = body.decode()
        if text.startswith("{"):
            self.sent.append(("event", json.loads(text)))
        elif text.startswith("payload="):
            self.sent.append(("interaction", json.loads(dict(parse_qsl(text))["payload"])))
        else:
            self.sent.append(("command", dict(parse_qsl(text, keep_blank_values=True))))
        return Reply(200, "", 0.0)


def check_form(name: str, form: dict[str, str]) -> None:
    """A form-encoded payload: every value is a string, so only the field names can be compared."""
    extra = set(form) - set(load(name))
    assert not extra, f"{name}: fields not in the sample: {sorted(extra)}"


async def drive_payloads(fake: FakeSlack, user: str, **origin: str) -> list[tuple[str, Any]]:
    sender = Recorder(fake)
    button = {"type": "button", "action_id": "go", "value": "C1", "text": {"type": "plain_text", "text": "Go"}}
    blocks = [{"type": "actions", "block_id": "b", "elements": [button]}]
    modal = {"type": "modal", "callback_id": "form", "title": {"type": "plain_text", "text": "Form"},
             "submit": {"type": "plain_text", "text": "OK"}, "private_metadata": "{}", "blocks": blocks}  # fmt: skip
    opened = await api(fake, "views.open", fake.bot_token, trigger_id=fake.new_trigger_id(), view=modal)
    view_id = opened["view"]["id"]
    values = {"b": {"go": {"type": "static_select", "selected_option": {"value": "x"}}}}
    await sender.command("/disconnect-shared", "hi", channel_id="C1", user_id=user, **origin)
    await sender.submit_view(view_id, values, user_id=user, **origin)
    await sender.block_action(view_id, values, {**button, "block_id": "b"}, user_id=user, **origin)
    await sender.press_button({"blocks": blocks}, "go", channel_id="C1", user_id=user, **origin)
    await sender.home_opened(user, **origin)
    await api(fake, "views.publish", fake.bot_token, user_id=user, view={"type": "home", "blocks": blocks})
    await sender.home_opened(user, **origin)
    await sender.home_button(user, "go", **origin)
    return sender.sent


def check_payloads(sent: list[tuple[str, Any]]) -> None:
    kinds = []
    for kind, payload in sent:
        if kind == "command":
            check_form("SlashCommandPayload", payload)
            name = "SlashCommandPayload"
        elif kind == "event":
            name = "AppHomeOpenedPayload"
            check(name, payload)
        else:
            name = {"view_submission": "ViewSubmissionPayload", "block_actions": "BlockActionPayload"}[payload["type"]]
            check(name, payload)
        kinds.append(name)
    assert sorted(set(kinds)) == ["AppHomeOpenedPayload", "BlockActionPayload", "SlashCommandPayload",
                                  "ViewSubmissionPayload"]  # fmt: skip


async def test_payloads_from_a_grid_user_and_a_partner_org_user_have_the_recorded_shape(
    samples: Path, fake_slack: FakeSlack, org: Org, partner: Partner
) -> None:
    check_payloads(await drive_payloads(fake_slack, org.admin))
    sent = await drive_payloads(fake_slack, partner.admin)
    check_payloads(sent)
    command = next(p for kind, p in sent if kind == "command")
    assert (command["team_id"], command["enterprise_id"]) == (partner.workspace, partner.org)
    event = next(p for kind, p in sent if kind == "event")
    assert event["team_id"] == partner.workspace and event["authorizations"][0]["enterprise_id"] == partner.org


async def test_payloads_from_a_standalone_workspace_have_the_recorded_shape(
    samples: Path, fake_slack: FakeSlack
) -> None:
    user = fake_slack.add_user(workspace_admin=True)
    sent = await drive_payloads(fake_slack, user)
    check_payloads(sent)
    event = next(p for kind, p in sent if kind == "event")
    assert "enterprise_id" not in event and event["authorizations"][0]["enterprise_id"] is None


def test_the_comparison_catches_an_invented_field_and_a_wrong_type(samples: Path) -> None:
    assert mismatches("auth.test", {"ok": True, "team_id": "T1", "made_up": 1}, load("auth.test")) == [
        "$.made_up: not in the sample"
    ]
    assert mismatches("auth.test", {"ok": "yes"}, load("auth.test")) == ["$.ok: str, the sample has bool"]
    assert mismatches("auth.test", {"team_id": None}, load("auth.test")) == ["$.team_id: null, the sample has str"]
    info = {"channel": {"connected_team_ids": ["E1", 2]}}
    assert mismatches("conversations.info", info, load("conversations.info")) == [
        "$.channel.connected_team_ids[]: number, the sample has str"
    ]


# ---- the Grid and Slack Connect model, directly -----------------------------------------------------------------


async def test_conversations_info_shows_parties_as_slack_does(fake_slack: FakeSlack, org: Org, partner: Partner):
    fake, world = fake_slack, build_world(fake_slack, org, partner)
    ours = (await api(fake, "conversations.info", fake.bot_token, channel=world.ours))["channel"]
    assert ours["conversation_host_id"] == fake.team_id and ours["context_team_id"] == fake.team_id
    assert ours["shared_team_ids"] == [fake.team_id]
    assert ours["connected_team_ids"] == [fake.enterprise_id, partner.org, partner.standalone]  # T… of an org: its E…
    assert ours["pending_connected_team_ids"] == [world.invited]
    assert ours["connected_limited_team_ids"] == [world.limited]
    assert ours["internal_team_ids"] == [fake.team_id]
    assert (ours["is_ext_shared"], ours["is_org_shared"], ours["is_pending_ext_shared"]) == (True, False, True)
    assert fake.channels[world.ours].connected_teams == [partner.org, partner.standalone, world.limited]

    theirs = (await api(fake, "conversations.info", fake.bot_token, channel=world.theirs))["channel"]
    assert theirs["conversation_host_id"] == partner.workspace and theirs["internal_team_ids"] == [partner.workspace]
    assert theirs["connected_team_ids"] == [partner.org, fake.enterprise_id]

    shared = (await api(fake, "conversations.info", fake.bot_token, channel=world.org_shared))["channel"]
    assert shared["internal_team_ids"] == [fake.team_id, world.sister] and shared["connected_team_ids"] == []
    assert (shared["is_shared"], shared["is_org_shared"], shared["is_ext_shared"]) == (True, True, False)

    sister_view = await api(fake, "conversations.info", world.org_bot, channel=world.org_shared, team_id=world.sister)
    assert sister_view["channel"]["context_team_id"] == world.sister
    assert sister_view["channel"]["shared_team_ids"] == [world.sister]
    # A workspace that isn't a participant can't see it: the sister workspace hasn't got the deal room.
    hidden = await api(fake, "conversations.info", world.org_bot, channel=world.ours, team_id=world.sister)
    assert hidden == {"ok": False, "error": "channel_not_found"}


async def test_an_org_level_token_needs_a_team_id_for_listing_methods(fake_slack: FakeSlack, org: Org):
    token = fake_slack.add_org_bot_token()
    other = fake_slack.add_team("Elsewhere")
    for method in ("users.conversations", "conversations.list", "users.list"):
        assert await api(fake_slack, method, token) == {"ok": False, "error": "missing_argument"}
        assert (await api(fake_slack, method, token, team_id=fake_slack.team_id))["ok"] is True
        assert (await api(fake_slack, method, token, team_id=other))["error"] == "team_access_not_granted"
        assert (await api(fake_slack, method, fake_slack.bot_token))["ok"] is True  # a workspace token needs none
    who = await api(fake_slack, "auth.test", token)
    assert (who["team_id"], who["enterprise_id"], who["is_enterprise_install"]) == (
        fake_slack.enterprise_id, fake_slack.enterprise_id, True,
    )  # fmt: skip
    fake_slack.add_channel(f"c{0}")
    many = [fake_slack.add_channel(f"c{i}") for i in range(1, 4)]
    page = await api(fake_slack, "users.conversations", fake_slack.bot_token, limit=100000)
    assert set(many) <= {c["id"] for c in page["channels"]}  # a huge limit is clamped, not refused


async def test_only_the_originating_org_may_disconnect(fake_slack: FakeSlack, org: Org, partner: Partner):
    fake, world = fake_slack, build_world(fake_slack, org, partner)
    call = "admin.conversations.disconnectShared"
    # The partner's Org Admin on our channel, and our Org Admin on theirs: not the originating org.
    answer = await api(fake, call, partner.admin_token, channel_id=world.ours, leaving_team_ids=partner.standalone)
    assert answer == {"ok": False, "error": "cannot_kick_team"}
    answer = await api(fake, call, org.admin_token, channel_id=world.theirs, leaving_team_ids=fake.enterprise_id)
    assert answer == {"ok": False, "error": "cannot_kick_team"}
    # The originating org: our org's ID isn't a party of our own channel; the host can't be kicked.
    for leaving, error in (
        (fake.team_id, "cannot_kick_home_team"), (fake.enterprise_id, "cannot_kick_home_team"),
        (world.invited, "leaving_team_not_in_channel"), (partner.workspace, "leaving_team_not_in_channel"),
        ("T0UNKNOWN0", "team_not_found"), (f"{partner.org},{world.limited}", "invalid_arguments"),
    ):  # fmt: skip
        answer = await api(fake, call, org.admin_token, channel_id=world.ours, leaving_team_ids=leaving)
        assert answer == {"ok": False, "error": error}, leaving
    assert (await api(fake, call, org.admin_token, channel_id=world.ours))["error"] == "leaving_team_required"
    assert await api(fake, call, org.admin_token, channel_id=world.ours, leaving_team_ids=partner.org) == {"ok": True}
    assert fake.channels[world.ours].connected_teams == [partner.standalone, world.limited]
    # The partner, the originating org of their channel, may disconnect us from it.
    answer = await api(fake, call, partner.admin_token, channel_id=world.theirs, leaving_team_ids=fake.enterprise_id)
    assert answer == {"ok": True} and fake.channels[world.theirs].connected_teams == []
    # Not an admin, not an Enterprise org, a bot token.
    assert (await api(fake, call, fake.add_admin_token(admin=False), channel_id=world.ours))["error"] == "not_an_admin"
    solo = fake.add_admin_token(team_id=partner.standalone)
    assert (await api(fake, call, solo, channel_id=world.ours))["error"] == "not_an_enterprise"
    assert (await api(fake, call, fake.bot_token, channel_id=world.ours))["error"] == "not_allowed_token_type"
    general = fake.add_shared_channel("general", connected=[partner.org], is_general=True)
    assert (await api(fake, call, org.admin_token, channel_id=general))["error"] == "not_supported"


@pytest.mark.parametrize(
    "fault",
    [
        Scripted(status=500, text="oops", act=True),
        Scripted(body={"ok": False, "error": "fatal_error"}, act=True),
        Scripted(reset=True, act=True),
    ],
    ids=["500", "fatal_error", "dropped"],
)
async def test_a_fault_after_the_work_is_done(fake_slack: FakeSlack, org: Org, partner: Partner, fault: Scripted):
    channel = fake_slack.add_shared_channel("deal-room", connected=[partner.org, partner.standalone])
    fake_slack.script("admin.conversations.disconnectShared", fault)
    try:
        answer: Any = await api(
            fake_slack, "admin.conversations.disconnectShared", org.admin_token, channel_id=channel,
            leaving_team_ids=partner.org,
        )  # fmt: skip
    except (aiohttp.ClientError, json.JSONDecodeError) as problem:
        answer = problem
    assert answer != {"ok": True}
    assert fake_slack.channels[channel].connected_teams == [partner.standalone]  # it happened all the same


async def test_the_install_page_refuses_admin_scopes_without_an_org_wide_admin_install(
    fake_slack: FakeSlack, org: Org, partner: Partner
) -> None:
    solo = fake_slack.add_user(team_id=partner.standalone, workspace_admin=True)
    fake_slack.installing_as(solo)
    status, page, redirect = await authorize(fake_slack, scope="commands", user_scope="admin.conversations:write")
    assert status == 200 and "only available to Enterprise customers" in page and redirect == {}
    assert fake_slack.oauth_codes == {}
    fake_slack.installing_as(org.admin)  # an Org Admin, but on one workspace only
    status, page, _ = await authorize(fake_slack, scope="commands", user_scope="admin.conversations:write")
    assert status == 200 and "org-wide install by an Org Admin or Owner" in page and fake_slack.oauth_codes == {}
    fake_slack.installing_as(org.member, org_wide=True)  # org-wide, but not an Org Admin
    status, page, _ = await authorize(fake_slack, scope="commands", user_scope="admin.conversations:write")
    assert status == 200 and "Org Admin or Owner" in page and fake_slack.oauth_codes == {}

    fake_slack.installing_as(org.admin, org_wide=True)
    status, _, redirect = await authorize(
        fake_slack, scope="commands,chat:write", user_scope="admin.conversations:write", redirect_uri="https://a.test/"
    )
    assert status == 302 and redirect["state"] == "st4te"
    granted = await exchange(fake_slack, redirect["code"])
    assert granted["is_enterprise_install"] is True and granted["enterprise"]["id"] == fake_slack.enterprise_id
    assert fake_slack.tokens[granted["access_token"]]["scopes"] == {"commands", "chat:write"}
    assert fake_slack.tokens[granted["authed_user"]["access_token"]]["scopes"] == {"admin.conversations:write"}
    assert (await api(fake_slack, "users.list", granted["access_token"]))["error"] == "missing_argument"

    fake_slack.installing_as(solo)  # bot scopes only: no user token at all
    _, _, redirect = await authorize(fake_slack, scope="commands")
    granted = await exchange(fake_slack, redirect["code"])
    assert granted["authed_user"] == {"id": solo} and granted["enterprise"] is None
    assert granted["team"] == {"id": partner.standalone, "name": "Solo Studio"}
    who = await api(fake_slack, "auth.test", granted["access_token"])
    assert who["team_id"] == partner.standalone and "enterprise_id" not in who


async def test_auth_and_team_info_answer_per_token(fake_slack: FakeSlack, org: Org, partner: Partner):
    them = await api(fake_slack, "auth.test", partner.admin_token)
    assert (them["team_id"], them["enterprise_id"], them["user_id"]) == (partner.workspace, partner.org, partner.admin)
    assert "bot_id" not in them
    us = await api(fake_slack, "auth.test", fake_slack.bot_token)
    assert (us["team_id"], us["enterprise_id"], us["bot_id"]) == (fake_slack.team_id, fake_slack.enterprise_id,
                                                                  fake_slack.bot_id)  # fmt: skip
    team = (await api(fake_slack, "team.info", fake_slack.bot_token, team=partner.workspace))["team"]
    assert (team["enterprise_id"], team["enterprise_name"]) == (partner.org, "Partner Corp")
    assert (
        "enterprise_id"
        not in (await api(fake_slack, "team.info", fake_slack.bot_token, team=partner.standalone))["team"]
    )
    assert await api(fake_slack, "team.info", fake_slack.bot_token, team=partner.org) == {
        "ok": False, "error": "team_not_found",
    }  # fmt: skip
    user = (await api(fake_slack, "users.info", fake_slack.bot_token, user=partner.admin))["user"]
    assert user["enterprise_user"]["enterprise_id"] == partner.org and user["enterprise_user"]["is_admin"] is True
    assert user["teams"] == [partner.workspace]
