"""Rotating tokens renewed on every path, and every stored token encrypted at rest (docs/tokens.md).

Against the app serving on a port (and, for a restart, as `python app.py` processes) and the fake Slack, whose
oauth.v2.access learns rotation here: tokens that expire after a second or two, single-use refresh tokens
(tests/helpers/fake_rotation.py). Nothing sleeps: each wait polls, bounded, for the fake's token to expire.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest
from slack_sdk.oauth.installation_store import Installation
from slack_sdk.oauth.installation_store.sqlalchemy import AsyncSQLAlchemyInstallationStore
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from app import build_app
from server.oauth import ADMIN_INSTALL_PATH
from services.error_texts import token_renewal_text
from services.jobs.queue import DONE, JobStore
from services.settings import SettingsError, load_settings
from services.slack.client import build_web_client, close_session
from services.slack.identity import StartupError
from services.slack.tokens import TokenKeeper
from services.storage.database import Database
from services.storage.migrate import upgrade
from services.storage.oauth_stores import EncryptedInstallationStore
from services.storage.secrets import (
    NO_KEY,
    PREFIX,
    WRONG_KEY,
    SecretBox,
    SecretsError,
    generate_key,
    secure_stored_tokens,
)
from tests.helpers.app import migrated_sqlite_file, running_app
from tests.helpers.disconnect import ADMIN_CALL, confirm_view, form_values, open_form
from tests.helpers.fake_slack import FakeSlack
from tests.helpers.oauth import TEST_SECRETS_KEY, install, oauth_settings_for
from tests.helpers.processes import ROOT, Instance, app_env, instances
from tests.helpers.slack_requests import SlackSender

LIFETIME = 1.0  # seconds a rotating token lives in the fake (Slack: 12 hours)
MARGIN = 0.3  # renewed this long before it expires (Bolt's default: 2 hours)
# For the jobs, slowed by 429s (Retry-After: 1 s) in the fake: a token outlives a rate-limited call and its retry.
JOB_LIFETIME = 2.0


async def rotating_org_install(sender: SlackSender, fake: FakeSlack, lifetime: float = LIFETIME) -> str:
    """An Org Admin installs on the whole org with rotation on; returns the admin's user ID."""
    fake.make_grid()
    admin = fake.add_user(org_admin=True)
    fake.rotation_seconds = lifetime
    await install(sender, fake, fake.prepare_install(org_wide=True, installer=admin), ADMIN_INSTALL_PATH)
    sender.org_wide = True
    return admin


async def expired(fake: FakeSlack, kind: str) -> str:
    """Poll (bounded) until the latest token of that kind has expired at the fake; returns it."""
    token = fake.latest_token(kind)
    await fake.wait_for(lambda: fake._expired(token), timeout=10, what=f"the {kind} token to expire")
    return token


async def leave_once(sender: SlackSender, fake: FakeSlack) -> str:
    channel = fake.add_channel("target")
    _, body = await sender.command("/leave-channel", "", channel_id=channel)
    return (await fake.next_post(body["response_url"]))["text"]


async def disconnect_once(sender: SlackSender, fake: FakeSlack, admin: str) -> str:
    partner = fake.add_team("Partner Org Workspace")
    channel = fake.add_shared_channel("shared", connected=[partner])
    view_id, body = await open_form(sender, fake, admin, channel)
    await sender.submit_view(view_id, form_values(channel, [partner]), user_id=admin)
    confirm = await confirm_view(sender, fake)
    await sender.submit_view(confirm["id"], {}, user_id=admin)
    return (await fake.next_post(body["response_url"]))["text"]


def tokens_used(fake: FakeSlack, method: str) -> list[str | None]:
    return [c.token for c in fake.calls if c.method == method]


# ---- rotation ---------------------------------------------------------------------------------------------------------


# A request's listener uses the token its authorization renewed when due: it has at least the margin to finish, as at
# Slack (seconds within Bolt's 2 hours). A disconnect's listeners make several calls each: 0.3 s was too short for them
# on a loaded machine (views.update answered token_expired and the confirmation never came). Whole seconds: Slack's
# `expires_in` is an integer.
RENEWALS_LIFETIME = 2.0
RENEWALS_MARGIN = 1.5


