"""The offboarding plan's "keep these channels" picker: its options, from the plan stored when it was shown.

Slack sends a block_suggestion as the admin types (and, with min_query_length 0, when the menu opens) and shows the
options in the ack, within 3 s; at most 100 options an answer
(https://docs.slack.dev/reference/block-kit/block-elements/multi-select-menu-element#external_multi_select). No Web
API call while the plan is complete: one database read of the plan, which only its author may read; while its
search is still going on, one search by name too (bounded: Offboarding.more_to_keep), so a channel the search hasn't
reached yet can be kept as well.
"""

from __future__ import annotations

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_sdk.web.async_client import AsyncWebClient

from listeners.payload import user_id_of
from services.disconnecting.offboarding import Offboarding
from services.ui.offboarding import OPTIONS_PER_SELECT, PlanMetadata, keep_options


async def offboard_keep_options(ack: AsyncAck, body: dict, client: AsyncWebClient, offboarding: Offboarding) -> None:
    view = body.get("view")
    metadata = PlanMetadata.decode(view.get("private_metadata") if isinstance(view, dict) else None)
    typed = body.get("value")
    stored = None
    try:
        stored = await offboarding.plan_store.load(metadata.plan_id, user_id_of(body))
    except Exception:  # noqa: BLE001 - the database is down: an empty menu, not a 500 Slack shows as an error
        stored = None
    if stored is None:
        await ack(options=[])
        return
    typed = typed if isinstance(typed, str) else ""
    options = keep_options(stored.findings, typed)
    if len(options) < OPTIONS_PER_SELECT:
        try:
            found = await offboarding.more_to_keep(client, stored, typed)
        except Exception:  # noqa: BLE001 - the token can't be read: the plan's own options, still within Slack's 3 s
            found = []
        options = keep_options(stored.findings, typed, more=found)
    await ack(options=options)
