"""Issue 20's guards, end to end: one offboarding per partner and org whatever the number of jobs (a unique claim in
the database, both databases), and every running job's Cancel reachable on every admin's Home tab within 100 blocks."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import pytest

from services.audit.log import AuditEntry, AuditEvent
from services.disconnecting.everything import OFFBOARD_EVERYTHING
from services.disconnecting.partners import OFFBOARD, offboard_claim
from services.jobs.queue import DONE, JobClaimed, JobStore
from services.settings import Settings
from services.storage.database import Database
from services.ui.home_jobs import JOBS_NEXT_ACTION, JOBS_PAGE_SIZE
from services.ui.offboarding import CANCEL_ACTION, CONFIRM_CALLBACK, PLAN_CALLBACK
from services.ui.partners import EVERYTHING_CANCEL_ACTION
from tests.helpers.app import settings_for, suite_database
from tests.helpers.fake_slack import FakeSlack
from tests.helpers.slack_requests import SlackSender, buttons_in

ADMIN_CALL = "admin.conversations.disconnectShared"
SEARCH = "admin.conversations.search"


@dataclass
class Grid:
    org: str
    admin: str
    other_admin: str
    partner: str


@pytest.fixture
def grid(fake_slack: FakeSlack) -> Grid:
    org = fake_slack.make_grid()
    return Grid(
        org=org,
        admin=fake_slack.add_user(org_admin=True),
        other_admin=fake_slack.add_user(org_owner=True),
        partner=fake_slack.add_org("Partner Corp"),
    )


@pytest.fixture
async def app_settings(fake_slack: FakeSlack, grid: Grid, tmp_path) -> Settings:
    token = fake_slack.add_admin_token(scopes={"admin.conversations:write", "admin.conversations:read"})
    # The runner polls rarely: the jobs another instance holds are never this one's to take in a test's time.
    return settings_for(fake_slack, admin_token=token, database_url=await suite_database(tmp_path), job_poll_seconds=60)


def untouched(view: dict) -> dict:
    """The state Slack sends for a form submitted as shown: every input at its initial value."""
    values: dict[str, Any] = {}
    for block in view.get("blocks", []):
        element = block.get("element") or {}
        if block.get("type") != "input" or "action_id" not in element:
            continue
        kind = element.get("type")
        if kind in ("multi_static_select", "checkboxes"):
            state = {"selected_options": element.get("initial_options") or []}
        elif kind == "plain_text_input":
            state = {"value": element.get("initial_value")}
        elif kind == "multi_conversations_select":
            state = {"selected_conversations": element.get("initial_conversations") or []}
        else:
            continue
        values[block["block_id"]] = {element["action_id"]: {"type": kind, **state}}
    return values


async def held_elsewhere(slack: SlackSender, grid: Grid, partners: list[str]) -> list[str]:
    """Offboarding jobs written as the app writes them (with their claim), each leased by another instance for ten
    minutes: running, and never this instance's to take. Oldest first."""
    store = JobStore(slack.built.database, owner="other-instance", lease_seconds=600)
    ids = []
    for partner in partners:
        job_id = await store.create(
            OFFBOARD,
            user_id=grid.other_admin,
            items=[{"id": f"C{partner[-6:]}{i}", "outcome": None} for i in range(3)],
            enterprise_id=grid.org,
            team_id=None,
            payload={"partner": partner, "partner_name": None, "theirs": [], "pending": []},
            claim=offboard_claim(grid.org, partner),
        )
        claimed = await store.claim_next()
        assert claimed is not None and claimed.id == job_id
        ids.append(job_id)
    return ids


