"""Offboarding a partner end to end: /disconnect-shared all <org> (or the Home tab) → plan → confirmation → one job
that disconnects the partner from every channel our org created, paced, cancellable, resumable, audited, summarised."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest

from app import after_serving
from services.audit.log import OFFBOARD_AUDIT_ACTION, OFFBOARD_DRY_RUN_AUDIT_ACTION
from services.error_texts import ADMIN_ONLY, DISCONNECT_ERRORS
from services.jobs.queue import DONE
from services.settings import Settings
from services.ui.offboarding import (
    CANCEL_ACTION,
    CONFIRM_CALLBACK,
    HOME_OPEN_ACTION,
    KEEP_ACTION,
    KEEP_BLOCK,
    KEEP_MAX_SELECTED,
    PARTNER_ACTION,
    PARTNER_BLOCK,
    PLAN_CALLBACK,
    PRIVATE_NOT_SEARCHED,
    PROGRESS_CALLBACK,
    START_CALLBACK,
    SUBMIT_BODY_BOUND,
    PlanMetadata,
)
from tests.helpers.app import running_app, settings_for, suite_database
from tests.helpers.fake_slack import FakeSlack, Scripted
from tests.helpers.processes import instances
from tests.helpers.slack_requests import SlackSender
from tests.helpers.tasks import busy_tasks, settled

ADMIN_CALL = "admin.conversations.disconnectShared"
SEARCH = "admin.conversations.search"
COMMAND = "/disconnect-shared"


@dataclass
class Grid:
    admin: str
    other_admin: str
    member: str
    admin_token: str
    partner: str  # the partner org's E…
    partner_workspace: str
    third: str  # another org, never offboarded here


@pytest.fixture
def grid(fake_slack: FakeSlack) -> Grid:
    fake_slack.make_grid()
    partner = fake_slack.add_org("Partner Corp")
    return Grid(
        admin=fake_slack.add_user(org_admin=True),
        other_admin=fake_slack.add_user(org_owner=True),
        member=fake_slack.add_user(workspace_admin=True),
        admin_token=fake_slack.add_admin_token(scopes={"admin.conversations:write", "admin.conversations:read"}),
        partner=partner,
        partner_workspace=fake_slack.add_team("Partner HQ", enterprise_id=partner),
        third=fake_slack.add_org("Third Org"),
    )


@pytest.fixture
async def app_settings(fake_slack: FakeSlack, grid: Grid, tmp_path) -> Settings:
    return settings_for(
        fake_slack, admin_token=grid.admin_token, database_url=await suite_database(tmp_path), job_poll_seconds=0.2
    )


def ours(fake: FakeSlack, grid: Grid, count: int, prefix: str = "deal", **kwargs: Any) -> list[str]:
    return [fake.add_shared_channel(f"{prefix}-{i:03}", connected=[grid.partner], **kwargs) for i in range(count)]


NONE: frozenset[str] = frozenset()


async def open_plan(slack: SlackSender, fake: FakeSlack, user: str, text: str) -> tuple[str, dict]:
    reply, body = await slack.command(COMMAND, text, channel_id="", user_id=user)
    assert reply.status == 200 and reply.text == ""
    views = await fake.wait_for(lambda: fake.views_with(PLAN_CALLBACK), what="the plan")
    return views[0]["id"], body


def plan_values(view: dict, kept: frozenset[str] | set[str] = NONE, dry_run: bool = False) -> dict:
    """The state of a submitted plan: the channels chosen in its "keep these" picker, and the dry-run box."""
    chosen_kept = [{"text": {"type": "plain_text", "text": c}, "value": c} for c in sorted(kept)]
    values: dict = {KEEP_BLOCK: {KEEP_ACTION: {"type": "multi_external_select", "selected_options": chosen_kept}}}
    chosen = [{"value": "dry_run"}] if dry_run else []
    values["offboard_dry_run"] = {"dry_run": {"type": "checkboxes", "selected_options": chosen}}
    return values


def admin_token_user(fake: FakeSlack, grid: Grid) -> str:
    return str(fake.tokens[grid.admin_token]["user_id"])


async def confirm(
    slack: SlackSender, fake: FakeSlack, grid: Grid, plan_id: str, kept: frozenset[str] | set[str] = NONE, **kw: Any
) -> str:
    """Submit the plan (→ pushed confirmation), then the confirmation; returns the confirmation's view ID."""
    reply = await slack.submit_view(plan_id, plan_values(fake.views[plan_id], kept, **kw), user_id=grid.admin)
    assert reply.json()["response_action"] == "push", reply.text
    confirm_id = slack.pushed_view_id
    assert confirm_id is not None and fake.views[confirm_id]["callback_id"] == CONFIRM_CALLBACK
    reply = await slack.submit_view(confirm_id, {}, user_id=grid.admin)
    assert reply.status == 200 and reply.json()["response_action"] == "update"
    return confirm_id


async def audit(slack: SlackSender) -> list[dict]:
    return list(reversed(await slack.built.audit_log.latest(5000)))


def modal_text(fake: FakeSlack, view_id: str) -> str:
    return json.dumps(fake.views[view_id]["blocks"], ensure_ascii=False)


def ever_shown(fake: FakeSlack, view_id: str, text: str) -> bool:
    """Whether the modal showed `text` at some point (the test's record of an ack can land after the app's
    views.update, which Slack would have applied in the other order)."""
    return any(text in json.dumps(v["blocks"], ensure_ascii=False) for v in fake.view_history.get(view_id, []))


# ---- the plan ------------------------------------------------------------------------------------------------------


async def test_a_plan_with_nothing_ours_says_so_and_offers_nothing_to_submit(
    slack: SlackSender, fake_slack: FakeSlack, grid: Grid
) -> None:
    theirs = fake_slack.add_shared_channel("their-deal", host=grid.partner_workspace, connected=[fake_slack.team_id])
    view_id, _ = await open_plan(slack, fake_slack, grid.admin, f"all {grid.partner}")
    view = fake_slack.views[view_id]
    text = modal_text(fake_slack, view_id)
    assert "Your org created none of the channels shared with" in text and f"<#{theirs}>" in text
    assert view.get("submit") is None and not any(b["type"] == "input" for b in view["blocks"])