async def test_commands_keep_working_through_several_renewals(fake_slack: FakeSlack, migrated_database_url: str):
    settings = oauth_settings_for(fake_slack, migrated_database_url, token_refresh_margin_seconds=RENEWALS_MARGIN)
    async with running_app(fake_slack, settings) as sender:
        admin = await rotating_org_install(sender, fake_slack, RENEWALS_LIFETIME)
        for _ in range(3):
            await expired(fake_slack, "bot")
            assert (await leave_once(sender, fake_slack)).startswith("I left")
        used = tokens_used(fake_slack, "conversations.leave")
        assert len(set(used)) == 3 and all(t and t.startswith("xoxe.xoxb-renewed-") for t in used)
        assert fake_slack.refreshes.count("bot") >= 3

        # The Org Admin's user token expired too: the disconnect renews it first.
        await expired(fake_slack, "user")
        assert (await disconnect_once(sender, fake_slack, admin)).startswith("Disconnected from")
        (call,) = [c for c in fake_slack.calls if c.method == ADMIN_CALL]
        assert call.token is not None and call.token.startswith("xoxe.xoxp-renewed-")
        assert "user" in fake_slack.refreshes
    # Each refresh token was spent once (Slack revokes it), and the pair stored with it is the one used next.
    assert len(fake_slack.spent_refresh_tokens) == len(fake_slack.refreshes)


async def test_a_renewal_slack_refuses_names_the_install_to_redo(fake_slack: FakeSlack, migrated_database_url: str):
    settings = oauth_settings_for(fake_slack, migrated_database_url, token_refresh_margin_seconds=MARGIN)
    async with running_app(fake_slack, settings) as sender:
        admin = await rotating_org_install(sender, fake_slack)

        # The admin token can't be renewed (the bot's can): /disconnect-shared says whose install to redo.
        fake_slack.refuse_refresh, fake_slack.refuse_kinds = "invalid_refresh_token", {"user"}
        await expired(fake_slack, "user")
        partner = fake_slack.add_team("Partner")
        channel = fake_slack.add_shared_channel("shared", connected=[partner])
        _, body = await sender.command("/disconnect-shared", "", channel_id=channel, user_id=admin)
        said = (await fake_slack.next_post(body["response_url"]))["text"]
        assert f"Slack wouldn't renew the admin token from the org-wide install by <@{admin}>" in said
        assert "/slack/install/admin" in said and "invalid_refresh_token" in said
        assert fake_slack.calls_to(ADMIN_CALL) == []

        # The bot's can't either: every request hears which install to redo, in its ack.
        fake_slack.refuse_kinds = {"bot", "user"}
        await expired(fake_slack, "bot")
        reply, _ = await sender.command("/leave-channel", "", channel_id=fake_slack.add_channel("c"))
        assert reply.status == 200
        assert reply.text == token_renewal_text("invalid_refresh_token", fake_slack.enterprise_id, None)
        assert "the whole org" in reply.text and "/slack/install" in reply.text
        assert tokens_used(fake_slack, "conversations.leave") == []


async def test_two_instances_renewing_at_once_spend_the_refresh_token_once(
    fake_slack: FakeSlack, migrated_database_url: str
):
    """Ten commands at once, to two instances on one database, just after the bot token expired: one renewal (the
    row lock makes the others wait and find the new token), every command served, no refresh token spent twice."""
    settings = oauth_settings_for(fake_slack, migrated_database_url, token_refresh_margin_seconds=MARGIN)
    async with running_app(fake_slack, settings) as one, running_app(fake_slack, settings) as two:
        await rotating_org_install(one, fake_slack, JOB_LIFETIME)
        two.org_wide = True
        await expired(fake_slack, "bot")
        said = await asyncio.gather(*(leave_once(sender, fake_slack) for sender in [one, two] * 5))
    assert all(text.startswith("I left") for text in said), said
    renewals = [c for c in fake_slack.calls if c.method == "oauth.v2.access" and c.params.get("grant_type")]
    assert len(renewals) == 1 and fake_slack.refreshes == ["bot"]
    assert len(set(tokens_used(fake_slack, "conversations.leave"))) == 1


