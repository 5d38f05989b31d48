"""Slack-facing operations and the app's rules. Nothing here imports Bolt."""