async def test_the_plan_pages_the_search_and_splits_ours_theirs_and_pending(
    slack: SlackSender, fake_slack: FakeSlack, grid: Grid
) -> None:
    fake_slack.private_channel_managers.add(admin_token_user(fake_slack, grid))  # may search private channels
    hosted = ours(fake_slack, grid, 130)
    archived = fake_slack.add_shared_channel("old-deal", connected=[grid.partner], is_archived=True)
    private = fake_slack.add_shared_channel("secret-deal", connected=[grid.partner], is_private=True)
    theirs = [
        fake_slack.add_shared_channel(f"their-{i}", host=grid.partner_workspace, connected=[fake_slack.team_id])
        for i in range(3)
    ]
    pending = fake_slack.add_shared_channel("invited", connected=[grid.third], pending=[grid.partner])
    unrelated = fake_slack.add_shared_channel("other-partner", connected=[grid.third])

    view_id, _ = await open_plan(slack, fake_slack, grid.admin, f"all {grid.partner}")
    view = fake_slack.views[view_id]
    text = modal_text(fake_slack, view_id)
    plan_id = PlanMetadata.decode(view["private_metadata"]).plan_id
    stored = await slack.built.services["offboarding"].plan_store.load(plan_id, grid.admin)
    # Every page, each once: private channels asked for first, then the public ones (Slack's order in each).
    assert [c["id"] for c in stored.findings.ours] == [private, *hosted, archived]
    assert [b["element"]["type"] for b in view["blocks"] if b["type"] == "input"] == [
        "multi_external_select",
        "checkboxes",
    ]
    picker = next(b for b in view["blocks"] if b.get("block_id") == KEEP_BLOCK)
    assert picker["element"]["type"] == "multi_external_select" and picker["optional"] is True
    assert "*132* your org created" in text and "*3* created by another organization" in text
    assert "*1* pending invitations" in text and "1 private, 1 archived" in text
    assert f"<#{hosted[0]}>" in text and "…and 122 more" in text  # the first 10 by name, the rest counted
    for channel in theirs:
        assert f"<#{channel}>" in text
    assert f"<#{pending}>" in text and unrelated not in text
    assert "about 7 minutes" in text  # 132 admin calls at about 20 a minute
    searches = fake_slack.calls_to(SEARCH)
    assert [c["search_channel_types"] for c in searches[:2]] == ["private", "private_exclude"]
    assert len(searches) == 8 and all(int(c["limit"]) == 20 for c in searches)  # 1 private page, 7 public
    assert all(c["connected_team_ids"] == grid.partner for c in searches)
    assert len(view["blocks"]) <= 100 and len(view["private_metadata"]) <= 3000
    assert fake_slack.calls_to(ADMIN_CALL) == []


async def test_a_workspace_of_a_partner_org_offboards_its_org_and_a_name_finds_a_standalone_workspace(
    slack: SlackSender, fake_slack: FakeSlack, grid: Grid
) -> None:
    ours(fake_slack, grid, 2)
    solo = fake_slack.add_team("Solo Studio")
    fake_slack.add_shared_channel("solo-deal", connected=[solo])

    await open_plan(slack, fake_slack, grid.admin, f"all {grid.partner_workspace}")
    assert {c["connected_team_ids"] for c in fake_slack.calls_to(SEARCH)} == {grid.partner}

    fake_slack.views.clear()
    fake_slack.calls.clear()
    view_id, _ = await open_plan(slack, fake_slack, grid.admin, "all solo studio")
    assert fake_slack.calls_to(SEARCH)[-1]["connected_team_ids"] == solo
    assert "Solo Studio" in modal_text(fake_slack, view_id)


# ---- who may ---------------------------------------------------------------------------------------------------


async def test_a_member_is_refused_at_the_command_with_no_search(
    slack: SlackSender, fake_slack: FakeSlack, grid: Grid
) -> None:
    ours(fake_slack, grid, 3)
    _, body = await slack.command(COMMAND, f"all {grid.partner}", user_id=grid.member)
    reply = await fake_slack.next_post(body["response_url"])
    assert reply["text"] == ADMIN_ONLY
    assert fake_slack.calls_to(SEARCH) == [] and fake_slack.calls_to(ADMIN_CALL) == []
    rows = await audit(slack)
    assert [(r["event"], r["outcome"]) for r in rows] == [("refused", "not_admin")]


async def test_the_home_form_counts_towards_the_attempts_a_minute(
    slack: SlackSender, fake_slack: FakeSlack, grid: Grid
) -> None:
    from services.disconnecting.attempts import ATTEMPTS_PER_MINUTE
    from services.error_texts import TOO_MANY_ATTEMPTS

    idle = busy_tasks()
    values = {PARTNER_BLOCK: {PARTNER_ACTION: {"type": "plain_text_input", "value": grid.partner}}}
    for _ in range(ATTEMPTS_PER_MINUTE):
        start = fake_slack.record_view_push({"type": "modal", "callback_id": START_CALLBACK, "title": {}, "blocks": []})
        reply = await slack.submit_view(start, values, user_id=grid.member)
        assert reply.json()["response_action"] == "update"
    await settled(fake_slack, idle)  # each refused after its ack
    checks = len(fake_slack.calls_to("users.info"))
    start = fake_slack.record_view_push({"type": "modal", "callback_id": START_CALLBACK, "title": {}, "blocks": []})
    reply = await slack.submit_view(start, values, user_id=grid.member)
    assert reply.json() == {
        "response_action": "errors",
        "errors": {PARTNER_BLOCK: TOO_MANY_ATTEMPTS.format(count=ATTEMPTS_PER_MINUTE)},
    }
    assert len(fake_slack.calls_to("users.info")) == checks and fake_slack.calls_to(SEARCH) == []


async def test_a_member_is_refused_in_the_home_form_and_at_the_confirmation(
    slack: SlackSender, fake_slack: FakeSlack, grid: Grid
) -> None:
    idle = busy_tasks()
    ours(fake_slack, grid, 3)
    # The Home tab's form, submitted by a member (a forged or stale form): refused before any search.
    start = fake_slack.record_view_push({"type": "modal", "callback_id": START_CALLBACK, "title": {}, "blocks": []})
    values = {PARTNER_BLOCK: {PARTNER_ACTION: {"type": "plain_text_input", "value": grid.partner}}}
    await slack.submit_view(start, values, user_id=grid.member)
    await fake_slack.wait_for(lambda: ever_shown(fake_slack, start, ADMIN_ONLY), what="the refusal")
    assert fake_slack.calls_to(SEARCH) == []

    # The plan an admin was shown, submitted by a member: the confirmation pushed in the ack becomes a refusal.
    plan_id, _ = await open_plan(slack, fake_slack, grid.admin, f"all {grid.partner}")
    await slack.submit_view(plan_id, plan_values(fake_slack.views[plan_id]), user_id=grid.member)
    pushed = slack.pushed_view_id
    assert pushed is not None
    await fake_slack.wait_for(lambda: ever_shown(fake_slack, pushed, ADMIN_ONLY), what="the refusal")

    # The confirmation an admin reached, submitted by a member: refused, nothing disconnected.
    await slack.submit_view(plan_id, plan_values(fake_slack.views[plan_id]), user_id=grid.admin)
    confirm_id = slack.pushed_view_id
    assert confirm_id is not None
    await slack.submit_view(confirm_id, {}, user_id=grid.member)
    await fake_slack.wait_for(lambda: ever_shown(fake_slack, confirm_id, ADMIN_ONLY), what="the refusal")
    await settled(fake_slack, idle)  # the app has finished what the submission started: no job
    assert fake_slack.calls_to(ADMIN_CALL) == []
    assert [r["outcome"] for r in await audit(slack) if r["event"] == "refused"] == ["not_admin"] * 3


