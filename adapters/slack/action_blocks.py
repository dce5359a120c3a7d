"""A channel message with buttons, from the engine's neutral description of them.

The engine queues ``actions`` as ``{"label", "action_id", "value", "style"?}`` (it knows no
Slack blocks); here they become a section and an actions block. The text may quote what an
unknown user typed, so it is escaped: no mentions or links smuggled into the agents' channel.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from adapters.slack.cards import escape

Block = dict[str, Any]
_SECTION_MAX = 3000
_STYLES = frozenset({"primary", "danger"})


def action_blocks(text: str, actions: Sequence[dict[str, Any]]) -> list[Block]:
    buttons: list[Block] = []
    for action in actions:
        button: Block = {
            "type": "button", "action_id": str(action["action_id"]),
            "text": {"type": "plain_text", "text": str(action["label"])[:75]},
            "value": str(action.get("value") or ""),
        }
        if action.get("style") in _STYLES:
            button["style"] = action["style"]
        buttons.append(button)
    blocks: list[Block] = [section(text)]
    if buttons:
        blocks.append({"type": "actions", "elements": buttons})
    return blocks


def section(text: str) -> Block:
    return {"type": "section",
            "text": {"type": "mrkdwn", "text": escape(text)[:_SECTION_MAX] or "…"}}
