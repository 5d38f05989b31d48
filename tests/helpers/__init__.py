"""What the tests share: the fake Slack, signed requests to the app, the app in-process or as a process, the flows.

Test modules import from here; fixtures live in tests/conftest.py; no test module imports another.
"""
