"""Hostile members and strangers (issue 12): floods, replays, leaks across orgs, secrets in logs, a private database.

Each test names the numbered finding it covers.
"""

from __future__ import annotations

import asyncio
import json
import os
import stat
import time
from datetime import datetime
from urllib.parse import urlencode

import pytest

from services.disconnecting.shared_channels import MAX_PARTIES_PER_RUN
from services.settings import Settings
from services.slack.client import build_web_client, close_session
from services.slack.names import NameBook, installation_key
from services.ui.disconnect import TOO_MANY
from tests.helpers.app import Org, running_app, settings_for, suite_database
from tests.helpers.disconnect import ADMIN_CALL, audit_rows, audit_rows_once, confirm_view, form_values, open_form
from tests.helpers.fake_slack import FakeSlack
from tests.helpers.logs import log_capture
from tests.helpers.oauth import install_page, oauth_settings_for, query_of
from tests.helpers.slack_requests import SIGNING_SECRET, SlackSender, sign
from tests.helpers.tasks import busy_tasks, settled, work_tasks


@pytest.fixture
async def app_settings(fake_slack: FakeSlack, org: Org, tmp_path) -> Settings:
    return settings_for(
        fake_slack, admin_token=org.admin_token, database_url=await suite_database(tmp_path), audit_channel_id=None
    )


# ---- (2) one command can't flood the audit trail --------------------------------------------------------------------


async def test_a_non_admin_naming_thousands_of_workspaces_writes_one_row(
    slack: SlackSender, fake_slack: FakeSlack, org: Org
) -> None:
    channel = fake_slack.add_shared_channel("partners", connected=[org.alpha])
    ids = " ".join(f"T{i:09d}" for i in range(3000))
    idle = busy_tasks()
    reply, _ = await slack.command("/disconnect-shared", f"<#{channel}> {ids}", channel_id=channel, user_id=org.member)
    assert reply.json()["text"].startswith(TOO_MANY)
    assert str(MAX_PARTIES_PER_RUN) in TOO_MANY
    await settled(fake_slack, idle)
    rows = await audit_rows_once(slack, 1)  # the row is written after the ack
    assert [(r["event"], r["outcome"], r["channel_id"], r["user_id"]) for r in rows] == [
        ("refused", "too_many_parties:3000", channel, org.member)
    ]  # one row, however many are named (issue 20: every attempt leaves a trace)
    assert fake_slack.calls_to("team.info") == [] and fake_slack.views == {}


async def test_a_refused_attempt_naming_several_workspaces_is_one_audit_row(
    slack: SlackSender, fake_slack: FakeSlack, org: Org
) -> None:
    channel = fake_slack.add_shared_channel("partners", connected=[org.alpha, org.beta])
    _, body = await slack.command(
        "/disconnect-shared", f"<#{channel}> {org.alpha} {org.beta}", channel_id=channel, user_id=org.member
    )
    await fake_slack.next_post(body["response_url"])
    rows = await audit_rows(slack)
    assert [(r["event"], r["outcome"], r["leaving_team_id"]) for r in rows] == [("refused", "not_admin", None)]


async def test_identical_refusals_within_a_minute_are_posted_once(fake_slack: FakeSlack, org: Org, tmp_path) -> None:
    audit_channel = fake_slack.add_channel("audit", is_private=True)
    settings = settings_for(
        fake_slack, admin_token=org.admin_token, database_url=await suite_database(tmp_path),
        audit_channel_id=audit_channel,
    )  # fmt: skip
    channel = fake_slack.add_shared_channel("partners", connected=[org.alpha])
    async with running_app(fake_slack, settings) as slack:
        for _ in range(5):
            _, body = await slack.command("/disconnect-shared", "", channel_id=channel, user_id=org.member)
            await fake_slack.next_post(body["response_url"])
        await slack.built.audit_feed.drain()
        rows = await audit_rows(slack)
    assert len(rows) == 5  # the database keeps every attempt
    assert len(fake_slack.messages_to(audit_channel)) == 1


# ---- (3) verify before anything else --------------------------------------------------------------------------------


