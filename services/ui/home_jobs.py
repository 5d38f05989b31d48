"""The Home tab's offboarding jobs, for every admin of the org: each unfinished job with its progress and its Cancel,
a page at a time, and those finished in the last hour.

A Home tab holds at most 100 blocks (https://docs.slack.dev/reference/views/home-tab-views; the fake refuses more,
as views.publish does): this part is at most JOBS_SHOWN_MAX blocks however many jobs run, and every unfinished job is
reachable with the paging buttons (oldest first, so the longest-running job is never the one left out).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from slack_sdk.models.blocks import ActionsBlock, ButtonElement, ContextBlock, MarkdownTextObject, SectionBlock

from services.jobs.queue import Job
from services.ui import SECTION_TEXT_LIMIT, truncate

JOBS_PAGE_SIZE = 10  # unfinished jobs shown at once, each a section with its Cancel
FINISHED_SHOWN = 5  # jobs finished in the last hour, on the first page only
JOBS_EARLIER_ACTION = "offboard_jobs_earlier"  # the buttons' values: the offset of the page they show
JOBS_NEXT_ACTION = "offboard_jobs_next"
JOBS_PAGING_BLOCK = "offboard_jobs_paging"
JOBS_PAGE_KEY = "jobs"  # in the Home view's private_metadata: the offset of the jobs page it shows
# Blocks this part adds at most: the page's jobs, the finished ones, a count line and the paging buttons.
JOBS_SHOWN_MAX = JOBS_PAGE_SIZE + FINISHED_SHOWN + 2


def page_offset(value: object) -> int:
    """A paging button's value back to an offset: a multiple of the page size, never negative (a forged value, "²",
    5,000 digits: the first page; past the last page: the last, see Offboarding.active_jobs)."""
    text = str(value)
    if not (text.isascii() and text.isdigit() and len(text) < 10):
        return 0
    return int(text) - int(text) % JOBS_PAGE_SIZE


def job_list_blocks(
    running: Sequence[Job],
    total: int,
    offset: int,
    finished: Sequence[Job],
    *,
    progress: Callable[[Job], str],
    ended: Callable[[Job], str],
    cancel: Callable[[str], ButtonElement],
    cancel_for: Callable[[Job], ButtonElement | None] = lambda job: None,
) -> list[Any]:
    """`running`: this page of the org's unfinished jobs (oldest first), of `total`; `finished`: newest first.
    `cancel_for`: a job's own Cancel when its kind has one (an "everything" job's), else `cancel`'s."""
    blocks: list[Any] = []
    for job in running:
        blocks.append(
            SectionBlock(
                text=MarkdownTextObject(text=truncate(progress(job), SECTION_TEXT_LIMIT)),
                accessory=(cancel_for(job) or cancel(job.id)) if job.payload.get("stopping") != "cancelled" else None,
            )
        )
    if total > JOBS_PAGE_SIZE:
        last = offset + len(running)
        blocks.append(
            ContextBlock(
                elements=[
                    MarkdownTextObject(
                        text=f"Offboardings running in your org: {offset + 1}–{last} of {total}, oldest first."
                    )
                ]
            )
        )
        buttons = []
        if offset > 0:
            buttons.append(
                ButtonElement(
                    text="Earlier jobs", action_id=JOBS_EARLIER_ACTION, value=str(max(0, offset - JOBS_PAGE_SIZE))
                )
            )
        if last < total:
            buttons.append(
                ButtonElement(text=f"Next jobs ({total - last} more)", action_id=JOBS_NEXT_ACTION, value=str(last))
            )
        blocks.append(ActionsBlock(block_id=JOBS_PAGING_BLOCK, elements=buttons))
    if offset == 0:
        blocks.extend(
            SectionBlock(text=MarkdownTextObject(text=truncate(ended(job), SECTION_TEXT_LIMIT)))
            for job in finished[:FINISHED_SHOWN]
        )
    return blocks
