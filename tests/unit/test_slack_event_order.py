"""Slack events are acknowledged before they are processed (adapters/slack/event_inbox.py), so
two events of one conversation must still be processed in the order they came in."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from typing import Any

from adapters.slack.event_inbox import SlackEventInbox, conversation_of
from bot.inbox import InboxEvent


def body(channel: str, thread: str | None, text: str) -> str:
    event: dict[str, Any] = {"type": "message", "channel": channel, "text": text}
    if thread:
        event["thread_ts"] = thread
    return json.dumps({"type": "event_callback", "event": event})


def test_a_conversation_is_a_channel_and_thread() -> None:
    assert conversation_of(body("C1", "1.1", "a")) == conversation_of(body("C1", "1.1", "b"))
    assert conversation_of(body("C1", "1.1", "a")) != conversation_of(body("C1", "2.2", "a"))
    deleted = json.dumps({"event": {"type": "message", "subtype": "message_deleted",
                                    "channel": "C1", "previous_message": {"thread_ts": "1.1"}}})
    assert conversation_of(deleted) == conversation_of(body("C1", "1.1", "a"))
    assert conversation_of("not json") == conversation_of('{"event": 3}') == ""


class _SlowFirst(SlackEventInbox):
    """Processing records the order; the first event of each thread is the slow one."""

    def __init__(self) -> None:
        super().__init__(bolt=None, inbox=None, clock=None,  # type: ignore[arg-type]
                         lease=timedelta(seconds=30))
        self.done: list[str] = []

    async def _process(self, event: InboxEvent) -> None:
        text = json.loads(event.body)["event"]["text"]
        if text.startswith("slow"):
            await asyncio.sleep(0.05)
        self.done.append(text)


async def test_events_of_one_thread_keep_their_order_and_other_threads_do_not_wait() -> None:
    inbox = _SlowFirst()
    for event_id, (thread, text) in enumerate([("1.1", "slow note"), ("1.1", "reply"),
                                               ("2.2", "other thread")]):
        inbox._spawn(InboxEvent(source="slack", event_id=f"Ev{event_id}",
                                body=body("C1", thread, text), owner="me", attempts=1),
                     agents=True)
    await asyncio.wait(set(inbox._tasks))
    assert inbox.done == ["other thread", "slow note", "reply"]
    assert inbox._conversations == {}