# ---- the job -------------------------------------------------------------------------------------------------------


async def test_the_job_disconnects_each_hosted_channel_once_with_the_org_id_audited_and_summarised(
    fake_slack: FakeSlack, grid: Grid, tmp_path
) -> None:
    hosted = ours(fake_slack, grid, 25)
    theirs = fake_slack.add_shared_channel("their-room", host=grid.partner_workspace, connected=[fake_slack.team_id])
    audit_channel = fake_slack.add_channel("audit-log")
    counts = fake_slack.acted_on(ADMIN_CALL)
    fake_slack.fail(ADMIN_CALL, "access_denied")  # the first channel fails
    settings = settings_for(
        fake_slack,
        admin_token=grid.admin_token,
        database_url=await suite_database(tmp_path),
        audit_channel_id=audit_channel,
    )
    async with running_app(fake_slack, settings) as slack:
        idle = busy_tasks()
        plan_id, body = await open_plan(slack, fake_slack, grid.admin, f"all {grid.partner}")
        kept_out = hosted[-1]
        confirm_id = await confirm(slack, fake_slack, grid, plan_id, {kept_out})
        summary = await fake_slack.next_post(body["response_url"], timeout=30)
        await settled(fake_slack, idle)  # the job and its audit-channel lines have finished
        assert len(fake_slack.posts_to(body["response_url"])) == 1  # one summary

        calls = fake_slack.calls_to(ADMIN_CALL)
        assert [c["channel_id"] for c in calls] == hosted[:-1]  # in order, the kept one left alone
        assert {c["leaving_team_ids"] for c in calls} == {grid.partner}  # the org's E…, one per call
        assert counts == Counter({c: 1 for c in hosted[1:-1]})  # (the first call's answer was scripted)
        assert fake_slack.channels[kept_out].connected_teams == [grid.partner]
        assert fake_slack.channels[hosted[1]].connected_teams == []

        text = summary["text"]
        assert "disconnected from 23 of 24 channels*, 1 failed" in text
        assert f"<#{hosted[0]}>" in text.split("by reason")[1]
        assert DISCONNECT_ERRORS["access_denied"].split("{")[0] in text
        assert "Created by another organization (1)" in text and f"<#{theirs}>" in text
        assert ever_shown(fake_slack, confirm_id, "Disconnected 1 of 24")  # live progress in the modal
        assert "disconnected from 23 of 24" in modal_text(fake_slack, confirm_id)  # then the result

        rows = [r for r in await audit(slack) if r["action"] == OFFBOARD_AUDIT_ACTION]
        job_ids = {r["job_id"] for r in rows}
        assert len(job_ids) == 1 and None not in job_ids
        job = await slack.built.jobs.store.get(job_ids.pop())
        assert job is not None and job.status == DONE
        events = [r["event"] for r in rows]
        assert events[0] == "started" and events[-1] == "finished"
        per_channel = {r["channel_id"]: (r["event"], r["outcome"]) for r in rows if r["channel_id"]}
        assert per_channel[hosted[0]] == ("failed", "access_denied")
        assert all(per_channel[c] == ("succeeded", "ok") for c in hosted[1:-1])
        assert len([r for r in rows if r["channel_id"]]) == 24
        # The audit channel: the start, the failure and the end, not a line per channel.
        await fake_slack.wait_for(lambda: len(fake_slack.messages_to(audit_channel)) >= 3, what="audit lines")
        lines = [m["text"] for m in fake_slack.messages_to(audit_channel)]
        assert len(lines) == 3, lines
        assert "started offboarding" in lines[0] and "access_denied" in lines[1] and "ended" in lines[2]


async def test_a_dry_run_walks_every_channel_and_changes_nothing(
    slack: SlackSender, fake_slack: FakeSlack, grid: Grid
) -> None:
    hosted = ours(fake_slack, grid, 5)
    plan_id, body = await open_plan(slack, fake_slack, grid.admin, f"all {grid.partner} --dry-run")
    confirm_id = await confirm(slack, fake_slack, grid, plan_id, dry_run=True)
    assert ever_shown(fake_slack, confirm_id, "*Nothing will change.*")  # what the admin confirmed
    summary = await fake_slack.next_post(body["response_url"])
    assert summary["text"].startswith("*Dry run: nothing was changed.* A real run would disconnect")
    assert all(f"<#{c}>" in summary["text"] for c in hosted)
    assert fake_slack.calls_to(ADMIN_CALL) == []
    assert all(fake_slack.channels[c].connected_teams == [grid.partner] for c in hosted)
    rows = await audit(slack)
    assert {r["action"] for r in rows} == {OFFBOARD_DRY_RUN_AUDIT_ACTION}
    assert [r["event"] for r in rows] == ["started", *["dry_run"] * 5, "finished"]


@pytest.mark.runs_long
async def test_a_429_storm_is_paced_and_nothing_is_lost(slack: SlackSender, fake_slack: FakeSlack, grid: Grid) -> None:
    hosted = ours(fake_slack, grid, 30)
    fake_slack.rate_limit(ADMIN_CALL, 10, 1.0)  # 10 a second, 429 with Retry-After past it
    counts = fake_slack.acted_on(ADMIN_CALL)
    plan_id, body = await open_plan(slack, fake_slack, grid.admin, f"all {grid.partner}")
    await confirm(slack, fake_slack, grid, plan_id)
    summary = await fake_slack.next_post(body["response_url"], timeout=30)
    assert "disconnected from 30 of 30 channels*." in summary["text"]
    assert counts == Counter({c: 1 for c in hosted})
    limited = fake_slack.rate_limited_count.get(ADMIN_CALL, 0)
    assert 1 <= limited <= 2, limited  # the first burst finds the limit; the learned pace is kept after


