"""Bolt and aiohttp: the AsyncApp, its authorization, OAuth, and serving over HTTP or Socket Mode."""