async def test_a_second_offboarding_of_a_partner_is_refused_with_six_jobs_running(
    slack: SlackSender, fake_slack: FakeSlack, grid: Grid
) -> None:
    """The issue's attack: the partner's job is the oldest of 6 running; a second one used to be accepted (only an
    org's 5 newest jobs were looked at) and sent every channel's call twice."""
    channels = [fake_slack.add_shared_channel(f"deal-{i}", connected=[grid.partner]) for i in range(2)]
    others = [fake_slack.add_org(f"Other {i}") for i in range(5)]
    first, *_ = await held_elsewhere(slack, grid, [grid.partner, *others])

    reply, _ = await slack.command("/disconnect-shared", f"all {grid.partner}", channel_id="", user_id=grid.admin)
    assert reply.status == 200
    plans = await fake_slack.wait_for(lambda: fake_slack.views_with(PLAN_CALLBACK), what="the plan")
    plan_id = plans[0]["id"]
    reply = await slack.submit_view(plan_id, untouched(fake_slack.views[plan_id]), user_id=grid.admin)
    assert reply.json()["response_action"] == "push", reply.text
    confirm_id = slack.pushed_view_id
    assert confirm_id is not None and fake_slack.views[confirm_id]["callback_id"] == CONFIRM_CALLBACK
    await slack.submit_view(confirm_id, {}, user_id=grid.admin)

    def told() -> str:  # (the test's record of the ack can land after the app's views.update: the view's history)
        return str([v["blocks"] for v in fake_slack.view_history[confirm_id]])

    await fake_slack.wait_for(lambda: "already running" in told(), what="the refusal")
    jobs = [j for j in await slack.built.jobs.store.all(OFFBOARD) if j.payload.get("partner") == grid.partner]
    assert [j.id for j in jobs] == [first]
    assert fake_slack.calls_to(ADMIN_CALL) == [] and channels
    newest = (await slack.built.audit_log.latest(1))[0]
    assert (newest["event"], newest["outcome"], newest["leaving_team_id"]) == (
        "refused",
        "already_running",
        grid.partner,
    )


async def test_one_offboarding_per_partner_and_org_is_a_claim_in_the_database(database_url: str) -> None:
    """On SQLite and PostgreSQL: of two instances writing the same partner's job at once exactly one succeeds; the
    claim is per org and partner; finishing the job gives it up (a finished job holds nothing)."""
    database = Database(database_url)
    a, b = JobStore(database, owner="a"), JobStore(database, owner="b")
    claim = offboard_claim("E1", "E9")

    async def write(store: JobStore) -> str | Exception:
        try:
            return await store.create(OFFBOARD, user_id="U1", items=[], enterprise_id="E1", claim=claim)
        except JobClaimed as e:
            return e

    try:
        results = await asyncio.gather(write(a), write(b))
        written = [r for r in results if isinstance(r, str)]
        refused = [r for r in results if isinstance(r, JobClaimed)]
        assert len(written) == 1 and len(refused) == 1 and refused[0].holder_id == written[0]
        for i in range(6):  # any number of other partners' jobs changes nothing
            await a.create(OFFBOARD, user_id="U1", items=[], enterprise_id="E1", claim=offboard_claim("E1", f"E8{i}"))
        await b.create(OFFBOARD, user_id="U1", items=[], enterprise_id="E2", claim=offboard_claim("E2", "E9"))
        await b.create(OFFBOARD, user_id="U1", items=[], enterprise_id="E1")  # no claim: never in the way
        await b.create(OFFBOARD, user_id="U1", items=[], enterprise_id="E1")
        with pytest.raises(JobClaimed):
            await b.create(OFFBOARD, user_id="U2", items=[], enterprise_id="E1", claim=claim)
        holder = await a.holder(claim)
        assert holder is not None and holder.id == written[0]
        while (job := await a.claim_next()) is not None and job.id != holder.id:
            pass
        assert job is not None
        assert await a.finish(job, DONE)
        assert await a.holder(claim) is None
        again = await b.create(OFFBOARD, user_id="U2", items=[], enterprise_id="E1", claim=claim)
        holder = await b.holder(claim)
        assert holder is not None and holder.id == again
        # Either mode holds it: "everything, including DMs" (team.externalTeams.disconnect) of another partner is
        # written, of this partner refused.
        await a.create(
            OFFBOARD_EVERYTHING, user_id="U2", items=[], enterprise_id="E1", claim=offboard_claim("E1", "E7")
        )
        with pytest.raises(JobClaimed):
            await a.create(OFFBOARD_EVERYTHING, user_id="U2", items=[], enterprise_id="E1", claim=claim)
    finally:
        await database.close()