@pytest.mark.runs_long
async def test_any_admin_can_cancel_and_the_summary_says_what_was_done(
    slack: SlackSender, fake_slack: FakeSlack, grid: Grid
) -> None:
    idle = busy_tasks()
    hosted = ours(fake_slack, grid, 40)
    fake_slack.rate_limit(ADMIN_CALL, 8, 1.0)
    plan_id, body = await open_plan(slack, fake_slack, grid.admin, f"all {grid.partner}")
    confirm_id = await confirm(slack, fake_slack, grid, plan_id)
    await fake_slack.wait_for(lambda: len(fake_slack.calls_to(ADMIN_CALL)) >= 6, timeout=20, what="some progress")
    view = [v for v in fake_slack.view_history[confirm_id] if v["callback_id"] == PROGRESS_CALLBACK][-1]
    button = next(e for b in view["blocks"] if b["type"] == "actions" for e in b["elements"])
    assert button["action_id"] == CANCEL_ACTION
    await slack.block_action(confirm_id, {}, button, user_id=grid.other_admin)
    summary = await fake_slack.next_post(body["response_url"], timeout=20)
    done = [c for c in hosted if fake_slack.channels[c].connected_teams == []]
    assert 0 < len(done) < 40
    assert f"disconnected from {len(done)} of 40 channels*, {40 - len(done)} not attempted" in summary["text"]
    assert "cancelled by an admin" in summary["text"] and "stay disconnected" in summary["text"]
    calls = len(fake_slack.calls_to(ADMIN_CALL))
    await settled(fake_slack, idle)  # the job's work has ended (the runner's poller aside)
    assert len(fake_slack.calls_to(ADMIN_CALL)) == calls  # nothing after
    rows = await audit(slack)
    cancelled = [r for r in rows if r["event"] == "cancelled"]
    assert len(cancelled) == 1 and cancelled[0]["user_id"] == grid.other_admin and cancelled[0]["job_id"]
    assert len([r for r in rows if r["event"] == "skipped" and r["outcome"] == "cancelled"]) == 40 - len(done)
    assert {r["job_id"] for r in rows} == {cancelled[0]["job_id"]}


@pytest.mark.runs_long
async def test_the_home_tab_opens_the_form_and_shows_live_progress(
    slack: SlackSender, fake_slack: FakeSlack, grid: Grid
) -> None:
    ours(fake_slack, grid, 12)
    fake_slack.rate_limit(ADMIN_CALL, 6, 1.0)
    await slack.home_opened(grid.admin)
    home = await fake_slack.wait_for(lambda: fake_slack.home_of(grid.admin), what="the Home tab")
    assert HOME_OPEN_ACTION in json.dumps(home)
    await slack.home_button(grid.admin, HOME_OPEN_ACTION)
    start = (await fake_slack.wait_for(lambda: fake_slack.views_with(START_CALLBACK), what="the form"))[0]["id"]
    values = {PARTNER_BLOCK: {PARTNER_ACTION: {"type": "plain_text_input", "value": grid.partner}}}
    await slack.submit_view(start, values, user_id=grid.admin)
    # (the test's record of the ack can land after the app's views.update: look in the view's history)
    plans = await fake_slack.wait_for(
        lambda: [v for v in fake_slack.view_history[start] if v["callback_id"] == PLAN_CALLBACK], what="the plan"
    )
    fake_slack.views[start] = plans[-1]
    assert "*12* your org created" in json.dumps(plans[-1]["blocks"])
    await confirm(slack, fake_slack, grid, start)
    await fake_slack.wait_for(lambda: len(fake_slack.calls_to(ADMIN_CALL)) >= 4, timeout=20, what="progress")
    await slack.home_opened(grid.other_admin)  # any admin of the org sees it, with Cancel
    progress = await fake_slack.wait_for(
        lambda: (
            "Disconnected" in json.dumps(fake_slack.home_of(grid.other_admin) or {})
            and fake_slack.home_of(grid.other_admin)
        ),
        what="progress in the Home tab",
    )
    assert " of 12 from " in json.dumps(progress) and CANCEL_ACTION in json.dumps(progress)
    summary = await fake_slack.wait_for(lambda: fake_slack.messages_to(grid.admin), timeout=30, what="the DM")
    assert "disconnected from 12 of 12 channels" in summary[-1]["text"]  # no response URL from Home: a DM


@pytest.mark.runs_long
async def test_a_restart_resumes_the_job_with_no_channel_twice_and_one_summary(
    fake_slack: FakeSlack, grid: Grid, tmp_path
) -> None:
    hosted = ours(fake_slack, grid, 24)
    fake_slack.rate_limit(ADMIN_CALL, 8, 1.0)
    counts = fake_slack.acted_on(ADMIN_CALL)
    settings = settings_for(
        fake_slack,
        admin_token=grid.admin_token,
        database_url=await suite_database(tmp_path),
        job_poll_seconds=0.2,
        job_lease_seconds=2.0,
        shutdown_grace_seconds=5.0,
    )
    async with running_app(fake_slack, settings) as slack:
        plan_id, body = await open_plan(slack, fake_slack, grid.admin, f"all {grid.partner}")
        await confirm(slack, fake_slack, grid, plan_id)
        await fake_slack.wait_for(lambda: len(counts) >= 6, timeout=20, what="some channels")
    # Stopped (drained, its lease released) mid-job: a new instance on the same database picks it up.
    before = len(counts)
    assert before < 24
    async with running_app(fake_slack, settings) as again:
        assert again.built.jobs is not None
        after_serving(again.built)  # what app.py's run() does once it serves
        idle = busy_tasks()  # the runner's poller, before it claims anything
        summary = await fake_slack.next_post(body["response_url"], timeout=40)
        await settled(fake_slack, idle)  # the job's work has ended: nothing more can be posted
    assert len(fake_slack.posts_to(body["response_url"])) == 1
    assert counts == Counter({c: 1 for c in hosted})
    assert "disconnected from 24 of 24 channels" in summary["text"]
    assert "interrupted" in summary["text"]


async def test_a_revoked_token_stops_the_job_at_once_and_says_why(
    slack: SlackSender, fake_slack: FakeSlack, grid: Grid
) -> None:
    hosted = ours(fake_slack, grid, 6)
    plan_id, body = await open_plan(slack, fake_slack, grid.admin, f"all {grid.partner}")
    fake_slack.fail(ADMIN_CALL, "token_revoked")
    await confirm(slack, fake_slack, grid, plan_id)
    summary = await fake_slack.next_post(body["response_url"])
    assert len(fake_slack.calls_to(ADMIN_CALL)) == 1  # no call after an error every later call would share
    assert "disconnected from 0 of 6 channels*, 1 failed, 5 not attempted" in summary["text"]
    assert "every further call would fail the same way (`token_revoked`)" in summary["text"]
    assert all(fake_slack.channels[c].connected_teams == [grid.partner] for c in hosted)