async def test_a_renewal_whose_caller_is_cancelled_still_stores_the_new_pair(
    fake_slack: FakeSlack, migrated_database_url: str
):
    """Slack revokes a refresh token once it answers the renewal, so the pair it answered must be stored even when
    the task that asked is cancelled meanwhile (a job cancelled at the end of the shutdown grace, the offboarding
    plan's search deadline): otherwise the install is lost until someone installs again."""
    settings = oauth_settings_for(fake_slack, migrated_database_url, token_refresh_margin_seconds=MARGIN)
    async with running_app(fake_slack, settings) as sender:
        await rotating_org_install(sender, fake_slack)
    await expired(fake_slack, "bot")
    fake_slack.delays["oauth.v2.access"] = 0.3
    engine = create_async_engine(migrated_database_url)
    client = build_web_client(None, fake_slack.api_url, 10)
    store = EncryptedInstallationStore(fake_slack.client_id, engine, SecretBox([TEST_SECRETS_KEY]))
    keeper = TokenKeeper(store, client, fake_slack.client_id, fake_slack.client_secret, MARGIN)
    try:
        asking = asyncio.create_task(keeper.bot(fake_slack.enterprise_id, None, True))
        await fake_slack.wait_for(lambda: len(fake_slack.calls_to("oauth.v2.access")) == 2, what="the renewal")
        asking.cancel()
        await asyncio.gather(asking, return_exceptions=True)
        await fake_slack.wait_for(lambda: fake_slack.refreshes == ["bot"], what="Slack to grant the renewal")

        async def stored_pair_is_live() -> bool:
            bot = await store.async_find_bot(enterprise_id=fake_slack.enterprise_id, team_id=None)
            return bot is not None and bot.bot_refresh_token in fake_slack.refresh_tokens

        for _ in range(100):  # bounded: 2 s
            if await stored_pair_is_live():
                break
            await asyncio.sleep(0.02)
        assert await stored_pair_is_live(), "the new pair was lost: the stored refresh token is a spent one"
    finally:
        await close_session(client)
        await engine.dispose()


async def test_a_key_rotation_while_another_instance_renews_loses_nothing(
    fake_slack: FakeSlack, migrated_database_url: str
):
    """An instance starting with `<new>,<old>` re-encrypts the stored tokens while another instance is renewing a bot
    token (its rows locked, Slack answering slowly): both finish, and the pair Slack issued is the one stored. (In one
    transaction, the re-encryption held the installation rows the renewal was to write while it waited for the bot row
    the renewal held: PostgreSQL broke the deadlock by aborting one, the renewal's losing the install.)"""
    old, new = generate_key(), generate_key()
    settings = oauth_settings_for(
        fake_slack, migrated_database_url, secrets_key=(old,), token_refresh_margin_seconds=MARGIN
    )
    async with running_app(fake_slack, settings) as sender:
        await rotating_org_install(sender, fake_slack)
    await expired(fake_slack, "bot")
    fake_slack.delays["oauth.v2.access"] = 1.5  # longer than PostgreSQL's deadlock_timeout (1 s)
    engine = create_async_engine(migrated_database_url)
    client = build_web_client(None, fake_slack.api_url, 10)
    # The renewing instance already reads the new key (the rotation's first step, docs/tokens.md), still writing the old.
    store = EncryptedInstallationStore(fake_slack.client_id, engine, SecretBox([old, new]))
    keeper = TokenKeeper(store, client, fake_slack.client_id, fake_slack.client_secret, MARGIN)
    try:
        renewing = asyncio.create_task(keeper.bot(fake_slack.enterprise_id, None, True))
        await fake_slack.wait_for(lambda: len(fake_slack.calls_to("oauth.v2.access")) == 2, what="the renewal")
        resealed = await secure_stored_tokens(engine, SecretBox([new, old]))
        bot = await renewing
        assert resealed > 0 and fake_slack.refreshes == ["bot"]
        assert bot is not None and bot.bot_token == fake_slack.latest_token("bot")
        stored = await EncryptedInstallationStore(fake_slack.client_id, engine, SecretBox([new, old])).async_find_bot(
            enterprise_id=fake_slack.enterprise_id, team_id=None
        )
        assert stored is not None and stored.bot_refresh_token in fake_slack.refresh_tokens
    finally:
        await close_session(client)
        await engine.dispose()


