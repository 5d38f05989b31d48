"""gunicorn's hooks: Prometheus' multi-process mode for `channel-admin serve` (`--config python:server.gunicorn_conf`) and
for `gunicorn 'app:web_app' …` from a checkout (gunicorn.conf.py, read from the working directory, imports these).

Each worker writes its metrics to files in PROMETHEUS_MULTIPROC_DIR and GET /metrics adds every worker's up, whichever
worker answers the scrape. Without the variable, a fresh folder is made for this server (and removed when it stops);
with it, the folder is emptied at start, as prometheus-client asks.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from typing import Any

_created = None
if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    _created = tempfile.mkdtemp(prefix="channel-admin-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = _created


def on_starting(server: Any) -> None:
    folder = os.environ["PROMETHEUS_MULTIPROC_DIR"]
    os.makedirs(folder, exist_ok=True)
    for name in os.listdir(folder):
        if name.endswith(".db"):
            os.remove(os.path.join(folder, name))


def child_exit(server: Any, worker: Any) -> None:
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server: Any) -> None:
    if _created is not None:
        shutil.rmtree(_created, ignore_errors=True)
