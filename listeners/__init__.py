"""Bolt listeners: each kind registers itself on the app."""

from slack_bolt.async_app import AsyncApp

from listeners import actions, commands, errors, events, options, views


def register_listeners(app: AsyncApp) -> None:
    commands.register(app)
    views.register(app)
    actions.register(app)
    options.register(app)
    events.register(app)
    errors.register(app)