async def test_every_running_offboarding_has_its_cancel_on_every_admins_home_tab(
    slack: SlackSender, fake_slack: FakeSlack, grid: Grid
) -> None:
    """40 running jobs (the 5 newest used to be all there was): every admin pages through every one of them, each
    with its Cancel, the Home tab within Slack's 100 blocks with a full audit page beside it; a Cancel on the last
    page cancels that job."""
    partners = [fake_slack.add_org(f"Partner {i:02}") for i in range(40)]
    job_ids = await held_elsewhere(slack, grid, partners)
    for i in range(30):
        await slack.built.audit_log.record(AuditEntry(AuditEvent.REFUSED, f"U{i:09d}", "not_admin", grid.org))
    for admin in (grid.admin, grid.other_admin):
        await slack.home_opened(admin)
        await fake_slack.wait_for(lambda a=admin: fake_slack.home_of(a), what="the Home tab")
        seen: list[str] = []
        pages = 0
        while True:
            home = fake_slack.home_of(admin)
            assert home is not None and len(home["blocks"]) <= 100
            cancels = [b["value"] for b in buttons_in_home(home) if b["action_id"] == CANCEL_ACTION]
            assert len(cancels) <= JOBS_PAGE_SIZE
            seen.extend(cancels)
            pages += 1
            if not any(b["action_id"] == JOBS_NEXT_ACTION for b in buttons_in_home(home)):
                break
            published = len(fake_slack.calls_to("views.publish"))
            await slack.home_button(admin, JOBS_NEXT_ACTION)
            await fake_slack.wait_for(lambda p=published: len(fake_slack.calls_to("views.publish")) > p)
        assert seen == job_ids and pages == 4  # every one, once, oldest first
    published = len(fake_slack.calls_to("views.publish"))
    await press_in_home(slack, grid.admin, CANCEL_ACTION)  # the first Cancel of the last page
    # Recorded, then the Home tab republished: the publish says the cancel is in the log.
    await fake_slack.wait_for(lambda: len(fake_slack.calls_to("views.publish")) > published, what="the new Home tab")
    cancelled = job_ids[3 * JOBS_PAGE_SIZE]
    rows = await slack.built.audit_log.of_job(cancelled, AuditEvent.CANCELLED)
    assert len(rows) == 1 and rows[0]["user_id"] == grid.admin
    again = fake_slack.home_of(grid.admin)  # the same page again, not the first
    assert again is not None and "31–40 of 40" in str(again["blocks"])


async def press_in_home(slack: SlackSender, user_id: str, action_id: str) -> None:
    """The first button `action_id` in the user's Home tab pressed, a section's accessory too (a job's Cancel)."""
    home = slack.fake.home_of(user_id)
    assert home is not None
    as_actions = [{"type": "actions", "block_id": "", "elements": buttons_in_home(home)}]
    team, org = slack.origin(user_id=user_id)
    where = {"container": {"type": "view", "view_id": home["id"]}, "view": {**home, "team_id": team}}
    reply = await slack._press(as_actions, action_id, user_id, where, team, org)
    assert reply.status == 200


def buttons_in_home(view: dict) -> list[dict]:
    """Every button in a Home tab: in actions blocks and as a section's accessory."""
    accessories = [b["accessory"] for b in view["blocks"] if (b.get("accessory") or {}).get("type") == "button"]
    return [*buttons_in(view["blocks"]), *accessories]