@pytest.mark.runs_long
async def test_an_admin_demoted_during_the_job_stops_it(slack: SlackSender, fake_slack: FakeSlack, grid: Grid) -> None:
    ours(fake_slack, grid, 30)
    fake_slack.rate_limit(ADMIN_CALL, 8, 1.0)
    slack.built.services["offboarding"].recheck_admin_seconds = 0.2
    plan_id, body = await open_plan(slack, fake_slack, grid.admin, f"all {grid.partner}")
    await confirm(slack, fake_slack, grid, plan_id)
    await fake_slack.wait_for(lambda: len(fake_slack.calls_to(ADMIN_CALL)) >= 3, timeout=20, what="some progress")
    fake_slack.users[grid.admin]["enterprise_user"]["is_admin"] = False
    summary = await fake_slack.next_post(body["response_url"], timeout=20)
    assert "you may no longer do this" in summary["text"]
    assert len(fake_slack.calls_to(ADMIN_CALL)) < 30
    rows = await audit(slack)
    assert ("refused", "not_admin") in [(r["event"], r["outcome"]) for r in rows if r["job_id"]]


@pytest.mark.runs_long
async def test_a_crash_mid_job_is_taken_over_after_its_lease_and_finished_once(
    fake_slack: FakeSlack, grid: Grid, tmp_path
) -> None:
    hosted = ours(fake_slack, grid, 20)
    fake_slack.rate_limit(ADMIN_CALL, 8, 1.0)
    counts = fake_slack.acted_on(ADMIN_CALL)
    url = await suite_database(tmp_path)
    async with (
        instances(fake_slack, url, tmp_path, SLACK_ADMIN_TOKEN=grid.admin_token) as start,
        aiohttp.ClientSession() as session,
    ):
        first = await start()  # python app.py, its own process
        sender = SlackSender(first.url, fake_slack, session)
        plan_id, body = await open_plan(sender, fake_slack, grid.admin, f"all {grid.partner}")
        await confirm(sender, fake_slack, grid, plan_id)
        await fake_slack.wait_for(lambda: len(counts) >= 5, timeout=20, what="some channels")
        first.process.kill()  # SIGKILL: no drain, the lease runs out
        await first.process.wait()
        await start()
        summary = await fake_slack.next_post(body["response_url"], timeout=40)
        await asyncio.sleep(0.5)
    assert len(fake_slack.posts_to(body["response_url"])) == 1
    assert "disconnected from 20 of 20 channels" in summary["text"] and "interrupted" in summary["text"]
    assert all(fake_slack.channels[c].connected_teams == [] for c in hosted)
    # At most the call in flight at the crash went out again; Slack's answer (not connected any more) settled it.
    assert set(counts) == set(hosted) and sum(n - 1 for n in counts.values()) <= 1


async def test_a_second_offboarding_of_the_same_partner_is_refused_while_the_first_runs(
    slack: SlackSender, fake_slack: FakeSlack, grid: Grid
) -> None:
    ours(fake_slack, grid, 20)
    fake_slack.rate_limit(ADMIN_CALL, 2, 1.0)
    first_plan, _ = await open_plan(slack, fake_slack, grid.admin, f"all {grid.partner}")
    await confirm(slack, fake_slack, grid, first_plan)
    await fake_slack.wait_for(lambda: fake_slack.calls_to(ADMIN_CALL), timeout=20, what="the first job's calls")
    fake_slack.views.pop(first_plan)  # the next plan is the only one open
    second_plan, _ = await open_plan(slack, fake_slack, grid.admin, f"all {grid.partner}")
    second_confirm = await confirm(slack, fake_slack, grid, second_plan)
    await fake_slack.wait_for(
        lambda: ever_shown(fake_slack, second_confirm, "already running"), timeout=20, what="the refusal"
    )
    jobs = [j for j in await slack.built.jobs.store.all() if j.kind == "offboard"]
    assert len(jobs) == 1


def test_a_search_result_shaped_like_slacks_recording_is_kept() -> None:
    """Slack's recorded search answer lists a workspace-shaped ID in `connected_team_ids` and the host as an org
    (../shared/slack-samples/api/admin.conversations.search.json): the filtered result is a channel to disconnect."""
    from services.disconnecting.partners import classify

    result = {"id": "C0DEAL", "name": "deal", "conversation_host_id": "E0OURS", "connected_team_ids": ["", "T0THEIRS"],
              "pending_connected_team_ids": [""], "is_private": False, "is_archived": False}  # fmt: skip
    plan = classify([result], "E0PARTNER", "E0OURS")
    assert [c.id for c in plan.ours] == ["C0DEAL"] and not plan.theirs and not plan.pending
    invited = {**result, "id": "C0INVITE", "connected_team_ids": [""], "pending_connected_team_ids": ["E0PARTNER"]}
    assert [c.id for c in classify([invited], "E0PARTNER", "E0OURS").pending] == ["C0INVITE"]


# ---- at Enterprise size (issue 20) ----------------------------------------------------------------------------------


def _kept_options(reply_text: str) -> list[dict]:
    return json.loads(reply_text)["options"]


async def test_a_10000_channel_plan_stays_small_and_its_submission_under_the_bound(
    slack: SlackSender, fake_slack: FakeSlack, grid: Grid
) -> None:
    """Slack echoes the whole view in view_submission: the plan lists no channel as an option, so the request stays
    under SUBMIT_BODY_BOUND (far from the app's 1 MiB cap) at 10,000 channels, with the most channels kept."""
    hosted = ours(fake_slack, grid, 10_000, prefix="partner-project-channel-name-x")  # 30+ character names
    slack.built.services["offboarding"].plan_search_seconds = 60.0  # the whole search before the plan, here
    view_id, _ = await open_plan(slack, fake_slack, grid.admin, f"all {grid.partner}")
    view = fake_slack.views[view_id]
    text = modal_text(fake_slack, view_id)
    assert "*10,000* your org created" in text and "…and 9,990 more" in text
    assert len(json.dumps(view)) < 8_000

    # The picker's options come from the stored plan as the admin types (block_suggestion), 100 at most.
    reply = await slack.block_suggestion(view_id, KEEP_ACTION, "", KEEP_BLOCK, user_id=grid.admin)
    assert reply.status == 200 and len(_kept_options(reply.text)) == 100
    reply = await slack.block_suggestion(view_id, KEEP_ACTION, "#x-042", KEEP_BLOCK, user_id=grid.admin)
    assert [o["value"] for o in _kept_options(reply.text)] == [hosted[42]]
    other = await slack.block_suggestion(view_id, KEEP_ACTION, "", KEEP_BLOCK, user_id=grid.other_admin)
    assert _kept_options(other.text) == []  # a plan is read by its author only

    kept = set(hosted[:KEEP_MAX_SELECTED])
    reply = await slack.submit_view(view_id, plan_values(view, kept), user_id=grid.admin)
    body, _ = slack.last_sent
    assert reply.status == 200 and reply.json()["response_action"] == "push"
    assert len(body) < SUBMIT_BODY_BOUND, len(body)
    print(f"largest view_submission at 10,000 channels: {len(body):,} bytes")
    confirm_id = slack.pushed_view_id
    assert confirm_id is not None
    assert "from 9,900 channels?" in modal_text(fake_slack, confirm_id)
    # The full plan came as a file in the admin's DM.
    assert fake_slack.calls_to("files.completeUploadExternal")