@pytest.mark.runs_long
async def test_a_long_job_and_a_job_resumed_after_a_restart_renew_the_bot_and_admin_tokens(
    fake_slack: FakeSlack, tmp_path: Path, app_database_url: str
):
    """`python app.py` with OAuth: a bulk leave of 40 channels at 10 a second outlives two bot tokens; a disconnect
    job of five workspaces is stopped (SIGTERM) with the leave, the tokens all expire meanwhile, and the next start
    resumes both with renewed bot and admin tokens."""
    fake_slack.rate_limit("conversations.leave", 10, 1.0)
    fake_slack.delays[ADMIN_CALL] = 1.0
    env = {
        "SLACK_BOT_TOKEN": "",
        "SLACK_CLIENT_ID": fake_slack.client_id,
        "SLACK_CLIENT_SECRET": fake_slack.client_secret,
        "SECRETS_KEY": TEST_SECRETS_KEY,
        "TOKEN_REFRESH_MARGIN_SECONDS": str(MARGIN),
    }
    counts = fake_slack.acted_on("conversations.leave")
    database = Database(app_database_url)
    store = JobStore(database, owner="test")
    try:
        async with instances(fake_slack, app_database_url, tmp_path, **env) as start, aiohttp.ClientSession() as s:
            first = await start()
            sender = SlackSender(first.url, fake_slack, s)
            admin = await rotating_org_install(sender, fake_slack, JOB_LIFETIME)
            teams = [fake_slack.add_team(f"Partner {i}") for i in range(5)]
            shared = fake_slack.add_shared_channel("partners", connected=teams)
            disconnect_url = fake_slack.new_response_url()
            await store.create(
                "disconnect",
                user_id=admin,
                enterprise_id=fake_slack.enterprise_id,
                team_id=fake_slack.team_id,
                is_enterprise_install=True,
                response_url=disconnect_url,
                items=[{"id": t, "outcome": None} for t in teams],
                payload={"channel_id": shared},
            )
            channels = [fake_slack.add_channel(f"bulk{i}") for i in range(40)]
            reply, body = await sender.command(
                "/leave-channel", " ".join(f"<#{c}>" for c in channels), channel_id=channels[0]
            )
            assert "Leaving 40 channels" in reply.text
            await fake_slack.wait_for(lambda: sum(counts.values()) >= 25, timeout=20, what="25 channels left")
            assert fake_slack.refreshes.count("bot") >= 1  # the job's client renewed its token on the way
            first.process.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(first.process.wait(), timeout=20) == 0
            assert await unfinished(store) == 2, first.log.read_text()[-2000:]

            await expired(fake_slack, "bot")
            await expired(fake_slack, "user")
            renewed_before = len(fake_slack.refreshes)
            second: Instance = await start()
            summary = await fake_slack.next_post(body["response_url"], timeout=30)
            disconnected = await fake_slack.next_post(disconnect_url, timeout=30)
            await all_done(store)
            assert second.process.returncode is None
        assert summary["text"].startswith("Left 40 channels") and "interrupted" in summary["text"]
        assert disconnected["text"].startswith(f"Disconnected from <#{shared}>"), disconnected["text"]
        assert fake_slack.channels[shared].connected_teams == []
        after_restart = fake_slack.refreshes[renewed_before:]
        assert "bot" in after_restart and "user" in after_restart
        used = [t for t in tokens_used(fake_slack, "conversations.leave") if t]
        assert fake_slack.refreshes.count("bot") >= 2 and len(set(used)) >= 3
        admin_tokens = {c.token for c in fake_slack.calls if c.method == ADMIN_CALL}
        assert any(t and t.startswith("xoxe.xoxp-renewed-") for t in admin_tokens)
    finally:
        await database.close()


