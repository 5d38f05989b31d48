"""What Slack refuses in a view's selects, for the fake's views.open / views.update / views.publish: a static select
holds at most 100 options, or at most 100 option groups of at most 100 options each
(https://docs.slack.dev/reference/block-kit/composition-objects/option-group-object, and the multi-select menu element's
reference; slack_sdk.models.blocks.StaticMultiSelectElement.options_max_length / option_groups_max_length)."""

from __future__ import annotations

from typing import Any

SELECT_OPTIONS_MAX = 100
OPTION_GROUPS_MAX = 100


def _elements(block: dict[str, Any]) -> list[dict[str, Any]]:
    found = [block.get("element"), block.get("accessory"), *(block.get("elements") or [])]
    return [e for e in found if isinstance(e, dict)]


def select_limits_error(view: dict[str, Any]) -> str | None:
    """`invalid_arguments` when a select in the view holds more options or groups than Slack takes; else None."""
    for block in view.get("blocks") or []:
        if not isinstance(block, dict):
            continue
        for element in _elements(block):
            options, groups = element.get("options") or [], element.get("option_groups") or []
            if len(options) > SELECT_OPTIONS_MAX or len(groups) > OPTION_GROUPS_MAX:
                return "invalid_arguments"
            if any(len(g.get("options") or []) > SELECT_OPTIONS_MAX for g in groups if isinstance(g, dict)):
                return "invalid_arguments"
    return None