async def test_offboardings_unfinished_at_the_upgrade_take_their_claim(database_url: str) -> None:
    """Upgrading a database with jobs running: each unfinished offboarding holds its claim at once (of two for one
    partner, the older), so none is started again beside them; finished ones hold nothing."""
    from datetime import UTC, datetime, timedelta

    from sqlalchemy import column, insert, table

    from services.storage.database import create_engine_for
    from services.storage.migrate import head_revision, upgrade

    await upgrade(database_url, "0006")
    now = datetime.now(UTC)

    def row(job_id: str, status: str, partner: str, age: int) -> dict[str, Any]:
        return dict(id=job_id, kind=OFFBOARD, status=status, created_at=now - timedelta(minutes=age), updated_at=now,
                    user_id="U1", enterprise_id="E1", is_enterprise_install=False,
                    payload=f'{{"partner": "{partner}"}}', items="[]", next_item=0, attempts=0, interrupted=False)  # fmt: skip

    engine = create_engine_for(database_url)
    try:
        async with engine.begin() as conn:
            rows = [row("old", "running", "E9", 10), row("twin", "queued", "E9", 5), row("done", "done", "E7", 20),
                    row("other", "running", "E8", 1)]  # fmt: skip
            before_0007 = table("job", *(column(name) for name in rows[0]))  # the job table as 0006 left it
            await conn.execute(insert(before_0007), rows)
        assert await upgrade(database_url) == ("0006", head_revision())
        store = JobStore(Database(database_url))
        try:
            holders = {p: await store.holder(offboard_claim("E1", p)) for p in ("E9", "E8", "E7")}
            assert {p: h.id if h else None for p, h in holders.items()} == {"E9": "old", "E8": "other", "E7": None}
        finally:
            await store.database.close()
    finally:
        await engine.dispose()


async def test_a_claim_given_up_between_the_refused_write_and_the_holder_read_is_taken(database_url: str) -> None:
    """The holder of a claim may finish between the write that broke the unique index and the read of who holds it:
    the claim is then free, and the job is written (not JobExists for an ID nobody holds, which the offboarding
    forms don't catch: the admin would read a generic failure)."""
    from services.jobs.queue import JobExists

    database = Database(database_url)
    a, b = JobStore(database, owner="a"), JobStore(database, owner="b")
    claim = offboard_claim("E1", "E9")
    try:
        first = await a.create(OFFBOARD, user_id="U1", items=[], enterprise_id="E1", claim=claim)
        holding = b._rows.holding
        finished_meanwhile = False

        async def holder_finishes_first(wanted: str, **kwargs: Any) -> dict[str, Any] | None:
            nonlocal finished_meanwhile
            if not finished_meanwhile:
                finished_meanwhile = True
                job = await a.claim_next()
                assert job is not None and job.id == first
                assert await a.finish(job, DONE)
            return await holding(wanted, **kwargs)

        b._rows.holding = holder_finishes_first  # type: ignore[method-assign,assignment]
        try:
            second = await b.create(OFFBOARD, user_id="U2", items=[], enterprise_id="E1", claim=claim)
        except JobExists:
            pytest.fail("JobExists for a new job ID: the claim was free again")
        holder = await a.holder(claim)
        assert holder is not None and holder.id == second != first
    finally:
        await database.close()


async def test_a_job_finished_by_an_instance_from_before_the_claim_does_not_hold_it_forever(database_url: str) -> None:
    """A rolling upgrade: the new instance's migration gives the running offboarding its claim; the old instance
    finishes it without clearing the claim (it knows no such column). The partner is not refused "already running"
    from then on: the finished row's claim is no holder, and the next job's write clears it and is written."""
    from datetime import UTC, datetime

    database = Database(database_url)
    store = JobStore(database, owner="new")
    claim = offboard_claim("E1", "E9")
    try:
        old = await store.create(OFFBOARD, user_id="U1", items=[], enterprise_id="E1", claim=claim)
        # The old version's finish: status and finished_at, the claim column untouched.
        assert await store._rows.update(old, {"status": DONE, "finished_at": datetime.now(UTC), "lease_owner": None})
        assert await store.holder(claim) is None
        again = await store.create(OFFBOARD, user_id="U2", items=[], enterprise_id="E1", claim=claim)
        holder = await store.holder(claim)
        assert holder is not None and holder.id == again != old
        with pytest.raises(JobClaimed):
            await store.create(OFFBOARD, user_id="U3", items=[], enterprise_id="E1", claim=claim)
    finally:
        await database.close()


