"""Jobs: work after the ack over more than one item, kept in the app's database so it outlives the process.

A job row holds who asked, where to reply (a response URL and the user for a DM, never a token), its items with each
one's outcome, and a lease: the instance working it and until when. Any instance claims a job that is queued, or
running with an expired lease, by one conditional UPDATE (atomic on SQLite and PostgreSQL alike), renews the lease
while it works, and writes the items back after each one. A process that stops (SIGTERM) records where each job stands
and lets its lease expire at once; one that dies leaves the lease to run out (JOB_LEASE_SECONDS), and the next claim
marks the job interrupted. The one summary is claimed with `summary_sent_at` before it is posted.

No Bolt here: the kinds' handlers (services.leaving.workflow) get a JobWork and build their own Web API client.

    python -m services.jobs.queue --list     # the jobs and where each stands (no response URL, no token)
    python -m services.jobs.queue --purge    # delete finished jobs older than JOB_RETENTION_DAYS
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import os
import socket
import uuid
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from services.storage.database import Database
from services.storage.errors import unavailable
from services.storage.job_rows import JobRows
from services.telemetry import metrics

logger = logging.getLogger(__name__)

QUEUED, RUNNING, DONE, FAILED, CANCELLED = "queued", "running", "done", "failed", "cancelled"
FINISHED = (DONE, FAILED, CANCELLED)
DEFAULT_LEASE_SECONDS = 30.0
DEFAULT_POLL_SECONDS = 5.0
DEFAULT_RETENTION_DAYS = 7
# Jobs one instance works at once. Their Web API calls share the Pacer's slots (4 at once per token and method), so
# this bounds memory and database writes, not the load on Slack.
MAX_JOBS_AT_ONCE = 100
# A job that fails unexpectedly this many times is given up (status failed) rather than retried for ever.
MAX_ATTEMPTS = 5
# Response URLs last 30 minutes (https://docs.slack.dev/interactivity/handling-user-interaction#message_responses);
# a little margin so a post does not race the expiry.
RESPONSE_URL_LIFETIME = timedelta(minutes=29)
_PURGE_EVERY = timedelta(hours=1)
_CANDIDATES = 10
# A takeover is tried this long after a lease runs out (a lease renewed at the last moment is then seen).
_TAKEOVER_MARGIN = 0.05
# A job's write that finds the database unavailable is tried again after this long, doubling up to the most: the job
# goes on within a moment of the database answering again, with its own lease (services.jobs.queue, JobRunner.outlast).
OUTAGE_RETRY_SECONDS = 0.05
OUTAGE_RETRY_MOST_SECONDS = 0.5


def _aware(moment: datetime | None) -> datetime | None:
    """SQLite gives back naive datetimes; everything here is UTC."""
    if moment is None:
        return None
    return _utc(moment)


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def instance_id() -> str:
    """This process, as a lease owner: host, pid and a random part (a pid is reused across restarts)."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@dataclass
class Job:
    id: str
    kind: str
    status: str
    created_at: datetime
    user_id: str
    enterprise_id: str | None
    team_id: str | None
    is_enterprise_install: bool
    response_url: str | None
    payload: dict[str, Any]
    items: list[dict[str, Any]]
    next_item: int = 0
    lease_owner: str | None = None
    lease_expires_at: datetime | None = None
    attempts: int = 0
    interrupted: bool = False
    summary_sent_at: datetime | None = None
    finished_at: datetime | None = None

    def reply_url(self, now: datetime | None = None) -> str | None:
        """The response URL while Slack still takes it; None after (the reply goes by DM)."""
        now = now or datetime.now(UTC)
        if self.response_url and now - self.created_at < RESPONSE_URL_LIFETIME:
            return self.response_url
        return None

    @property
    def done_count(self) -> int:
        return sum(1 for item in self.items if item.get("outcome") is not None)


def _job_of(r: Mapping[str, Any]) -> Job:
    return Job(
        id=r["id"],
        kind=r["kind"],
        status=r["status"],
        created_at=_utc(r["created_at"]),  # NOT NULL
        user_id=r["user_id"],
        enterprise_id=r["enterprise_id"],
        team_id=r["team_id"],
        is_enterprise_install=bool(r["is_enterprise_install"]),
        response_url=r["response_url"],
        payload=json.loads(r["payload"] or "{}"),
        items=json.loads(r["items"] or "[]"),
        next_item=r["next_item"] or 0,
        lease_owner=r["lease_owner"],
        lease_expires_at=_aware(r["lease_expires_at"]),
        attempts=r["attempts"] or 0,
        interrupted=bool(r["interrupted"]),
        summary_sent_at=_aware(r["summary_sent_at"]),
        finished_at=_aware(r["finished_at"]),
    )


