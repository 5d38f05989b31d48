"""Bolt listeners: each kind registers itself on the app."""

from slack_bolt.async_app import AsyncApp

from listeners import commands, errors, views


def register_listeners(app: AsyncApp) -> None:
    commands.register(app)
    views.register(app)
    errors.register(app)
