# The app's image: `podman build -t channel-admin .` (or docker build). Multi-stage on the official Python slim image:
# the first stage builds a virtual environment from the lock (hashes checked) and the app's own package; the second
# copies only that environment, and runs as a non-root user with the SQLite file (the default database) in /data.
# Settings come from the environment at run time (docs/deployment.md); nothing secret is in the image.
ARG PYTHON_VERSION=3.11

FROM python:${PYTHON_VERSION}-slim AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1
RUN python3 -m venv /opt/venv
WORKDIR /src
# The dependencies first, in a layer of their own: a change to the app's code doesn't reinstall them.
COPY requirements.txt ./
RUN /opt/venv/bin/pip install --require-hashes -r requirements.txt
COPY pyproject.toml requirements.in README.md LICENSE app.py ./
COPY channel_admin ./channel_admin
COPY listeners ./listeners
COPY server ./server
COPY services ./services
COPY migrations ./migrations
# The app itself; then pip and setuptools leave the environment (nothing installs at run time).
RUN /opt/venv/bin/pip install --no-deps . \
 && /opt/venv/bin/python -m pip uninstall --yes --quiet pip setuptools

FROM python:${PYTHON_VERSION}-slim
# A fixed numeric user (no entry in /etc/passwd is needed): the same UID owns /data on every host.
ARG APP_UID=10001
# SHUTDOWN_GRACE_SECONDS 7: at SIGTERM each worker drains within 7 s and gunicorn waits 8 s (`channel-admin serve`),
# inside the 10 s a container engine waits by default before SIGKILL. A longer grace needs a longer stop timeout
# (`docker stop -t`, compose's stop_grace_period, Kubernetes' terminationGracePeriodSeconds).
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HOME=/tmp \
    PORT=3000 \
    WEB_CONCURRENCY=2 \
    SHUTDOWN_GRACE_SECONDS=7 \
    DATABASE_URL=sqlite+aiosqlite:////data/channel-admin.db
# The volume's folder made and handed to the app's user before VOLUME (a named volume starts as a copy of it);
# /app, the working directory, made here too (a read-only root file system can't have it made at start).
RUN mkdir -p /data /app && chown ${APP_UID}:${APP_UID} /data && chmod 0700 /data
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
USER ${APP_UID}:${APP_UID}
VOLUME ["/data"]
EXPOSE 3000
STOPSIGNAL SIGTERM
# The slim image has no curl: Python asks /healthz (the process answers; /readyz says whether to send it traffic).
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('PORT', '3000'), timeout=4)"]
# Exec form: PID 1 is the app (gunicorn in HTTP mode, app.py in Socket Mode when SLACK_APP_TOKEN is set) and gets SIGTERM.
CMD ["channel-admin", "serve"]
