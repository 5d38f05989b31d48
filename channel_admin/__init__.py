"""The operators' command line (`channel-admin`) and the app's version.

The version is written once, in pyproject.toml: an installed copy reads it from the package's metadata, a checkout
(`python app.py`) from pyproject.toml itself.
"""

from __future__ import annotations

from pathlib import Path

DISTRIBUTION = "slack-channel-admin"


def _version() -> str:
    pyproject = Path(__file__).resolve().parent.parent / "pyproject.toml"
    if pyproject.is_file():  # a checkout: the file itself, even when an older copy is installed too
        import tomllib

        with pyproject.open("rb") as f:
            return str(tomllib.load(f)["project"]["version"])
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(DISTRIBUTION)
    except PackageNotFoundError:
        return "unknown"


__version__ = _version()