def _first_unfinished(items: Sequence[dict[str, Any]]) -> int:
    for index, item in enumerate(items):
        if item.get("outcome") is None:
            return index
    return len(items)


# Writes of a job whose claim was held at the write and free at the read (its holder just finished) before it is
# refused as claimed: each retry means another job took and gave up the claim in between.
_CLAIM_WRITES = 3


class JobExists(Exception):
    """A job with this ID was written before."""


class JobClaimed(Exception):
    """Another unfinished job holds this claim (e.g. an offboarding of the same partner in the same org)."""

    def __init__(self, holder_id: str) -> None:
        super().__init__(holder_id)
        self.holder_id = holder_id


def _as_new(
    now: datetime,
    user_id: str,
    items: Sequence[dict[str, Any]],
    enterprise_id: str | None,
    team_id: str | None,
    is_enterprise_install: bool,
    response_url: str | None,
    payload: dict[str, Any] | None,
) -> dict[str, Any]:
    """A job's columns as it starts (written new, or a finished one made new): queued, nothing done, no lease."""
    return dict(
        status=QUEUED,
        created_at=now,
        updated_at=now,
        finished_at=None,
        user_id=user_id,
        enterprise_id=enterprise_id,
        team_id=team_id,
        is_enterprise_install=is_enterprise_install,
        response_url=response_url,
        payload=json.dumps(payload or {}),
        items=json.dumps(list(items)),
        next_item=0,
        lease_owner=None,
        lease_expires_at=None,
        attempts=0,
        interrupted=False,
        summary_sent_at=None,
    )


