"""The container tests' tools (tests/containers/, run by .ci/run's container stage after .ci/containers/setup):
podman as an async subprocess (the fake Slack serves in the test's own event loop meanwhile), the image's build, and
polls with a bound. Every container runs on the host's network (this sandbox has no other), so each gets its own port
from the worker's range."""

from __future__ import annotations

import asyncio
import os
import subprocess
import time
import uuid
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parents[2]
IMAGE = os.environ.get("CONTAINER_TEST_IMAGE", "localhost/channel-admin:ci")
# pip inside the build uses this machine's configuration and trusts its CA bundle: each file or folder that exists
# is mounted read-only at the same path (`pip config debug` lists where pip looks).
PIP_CONFIG_PATHS = (
    "/etc/pip.conf",
    "/etc/xdg/pip",
    str(Path.home() / ".config" / "pip"),
    str(Path.home() / ".pip"),
    "/etc/ssl/certs/ca-certificates.crt",
    "/opt/wheels",
    "/opt/pypi",
    "/opt/pypi-more",
)


def podman_env() -> dict[str, str]:
    if not os.environ.get("CONTAINERS_CONF"):
        raise AssertionError("CONTAINERS_CONF is not set: run `eval $(.ci/containers/setup)` first (see .ci/run)")
    return dict(os.environ)


def build_image(tag: str = IMAGE) -> float:
    """Build the real Dockerfile, unchanged, on the local stand-in base image; the seconds it took."""
    mounts = [arg for path in PIP_CONFIG_PATHS if os.path.exists(path) for arg in ("-v", f"{path}:{path}:ro")]
    started = time.monotonic()
    done = subprocess.run(
        ["podman", "build", "--pull=never", "--format", "docker", "-t", tag, *mounts, str(ROOT)],
        env=podman_env(),
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return time.monotonic() - started


async def podman(*args: str, check: bool = True, timeout: float = 120) -> str:
    """Run `podman ARGS`; its output (stdout then stderr). Fails the test on a non-zero exit when `check`."""
    process = await asyncio.create_subprocess_exec(
        "podman", *args, env=podman_env(), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout)
    text = out.decode() + err.decode()
    if check:
        assert process.returncode == 0, f"podman {' '.join(args)} exited {process.returncode}: {text[-3000:]}"
    return text


async def command(*argv: str, env: dict[str, str] | None = None, timeout: float = 300) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        *argv, env=env or podman_env(), cwd=ROOT, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    out, _ = await asyncio.wait_for(process.communicate(), timeout)
    return process.returncode or 0, out.decode()


async def state(container: str) -> tuple[str, int]:
    """A container's status (running, exited, …) and exit code."""
    status, code = (await podman("inspect", "--format", "{{.State.Status}} {{.State.ExitCode}}", container)).split()[:2]
    return status, int(code)


async def wait_until_serving(url: str, container: str, timeout: float = 90) -> None:
    """Poll `url` until it answers 200 (bounded); fail at once, with its log, if the container stops."""
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            try:
                async with session.get(url, timeout=aiohttp.ClientTimeout(total=2)) as response:
                    if response.status == 200:
                        return
            except (aiohttp.ClientError, TimeoutError):
                pass
            status, code = await state(container)
            if status not in ("running", "created", "configured", "initialized"):
                raise AssertionError(f"{container} {status} ({code}): {await podman('logs', container, check=False)}")
            await asyncio.sleep(0.2)
    raise AssertionError(f"{url} never answered 200: {(await podman('logs', container, check=False))[-3000:]}")


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"
