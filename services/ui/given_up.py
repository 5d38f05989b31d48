"""The one message for a job given up after its attempts (services.jobs.queue.MAX_ATTEMPTS), for the kinds that have
no text of their own (the leave job's is services.ui.leave.leave_given_up_text): that it stopped for good, and what it
did, counted from the job's items."""

from __future__ import annotations

from services.ui import MESSAGE_TEXT_LIMIT, truncate

GIVEN_UP_OPENING = (
    "I couldn't finish {task}: something went wrong inside the app each time I tried, so I stopped for good."
)
# What to do next, per kind (the key each kind passes as `kind`).
GIVEN_UP_AGAIN = {
    "rejoin": "Press Rejoin again (while the offer lasts) or join the rest yourself.",
    "disconnect": "Run /disconnect-shared again for the workspaces still connected.",
    "offboard": "Channels already disconnected stay disconnected; start the offboarding again (the Home tab or "
    "/disconnect-shared all) for the rest.",
    "offboard_everything": "Check the partner in the Home tab's directory, and start the offboarding again if it is "
    "still connected.",
}
TASKS = {
    "rejoin": "rejoining the channels you asked for",
    "disconnect": "disconnecting the workspaces you asked for",
    "offboard": "offboarding {partner}",
    "offboard_everything": "disconnecting everything, DMs included, from {partner}",
}
UNITS = {  # singular, plural
    "rejoin": ("channel", "channels"),
    "disconnect": ("workspace", "workspaces"),
    "offboard": ("channel", "channels"),
    "offboard_everything": ("disconnect request", "disconnect requests"),
}


def given_up_text(kind: str, done: int, failed: int, not_done: int, partner: str = "", note: str = "") -> str:
    """Stopped for good; what was done (done, failed, not done, of the job's items); what to do next."""
    total = done + failed + not_done
    lines = [
        GIVEN_UP_OPENING.format(task=TASKS[kind].format(partner=partner or "the partner")),
        f"What I did, of {total} {UNITS[kind][total != 1]}: {done} done, {failed} failed, {not_done} not done.",
        *([note] if note else []),
        f"{GIVEN_UP_AGAIN[kind]} If it keeps happening, tell whoever runs the app.",
    ]
    return truncate("\n".join(lines), MESSAGE_TEXT_LIMIT)