class JobStore:
    """The job table: create, claim, renew, checkpoint, release, finish, the summary claim, purge.

    Its rows are read and written by services.storage.job_rows; the states, the lease and the claim rule are here.
    """

    def __init__(self, database: Database, owner: str | None = None, lease_seconds: float = DEFAULT_LEASE_SECONDS):
        self.database = database
        self.owner = owner or instance_id()
        self.lease = timedelta(seconds=lease_seconds)
        self._rows = JobRows(database)

    async def create(
        self,
        kind: str,
        *,
        user_id: str,
        items: Sequence[dict[str, Any]],
        enterprise_id: str | None = None,
        team_id: str | None = None,
        is_enterprise_install: bool = False,
        response_url: str | None = None,
        payload: dict[str, Any] | None = None,
        created_at: datetime | None = None,
        job_id: str | None = None,
        claim: str | None = None,
    ) -> str:
        """Write a queued job; JobExists when `job_id` is taken (a replay of the request that made it); JobClaimed
        when another unfinished job holds `claim` (a unique index: of two writers at once, exactly one succeeds)."""
        job_id = job_id or uuid.uuid4().hex
        now = created_at or datetime.now(UTC)
        new = _as_new(now, user_id, items, enterprise_id, team_id, is_enterprise_install, response_url, payload)
        for _ in range(_CLAIM_WRITES):
            if await self._rows.insert({"id": job_id, "kind": kind, **new, "claim": claim}):
                break
            if claim is not None and await self._rows.give_up_finished(claim, finished=FINISHED):
                continue  # a finished job still held it (finished by a version before the claim): free now
            holder = await self._rows.holding(claim, finished=FINISHED) if claim else None
            if holder is not None and holder["id"] != job_id:
                raise JobClaimed(holder["id"])
            if claim is None or await self._rows.get(job_id) is not None:
                raise JobExists(job_id)
            # The holder finished between the refused write and this read: the claim is free, write again.
        else:
            raise JobClaimed("")
        metrics.job_event(kind, "queued")
        return job_id

    async def requeue_finished(
        self,
        kind: str,
        job_id: str,
        *,
        user_id: str,
        items: Sequence[dict[str, Any]],
        enterprise_id: str | None = None,
        team_id: str | None = None,
        is_enterprise_install: bool = False,
        response_url: str | None = None,
        payload: dict[str, Any] | None = None,
    ) -> bool:
        """A finished job with this ID made new again (a job per thing, e.g. per Rejoin offer); False while it is
        still queued or running (one conditional UPDATE: of two callers, at most one succeeds)."""
        now = datetime.now(UTC)
        new = _as_new(now, user_id, items, enterprise_id, team_id, is_enterprise_install, response_url, payload)
        requeued = await self._rows.update(job_id, new, status_in=FINISHED, in_line=False)
        if requeued:
            metrics.job_event(kind, "queued")
        return requeued

    async def get(self, job_id: str) -> Job | None:
        row = await self._rows.get(job_id)
        return None if row is None else _job_of(row)

    async def holder(self, claim: str) -> Job | None:
        """The unfinished job holding `claim`, if any (finishing a job gives its claim up)."""
        row = await self._rows.holding(claim, finished=FINISHED)
        return None if row is None else _job_of(row)

    async def unfinished(self, kind: str, enterprise_id: str, *, offset: int, limit: int) -> tuple[list[Job], int]:
        """An org's unfinished jobs of `kind`, oldest first, from `offset` (at most `limit`); and how many in all."""
        rows, total = await self._rows.unfinished(kind, enterprise_id, finished=FINISHED, offset=offset, limit=limit)
        return [_job_of(r) for r in rows], total

    async def finished_since(self, kind: str, enterprise_id: str, *, since: datetime, limit: int) -> list[Job]:
        """An org's jobs of `kind` finished after `since`, newest first."""
        return [_job_of(r) for r in await self._rows.finished_since(kind, enterprise_id, since=since, limit=limit)]

    async def claim_next(self, working: Collection[str] = ()) -> Job | None:
        """The oldest claimable job (queued, or running with an expired lease), now leased to this instance; None
        when there is none. Jobs in `working` (this instance's, still being worked: their lease may have lapsed while
        its renewals were late) are never claimed again here: that would work a job twice beside itself.

        Candidates are read first, then each is claimed by an UPDATE that repeats the condition: of two instances
        racing for one row, exactly one sees rowcount 1 (SQLite serialises writers; PostgreSQL re-checks the WHERE
        on the row it locked). A job taken over from an expired lease is marked interrupted.
        """
        ids = await self._rows.claimable_ids(
            waiting=QUEUED, leased=RUNNING, now=datetime.now(UTC), limit=_CANDIDATES + len(working)
        )
        for job_id in (i for i in ids if i not in working):
            now = datetime.now(UTC)
            claimed = await self._rows.claim(
                job_id, waiting=QUEUED, leased=RUNNING, now=now, owner=self.owner, lease_expires_at=now + self.lease
            )
            if claimed:
                job = await self.get(job_id)
                if job is not None:
                    return job
        return None

    async def next_lease_expiry(self) -> datetime | None:
        """When the first lease held by another instance runs out: a takeover is due then, not at the next poll."""
        return _aware(await self._rows.earliest_lease_expiry(status=RUNNING, owner_not=self.owner))

    async def _owned_update(self, job_id: str, **values: Any) -> bool:
        """An UPDATE of a job this instance still holds; False when the lease was lost (another took it over)."""
        return await self._rows.update(job_id, {"updated_at": datetime.now(UTC), **values}, lease_owner=self.owner)

    async def renew(self, job_id: str) -> bool:
        return await self._owned_update(job_id, lease_expires_at=datetime.now(UTC) + self.lease)

    async def checkpoint(self, work_job: Job) -> bool:
        """The items and payload as they stand, and a renewed lease."""
        return await self._owned_update(
            work_job.id,
            items=json.dumps(work_job.items),
            payload=json.dumps(work_job.payload),
            next_item=_first_unfinished(work_job.items),
            lease_expires_at=datetime.now(UTC) + self.lease,
        )

    async def release(self, work_job: Job, *, outage: bool = False) -> bool:
        """Stopping: record where the job stands and let its lease expire now, so any instance can resume it.

        With `outage` (the database failed under the job, not the job itself) the attempt is given back and the job
        is not marked interrupted: nothing restarted, and the next claim (this instance's, at once) counts as the
        same attempt.
        """
        now = datetime.now(UTC)
        values: dict[str, Any] = dict(
            items=json.dumps(work_job.items),
            payload=json.dumps(work_job.payload),
            next_item=_first_unfinished(work_job.items),
            lease_owner=None,
            lease_expires_at=now - timedelta(seconds=1),
        )
        if outage:
            values["attempts"] = max(work_job.attempts - 1, 0)
        else:
            values["interrupted"] = True
        return await self._owned_update(work_job.id, **values)

    async def finish(self, work_job: Job, status: str = DONE, *, with_summary: bool = False) -> bool:
        """Record the end; with `with_summary`, claim the summary in the same write (True: this caller posts it).

        When the summary was claimed before (an instance ended the job and died before recording it), or the lease
        is gone, the claim fails; the job is then just finished, and the caller learns which from the return value
        and JobWork.lost.
        """
        now = datetime.now(UTC)
        values = dict(
            status=status,
            items=json.dumps(work_job.items),
            payload=json.dumps(work_job.payload),
            next_item=_first_unfinished(work_job.items),
            finished_at=now,
            lease_owner=None,
            lease_expires_at=None,
            claim=None,  # a finished job holds nothing: the next one may take its claim
        )
        if with_summary:
            summary_claimed = await self._rows.update(
                work_job.id,
                {"updated_at": now, "summary_sent_at": now, **values},
                lease_owner=self.owner,
                summary_unsent=True,
            )
            if summary_claimed:
                return True
        return await self._owned_update(work_job.id, **values) and not with_summary

    async def claim_summary(self, job_id: str) -> bool:
        """True for exactly one caller, ever: whoever gets it posts the job's summary."""
        return await self._rows.update(job_id, {"summary_sent_at": datetime.now(UTC)}, summary_unsent=True)

    async def purge(self, retention: timedelta) -> int:
        """Delete jobs finished more than `retention` ago; returns how many."""
        return await self._rows.delete_finished(FINISHED, datetime.now(UTC) - retention)

    async def all(self, kind: str | None = None) -> list[Job]:
        return [_job_of(r) for r in await self._rows.all(kind)]