async def test_every_unfinished_everything_job_has_its_cancel_on_the_home_tab(
    slack: SlackSender, fake_slack: FakeSlack, grid: Grid
) -> None:
    """12 "everything" jobs running elsewhere (the Home tab used to show 10, with no Cancel): paged with the
    channel-by-channel jobs, each has its Cancel; once Slack was asked, the line and the Cancel say it can't be
    recalled and Cancel only stops the watch."""
    store = JobStore(slack.built.database, owner="other-instance", lease_seconds=600)
    ids = []
    for i in range(12):
        partner = fake_slack.add_org(f"Everything {i:02}")
        payload: dict[str, Any] = {"partner": partner, "partner_name": f"Everything {i:02}", "mode": "everything"}
        if i == 11:
            payload.update(sent=True, called=True)
        ids.append(
            await store.create(
                OFFBOARD_EVERYTHING,
                user_id=grid.other_admin,
                items=[{"id": partner, "outcome": None}],
                enterprise_id=grid.org,
                payload=payload,
                claim=offboard_claim(grid.org, partner),
            )
        )
        assert (await store.claim_next()) is not None
    await slack.home_opened(grid.other_admin)
    await fake_slack.wait_for(lambda: fake_slack.home_of(grid.other_admin), what="the Home tab")
    seen: list[dict] = []
    while True:
        home = fake_slack.home_of(grid.other_admin)
        assert home is not None and len(home["blocks"]) <= 100
        seen.extend(b for b in buttons_in_home(home) if b["action_id"] == EVERYTHING_CANCEL_ACTION)
        if not any(b["action_id"] == JOBS_NEXT_ACTION for b in buttons_in_home(home)):
            break
        published = len(fake_slack.calls_to("views.publish"))
        await slack.home_button(grid.other_admin, JOBS_NEXT_ACTION)
        await fake_slack.wait_for(lambda p=published: len(fake_slack.calls_to("views.publish")) > p)
    assert [b["value"] for b in seen] == ids  # every one, once, oldest first
    assert "can't be recalled" in seen[-1]["confirm"]["text"]["text"] and seen[0]["text"]["text"] == "Cancel"
    assert "can't be recalled, I'm only watching" in str(home["blocks"]) and "11–12 of 12" in str(home["blocks"])


async def test_an_everything_job_cancelled_before_its_call_never_asks_slack(
    slack: SlackSender, fake_slack: FakeSlack, grid: Grid
) -> None:
    """Queued (the runner hasn't taken it yet), its Cancel pressed on the Home tab: the job then runs, sees the
    request, and ends with one summary; team.externalTeams.disconnect is never called."""
    partner = grid.partner
    job_id = await slack.built.jobs.store.create(
        OFFBOARD_EVERYTHING,
        user_id=grid.admin,
        items=[{"id": partner, "outcome": None}],
        enterprise_id=grid.org,
        payload={"partner": partner, "partner_name": "Partner Corp", "mode": "everything"},
        claim=offboard_claim(grid.org, partner),
    )
    await slack.home_opened(grid.admin)
    await fake_slack.wait_for(lambda: fake_slack.home_of(grid.admin), what="the Home tab")
    await press_in_home(slack, grid.admin, EVERYTHING_CANCEL_ACTION)

    def summaries() -> list[dict]:
        return [m for m in fake_slack.messages_to(grid.admin) if "Offboarding" in m.get("text", "")]

    said = await fake_slack.wait_for(summaries, what="the summary")
    assert "cancelled by an admin before Slack was asked" in said[0]["text"]
    job = await slack.built.jobs.store.get(job_id)
    assert job is not None and job.status == DONE and job.payload["ended"] == "cancelled"
    assert fake_slack.calls_to("team.externalTeams.disconnect") == []
    rows = await slack.built.audit_log.of_job(job_id, AuditEvent.CANCELLED)
    assert len(rows) == 1 and rows[0]["user_id"] == grid.admin
    assert len(summaries()) == 1
