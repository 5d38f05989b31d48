"""`channel-admin`: the operators' command line (installed by `pip install .`; `python -m channel_admin` from a checkout).

    channel-admin serve                  # HTTP mode: gunicorn 'app:web_app' (aiohttp workers); Socket Mode with SLACK_APP_TOKEN
    channel-admin migrate [--current]    # bring DATABASE_URL to the newest schema (services.storage.migrate)
    channel-admin audit [--last N] …     # the audit log's newest entries (services.audit.log; its arguments as they are)
    channel-admin audit export …         # the audit log as CSV or JSON Lines, filtered (services.audit.export)
    channel-admin jobs list [--purge]    # the jobs and where each stands
    channel-admin jobs show JOB_ID       # one job: its items' outcomes, its lease, its flags
    channel-admin jobs cancel JOB_ID     # stop a job (an offboarding at any point; another kind before it starts)
    channel-admin secrets [new-key|status|reseal]  # SECRETS_KEY: a new key; the stored tokens by key (docs/tokens.md)

Nothing is imported or read before a subcommand runs: `--help` needs no SLACK_* setting. The database commands read
DATABASE_URL (environment or .env), or take --database-url.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import sys
from collections import Counter
from collections.abc import Sequence
from typing import Any

from channel_admin import __version__

# Socket Mode is one process (one WebSocket connection): it runs as `python app.py` does.
WORKER_CLASS = "aiohttp.GunicornWebWorker"
GUNICORN_CONFIG = "python:server.gunicorn_conf"  # the metrics' multi-process hooks (gunicorn.conf.py in a checkout)


def gunicorn_argv(*, host: str, port: int, grace_seconds: float, workers: int | None) -> list[str]:
    """The production command in HTTP mode. gunicorn's graceful timeout is the app's own grace (each worker drains
    within SHUTDOWN_GRACE_SECONDS at SIGTERM) and one second more, so the master outlives its workers' drain; the
    worker count comes from --workers, or WEB_CONCURRENCY (read by gunicorn itself), else 1."""
    argv = [
        sys.executable,
        "-m",
        "gunicorn",
        "app:web_app",
        "--worker-class",
        WORKER_CLASS,
        "--config",
        GUNICORN_CONFIG,
        "--bind",
        f"{host}:{port}",
        "--graceful-timeout",
        str(math.ceil(grace_seconds) + 1),
    ]
    if workers is not None:
        argv += ["--workers", str(workers)]
    return argv


def _serve(args: argparse.Namespace) -> int:
    from services.settings import SettingsError, load_settings

    try:
        settings = load_settings()
    except SettingsError as e:
        print(f"Configuration error: {e}", file=sys.stderr)
        return 2
    if settings.socket_mode or args.one_process:
        import app

        app.main()
        return 0
    argv = gunicorn_argv(
        host=args.host, port=settings.port, grace_seconds=settings.shutdown_grace_seconds, workers=args.workers
    )
    sys.stdout.flush()
    # gunicorn takes this process's place: it is the one that gets SIGTERM (PID 1 in a container).
    os.execv(argv[0], argv)


def _database_url(given: str | None) -> str:
    from services.settings import async_database_url
    from services.storage.migrate import database_url_from_environment

    return async_database_url(given) if given else database_url_from_environment()


def _safe_payload(payload: dict[str, Any]) -> dict[str, Any]:
    """A job's payload without anything that is a way to post (URLs) or a credential."""
    return {k: v for k, v in payload.items() if not any(word in k.lower() for word in ("url", "token", "secret"))}