async def unfinished(store: JobStore) -> int:
    return sum(1 for j in await store.all() if j.status != DONE)


async def all_done(store: JobStore, attempts: int = 500) -> None:
    for _ in range(attempts):  # bounded: 10 s
        if await unfinished(store) == 0:
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"jobs still unfinished: {await store.all()}")


# ---- encryption at rest -----------------------------------------------------------------------------------------------


def issued_tokens(fake: FakeSlack) -> list[str]:
    """Every token and refresh token the fake handed the app (at installs and refreshes)."""
    return [*fake.token_expiry, *fake.refresh_tokens, *fake.spent_refresh_tokens]


async def test_no_token_is_stored_in_clear(fake_slack: FakeSlack, migrated_database_url: str):
    settings = oauth_settings_for(fake_slack, migrated_database_url, token_refresh_margin_seconds=MARGIN)
    async with running_app(fake_slack, settings) as sender:
        await rotating_org_install(sender, fake_slack)
        await expired(fake_slack, "bot")
        assert (await leave_once(sender, fake_slack)).startswith("I left")
        assert fake_slack.refreshes
        stored = await stored_text(migrated_database_url)
    secrets = issued_tokens(fake_slack)
    assert len(secrets) >= 5
    leaked = [t for t in secrets if t in stored]
    assert leaked == []
    assert PREFIX in stored


async def stored_text(url: str) -> str:
    """What the database holds, as a stranger with the file or a read-only login would read it: the SQLite file's
    bytes (and its journal), or every installation row of PostgreSQL as text."""
    if url.startswith("sqlite"):
        path = Path(url.split(":///", 1)[1])
        files = [p for p in path.parent.iterdir() if p.name.startswith(path.name)]
        return "".join(p.read_bytes().decode("latin-1") for p in files)
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            rows: list[str] = []
            for table in ("slack_installations", "slack_bots"):
                rows += (await conn.execute(text(f"SELECT CAST(t AS text) FROM {table} t"))).scalars().all()
        return "\n".join(rows)
    finally:
        await engine.dispose()


async def test_a_new_key_first_still_reads_old_rows_and_start_up_reencrypts_them(
    fake_slack: FakeSlack, migrated_database_url: str
):
    old, new = generate_key(), generate_key()
    url = migrated_database_url
    async with running_app(fake_slack, oauth_settings_for(fake_slack, url, secrets_key=(old,))) as sender:
        await install(sender, fake_slack, fake_slack.prepare_install())
        assert (await leave_once(sender, fake_slack)).startswith("I left")
    async with running_app(fake_slack, oauth_settings_for(fake_slack, url, secrets_key=(new, old))) as sender:
        assert (await leave_once(sender, fake_slack)).startswith("I left")
        values = await secret_values(url)
    assert values and all(v.startswith(PREFIX) for v in values)
    only_new = SecretBox([new])
    assert {only_new.decrypt(v) for v in values} >= {t for t in tokens_used(fake_slack, "conversations.leave") if t}

    for keys, refusal in (((old,), WRONG_KEY), ((), NO_KEY)):
        with pytest.raises(StartupError) as refused:
            built = await build_app(oauth_settings_for(fake_slack, url, secrets_key=keys))
            await built.close()
        assert str(refused.value) == refusal and "SECRETS_KEY" in refusal and "\n" not in refusal


async def secret_values(url: str) -> list[str]:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            query = "SELECT bot_token, bot_refresh_token, user_token, user_refresh_token FROM slack_installations"
            rows = list((await conn.execute(text(query))).all())
            rows += (await conn.execute(text("SELECT bot_token, bot_refresh_token FROM slack_bots"))).all()
        return [v for row in rows for v in row if v]
    finally:
        await engine.dispose()


