"""Slack events are acknowledged before they are processed (adapters/slack/event_inbox.py), so
two events of one conversation must still be processed in the order they came in."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from typing import Any

from adapters.slack.event_inbox import SlackEventInbox, conversation_of, in_a_case_thread
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


# An agent's reply, then its deletion as Slack shows it in a thread: an edit into a tombstone,
# whose thread is only in the message as it is now (adapters/slack/bolt_app.py reads it there).
REPLY = {"type": "message", "channel": "C1", "channel_type": "channel", "user": "UA",
         "ts": "1.2", "thread_ts": "1.1", "text": "slow reply"}
TOMBSTONE = {"type": "message", "subtype": "message_changed", "channel": "C1",
             "channel_type": "channel", "hidden": True,
             "message": {"type": "message", "subtype": "tombstone", "ts": "1.2",
                         "thread_ts": "1.1", "text": "This message was deleted."},
             "previous_message": {"type": "message", "user": "UA", "ts": "1.2"}}
EDIT = {**TOMBSTONE, "message": {"type": "message", "user": "UA", "ts": "1.2",
                                 "thread_ts": "1.1", "text": "edited reply"}}


def _body_of(event: dict[str, Any]) -> str:
    return json.dumps({"type": "event_callback", "event": event})


def test_an_edit_or_tombstone_belongs_to_the_thread_of_the_message_it_changes() -> None:
    for changed in (TOMBSTONE, EDIT):
        assert conversation_of(_body_of(changed)) == conversation_of(_body_of(REPLY))
        # ... and is as urgent as the reply it changes, so both wait in the same queue
        assert in_a_case_thread(_body_of(changed)) and in_a_case_thread(_body_of(REPLY))


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


async def test_a_reply_and_its_deletion_are_processed_in_the_order_they_came_in() -> None:
    inbox = _SlowFirst()
    tombstone = {**TOMBSTONE, "text": "deleted"}  # what _SlowFirst records
    for event_id, event in enumerate([REPLY, tombstone]):
        payload = _body_of(event)
        inbox._spawn(InboxEvent(source="slack", event_id=f"Ev{event_id}", body=payload,
                                owner="me", attempts=1), agents=in_a_case_thread(payload))
    await asyncio.wait(set(inbox._tasks))
    assert inbox.done == ["slow reply", "deleted"]