async def _jobs(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime, timedelta

    from services.jobs.queue import CANCELLED, FINISHED, QUEUED, JobStore, _print_jobs
    from services.storage.database import Database

    database = Database(_database_url(args.database_url))
    try:
        store = JobStore(database, owner="cli")
        if args.action == "list":
            if args.purge:
                days = float(os.environ.get("JOB_RETENTION_DAYS") or 7)
                print(f"Purged {await store.purge(timedelta(days=days))} finished job(s).")
            _print_jobs(await store.all(args.kind))
            return 0
        job = await store.get(args.job_id)
        if job is None:
            print(f"No job {args.job_id}.", file=sys.stderr)
            return 1
        if args.action == "show":
            _print_jobs([job])
            outcomes = Counter(str(item.get("outcome") or "not done yet") for item in job.items)
            print(f"user {job.user_id}  enterprise {job.enterprise_id or '-'}  team {job.team_id or '-'}")
            print(
                f"attempts {job.attempts}  finished {job.finished_at or '-'}  summary sent {job.summary_sent_at or '-'}"
            )
            print("items: " + (", ".join(f"{n} {outcome}" for outcome, n in outcomes.most_common()) or "none"))
            print(f"payload: {_safe_payload(job.payload)}")
            return 0
        # cancel
        if job.status in FINISHED:
            print(f"Job {job.id} has already finished ({job.status}): nothing to cancel.")
            return 0
        from services.disconnecting.offboarding import OFFBOARD

        if job.kind == OFFBOARD:
            # The Home tab's Cancel: a "cancelled" audit row is the request every instance reads while it works the
            # job; the job stops after the channel in hand and its summary says so.
            from services.audit.log import (
                OFFBOARD_AUDIT_ACTION,
                OFFBOARD_DRY_RUN_AUDIT_ACTION,
                AuditEntry,
                AuditEvent,
                AuditLog,
            )

            log = AuditLog(database)
            if not await log.of_job(job.id, AuditEvent.CANCELLED):
                dry_run = job.payload.get("dry_run") is True
                await log.record(
                    AuditEntry(
                        event=AuditEvent.CANCELLED,
                        user_id="channel-admin",
                        outcome="requested",
                        enterprise_id=job.enterprise_id,
                        team_id=job.team_id,
                        leaving_team_id=job.payload.get("partner"),
                        action=OFFBOARD_DRY_RUN_AUDIT_ACTION if dry_run else OFFBOARD_AUDIT_ACTION,
                        job_id=job.id,
                    )
                )
            print(f"Cancel requested: job {job.id} stops after the channel in hand, and its summary says so.")
            return 0
        if job.status == QUEUED:
            now = datetime.now(UTC)
            from services.storage.job_rows import JobRows

            values = {"status": CANCELLED, "finished_at": now, "updated_at": now, "claim": None}  # holds nothing
            if await JobRows(database).update(job.id, values, status_in=[QUEUED]):
                print(f"Cancelled job {job.id} before it started.")
                return 0
        print(
            f"Job {job.id} ({job.kind}) is running: only an offboarding job stops mid-way; this one finishes "
            f"({job.done_count} of {len(job.items)} done).",
            file=sys.stderr,
        )
        return 1
    finally:
        await database.close()


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="channel-admin",
        description="Channel Admin, a Slack app for workspace and Enterprise Grid admins: serve it, migrate its "
        "database, read its audit log and its jobs.",
    )
    top.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = top.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = commands.add_parser(
        "serve",
        help="run the app: gunicorn in HTTP mode, or Socket Mode when SLACK_APP_TOKEN is set",
        description="HTTP mode: gunicorn 'app:web_app' with aiohttp workers on --host and PORT (default 3000), "
        "--workers or WEB_CONCURRENCY of them, draining within SHUTDOWN_GRACE_SECONDS at SIGTERM. Socket Mode "
        "(SLACK_APP_TOKEN set) or --one-process: one process, as `python app.py`.",
    )
    serve.add_argument("--host", default="0.0.0.0", help="address to listen on in HTTP mode (default 0.0.0.0)")
    serve.add_argument("--workers", type=int, help="gunicorn workers (default: WEB_CONCURRENCY, else 1)")
    serve.add_argument("--one-process", action="store_true", help="one process without gunicorn, as python app.py")

    commands.add_parser(
        "migrate",
        help="bring the database to the newest schema (or --current: say where it is)",
        add_help=False,
    )
    commands.add_parser(
        "audit", help="print the newest audit entries (--last N), or export them (export --help)", add_help=False
    )
    commands.add_parser(
        "secrets",
        help="a new SECRETS_KEY; the stored tokens by key (status); re-encrypt them now (reseal)",
        add_help=False,
    )

    jobs = commands.add_parser("jobs", help="the jobs in the database: list, show, cancel")
    jobs.add_argument("--database-url", help="SQLAlchemy URL (default: DATABASE_URL from the environment or .env)")
    actions = jobs.add_subparsers(dest="action", required=True, metavar="ACTION")
    listing = actions.add_parser("list", help="every job kept, and where each stands (no response URL, no token)")
    listing.add_argument("--kind", help="only jobs of this kind (leave, rejoin, disconnect, offboard, …)")
    listing.add_argument(
        "--purge", action="store_true", help="first delete finished jobs older than JOB_RETENTION_DAYS"
    )
    show = actions.add_parser("show", help="one job: its items' outcomes, its lease, its flags")
    show.add_argument("job_id")
    cancel = actions.add_parser(
        "cancel", help="stop a job: an offboarding at any point (as the Home tab's Cancel), another before it starts"
    )
    cancel.add_argument("job_id")
    return top


def main(argv: Sequence[str] | None = None) -> None:
    args_in = list(sys.argv[1:] if argv is None else argv)
    # migrate and audit keep their own arguments and --help: everything after the word is theirs.
    if args_in and args_in[0] == "secrets":
        from services.storage.secrets import main as secrets_main

        secrets_main(args_in[1:])
        return
    if args_in and args_in[0] in ("migrate", "audit"):
        if args_in[0] == "migrate":
            from services.storage.migrate import main as migrate_main

            migrate_main(args_in[1:])
        else:
            from services.audit.log import main as audit_main

            audit_main(args_in[1:])
        return
    args = parser().parse_args(args_in)
    if args.command == "serve":
        sys.exit(_serve(args))
    sys.exit(asyncio.run(_jobs(args)))


if __name__ == "__main__":
    main()
