"""OAuth installs through the fake Slack: settings for OAuth mode, the install pages, an install end to end."""

from __future__ import annotations

import html
import re
from urllib.parse import parse_qs, urlsplit

from server.oauth import INSTALL_PATH
from services.settings import Settings
from tests.helpers.app import settings_for
from tests.helpers.fake_slack import FakeSlack
from tests.helpers.slack_requests import SlackSender

# The tests' SECRETS_KEY (a Fernet key): OAuth installs in tests are encrypted at rest, as load_settings requires.
TEST_SECRETS_KEY = "mB0YdcNGRwYDP-Fj8tbqA4pkqgA7B1vkpGxQjW_tsnM="


def oauth_settings_for(fake: FakeSlack, database_url: str, **overrides) -> Settings:
    values = {
        "bot_token": None,
        "client_id": fake.client_id,
        "client_secret": fake.client_secret,
        "database_url": database_url,
        "secrets_key": (TEST_SECRETS_KEY,),
    }
    return settings_for(fake, **{**values, **overrides})


async def install_page(sender: SlackSender, path: str = INSTALL_PATH) -> tuple[str, str, str]:
    """Open an install page: its HTML, the authorize URL it links to, and the state cookie it sets."""
    async with sender.session.get(sender.base_url + path, allow_redirects=False) as page:
        assert page.status == 200
        text = await page.text()
        cookie = page.headers["Set-Cookie"].split(";")[0]
    link = re.search(r'href="(http[^"]+)"', text)
    assert link is not None
    authorize = html.unescape(link.group(1))
    assert authorize.startswith(f"http://127.0.0.1:{sender.fake.port}/oauth/v2/authorize?")
    return text, authorize, cookie


def query_of(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query, keep_blank_values=True).items()}


async def through_slack(sender: SlackSender, fake: FakeSlack, path: str) -> tuple[bool, str]:
    """Open an install page, follow its link to Slack's page and, when Slack sends the installer back, the app's
    redirect URL; returns whether Slack sent them back, and the last page's text."""
    fake.default_redirect_uri = sender.base_url + "/slack/oauth_redirect"  # the app's configured Redirect URL
    _, authorize, cookie = await install_page(sender, path)
    async with sender.session.get(authorize, allow_redirects=False) as slack_page:
        if slack_page.status != 302:
            assert slack_page.status == 200
            return False, await slack_page.text()
        back = slack_page.headers["Location"]
    assert back.startswith(fake.default_redirect_uri + "?")
    async with sender.session.get(back, headers={"Cookie": cookie}, allow_redirects=False) as done:
        assert done.status == 200, await done.text()
        return True, html.unescape(await done.text())


async def install(sender: SlackSender, fake: FakeSlack, code: str, path: str = INSTALL_PATH) -> str:
    """Open an install page, follow Slack's redirect back with the code; returns the page the installer ends on."""
    _, authorize, cookie = await install_page(sender, path)
    state = query_of(authorize)["state"]
    async with sender.session.get(
        sender.base_url + f"/slack/oauth_redirect?code={code}&state={state}", headers={"Cookie": cookie}
    ) as done:
        assert done.status == 200, await done.text()
        return await done.text()
