"""Slack adapter: Block Kit rendering and action parsing (``cards``), outbox delivery
(``sender``)."""

from adapters.slack.cards import (
    CASE_ACTION_PATTERN,
    SELLER_BUTTON_ACTION,
    STATUS_ACTION_PREFIX,
    URGENT_ACTION_PREFIX,
    parse_action,
    render_case_card,
    reply_blocks,
    thread_post_text,
)
from adapters.slack.sender import SlackSender

__all__ = [
    "CASE_ACTION_PATTERN",
    "SELLER_BUTTON_ACTION",
    "STATUS_ACTION_PREFIX",
    "URGENT_ACTION_PREFIX",
    "SlackSender",
    "parse_action",
    "render_case_card",
    "reply_blocks",
    "thread_post_text",
]
