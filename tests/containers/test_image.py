"""The image (Dockerfile) as an operator runs it: non-root, /healthz and a signed /leave-channel against the fake
Slack, its health check, its SQLite file kept in the /data volume across a restart, and exit 0 at SIGTERM within
the grace."""

from __future__ import annotations

import time
from pathlib import Path

import aiohttp

from tests.helpers.containers import podman, state, unique, wait_until_serving
from tests.helpers.fake_slack import FakeSlack
from tests.helpers.processes import free_port
from tests.helpers.slack_requests import SIGNING_SECRET, SlackSender

IMAGE_GRACE_SECONDS = 7  # the Dockerfile's SHUTDOWN_GRACE_SECONDS


async def app_memory_mib(container: str) -> float:
    """The resident memory of every process of the app in the container (gunicorn and its workers)."""
    script = "for s in /proc/[0-9]*/status; do grep -q '^Name:.*python' $s && grep VmRSS $s; done; true"
    out = await podman("exec", container, "sh", "-c", script)
    return sum(int(line.split()[1]) for line in out.splitlines() if line.startswith("VmRSS")) / 1024


async def test_the_image_serves_as_non_root_keeps_its_sqlite_file_and_drains(
    image: str, fake_slack: FakeSlack, tmp_path: Path
) -> None:
    name, volume, port = unique("ca-image"), unique("ca-data"), free_port()
    settings = {
        "SLACK_BOT_TOKEN": fake_slack.bot_token,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": fake_slack.api_url,
        "PORT": str(port),
        "JOB_POLL_SECONDS": "0.2",
    }
    env_args = [arg for key, value in settings.items() for arg in ("-e", f"{key}={value}")]
    await podman("run", "-d", "--name", name, "-v", f"{volume}:/data", *env_args, image)
    url = f"http://127.0.0.1:{port}"
    try:
        await wait_until_serving(f"{url}/readyz", name)
        assert (await podman("exec", name, "id", "-u")).strip() == "10001"
        config = await podman("inspect", "--format", "{{.Config.User}} {{.Config.StopSignal}}", name)
        assert config.split() == ["10001:10001", "SIGTERM"] or config.split()[0] == "10001:10001", config
        assert (await podman("exec", name, "sh", "-c", "cat /proc/1/cmdline | tr '\\0' ' '")).find("gunicorn") >= 0
        await podman("healthcheck", "run", name)  # the image's own HEALTHCHECK (Python asks /healthz)

        async with aiohttp.ClientSession() as session:
            sender = SlackSender(url, fake_slack, session)
            one = fake_slack.add_channel("general")
            reply, body = await sender.command("/leave-channel", "", channel_id=one)
            assert reply.status == 200
            assert (await fake_slack.next_post(body["response_url"], timeout=20))["text"] == f"I left <#{one}>."
            # Several channels: a job, written in the SQLite file in /data.
            channels = [fake_slack.add_channel(f"bulk{i}") for i in range(3)]
            reply, body = await sender.command("/leave-channel", " ".join(f"<#{c}>" for c in channels), channel_id=one)
            assert reply.status == 200 and "Leaving 3 channels" in reply.text
            summary = await fake_slack.next_post(body["response_url"], timeout=30)
            assert summary["text"].startswith("Left 3 channels")
        print(
            f"\n[measured] the app's resident memory (gunicorn + 2 workers) after a bulk leave: "
            f"{await app_memory_mib(name):.0f} MiB"
        )
        jobs_before = await podman("exec", name, "channel-admin", "jobs", "list")
        assert "done" in jobs_before
        assert "channel-admin.db" in await podman("exec", name, "ls", "/data")

        started = time.monotonic()
        await podman("stop", "--time", "10", name)  # SIGTERM (the image's STOPSIGNAL); SIGKILL after 10 s
        took = time.monotonic() - started
        assert await state(name) == ("exited", 0)
        assert took < IMAGE_GRACE_SECONDS + 2, f"stopping took {took:.1f} s"
        print(f"[measured] SIGTERM to exit 0 in {took:.1f} s (grace {IMAGE_GRACE_SECONDS} s)")

        await podman("start", name)  # the same volume: the same SQLite file, the same jobs
        await wait_until_serving(f"{url}/readyz", name)
        jobs_after = await podman("exec", name, "channel-admin", "jobs", "list")
        job_lines = [line for line in jobs_before.splitlines()[1:] if line.strip()]
        assert job_lines and all(line.split()[0] in jobs_after for line in job_lines)
    finally:
        await podman("rm", "-f", "-v", "-t", "0", name, check=False)
        await podman("volume", "rm", "-f", volume, check=False)


async def test_socket_mode_starts_in_the_image_with_an_app_token(image: str, fake_slack: FakeSlack) -> None:
    """SLACK_APP_TOKEN set: the same command runs app.py's one process in Socket Mode, /healthz still on PORT."""
    name, port = unique("ca-socket"), free_port()
    settings = {
        "SLACK_BOT_TOKEN": fake_slack.bot_token,
        "SLACK_APP_TOKEN": fake_slack.app_token,
        "SLACK_API_URL": fake_slack.api_url,
        "PORT": str(port),
    }
    env_args = [arg for key, value in settings.items() for arg in ("-e", f"{key}={value}")]
    await podman("run", "-d", "--name", name, *env_args, image)
    try:
        await wait_until_serving(f"http://127.0.0.1:{port}/readyz", name)
        cmdline = await podman("exec", name, "sh", "-c", "cat /proc/1/cmdline | tr '\\0' ' '")
        assert "gunicorn" not in cmdline and "channel-admin" in cmdline
        await podman("stop", "--time", "10", name)
        assert await state(name) == ("exited", 0)
    finally:
        await podman("rm", "-f", "-v", "-t", "0", name, check=False)