async def test_a_plan_older_than_a_day_is_gone_even_when_no_newer_plan_purged_it(
    slack: SlackSender, fake_slack: FakeSlack, grid: Grid
) -> None:
    """Plans are purged when the next one is written; a plan past PLAN_KEPT_FOR with none written since is gone too:
    its picker offers nothing and its confirmation starts nothing (audited plan:expired)."""
    from datetime import UTC, datetime

    from sqlalchemy import update

    from services.disconnecting.partners import PLAN_KEPT_FOR
    from services.storage.tables import offboard_plan

    ours(fake_slack, grid, 3)
    view_id, _ = await open_plan(slack, fake_slack, grid.admin, f"all {grid.partner}")
    plan_id = PlanMetadata.decode(fake_slack.views[view_id]["private_metadata"]).plan_id
    engine = await slack.built.services["offboarding"].plan_store.database.engine()
    async with engine.begin() as conn:
        aged = datetime.now(UTC) - PLAN_KEPT_FOR - PLAN_KEPT_FOR / 24
        await conn.execute(update(offboard_plan).where(offboard_plan.c.id == plan_id).values(created_at=aged))

    reply = await slack.block_suggestion(view_id, KEEP_ACTION, "", KEEP_BLOCK, user_id=grid.admin)
    assert reply.status == 200 and _kept_options(reply.text) == []
    confirm_id = await confirm(slack, fake_slack, grid, view_id)
    await fake_slack.wait_for(lambda: ever_shown(fake_slack, confirm_id, "no longer kept"), what="the refusal")
    assert [(r["event"], r["outcome"]) for r in await audit(slack)][-1:] == [("refused", "plan:expired")]
    assert fake_slack.calls_to(ADMIN_CALL) == []


async def test_private_channels_slack_wont_search_are_said_and_the_public_ones_offboarded(
    slack: SlackSender, fake_slack: FakeSlack, grid: Grid
) -> None:
    public = ours(fake_slack, grid, 3)
    private = [
        fake_slack.add_shared_channel(f"secret-{i}", connected=[grid.partner], is_private=True) for i in range(2)
    ]
    plan_id, body = await open_plan(slack, fake_slack, grid.admin, f"all {grid.partner}")
    text = modal_text(fake_slack, plan_id)
    assert PRIVATE_NOT_SEARCHED in text and "*3* your org created" in text
    private_search = [c for c in fake_slack.calls_to(SEARCH) if c["search_channel_types"] == "private"]
    assert len(private_search) == 1  # asked once, explicitly, and refused (not_allowed)
    confirm_id = await confirm(slack, fake_slack, grid, plan_id)
    assert ever_shown(fake_slack, confirm_id, "Private channels couldn't be searched")
    summary = await fake_slack.next_post(body["response_url"])
    assert "disconnected from 3 of 3 channels" in summary["text"]
    assert PRIVATE_NOT_SEARCHED in summary["text"]
    assert [c["channel_id"] for c in fake_slack.calls_to(ADMIN_CALL)] == public
    assert all(fake_slack.channels[c].connected_teams == [grid.partner] for c in private)


async def test_restricted_action_fails_that_channel_only_with_its_sentence(
    slack: SlackSender, fake_slack: FakeSlack, grid: Grid
) -> None:
    hosted = ours(fake_slack, grid, 4)
    fake_slack.script(ADMIN_CALL, Scripted(body={"ok": True}))  # the first goes through as usual
    fake_slack.script(ADMIN_CALL, Scripted(body={"ok": False, "error": "restricted_action"}))
    plan_id, body = await open_plan(slack, fake_slack, grid.admin, f"all {grid.partner}")
    await confirm(slack, fake_slack, grid, plan_id)
    summary = (await fake_slack.next_post(body["response_url"]))["text"]
    assert [c["channel_id"] for c in fake_slack.calls_to(ADMIN_CALL)] == hosted  # not a stop: every channel tried
    assert ", 1 failed" in summary and "It stopped" not in summary
    assert DISCONNECT_ERRORS["restricted_action"].split("{")[0] in summary and "`restricted_action`" in summary
    assert fake_slack.channels[hosted[1]].connected_teams == [grid.partner]
    assert all(fake_slack.channels[c].connected_teams == [] for c in (hosted[2], hosted[3]))


async def test_closing_the_progress_view_closes_the_whole_stack(
    slack: SlackSender, fake_slack: FakeSlack, grid: Grid
) -> None:
    ours(fake_slack, grid, 3)
    fake_slack.delays[ADMIN_CALL] = 0.3  # the progress view is up a while
    plan_id, body = await open_plan(slack, fake_slack, grid.admin, f"all {grid.partner}")
    confirm_id = await confirm(slack, fake_slack, grid, plan_id)
    assert fake_slack.view_below[confirm_id] == plan_id  # the confirmation was pushed on the plan
    await fake_slack.wait_for(
        lambda: fake_slack.views[confirm_id]["callback_id"] == PROGRESS_CALLBACK, what="the progress view"
    )
    assert fake_slack.close_view(confirm_id) is None  # not back to the ticked plan with Review enabled
    await fake_slack.next_post(body["response_url"])
    assert fake_slack.close_view(confirm_id) is None  # nor from the result