@dataclass
class JobWork:
    """One claimed job as its handler sees it: the items, checkpoints, and whether to stop."""

    job: Job
    store: JobStore
    runner: JobRunner
    lost: bool = False
    on_progress: Callable[[int, int], Awaitable[None]] | None = None
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    _sequential: asyncio.Lock = field(default_factory=asyncio.Lock)
    _changes: int = 0
    _saved: int = 0
    failing: bool = False  # an item's work raised: no other item starts

    @property
    def stopping(self) -> bool:
        return self.runner.stopping or self.lost or self.failing

    def in_order(self) -> asyncio.Lock:
        """A slot for `each_item` that takes the items one at a time, in their order (asyncio.Lock is FIFO)."""
        return self._sequential

    async def save(self) -> None:
        """Write the job as it stands; returns once a write that includes this caller's change is done.

        Callers that arrive while a write is running share the next one: one write per batch, not per item.
        """
        self._changes += 1
        wanted = self._changes
        async with self._lock:
            if self.lost or self._saved >= wanted:
                return
            covered = self._changes
            if not await self.runner.outlast(self.job, "save its progress", lambda: self.store.checkpoint(self.job)):
                self.lost = True
                logger.warning("Job %s: the lease was lost; another instance has it", self.job.id)
            self._saved = covered

    async def each_item(
        self,
        one: Callable[[dict[str, Any], bool], Awaitable[dict[str, Any]]],
        slot: Callable[[], AbstractAsyncContextManager[Any]],
    ) -> None:
        """`one(item, sent_before)` for every unfinished item, within `slot()` (concurrency and pace).

        Before its call an item is marked `sent` and saved: after a crash, an item found `sent` without an outcome may
        have reached Slack, and `one` settles it by what Slack answers (sent_before=True). After its call the outcome
        is saved. Once stopping, no item starts; those in flight finish and are saved. An item that raises stops the
        others from starting; once those in flight have finished (and been saved), its error is raised here.
        """
        total = len(self.job.items)
        pending = [i for i, item in enumerate(self.job.items) if item.get("outcome") is None]

        async def do(index: int) -> None:
            async with slot():
                if self.stopping:
                    return
                item = self.job.items[index]
                sent_before = bool(item.get("sent"))
                if not sent_before:
                    item["sent"] = True
                    await self.save()
                    if self.stopping:
                        return
                item.update(await one(dict(item), sent_before))
                metrics.job_item_done(self.job.kind)
                await self.save()
            if self.on_progress is not None:
                await self.on_progress(self.job.done_count, total)

        async def guarded(index: int) -> None:
            try:
                await do(index)
            except Exception:
                self.failing = True  # no sibling starts without a checkpoint behind it
                raise

        errors = [e for e in await asyncio.gather(*(guarded(i) for i in pending), return_exceptions=True) if e]
        for error in errors:
            if isinstance(error, BaseException):
                raise error