async def test_the_migration_encrypts_the_rows_already_stored(database_url: str, monkeypatch: pytest.MonkeyPatch):
    await upgrade(database_url, "0004")
    engine = create_async_engine(database_url)
    plain = {
        "bot_token": "xoxb-plain-1234567890-abcdefghijkl",
        "bot_refresh_token": "xoxe-1-plain-bot-refresh",
        "user_token": "xoxp-plain-1234567890-abcdefghijkl",
        "user_refresh_token": "xoxe-1-plain-user-refresh",
    }
    try:
        before = AsyncSQLAlchemyInstallationStore(client_id="1.2", engine=engine)
        installation = Installation(
            app_id="A1", enterprise_id="E1", team_id="T1", user_id="U1", bot_id="B1", bot_user_id="UB",
            bot_scopes="commands", user_scopes="admin.conversations:write", bot_token_expires_in=43200,
            user_token_expires_in=43200, **plain,  # type: ignore[arg-type]
        )  # fmt: skip
        await before.async_save(installation)
        assert set(plain.values()) <= set(await secret_values(database_url))

        monkeypatch.setenv("SECRETS_KEY", TEST_SECRETS_KEY)
        await upgrade(database_url)
        stored = await secret_values(database_url)
        assert stored and all(v.startswith(PREFIX) for v in stored)
        assert not set(plain.values()) & set(stored)
        after = EncryptedInstallationStore("1.2", engine, SecretBox([TEST_SECRETS_KEY]))
        found = await after.async_find_installation(enterprise_id="E1", team_id="T1")
        assert found is not None
        assert {k: getattr(found, k) for k in plain} == plain
        bot = await after.async_find_bot(enterprise_id="E1", team_id="T1")
        assert bot is not None and bot.bot_token == plain["bot_token"]
        if database_url.startswith("sqlite"):  # not even in the file's free pages
            raw = await stored_text(database_url)
            assert [v for v in plain.values() if v in raw] == []
    finally:
        await engine.dispose()


# ---- settings and start-up ----------------------------------------------------------------------------------------------


