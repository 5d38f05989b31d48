"""Public endpoints fair to their real users (issue 22): the install pages and /metrics are limited per client address,
so a flood from one address refuses no one else; X-Forwarded-For counts only behind trusted proxies; /metrics on a port
of its own (METRICS_PORT) or behind a bearer token (METRICS_TOKEN)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp

from server.operations import METRICS_UNAUTHORIZED
from server.request_guard import SUBSCRIBER_SHARE, AddressThrottle, client_address
from tests.helpers.app import running_app, suite_database
from tests.helpers.fake_slack import FakeSlack
from tests.helpers.oauth import install, oauth_settings_for
from tests.helpers.processes import free_port, instances
from tests.helpers.slack_requests import SlackSender

STRANGER = "127.0.0.2"  # on loopback every 127.x.y.z is this machine: a second source address for the flood


@contextlib.asynccontextmanager
async def session_from(address: str | None = None, **headers: str) -> AsyncIterator[aiohttp.ClientSession]:
    connector = aiohttp.TCPConnector(local_addr=(address, 0)) if address else aiohttp.TCPConnector()
    async with aiohttp.ClientSession(connector=connector, headers=headers) as session:
        yield session


@contextlib.asynccontextmanager
async def flooding(session: aiohttp.ClientSession, url: str) -> AsyncIterator[list[int]]:
    """GETs `url` back to back (4 at a time) until the block ends; yields the statuses so far, once one was a 429."""
    statuses: list[int] = []

    async def hammer() -> None:
        while True:
            async with session.get(url, allow_redirects=False) as page:
                statuses.append(page.status)

    tasks = [asyncio.create_task(hammer()) for _ in range(4)]
    try:
        for _ in range(500):
            if 429 in statuses:
                break
            await asyncio.sleep(0.01)
        assert 429 in statuses, "the flood was never refused"
        yield statuses
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def test_a_flood_from_one_address_to_the_install_page_refuses_no_one_else(
    fake_slack: FakeSlack, tmp_path: Path
) -> None:
    settings = oauth_settings_for(fake_slack, await suite_database(tmp_path))
    async with running_app(fake_slack, settings) as slack, session_from(STRANGER) as stranger:
        async with flooding(stranger, slack.base_url + "/slack/install") as statuses:
            page = await install(slack, fake_slack, fake_slack.prepare_install(user_scopes=""))  # from 127.0.0.1
            assert "Installed on the workspace Home Workspace" in page
            refused_while_installing = statuses.count(429)
        assert refused_while_installing > 0
        # The redirect too: the stranger's flood of it doesn't refuse the installer's return from Slack.
        async with flooding(stranger, slack.base_url + "/slack/oauth_redirect?code=c&state=s"):
            page = await install(slack, fake_slack, fake_slack.prepare_install(user_scopes=""))
            assert "Installed on the workspace Home Workspace" in page


async def test_behind_a_trusted_proxy_the_forwarded_address_is_the_client(
    fake_slack: FakeSlack, tmp_path: Path
) -> None:
    settings = oauth_settings_for(fake_slack, await suite_database(tmp_path), trusted_proxy_hops=1)
    async with (
        running_app(fake_slack, settings) as slack,
        # What a client writes is left of what the proxy appends: forging it changes nothing.
        session_from(**{"X-Forwarded-For": "198.51.100.1, 203.0.113.9"}) as stranger,
        session_from(**{"X-Forwarded-For": "198.51.100.7"}) as installer_session,
    ):
        installer = SlackSender(slack.base_url, fake_slack, installer_session, slack.built)
        async with flooding(stranger, slack.base_url + "/slack/install"):
            page = await install(installer, fake_slack, fake_slack.prepare_install(user_scopes=""))
        assert "Installed on the workspace Home Workspace" in page


async def test_one_ipv6_subscriber_walking_through_its_64s_refuses_no_one_else(
    fake_slack: FakeSlack, tmp_path: Path
) -> None:
    # Each /64 was a bucket of its own: one subscriber (a /48 or /56 is what ISPs hand out) sending from a new /64 each
    # time was thousands of clients, emptied the overall bucket and the install page answered 429 to everyone.
    settings = oauth_settings_for(fake_slack, await suite_database(tmp_path), trusted_proxy_hops=1)
    statuses: list[int] = []
    async with (
        running_app(fake_slack, settings) as slack,
        session_from() as stranger,
        session_from(**{"X-Forwarded-For": "198.51.100.7"}) as installer_session,
    ):

        async def walk(start: int) -> None:
            for i in range(start, 100_000, 4):
                forwarded = {"X-Forwarded-For": f"2001:db8:aaaa:{i % 65536:x}::1"}
                async with stranger.get(slack.base_url + "/slack/install", headers=forwarded) as page:
                    statuses.append(page.status)

        tasks = [asyncio.create_task(walk(start)) for start in range(4)]
        try:
            for _ in range(1000):  # until the flood is refused: the /48's bucket (before: the overall one) empty
                if statuses.count(429) >= 50:
                    break
                await asyncio.sleep(0.01)
            assert statuses.count(429) >= 50, "the walk was never refused"
            installer = SlackSender(slack.base_url, fake_slack, installer_session, slack.built)
            page = await install(installer, fake_slack, fake_slack.prepare_install(user_scopes=""))
            assert "Installed on the workspace Home Workspace" in page
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)


async def test_without_a_trusted_proxy_a_forged_forwarded_address_is_ignored(
    fake_slack: FakeSlack, tmp_path: Path
) -> None:
    settings = oauth_settings_for(fake_slack, await suite_database(tmp_path))  # TRUSTED_PROXY_HOPS=0
    async with running_app(fake_slack, settings) as slack:
        statuses = []
        for i in range(40):  # a new "address" each time: still one peer, one bucket
            headers = {"X-Forwarded-For": f"203.0.113.{i}"}
            async with slack.session.get(slack.base_url + "/slack/install", headers=headers) as page:
                statuses.append(page.status)
    assert statuses[:20] == [200] * 20 and 429 in statuses


async def test_a_metrics_flood_from_one_address_does_not_refuse_prometheus(
    slack: SlackSender, fake_slack: FakeSlack
) -> None:
    async with session_from(STRANGER) as stranger, flooding(stranger, slack.base_url + "/metrics"):
        for _ in range(5):  # Prometheus, from 127.0.0.1, every scrape answered
            async with slack.session.get(slack.base_url + "/metrics") as scrape:
                assert scrape.status == 200


async def test_metrics_on_its_own_port_behind_a_token(fake_slack: FakeSlack, tmp_path: Path) -> None:
    metrics_port, token = free_port(), "a-scrape-token-of-some-length"
    database = f"sqlite+aiosqlite:///{tmp_path}/app.db"
    async with instances(
        fake_slack, database, tmp_path, METRICS_ENABLED="true", METRICS_PORT=str(metrics_port), METRICS_TOKEN=token
    ) as start:
        app = await start()
        metrics_url = f"http://127.0.0.1:{metrics_port}/metrics"
        async with aiohttp.ClientSession() as session:
            async with session.get(app.url + "/metrics") as on_port:
                assert on_port.status == 404  # not on PORT any more, where Slack and the load balancer reach
            async with session.get(metrics_url) as anonymous:
                assert (anonymous.status, await anonymous.text()) == (401, METRICS_UNAUTHORIZED)
                assert anonymous.headers["WWW-Authenticate"] == "Bearer"
            async with session.get(metrics_url, headers={"Authorization": "Bearer not-the-token"}) as wrong:
                assert wrong.status == 401
            for _ in range(12):  # more than the rate limit's burst: a refused stranger spent nothing
                async with session.get(metrics_url, headers={"Authorization": "Bearer wrong"}) as wrong:
                    assert wrong.status == 401
            async with session.get(metrics_url, headers={"Authorization": f"Bearer {token}"}) as scrape:
                assert scrape.status == 200
                assert "channel_admin_requests_total" in await scrape.text()
            async with session.get(f"http://127.0.0.1:{metrics_port}/slack/events") as other:
                assert other.status == 404  # the metrics port serves nothing else


async def test_a_token_on_the_main_port_too(fake_slack: FakeSlack, tmp_path: Path) -> None:
    from tests.helpers.app import settings_for

    settings = settings_for(fake_slack, database_url=await suite_database(tmp_path), metrics_token="t" * 20)
    async with running_app(fake_slack, settings) as slack:
        async with slack.session.get(slack.base_url + "/metrics") as anonymous:
            assert anonymous.status == 401
        async with slack.session.get(
            slack.base_url + "/metrics", headers={"Authorization": "bearer " + "t" * 20}
        ) as ok:
            assert ok.status == 200


def test_the_client_address_believes_only_the_trusted_hops() -> None:
    assert client_address("10.0.0.5", ["1.1.1.1"], 0) == "10.0.0.5"  # no proxy trusted: the header is anyone's
    assert client_address("10.0.0.5", ["6.6.6.6, 2.2.2.2"], 1) == "2.2.2.2"  # what our proxy appended
    assert client_address("10.0.0.5", ["6.6.6.6, 2.2.2.2", "3.3.3.3"], 2) == "2.2.2.2"  # two proxies, two headers
    assert client_address("10.0.0.5", ["2.2.2.2"], 2) == "10.0.0.5"  # fewer entries than proxies: the peer
    assert client_address("10.0.0.5", ["not-an-address"], 1) == "10.0.0.5"
    assert client_address(None, [], 0) == "unknown"
    # Proxies that write the client's port too (Azure Application Gateway: `ip:port`; IPv6 in brackets, as RFC 7239
    # writes it): read as the address, not refused for the peer's (the proxy's: one bucket for every client).
    assert client_address("10.0.0.5", ["6.6.6.6, 2.2.2.2:51234"], 1) == "2.2.2.2"
    assert client_address("10.0.0.5", ["[2001:db8::7]:443"], 1) == "2001:db8::7"
    assert client_address("10.0.0.5", ["[2001:db8::7]"], 1) == "2001:db8::7"
    assert client_address("10.0.0.5", ["2.2.2.2:x", "[2001:db8::7"], 1) == "10.0.0.5"


def test_per_address_buckets_are_bounded_and_ipv6_counts_per_64() -> None:
    now = [0.0]
    throttle = AddressThrottle(
        per_second=1, burst=2, overall_per_second=1e9, overall_burst=10**9, max_addresses=100, clock=lambda: now[0]
    )
    for i in range(5000):
        assert throttle.allow(f"10.{i // 65536}.{i // 256 % 256}.{i % 256}")
    assert len(throttle) == 100  # memory stays bounded whatever the number of addresses
    assert [throttle.allow("2001:db8::1"), throttle.allow("2001:db8::2"), throttle.allow("2001:db8::ffff")] == [
        True,
        True,
        False,  # one /64: one subscriber, one bucket
    ]
    assert throttle.allow("2001:db8:0:1::1")  # the next /64 is someone else
    # ... but not without end: one subscriber's /48 gets SUBSCRIBER_SHARE addresses' worth, however many /64s it uses.
    walked = [throttle.allow(f"2001:db8:0:{i:x}::1") for i in range(2, 40)]
    assert walked.count(True) == 2 * SUBSCRIBER_SHARE - 3 and not any(walked[2 * SUBSCRIBER_SHARE :])
    assert throttle.allow("2001:db8:1::1")  # another /48: another subscriber
    assert throttle.allow("fe80::1%eth0") and throttle.allow("fe80::1%eth1") and not throttle.allow("fe80::1")