Handler = Callable[[JobWork], Awaitable[None]]
# Told once (the job's summary claimed for it) when a job is given up after MAX_ATTEMPTS: says what was done.
FailureNotice = Callable[[JobWork], Awaitable[None]]
_T = TypeVar("_T")
Maintenance = Callable[[], Awaitable[object]]
_MAINTAIN_EVERY = timedelta(minutes=5)


class JobRunner:
    """Claims and works jobs for this instance: at start-up, when woken (a job was just created) and every poll."""

    def __init__(
        self,
        store: JobStore,
        *,
        poll_seconds: float = DEFAULT_POLL_SECONDS,
        retention: timedelta = timedelta(days=DEFAULT_RETENTION_DAYS),
        max_jobs: int = MAX_JOBS_AT_ONCE,
    ) -> None:
        self.store = store
        self.handlers: dict[str, Handler] = {}
        self.failure_notices: dict[str, FailureNotice] = {}
        self.poll_seconds = poll_seconds
        self.retention = retention
        self.max_jobs = max_jobs
        self.stopping = False
        self._wake = asyncio.Event()
        self._loop_task: asyncio.Task[None] | None = None
        self._working: dict[str, tuple[asyncio.Task[None], JobWork]] = {}
        self._last_purge: datetime | None = None
        self._maintenance: list[Maintenance] = []
        self._last_maintained: datetime | None = None

    def register(self, kind: str, handler: Handler, on_failed: FailureNotice | None = None) -> None:
        self.handlers[kind] = handler
        if on_failed is not None:
            self.failure_notices[kind] = on_failed

    async def outlast(self, job: Job, what: str, write: Callable[[], Awaitable[_T]]) -> _T:
        """`write()` (a write of a job being worked), tried again while the database is unavailable, until it answers
        or this instance stops: a blip pauses the job (its items wait for their checkpoints, so none starts meanwhile)
        for as long as it lasts, not for a lease. The lease is this instance's again with the first write that
        lands: the checkpoint's condition is the owner, not the expiry, and nobody could take it over meanwhile
        without the database. One WARNING when it starts, one INFO when it ends; no traceback.
        """
        wait, since = OUTAGE_RETRY_SECONDS, None
        while True:
            try:
                result = await write()
            except Exception as e:
                if not unavailable(e) or self.stopping:
                    raise
                if since is None:
                    since = asyncio.get_running_loop().time()
                    metrics.job_event(job.kind, "paused")
                    logger.warning(
                        "Job %s: the database is unavailable (%s) when trying to %s; paused until it answers",
                        job.id, type(e).__name__, what,
                    )  # fmt: skip
                await asyncio.sleep(wait)
                wait = min(wait * 2, OUTAGE_RETRY_MOST_SECONDS)
                continue
            if since is not None:
                took = asyncio.get_running_loop().time() - since
                logger.info("Job %s: the database answers again; going on after %.1f s", job.id, took)
            return result

    def maintain(self, task: Maintenance) -> None:
        """Run `task` at start-up and every few minutes (e.g. closing what an interrupted process left open)."""
        self._maintenance.append(task)

    async def _may_poll(self) -> bool:
        """A SQLite file not opened yet is read with the standard library first: it is opened (SQLAlchemy loaded)
        only when it holds a job to work or purge, so a leave-only app, or one restarted with nothing to resume,
        never loads it; a file that doesn't exist is never created."""
        if self.store.database.opened:
            return True
        return await self.store.database.sqlite_holds_jobs((QUEUED, RUNNING), datetime.now(UTC) - self.retention)

    def start(self) -> None:
        if self._loop_task is None and not self.stopping:
            self._loop_task = asyncio.create_task(self._loop())

    def wake(self) -> None:
        """A job was just created here: claim it now rather than at the next poll."""
        self.start()
        self._wake.set()

    async def _loop(self) -> None:
        failing = False
        while not self.stopping:
            wait = self.poll_seconds
            try:
                if await self._may_poll():
                    await self._claim_some()
                    await self._purge_now_and_then()
                    wait = await self._until_takeover(wait)
                if failing:
                    logger.info("Job runner: the database answers again")
                failing = False
            except Exception as e:  # noqa: BLE001 - a database hiccup: try again at the next poll
                if not failing:
                    logger.warning("Job runner: could not poll for jobs (%s)", type(e).__name__)
                failing = True
                if unavailable(e):  # back at work within a moment of the database answering (one line per outage)
                    wait = min(wait, OUTAGE_RETRY_MOST_SECONDS * 2)
            # asyncio.timeout, not wait_for: wait_for wraps the wait in a task of its own on 3.11.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(wait):
                    await self._wake.wait()
            self._wake.clear()

    async def _claim_some(self) -> None:
        while not self.stopping and len(self._working) < self.max_jobs:
            job = await self.store.claim_next(self._working.keys())
            if job is None:
                return
            if self.stopping:
                await self.store.release(job)
                return
            work = JobWork(job, self.store, self)
            task = asyncio.create_task(self._work(work))
            self._working[job.id] = (task, work)
            task.add_done_callback(functools.partial(self._done, job.id))

    async def _until_takeover(self, wait: float) -> float:
        """The poll's wait, shortened to when another instance's lease runs out (its process may have died)."""
        if len(self._working) >= self.max_jobs:
            return wait
        expiry = await self.store.next_lease_expiry()
        if expiry is None:
            return wait
        return min(wait, max((expiry - datetime.now(UTC)).total_seconds() + _TAKEOVER_MARGIN, _TAKEOVER_MARGIN))

    def _done(self, job_id: str, _task: object = None) -> None:
        """A job ended here: room for the next one now, not at the next poll."""
        self._working.pop(job_id, None)
        if not self.stopping:
            self._wake.set()

    async def _purge_now_and_then(self) -> None:
        now = datetime.now(UTC)
        if self._last_maintained is None or now - self._last_maintained > _MAINTAIN_EVERY:
            self._last_maintained = now
            for task in self._maintenance:
                try:
                    await task()
                except Exception as e:  # noqa: BLE001 - tried again at the next round
                    logger.warning("Job runner: maintenance failed (%s)", type(e).__name__)
        if self._last_purge is None or now - self._last_purge > _PURGE_EVERY:
            self._last_purge = now
            purged = await self.store.purge(self.retention)
            if purged:
                logger.info("Purged %s finished job(s) older than the retention period", purged)

    async def _renew(self, work: JobWork) -> None:
        interval = max(self.store.lease.total_seconds() / 3, 0.05)
        while not work.lost:
            await asyncio.sleep(interval)
            try:
                renewed = await self.store.renew(work.job.id)
            except Exception as e:  # noqa: BLE001 - the checkpoints wait for the database; the next renewal retries
                if not unavailable(e):
                    logger.warning("Job %s: could not renew its lease (%s)", work.job.id, type(e).__name__)
                continue
            if not renewed:
                if work.job.status in FINISHED:
                    return  # finished here a moment ago (its lease cleared), not lost: the summary must still go out
                work.lost = True
                logger.warning("Job %s: the lease was lost; another instance has it", work.job.id)

    async def _work(self, work: JobWork) -> None:
        job = work.job
        handler = self.handlers.get(job.kind)
        renewing = asyncio.create_task(self._renew(work))
        finished = False
        outage = False
        try:
            if handler is None:
                logger.error("Job %s: no handler for kind %r", job.id, job.kind)
                await self.store.finish(job, FAILED)
                finished = True
                return
            logger.info(
                "Job %s (%s): working, %s of %s items done%s",
                job.id, job.kind, job.done_count, len(job.items), " (resumed)" if job.interrupted else "",
            )  # fmt: skip
            metrics.job_event(job.kind, "running")
            await handler(work)
            finished = work.job.status in FINISHED
        except asyncio.CancelledError:
            logger.warning("Job %s: cut off at the end of the shutdown grace period", job.id)
        except Exception as e:
            if unavailable(e):
                # The database, not the job: no attempt used, no traceback; released below for this instance to
                # claim again at once (or any other, once the database answers).
                outage = True
                logger.warning("Job %s: the database is unavailable (%s); released to resume", job.id, type(e).__name__)
            elif job.attempts >= MAX_ATTEMPTS:
                logger.exception("Job %s: unexpected error on attempt %s; given up", job.id, job.attempts)
                finished = await self._give_up(work)
            else:
                logger.exception("Job %s: unexpected error; released for a retry", job.id)
        finally:
            renewing.cancel()
            if not finished and not work.lost:
                try:
                    await asyncio.shield(
                        self.outlast(job, "release it", lambda: self.store.release(job, outage=outage))
                    )
                    logger.info("Job %s: stopped at %s of %s items; left for any instance", job.id,
                                job.done_count, len(job.items))  # fmt: skip
                except Exception as e:  # noqa: BLE001 - the lease then runs out by itself
                    logger.warning("Job %s: could not release its lease (%s)", job.id, type(e).__name__)

    async def _give_up(self, work: JobWork) -> bool:
        """MAX_ATTEMPTS used: the job ends FAILED, and its kind's notice tells the user once what was done."""
        job = work.job
        try:
            told = await self.outlast(
                job, "record its failure", lambda: self.store.finish(job, FAILED, with_summary=True)
            )
        except Exception as e:  # noqa: BLE001 - then released by the caller, or its lease runs out
            logger.warning("Job %s: could not be marked failed (%s)", job.id, type(e).__name__)
            return False
        job.status = FAILED
        metrics.job_event(job.kind, "failed")
        notice = self.failure_notices.get(job.kind)
        if told and notice is not None:
            try:
                await notice(work)
            except Exception:
                logger.exception("Job %s: could not tell the user it failed", job.id)
        return True

    async def finish(self, work: JobWork, status: str = DONE, *, with_summary: bool = False) -> bool:
        """End the job; with `with_summary`, True when this caller claimed its summary in the same write."""
        work.job.status = status
        metrics.job_event(work.job.kind, "finished" if status == DONE else "failed")
        job = work.job
        if not with_summary:
            if not await self.outlast(job, "finish it", lambda: self.store.finish(job, status)):
                work.lost = True
            return False
        if await self.outlast(job, "finish it", lambda: self.store.finish(job, status, with_summary=True)):
            return True
        current = await self.outlast(job, "read it", lambda: self.store.get(job.id))
        if current is None or current.status != status:
            work.lost = True  # another instance holds it
        return False

    async def drain(self, grace: float) -> None:
        """Stop claiming; let the items in flight finish (at most `grace` seconds); release every job's lease."""
        self.stopping = True
        self._wake.set()
        if self._loop_task is not None:
            self._loop_task.cancel()
            await asyncio.gather(self._loop_task, return_exceptions=True)
        tasks = [task for task, _ in self._working.values()]
        if not tasks:
            return
        logger.info("Draining: %s job(s) finishing the items in flight (up to %s s)", len(tasks), grace)
        _, late = await asyncio.wait(tasks, timeout=grace)
        for task in late:
            task.cancel()
        if late:
            await asyncio.wait(late, timeout=5)


