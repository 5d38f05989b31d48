"""Read by gunicorn from the working directory (`gunicorn 'app:web_app' …` in a checkout): the hooks of
server/gunicorn_conf.py, which `channel-admin serve` names itself (`--config python:server.gunicorn_conf`)."""

from server.gunicorn_conf import child_exit, on_exit, on_starting

__all__ = ["child_exit", "on_exit", "on_starting"]