def test_oauth_needs_secrets_key_and_a_pasted_token_does_not() -> None:
    oauth = {"SLACK_CLIENT_ID": "1.2", "SLACK_CLIENT_SECRET": "x", "SLACK_SIGNING_SECRET": "s"}
    with pytest.raises(SettingsError, match=r"^SECRETS_KEY is not set"):
        load_settings(oauth, env_file=None)
    with pytest.raises(SettingsError, match=r"^SECRETS_KEY must be one or more Fernet keys"):
        load_settings({**oauth, "SECRETS_KEY": "not-a-key"}, env_file=None)
    two = f"{generate_key()}, {TEST_SECRETS_KEY}"
    settings = load_settings({**oauth, "SECRETS_KEY": two}, env_file=None)
    assert settings.secrets_key == tuple(k.strip() for k in two.split(","))
    assert set(settings.secrets_key) <= set(settings.secrets())  # redacted from every log line
    pasted = load_settings({"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s"}, env_file=None)
    assert pasted.secrets_key == () and pasted.token_refresh_margin_seconds == 7200
    for name in ("SLACK_BOT_TOKEN", "SLACK_ADMIN_TOKEN"):  # a pasted token from an app with rotation on: refused
        values = {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s", name: "xoxe.xoxp-1-abc"}
        with pytest.raises(SettingsError, match=rf"^{name} is an expiring token"):
            load_settings(values, env_file=None)


def test_a_refresh_margin_as_long_as_a_token_lives_is_refused() -> None:
    """A token lives 12 hours (43,200 s): with a margin that long every token is due as soon as it is issued, and every
    request and every call of a job would spend a refresh token. At most half its life."""
    values = {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s"}
    assert load_settings({**values, "TOKEN_REFRESH_MARGIN_SECONDS": "21600"}, env_file=None)
    for margin in ("43200", "30000"):
        with pytest.raises(SettingsError, match=r"^TOKEN_REFRESH_MARGIN_SECONDS must be a number from 0 to 21600"):
            load_settings({**values, "TOKEN_REFRESH_MARGIN_SECONDS": margin}, env_file=None)


def test_a_mangled_stored_value_is_refused_as_unreadable_not_with_a_traceback() -> None:
    box = SecretBox([TEST_SECRETS_KEY])
    for mangled in (PREFIX + "gAAAA\u00e9", PREFIX + "not-fernet"):
        assert not box.current(mangled)
        with pytest.raises(SecretsError):
            box.reseal(mangled)


async def app_py_refusal(environment: dict[str, str]) -> list[str]:
    """Run `python app.py`; it must exit 1 at once: its standard error's lines."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "app.py", env=environment, cwd=ROOT, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    _, err = await asyncio.wait_for(process.communicate(), timeout=30)
    assert process.returncode == 1
    return err.decode().strip().splitlines()


async def test_start_up_without_the_right_key_is_refused_in_one_line(fake_slack: FakeSlack, tmp_path: Path) -> None:
    oauth = {"SLACK_BOT_TOKEN": "", "SLACK_CLIENT_ID": fake_slack.client_id, "SLACK_CLIENT_SECRET": "x"}
    lines = await app_py_refusal(app_env(fake_slack, tmp_path, **oauth))
    assert len(lines) == 1 and lines[0].startswith("Configuration error: SECRETS_KEY is not set"), lines

    # Rows encrypted with one key, the app started with another: refused, naming SECRETS_KEY, before serving.
    url = await migrated_sqlite_file(tmp_path / "keyed.db")
    engine = create_async_engine(url)
    try:
        store = EncryptedInstallationStore(fake_slack.client_id, engine, SecretBox([generate_key()]))
        await store.async_save(Installation(app_id="A1", team_id="T1", user_id="U1", bot_token="xoxb-kept-secret"))
    finally:
        await engine.dispose()
    lines = await app_py_refusal(app_env(fake_slack, tmp_path, **oauth, DATABASE_URL=url, SECRETS_KEY=TEST_SECRETS_KEY))
    assert lines == [f"Start-up error: {WRONG_KEY}"], lines


def channel_admin(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """`channel-admin …` as an operator runs it (no SLACK_* setting)."""
    environment = {"PATH": os.environ.get("PATH", ""), **env}
    return subprocess.run(
        [sys.executable, "-m", "channel_admin", *args], env=environment, cwd=ROOT, capture_output=True, text=True,
        timeout=60,
    )  # fmt: skip


async def test_channel_admin_secrets_makes_a_key_counts_the_stored_tokens_and_reseals_them(tmp_path: Path) -> None:
    url = await migrated_sqlite_file(tmp_path / "app.db")
    old, new = generate_key(), generate_key()
    engine = create_async_engine(url)
    try:  # a row from before encryption (3 values in clear) and one under the old key (2 values)
        plain = AsyncSQLAlchemyInstallationStore(client_id="1.2", engine=engine)
        await plain.async_save(
            Installation(app_id="A", team_id="T1", user_id="U1", bot_token="xoxb-1", user_token="xoxp-1")
        )
        keyed = EncryptedInstallationStore("1.2", engine, SecretBox([old]))
        await keyed.async_save(Installation(app_id="A", team_id="T2", user_id="U2", bot_token="xoxb-2"))
    finally:
        await engine.dispose()

    made = channel_admin("secrets")
    assert made.returncode == 0 and SecretBox([made.stdout.strip()]).decrypt(
        SecretBox([made.stdout.strip()]).encrypt("x")
    )
    both = {"DATABASE_URL": url, "SECRETS_KEY": f"{new},{old}"}
    status = channel_admin("secrets", "status", **both)
    assert (status.returncode, status.stdout.strip()) == (
        1,
        "0 under the newest key, 2 under an older key, 3 in clear, 0 unreadable with SECRETS_KEY",
    )
    resealed = channel_admin("secrets", "reseal", **both)
    assert resealed.returncode == 0 and "Re-encrypted 5 stored token value(s)" in resealed.stdout
    status = channel_admin("secrets", "status", **both)
    assert (status.returncode, status.stdout.strip()) == (
        0,
        "5 under the newest key, 0 under an older key, 0 in clear, 0 unreadable with SECRETS_KEY",
    )
    only_old = channel_admin("secrets", "status", DATABASE_URL=url, SECRETS_KEY=old)
    assert only_old.returncode == 1 and "5 unreadable" in only_old.stdout
    assert "xoxb-1" not in await stored_text(url)