def _print_jobs(jobs: Sequence[Job]) -> None:
    print(f"{'id':32}  {'kind':12} {'status':9} {'done':>9}  {'created (UTC)':19}  {'lease':30}  flags")
    now = datetime.now(UTC)
    for j in jobs:
        lease = "-"
        if j.lease_owner and j.lease_expires_at:
            left = (j.lease_expires_at - now).total_seconds()
            lease = f"{j.lease_owner[:20]} {'+' if left >= 0 else ''}{left:.0f}s"
        elif j.status == RUNNING:
            lease = "released"
        flags = ",".join(
            f for f, on in (("interrupted", j.interrupted), ("summary-sent", j.summary_sent_at is not None)) if on
        )
        print(
            f"{j.id:32}  {j.kind[:12]:12} {j.status:9} {j.done_count:>4}/{len(j.items):<4}  "
            f"{j.created_at:%Y-%m-%d %H:%M:%S}  {lease:30}  {flags or '-'}"
        )


async def _cli(argv: Sequence[str]) -> int:
    from services.settings import SettingsError, load_settings

    try:
        settings = load_settings()
    except SettingsError as e:
        print(f"Configuration error: {e}")
        return 2
    database = Database(settings.database_url)
    try:
        store = JobStore(database, owner="cli")
        if "--purge" in argv:
            print(f"Purged {await store.purge(timedelta(days=settings.job_retention_days))} finished job(s).")
        _print_jobs(await store.all())
    finally:
        await database.close()
    return 0


if __name__ == "__main__":
    import sys

    args = sys.argv[1:]
    if not args or not set(args) <= {"--list", "--purge"}:
        print(__doc__.split("\n\n")[-1])
        sys.exit(2)
    sys.exit(asyncio.run(_cli(args)))