@pytest.mark.runs_long
async def test_a_plan_is_confirmable_at_once_and_the_job_searches_the_rest_once(
    slack: SlackSender, fake_slack: FakeSlack, grid: Grid
) -> None:
    """The plan shows what the search found within its time; the job goes on from the cursor the plan stopped at,
    beside the admin calls: no page is asked twice, no second search at confirmation, the kept channel spared."""
    fake_slack.private_channel_managers.add(admin_token_user(fake_slack, grid))
    hosted = ours(fake_slack, grid, 90)
    private = fake_slack.add_shared_channel("secret-deal", connected=[grid.partner], is_private=True)
    fake_slack.rate_limit(SEARCH, 2, 1.0)  # 2 pages a second: the whole search takes about 3 s
    slack.built.services["offboarding"].plan_search_seconds = 0.9  # the third page waits a second: not in the plan
    plan_id, body = await open_plan(slack, fake_slack, grid.admin, f"all {grid.partner}")
    text = modal_text(fake_slack, plan_id)
    assert "so far" in text and "(of about 91; the job searches the rest)" in text
    assert "*21* your org created" in text  # 1 private page and 1 public page before the limit
    keep = await slack.block_suggestion(plan_id, KEEP_ACTION, "deal-01", KEEP_BLOCK, user_id=grid.admin)
    kept = hosted[10]  # deal-010 found so far; typing "deal-01" offers deal-010…deal-019
    assert kept in [o["value"] for o in _kept_options(keep.text)]
    # One the plan's search hasn't reached yet: found by name (Slack's search `query`), so it can be kept too.
    later = await slack.block_suggestion(plan_id, KEEP_ACTION, "deal-085", KEEP_BLOCK, user_id=grid.admin)
    assert [o["value"] for o in _kept_options(later.text)] == [hosted[85]]
    confirm_id = await confirm(slack, fake_slack, grid, plan_id, {kept, hosted[85]})
    assert ever_shown(fake_slack, confirm_id, "about 89 channels")
    summary = (await fake_slack.next_post(body["response_url"], timeout=30))["text"]
    assert "disconnected from 89 of 89 channels" in summary
    assert ever_shown(fake_slack, confirm_id, "Still searching")
    assert sorted(c["channel_id"] for c in fake_slack.calls_to(ADMIN_CALL)) == sorted(
        [private, *(c for c in hosted if c not in (kept, hosted[85]))]
    )
    assert (
        fake_slack.channels[kept].connected_teams == fake_slack.channels[hosted[85]].connected_teams == [grid.partner]
    )
    searches = [(c["search_channel_types"], c.get("cursor")) for c in fake_slack.calls_to(SEARCH) if not c.get("query")]
    # Every page once (1 private, 5 public: 91 = 1 + 90; a page asked again only after a 429, or when the plan's time
    # ran out with it in flight), never a second search at confirmation; then, once every channel found is done, one
    # check from the start over what is still connected: the kept channel, one page of each kind.
    again = searches.index(("private", None), 1)
    first, check = searches[:again], searches[again:]
    public_pages = [("private_exclude", None), *(("private_exclude", str(n)) for n in (20, 40, 60, 80))]
    assert sorted(set(first), key=str) == sorted([("private", None), *public_pages], key=str)
    assert first.count(("private", None)) == 1 and first.count(("private_exclude", None)) <= 2
    assert len(first) - 6 <= fake_slack.rate_limited_count[SEARCH] + 1
    assert set(check) == {("private", None), ("private_exclude", None)}


