"""The container tests: run by .ci/run's container stage (`pytest -n 0 -o addopts= tests/containers`), not by the
README's `pytest` (pyproject.toml ignores this folder there). The image is built once for the session."""

from __future__ import annotations

import pytest

from tests.helpers.containers import IMAGE, build_image, podman_env


@pytest.fixture(scope="session")
def image() -> str:
    import subprocess

    seconds = build_image()
    size = subprocess.run(
        ["podman", "image", "inspect", "--format", "{{.Size}}", IMAGE],
        env=podman_env(),
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    print(f"\n[measured] image {IMAGE} built in {seconds:.1f} s; size {int(size) / 1e6:.0f} MB (on the stand-in base)")
    return IMAGE