async def test_an_unsigned_flood_is_refused_unread_and_logged_once(
    slack: SlackSender, fake_slack: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    marker = "SECRET-BODY-MARKER"
    body = (f"text={marker}&" + "x" * 100_000).encode()
    caplog.set_level("DEBUG")
    calls_before = len(fake_slack.calls)
    replies = await asyncio.gather(*(slack.post(body, secret="not-the-secret") for _ in range(50)))
    assert {r.status for r in replies} == {401}
    assert marker not in caplog.text
    warnings = [r for r in caplog.records if r.levelname == "WARNING" and "signature" in r.getMessage()]
    assert len(warnings) == 1
    assert len(fake_slack.calls) == calls_before


async def test_deeply_nested_json_is_a_401_unsigned_and_a_400_signed(slack: SlackSender) -> None:
    deep = ("[" * 200_000).encode()
    headers = {"Content-Type": "application/json"}
    assert (await slack.post(deep, secret="not-the-secret", headers=headers)).status == 401
    assert (await slack.post(deep, headers=headers)).status == 400
    payload = urlencode({"payload": "[" * 200_000}).encode()
    assert (await slack.post(payload)).status == 400


# ---- (4) names never cross installations ----------------------------------------------------------------------------


async def test_a_name_read_for_one_installation_is_not_served_to_another(fake_slack: FakeSlack) -> None:
    channel = fake_slack.add_channel("secret-project", is_private=True)
    client = build_web_client(fake_slack.bot_token, fake_slack.api_url, 5.0)
    names = NameBook()
    try:
        ours = await names.channels(client, installation_key("E1", "T1"), [channel])
        fake_slack.channels[channel].members.discard(fake_slack.bot_user_id)  # another install can't see it
        theirs = await names.channels(client, installation_key("E2", "T2"), [channel])
    finally:
        await close_session(client)
    assert ours == {channel: "secret-project"}
    assert theirs == {}
    assert len(fake_slack.calls_to("conversations.info")) == 2


# ---- (5) replays do nothing twice -------------------------------------------------------------------------------


async def confirmation_body(slack: SlackSender, fake: FakeSlack, org: Org, channel: str) -> tuple[bytes, str]:
    """The signed bytes of a real confirmation, as Slack would send them, and where the outcome goes."""
    view_id, command = await open_form(slack, fake, org.admin, channel)
    await slack.submit_view(view_id, form_values(channel, [org.alpha]), user_id=org.admin)
    confirm = await confirm_view(slack, fake)
    payload = slack._view_payload("view_submission", confirm["id"], {}, org.admin, None, None)
    return urlencode({"payload": json.dumps({**payload, "response_urls": []})}).encode(), command["response_url"]


async def test_a_replayed_confirmation_disconnects_once(slack: SlackSender, fake_slack: FakeSlack, org: Org) -> None:
    channel = fake_slack.add_shared_channel("partners", connected=[org.alpha])
    body, url = await confirmation_body(slack, fake_slack, org, channel)
    timestamp = int(time.time())
    first = await slack.post(body, timestamp=timestamp)
    replay = await slack.post(body, timestamp=timestamp)
    assert first.json() == {"response_action": "clear"} and replay.status == 200 and replay.text == ""
    await fake_slack.next_post(url)
    await slack.built.audit_feed.drain()
    assert len(fake_slack.calls_to(ADMIN_CALL)) == 1
    assert [r["event"] for r in await audit_rows(slack)] == ["confirmed", "succeeded"]
    assert len(fake_slack.posts_to(url)) == 1


async def test_a_confirmation_replayed_to_another_instance_does_nothing(
    fake_slack: FakeSlack, org: Org, tmp_path
) -> None:
    settings = settings_for(fake_slack, admin_token=org.admin_token, database_url=await suite_database(tmp_path))
    channel = fake_slack.add_shared_channel("partners", connected=[org.alpha])
    async with running_app(fake_slack, settings) as one, running_app(fake_slack, settings) as other:
        body, url = await confirmation_body(one, fake_slack, org, channel)
        await one.post(body)
        await fake_slack.next_post(url)
        calls_before = len(fake_slack.calls)
        idle = len(work_tasks())
        sent, timestamp = one.last_sent
        replay = await other.post(sent, timestamp=timestamp)  # byte for byte, to an instance that never saw it
        assert replay.status == 200
        await fake_slack.wait_for(lambda: len(work_tasks()) <= idle, what="the replay's handling to end")
        await other.built.audit_feed.drain()
        rows = await audit_rows(one)
    assert len(fake_slack.calls_to(ADMIN_CALL)) == 1
    assert [r["event"] for r in rows] == ["confirmed", "succeeded"]
    assert not [c for c in fake_slack.calls[calls_before:] if c.method == ADMIN_CALL]


# ---- (6) nothing secret in any log at any level ----------------------------------------------------------------------


async def test_oauth_codes_state_verification_tokens_and_trigger_ids_stay_out_of_debug_logs(
    fake_slack: FakeSlack, tmp_path
) -> None:
    fake_slack.make_grid()
    admin = fake_slack.add_user(org_admin=True)
    settings = oauth_settings_for(fake_slack, await suite_database(tmp_path))
    code = fake_slack.prepare_install(org_wide=True, installer=admin)
    with log_capture(settings.secrets()) as stream:
        async with running_app(fake_slack, settings) as slack:
            _, authorize, cookie = await install_page(slack)
            state = query_of(authorize)["state"]
            redirect = f"/slack/oauth_redirect?code={code}&state={state}"
            async with slack.session.get(slack.base_url + redirect, headers={"Cookie": cookie}) as done:
                assert done.status == 200
            slack.org_wide = True
            channel = fake_slack.add_channel("here")
            fake_slack.channels[channel].members.add(admin)
            _, command = await slack.command("/leave-channel", "", channel_id=channel, user_id=admin)
            await fake_slack.next_post(command["response_url"])
            replay_body = urlencode(slack.command_body("/disconnect-shared", "", channel_id=channel)).encode()
            ts = int(time.time())
            await slack.post(replay_body, timestamp=ts)
            await slack.post(replay_body, timestamp=ts)
    log = stream.getvalue()
    assert "oauth.v2.access" in log  # the capture saw the install
    for secret in (code, state, "verification-token-unused", command["trigger_id"]):
        assert secret not in log


# ---- (7) the database is private ------------------------------------------------------------------------------------


async def test_the_default_database_folder_and_file_are_private(fake_slack: FakeSlack, org: Org, tmp_path) -> None:
    folder = tmp_path / "data"
    settings = settings_for(
        fake_slack, admin_token=org.admin_token, database_url=f"sqlite+aiosqlite:///{folder}/channel-admin.db"
    )
    old_umask = os.umask(0o022)
    try:
        channel = fake_slack.add_shared_channel("partners", connected=[org.alpha])
        async with running_app(fake_slack, settings) as slack:
            _, body = await slack.command("/disconnect-shared", "", channel_id=channel, user_id=org.member)
            await fake_slack.next_post(body["response_url"])  # a refusal is audited: the database now exists
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE(os.stat(folder).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(folder / "channel-admin.db").st_mode) == 0o600


def test_the_signature_helper_signs_like_slack() -> None:
    """The tests' own signer agrees with slack_sdk's verifier (so a 401 above means unsigned, not mis-signed)."""
    from slack_sdk.signature import SignatureVerifier

    ts = str(int(time.time()))
    assert SignatureVerifier(SIGNING_SECRET).is_valid(b"a=1", ts, sign(b"a=1", int(ts)))


async def test_a_replayed_rejoin_press_joins_once_on_any_instance(fake_slack: FakeSlack, org: Org, tmp_path) -> None:
    from services.ui.rejoin import REJOIN_ACTION

    settings = settings_for(fake_slack, database_url=await suite_database(tmp_path))
    channels = [fake_slack.add_channel(f"c{i}") for i in range(3)]
    async with running_app(fake_slack, settings) as one, running_app(fake_slack, settings) as other:
        _, command = await one.command("/leave-channel", " ".join(f"<#{c}>" for c in channels), channel_id=channels[0])
        summary = await fake_slack.next_post(command["response_url"])
        _, url = await one.press_button(summary, REJOIN_ACTION)
        await fake_slack.wait_for(lambda: all(fake_slack.is_member(c) for c in channels), what="the rejoin")
        await fake_slack.wait_for(lambda: len(fake_slack.posts_to(url)) >= 2, what="the press's answers")
        idle = len(work_tasks())
        body, ts = one.last_sent
        same = await one.post(body, timestamp=ts)  # the same instance drops it unread
        elsewhere = await other.post(body, timestamp=ts)  # another instance finds the press recorded
        assert same.status == elsewhere.status == 200
        await fake_slack.wait_for(lambda: len(work_tasks()) <= idle, what="the replays' handling to end")
    assert len(fake_slack.calls_to("conversations.join")) == len(channels)


# ---- the install pages, open to anyone ------------------------------------------------------------------------------


async def test_an_install_page_flood_is_throttled_and_expired_states_are_purged(
    fake_slack: FakeSlack, tmp_path
) -> None:
    from sqlalchemy import func, select, update

    settings = oauth_settings_for(fake_slack, await suite_database(tmp_path))
    async with running_app(fake_slack, settings) as slack:
        statuses = []
        for _ in range(60):
            async with slack.session.get(slack.base_url + "/slack/install", allow_redirects=False) as page:
                statuses.append(page.status)
        assert statuses[:20] == [200] * 20 and 429 in statuses  # a burst for people, then refused unstored
        store = slack.built.bolt.oauth_flow.settings.state_store
        async with store.engine.begin() as conn:  # every stored state has expired
            await conn.execute(update(store.oauth_states).values(expire_at=datetime(2000, 1, 1)))
            stored = (await conn.execute(select(func.count()).select_from(store.oauth_states))).scalar()
        assert stored == statuses.count(200)
        store._last_purge = float("-inf")  # the next page view purges (at most once a minute otherwise)
        reply = None
        for _ in range(50):
            async with slack.session.get(slack.base_url + "/slack/install", allow_redirects=False) as page:
                reply = page.status
            if reply == 200:
                break
            await asyncio.sleep(0.05)  # the bucket refills at 5 a second
        assert reply == 200
        async with store.engine.begin() as conn:
            left = (await conn.execute(select(func.count()).select_from(store.oauth_states))).scalar()
    assert left == 1  # only the state just issued


async def test_a_throttled_install_finish_says_to_reload_the_page(fake_slack: FakeSlack, tmp_path) -> None:
    from server.app import TOO_MANY_INSTALL_FINISHES

    settings = oauth_settings_for(fake_slack, await suite_database(tmp_path))
    async with running_app(fake_slack, settings) as slack:
        refused = None
        for _ in range(60):
            async with slack.session.get(slack.base_url + "/slack/oauth_redirect?code=c&state=s") as page:
                if page.status == 429:
                    refused = await page.text()
                    break
        assert refused == TOO_MANY_INSTALL_FINISHES  # the installer keeps Slack's code: reloading finishes it


async def test_a_refused_command_replayed_to_another_instance_is_audited_once(
    fake_slack: FakeSlack, org: Org, tmp_path
) -> None:
    settings = settings_for(fake_slack, admin_token=org.admin_token, database_url=await suite_database(tmp_path))
    channel = fake_slack.add_shared_channel("partners", connected=[org.alpha])
    async with running_app(fake_slack, settings) as one, running_app(fake_slack, settings) as other:
        _, body = await one.command("/disconnect-shared", "", channel_id=channel, user_id=org.member)
        await fake_slack.next_post(body["response_url"])
        idle = len(work_tasks())
        sent, timestamp = one.last_sent
        assert (await other.post(sent, timestamp=timestamp)).status == 200
        await fake_slack.wait_for(lambda: len(work_tasks()) <= idle, what="the replay's handling to end")
        rows = await audit_rows(one)
    assert [(r["event"], r["outcome"]) for r in rows] == [("refused", "not_admin")]
    assert len(fake_slack.posts_to(body["response_url"])) == 1


# ---- found by the attack audit of the running app --------------------------------------------------------------------


def _gzip_bomb(megabytes: int) -> bytes:
    """`megabytes` MiB of zeros, gzipped: a thousand times smaller than what it inflates to."""
    import zlib

    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    zeros = bytes(1 << 20)
    return b"".join([*(packer.compress(zeros) for _ in range(megabytes)), packer.flush()])


async def test_a_compressed_body_is_refused_without_being_inflated(slack: SlackSender, fake_slack: FakeSlack) -> None:
    """Slack never compresses a request; aiohttp would inflate one on the event loop as it arrives (64 MiB here: a
    quarter of a second of the app's CPU; a 1 GB bomb stalled every ack for 5 s). The app is in this process, so
    the process's CPU time shows whether it inflated."""
    bomb = _gzip_bomb(64)
    headers = {"Content-Encoding": "gzip", "Content-Type": "application/x-www-form-urlencoded"}
    started = time.process_time()
    signed = await slack.post(bomb, headers=headers)
    unsigned = await slack.post(bomb, secret="not-the-secret", headers=headers)
    spent = time.process_time() - started
    assert signed.status == unsigned.status == 415
    assert spent < 0.1, f"{spent:.2f} s of CPU: the body was inflated"
    channel = fake_slack.add_channel("after")
    reply, _ = await slack.command("/leave-channel", "help", channel_id=channel)
    assert reply.status == 200  # the app still answers


async def test_install_pages_read_no_body_and_take_only_an_id_as_team(fake_slack: FakeSlack, tmp_path) -> None:
    settings = oauth_settings_for(fake_slack, await suite_database(tmp_path))
    async with running_app(fake_slack, settings) as slack:
        for path in ("/slack/install", "/slack/install/admin", "/slack/oauth_redirect?code=x&state=y"):
            async with slack.session.get(slack.base_url + path, data=b"a&" * 500_000) as page:
                assert page.status == 400, path
        forged = "T1&redirect_uri=https://attacker.example&user_scope=admin"
        async with slack.session.get(slack.base_url + "/slack/install", params={"team": forged}) as page:
            assert page.status == 400
        async with slack.session.get(slack.base_url + "/slack/install", params={"team": "T0123ABCD"}) as page:
            assert page.status == 200 and "team=T0123ABCD" in await page.text()


def test_bolt_s_oauth_log_lines_lose_their_code_and_state() -> None:
    from services.telemetry.logs import RedactingFilter

    redact = RedactingFilter().redact
    failed = redact("Failed to fetch oauth.v2.access result with code: 1234.5678.abcd - error: invalid_code")
    assert "1234.5678.abcd" not in failed and failed.endswith("error: invalid_code")
    parsed = redact("request: {'code': ['1234.5678.abcd'], 'state': ['s-e-c-r-e-t']}")
    assert "1234.5678.abcd" not in parsed and "s-e-c-r-e-t" not in parsed
    assert (
        redact("views.open failed: error code: invalid_arguments") == "views.open failed: error code: invalid_arguments"
    )


def test_a_request_signed_ahead_of_time_is_remembered_until_its_timestamp_expires() -> None:
    from server.request_guard import REPLAY_WINDOW_SECONDS, RequestGuard

    now = [1_000_000.0]
    guard = RequestGuard("secret", clock=lambda: now[0])
    ahead = str(int(now[0]) + 240)  # Slack's check accepts a timestamp up to five minutes off, ahead too
    assert guard.first_time("v0=sig", ahead)
    now[0] += REPLAY_WINDOW_SECONDS + 5  # received more than five minutes ago, but still valid for 235 s
    assert guard.plausible(ahead, "v0=" + "0" * 64)
    assert not guard.first_time("v0=sig", ahead)
    now[0] += 240
    assert guard.first_time("v0=sig", ahead)  # its timestamp is stale now: plausible() refuses it anyway


async def test_leave_requests_replayed_to_another_instance_leave_nothing_twice(
    fake_slack: FakeSlack, org: Org, tmp_path
) -> None:
    from services.ui.leave import LEAVE_PICK_ACTION, LEAVE_PICK_BLOCK

    settings = settings_for(fake_slack, database_url=await suite_database(tmp_path))
    channels = [fake_slack.add_channel(f"c{i}") for i in range(3)]
    async with running_app(fake_slack, settings) as one, running_app(fake_slack, settings) as other:
        _, command = await one.command("/leave-channel", " ".join(f"<#{c}>" for c in channels), channel_id=channels[0])
        await fake_slack.next_post(command["response_url"])
        sent, timestamp = one.last_sent
        idle = len(work_tasks())
        assert (await other.post(sent, timestamp=timestamp)).status == 200
        await fake_slack.wait_for(lambda: len(work_tasks()) <= idle, what="the replay's handling to end")
        for channel in channels:
            fake_slack.channels[channel].members.add(fake_slack.bot_user_id)  # back in, so a second leave would show
        _, pick = await one.command("/leave-channel", "pick", channel_id=channels[0])
        view_id = await fake_slack.wait_for(lambda: next(iter(fake_slack.views), None), what="the pick modal")
        chosen = {LEAVE_PICK_BLOCK: {LEAVE_PICK_ACTION: {"type": "multi_conversations_select",
                                                         "selected_conversations": [channels[1]]}}}  # fmt: skip
        await one.submit_view(view_id, chosen)
        await fake_slack.wait_for(lambda: not fake_slack.is_member(channels[1]), what="the picked leave")
        sent, timestamp = one.last_sent
        idle = len(work_tasks())
        assert (await other.post(sent, timestamp=timestamp)).status == 200
        await fake_slack.wait_for(lambda: len(work_tasks()) <= idle, what="the replay's handling to end")
        await fake_slack.wait_for(lambda: fake_slack.posts_to(pick["response_url"]), what="the pick's summary")
    leaves = [str(c.get("channel")) for c in fake_slack.calls_to("conversations.leave")]
    assert sorted(leaves) == sorted([*channels, channels[1]])  # each request acted on once


async def test_a_metrics_flood_is_answered_unrendered(slack: SlackSender) -> None:
    answers = []
    for _ in range(40):
        async with slack.session.get(slack.base_url + "/metrics") as page:
            answers.append((page.status, await page.text()))
    assert [status for status, _ in answers[:10]] == [200] * 10
    refused = [text for status, text in answers if status == 429]
    assert refused and set(refused) == {"Too many /metrics requests."}  # the short refusal, no metric rendered


async def test_every_database_folder_the_app_creates_is_private(fake_slack: FakeSlack, org: Org, tmp_path) -> None:
    nested = tmp_path / "nest" / "a" / "b"
    settings = settings_for(
        fake_slack, admin_token=org.admin_token, database_url=f"sqlite+aiosqlite:///{nested}/channel-admin.db"
    )
    old_umask = os.umask(0o022)
    try:
        channel = fake_slack.add_shared_channel("partners", connected=[org.alpha])
        async with running_app(fake_slack, settings) as slack:
            _, body = await slack.command("/disconnect-shared", "", channel_id=channel, user_id=org.member)
            await fake_slack.next_post(body["response_url"])
    finally:
        os.umask(old_umask)
    for folder in (tmp_path / "nest", tmp_path / "nest" / "a", nested):
        assert stat.S_IMODE(os.stat(folder).st_mode) == 0o700, folder


async def test_a_forged_load_older_value_shows_the_newest_page(
    slack: SlackSender, fake_slack: FakeSlack, org: Org
) -> None:
    from services.ui.home import OLDER_ACTION

    await slack.home_opened(org.admin)
    await fake_slack.wait_for(lambda: fake_slack.home_of(org.admin), what="the Home tab")
    home = fake_slack.home_of(org.admin)
    assert home is not None
    newest = json.loads(json.dumps(home["blocks"]))
    home["blocks"].append({"type": "actions", "elements": [
        {"type": "button", "action_id": OLDER_ACTION, "value": "²", "text": {"type": "plain_text", "text": "x"}}]})  # fmt: skip
    published = len(fake_slack.calls_to("views.publish"))
    reply = await slack.home_button(org.admin, OLDER_ACTION)
    assert reply.status == 200
    await fake_slack.wait_for(lambda: len(fake_slack.calls_to("views.publish")) > published, what="the newest page")
    again = fake_slack.home_of(org.admin)
    assert again is not None and again["blocks"] == newest  # the first page again, not an error or another page


async def test_a_member_repeating_disconnect_shared_is_slowed_before_any_api_call(
    slack: SlackSender, fake_slack: FakeSlack, org: Org
) -> None:
    from services.disconnecting.attempts import ATTEMPTS_PER_MINUTE
    from services.error_texts import TOO_MANY_ATTEMPTS

    channel = fake_slack.add_shared_channel("partners", connected=[org.alpha])
    for _ in range(ATTEMPTS_PER_MINUTE):
        reply, body = await slack.command("/disconnect-shared", "", channel_id=channel, user_id=org.member)
        assert reply.text == ""
        await fake_slack.next_post(body["response_url"])  # refused: not an admin
    opened = len(fake_slack.calls_to("views.open"))
    reply, _ = await slack.command("/disconnect-shared", "", channel_id=channel, user_id=org.member)
    assert reply.json()["text"] == TOO_MANY_ATTEMPTS.format(count=ATTEMPTS_PER_MINUTE)
    reply, _ = await slack.command("/disconnect-shared", f"all {org.alpha}", channel_id=channel, user_id=org.member)
    assert reply.json()["text"] == TOO_MANY_ATTEMPTS.format(count=ATTEMPTS_PER_MINUTE)
    assert len(fake_slack.calls_to("views.open")) == opened
    reply, body = await slack.command("/disconnect-shared", "", channel_id=channel, user_id=org.admin)
    assert reply.text == ""  # someone else isn't slowed