@pytest.mark.runs_long
async def test_the_keep_picker_answers_in_time_from_the_plan_when_the_admin_token_is_slow_or_fails(
    slack: SlackSender, fake_slack: FakeSlack, grid: Grid, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Slack shows options only from an answer within 3 s: the search by name (plan not done) is cut off with its
    token's lookup (which may renew a rotating token) inside the bound, and a failing lookup still answers."""
    import time

    hosted = ours(fake_slack, grid, 60)
    fake_slack.rate_limit(SEARCH, 2, 1.0)
    offboarding = slack.built.services["offboarding"]
    offboarding.plan_search_seconds = 0.4
    plan_id, _ = await open_plan(slack, fake_slack, grid.admin, f"all {grid.partner}")
    tokens = offboarding.disconnects.admin_tokens

    async def slow(org_id: str | None) -> Any:
        await asyncio.sleep(10)
        raise AssertionError("not reached")

    monkeypatch.setattr(tokens, "lookup", slow)
    started = time.monotonic()
    reply = await slack.block_suggestion(plan_id, KEEP_ACTION, "deal-00", KEEP_BLOCK, user_id=grid.admin)
    assert time.monotonic() - started < 2.5
    assert reply.status == 200 and hosted[1] in [o["value"] for o in _kept_options(reply.text)]

    async def failing(org_id: str | None) -> Any:
        raise RuntimeError("database unavailable")

    monkeypatch.setattr(tokens, "lookup", failing)
    reply = await slack.block_suggestion(plan_id, KEEP_ACTION, "deal-00", KEEP_BLOCK, user_id=grid.admin)
    assert reply.status == 200 and hosted[1] in [o["value"] for o in _kept_options(reply.text)]


@pytest.mark.runs_long
async def test_a_restart_mid_search_resumes_the_search_at_its_cursor(
    fake_slack: FakeSlack, grid: Grid, tmp_path
) -> None:
    hosted = ours(fake_slack, grid, 80)
    fake_slack.rate_limit(SEARCH, 1, 1.0)  # a page a second: the job's search takes a few seconds
    fake_slack.rate_limit(ADMIN_CALL, 20, 1.0)
    counts = fake_slack.acted_on(ADMIN_CALL)
    settings = settings_for(
        fake_slack,
        admin_token=grid.admin_token,
        database_url=await suite_database(tmp_path),
        job_poll_seconds=0.2,
        job_lease_seconds=2.0,
        shutdown_grace_seconds=5.0,
    )
    async with running_app(fake_slack, settings) as slack:
        slack.built.services["offboarding"].plan_search_seconds = 0.3
        plan_id, body = await open_plan(slack, fake_slack, grid.admin, f"all {grid.partner}")
        await confirm(slack, fake_slack, grid, plan_id)
        await fake_slack.wait_for(lambda: len(counts) >= 3, timeout=20, what="the job's first channels")
    stopped_at = len(fake_slack.calls_to(SEARCH))
    async with running_app(fake_slack, settings) as again:
        after_serving(again.built)
        summary = await fake_slack.next_post(body["response_url"], timeout=40)
    assert "disconnected from 80 of 80 channels" in summary["text"]
    assert counts == Counter({c: 1 for c in hosted})
    resumed = [(c["search_channel_types"], c.get("cursor")) for c in fake_slack.calls_to(SEARCH)[stopped_at:]]
    # At its cursor, not from the start; the one pass from the start comes once every channel found is done (the
    # private sweep isn't asked again: Slack refused it for this token).
    from_start = [i for i, (_, cursor) in enumerate(resumed) if cursor is None]  # (asked again after a 429)
    assert resumed[0][1] is not None and from_start == list(range(from_start[0], len(resumed)))
    assert ("private", None) not in resumed


async def test_a_cursor_slack_no_longer_accepts_restarts_that_sweep_with_no_channel_twice(
    slack: SlackSender, fake_slack: FakeSlack, grid: Grid
) -> None:
    """`invalid_cursor` (Slack's answer to a cursor it no longer accepts on its cursor-paged methods, e.g. a job
    resumed much later: https://api.slack.com/methods/conversations.list; not in admin.conversations.search's list)
    mid-job: that sweep starts again from the beginning, the channels already found are not taken twice, and the summary says nothing stopped."""
    hosted = ours(fake_slack, grid, 50)
    fake_slack.rate_limit(SEARCH, 2, 1.0)
    counts = fake_slack.acted_on(ADMIN_CALL)
    slack.built.services["offboarding"].plan_search_seconds = 0.3
    plan_id, body = await open_plan(slack, fake_slack, grid.admin, f"all {grid.partner}")
    assert "so far" in modal_text(fake_slack, plan_id)
    fake_slack.fail(SEARCH, "invalid_cursor")  # the job's first page, at the plan's cursor
    before = len(fake_slack.calls_to(SEARCH))
    await confirm(slack, fake_slack, grid, plan_id)
    summary = (await fake_slack.next_post(body["response_url"], timeout=30))["text"]
    assert "disconnected from 50 of 50 channels" in summary and "stopped" not in summary
    assert counts == Counter({c: 1 for c in hosted})
    refused, again = fake_slack.calls_to(SEARCH)[before : before + 2]
    assert refused.get("cursor") and not again.get("cursor")  # the refused call was at a cursor; then from the start


async def test_the_modal_shows_the_search_as_it_goes(slack: SlackSender, fake_slack: FakeSlack, grid: Grid) -> None:
    ours(fake_slack, grid, 100)
    fake_slack.rate_limit(SEARCH, 2, 1.0)
    slack.built.services["offboarding"].plan_search_seconds = 2.5
    view_id, _ = await open_plan(slack, fake_slack, grid.admin, f"all {grid.partner}")
    assert ever_shown(fake_slack, view_id, "channels so far.")  # "Found 40 channels so far." while it searched
    assert "*100* your org created" in modal_text(fake_slack, view_id)  # then the plan, complete


@pytest.mark.runs_long
async def test_a_large_offboarding_summary_is_short_and_its_full_list_is_a_file_in_the_dm(
    slack: SlackSender, fake_slack: FakeSlack, grid: Grid
) -> None:
    """400 channels of ours (10 failing alike), 30 of theirs, 5 invitations: the summary counts and names the first
    20 of each list, within Slack's limits; every channel is a row of the CSV file sent to the admin's DM first."""
    import csv
    import io

    from services.ui.limits import LIST_TEXT_BUDGET, fits, message_size

    hosted = ours(fake_slack, grid, 400)
    theirs = [
        fake_slack.add_shared_channel(f"their-{i:02}", host=grid.partner_workspace, connected=[fake_slack.team_id])
        for i in range(30)
    ]
    pending = [
        fake_slack.add_shared_channel(f"invite-{i}", connected=[grid.third], pending=[grid.partner]) for i in range(5)
    ]
    fake_slack.fail(ADMIN_CALL, "access_denied", times=10)  # the first ten fail alike
    plan_id, body = await open_plan(slack, fake_slack, grid.admin, f"all {grid.partner}")
    confirm_id = await confirm(slack, fake_slack, grid, plan_id)
    summary = await fake_slack.next_post(body["response_url"], timeout=60)

    text = summary["text"]
    assert len(text) <= LIST_TEXT_BUDGET + 1000  # before: every channel named, 400 a list (~7,900 characters here)
    assert "disconnected from 390 of 400 channels*, 10 failed" in text
    assert "*Disconnected (390):*" in text and "and 370 more" in text
    assert "The same for 9 more:" in text
    assert "*Created by another organization (30)" in text and "and 10 more" in text
    assert sum(f"<#{c}>" in text for c in hosted) == 20 + 10  # the first 20 disconnected, the 10 failed
    assert "the full list is in `offboarding-" in text
    (listed,) = [f for f in fake_slack.files_to(grid.admin) if f.name in text]  # (the plan came as a file before)
    assert listed.name.startswith("offboarding-") and listed.name.endswith(".csv")
    rows = list(csv.DictReader(io.StringIO(listed.text)))
    assert [r["channel_id"] for r in rows] == [*hosted, *theirs, *pending]
    results = Counter(r["result"] for r in rows)
    assert results == Counter(disconnected=390, not_disconnected=10, created_by_another_org=30, invitation_pending=5)
    assert {r["error"] for r in rows if r["result"] == "not_disconnected"} == {"access_denied"}
    assert rows[0]["name"] == "deal-000"
    result_view = {"blocks": fake_slack.views[confirm_id]["blocks"]}  # the modal's last view, the same summary
    assert fits(result_view) and "and 370 more" in json.dumps(result_view) and message_size(result_view)[1] <= 3


async def test_an_offboarding_that_fails_for_good_tells_the_admin_once_what_was_done(
    slack: SlackSender, fake_slack: FakeSlack, grid: Grid, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An error that isn't the database's, every attempt, at the third channel: the job ends FAILED after its
    attempts; its end is audited, and the admin hears once (in the reply and the modal) what was done."""
    from services.disconnecting import offboarding
    from services.jobs.queue import FAILED, MAX_ATTEMPTS

    hosted = ours(fake_slack, grid, 5)
    real_disconnect = offboarding.disconnect_team

    async def not_the_third(admin_client, client, channel_id, *args):
        if channel_id == hosted[2]:
            raise RuntimeError("a bug")
        return await real_disconnect(admin_client, client, channel_id, *args)

    monkeypatch.setattr(offboarding, "disconnect_team", not_the_third)
    plan_id, body = await open_plan(slack, fake_slack, grid.admin, f"all {grid.partner}")
    confirm_id = await confirm(slack, fake_slack, grid, plan_id)
    told = await fake_slack.next_post(body["response_url"], timeout=30)
    text = told["text"]
    assert text.startswith("I couldn't finish offboarding") and "stopped for good" in text
    assert "of 5 channels: 2 done, 0 failed, 3 not done" in text
    assert [fake_slack.channels[c].connected_teams for c in hosted] == [[], [], *[[grid.partner]] * 3]
    rows = [r for r in await audit(slack) if r["action"] == OFFBOARD_AUDIT_ACTION]
    (job,) = await slack.built.jobs.store.all(kind="offboard")
    assert job.status == FAILED and job.attempts == MAX_ATTEMPTS
    assert (rows[-1]["event"], rows[-1]["job_id"]) == ("finished", job.id)
    assert rows[-1]["outcome"].startswith("given_up,disconnected=2")
    await fake_slack.wait_for(lambda: "stopped for good" in modal_text(fake_slack, confirm_id), what="the modal")
    assert len(fake_slack.posts_to(body["response_url"])) == 1
