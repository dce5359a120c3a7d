"""Worker threads that take urgent work first (bot/urgent_work.py): deliveries and agents'
replies go ahead of sellers' new turns, but never starve them."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable
from concurrent.futures import CancelledError, Future
from datetime import datetime, timedelta
from typing import Any

import pytest

from adapters.slack.event_inbox import SlackEventInbox, in_a_case_thread
from bot.clock import ManualClock
from bot.dispatcher import OutboxDispatcher
from bot.inbox import InboxEvent
from bot.outbox import DeliveryResult, OutboundItem
from bot.urgent_work import URGENT_IN_A_ROW, UrgentFirstExecutor, is_urgent, urgent
from frontdoor.serve_cli import install_worker_threads
from frontdoor.settings import Settings


class _Blocked:
    """One worker held busy until released, so what is submitted meanwhile queues up."""

    def __init__(self, executor: UrgentFirstExecutor) -> None:
        self.started = threading.Event()
        self.release = threading.Event()
        self.future = executor.submit(self._hold)
        assert self.started.wait(5)

    def _hold(self) -> None:
        self.started.set()
        self.release.wait(5)


def _submit_recording(executor: UrgentFirstExecutor, order: list[str],
                      name: str, is_urgent_job: bool) -> Future[Any]:
    if is_urgent_job:
        with urgent():
            return executor.submit(order.append, name)
    return executor.submit(order.append, name)


def test_urgent_work_goes_ahead_of_work_queued_before_it() -> None:
    executor = UrgentFirstExecutor(workers=1)
    blocked = _Blocked(executor)
    order: list[str] = []
    futures = [_submit_recording(executor, order, name, name.startswith("urgent"))
               for name in ("turn 1", "turn 2", "urgent claim", "turn 3", "urgent record")]
    assert executor.queued() == (2, 3)
    blocked.release.set()
    for future in futures:
        future.result(5)
    assert order == ["urgent claim", "urgent record", "turn 1", "turn 2", "turn 3"]
    executor.shutdown()


def test_a_busy_outbox_cannot_starve_the_sellers_turns() -> None:
    executor = UrgentFirstExecutor(workers=1)
    blocked = _Blocked(executor)
    order: list[str] = []
    futures = [_submit_recording(executor, order, "turn", False)]
    futures += [_submit_recording(executor, order, f"urgent {n}", True)
                for n in range(URGENT_IN_A_ROW + 2)]
    blocked.release.set()
    for future in futures:
        future.result(5)
    assert order.index("turn") == URGENT_IN_A_ROW
    assert order[URGENT_IN_A_ROW + 1:] == [f"urgent {URGENT_IN_A_ROW}",
                                           f"urgent {URGENT_IN_A_ROW + 1}"]
    executor.shutdown()


def test_results_errors_and_threads() -> None:
    executor = UrgentFirstExecutor(workers=3)
    assert executor.submit(pow, 2, 10).result(5) == 1024
    with pytest.raises(ZeroDivisionError):
        executor.submit(lambda: 1 / 0).result(5)
    gate = threading.Barrier(3, timeout=5)
    # Three jobs that wait for each other finish only if each has a thread of its own.
    waits = [executor.submit(gate.wait) for _ in range(3)]
    assert sorted(f.result(5) for f in waits) == [0, 1, 2]
    assert len(executor._running_threads) == 3
    executor.shutdown()
    with pytest.raises(RuntimeError):
        executor.submit(print)


def test_shutdown_runs_or_cancels_what_is_queued() -> None:
    executor = UrgentFirstExecutor(workers=1)
    blocked = _Blocked(executor)
    order: list[str] = []
    kept = executor.submit(order.append, "queued")
    blocked.release.set()
    executor.shutdown(wait=True)
    assert kept.result(0) is None and order == ["queued"]

    executor = UrgentFirstExecutor(workers=1)
    blocked = _Blocked(executor)
    dropped = executor.submit(order.append, "dropped")
    releaser = threading.Timer(0.05, blocked.release.set)
    releaser.start()
    executor.shutdown(wait=True, cancel_futures=True)
    with pytest.raises(CancelledError):
        dropped.result(0)
    assert order == ["queued"]


async def test_asyncio_takes_it_as_its_default_executor_and_the_priority_follows_to_thread(
) -> None:
    loop = asyncio.get_running_loop()
    install_worker_threads(loop, threads=2, urgent_first=True)
    assert (await asyncio.to_thread(lambda: threading.current_thread().name)) \
        .startswith("frontdoor-work")
    assert await asyncio.to_thread(is_urgent) is False
    with urgent():
        assert await asyncio.to_thread(is_urgent) is True
    assert is_urgent() is False


async def test_without_urgency_first_a_thread_count_still_sizes_asyncios_own_pool() -> None:
    loop = asyncio.get_running_loop()
    install_worker_threads(loop, threads=3, urgent_first=False)
    gate = threading.Barrier(3, timeout=5)

    def meet() -> str:  # three at once: the pool must have at least three threads
        gate.wait()
        return threading.current_thread().name

    names = await asyncio.gather(*(asyncio.to_thread(meet) for _ in range(3)))
    # Installed (asyncio's own pool names its threads "asyncio_N"), with three threads.
    assert all(name.startswith("ThreadPoolExecutor") for name in names)
    assert len(set(names)) == 3
    # And no more than three: four jobs that wait for each other never all meet.
    crowd = threading.Barrier(4, timeout=0.5)
    with pytest.raises(threading.BrokenBarrierError):
        await asyncio.gather(*(asyncio.to_thread(crowd.wait) for _ in range(4)))


def test_a_negative_thread_count_is_refused_with_the_settings_name() -> None:
    with pytest.raises(ValueError, match="frontdoor_worker_threads"):
        Settings(_env_file=None, frontdoor_worker_threads=-1)  # type: ignore[call-arg]


class _Queue:
    """An outbox that has nothing due and says whether it was asked with urgency."""

    def __init__(self) -> None:
        self.asked_urgently: list[bool] = []

    def claim_due(self, destinations: Any, now: datetime, limit: int, lease: timedelta,
                  holding: Any = (), file_lease: timedelta | None = None) -> list[Any]:
        self.asked_urgently.append(is_urgent())
        return []

    def next_due_at(self, destinations: Any) -> datetime | None:
        self.asked_urgently.append(is_urgent())
        return None


async def test_the_dispatchers_database_work_is_urgent_and_its_callers_is_not() -> None:
    queue = _Queue()
    dispatcher = OutboxDispatcher(queue, [], ManualClock(),
                                  outcomes=None)  # type: ignore[arg-type]
    assert await dispatcher.run_once() == 0
    assert queue.asked_urgently == [True]
    assert is_urgent() is False
    stop = asyncio.Event()
    runner = asyncio.ensure_future(dispatcher.run_forever(stop))
    while len(queue.asked_urgently) < 3:
        await asyncio.sleep(0.01)
    stop.set()
    await runner
    assert set(queue.asked_urgently) == {True}


class _OneItemQueue(_Queue):
    def __init__(self) -> None:
        super().__init__()
        self.items = [OutboundItem(id=1, destination="telegram", kind="reply", payload={})]

    def claim_due(self, destinations: Any, now: datetime, limit: int, lease: timedelta,
                  holding: Any = (), file_lease: timedelta | None = None) -> list[Any]:
        self.asked_urgently.append(is_urgent())
        items, self.items = self.items, []
        return items


class _Sender:
    destination = "telegram"

    async def deliver(self, item: OutboundItem) -> DeliveryResult:
        return DeliveryResult(ok=True)


class _Outcomes:
    def __init__(self) -> None:
        self.recorded_urgently: list[bool] = []

    def record_many(self, deliveries: Any) -> None:
        self.recorded_urgently.append(is_urgent())


async def test_a_claim_and_the_record_of_its_result_both_go_first() -> None:
    """The record frees the chat's next item (an agent's reply queued behind the bot's
    answer), so it is urgent too: with records waiting their turn, the agent reply's p50 went
    from about 0.3 s to 0.5-0.65 s in the whole-service bench."""
    queue, outcomes = _OneItemQueue(), _Outcomes()
    dispatcher = OutboxDispatcher(queue, [_Sender()], ManualClock(),
                                  outcomes=outcomes)
    assert await dispatcher.run_once() == 1
    assert queue.asked_urgently[0] is True
    assert outcomes.recorded_urgently == [True]


def _event_body(channel_type: str, thread: str | None) -> str:
    event: dict[str, Any] = {"type": "message", "channel": "C1", "channel_type": channel_type,
                             "text": "hello"}
    if thread:
        event["thread_ts"] = thread
    return json.dumps({"type": "event_callback", "event": event})


def test_only_messages_in_a_channels_threads_are_agents_urgent_work() -> None:
    assert in_a_case_thread(_event_body("channel", "1.1"))
    assert in_a_case_thread(json.dumps({"event": {
        "type": "message", "subtype": "message_deleted", "channel": "C1",
        "previous_message": {"thread_ts": "1.1"}}}))
    assert not in_a_case_thread(_event_body("im", None))
    assert not in_a_case_thread(_event_body("im", "1.1"))  # a seller's DM, threaded or not
    assert not in_a_case_thread(_event_body("channel", None))
    assert not in_a_case_thread("not json") and not in_a_case_thread('{"event": 3}')
    # The bot's own relayed message coming back, and a mention, wait like other work: the
    # handler drops the first on arrival, and nobody waits on the second as on a reply.
    echo = json.loads(_event_body("channel", "1.1"))
    echo["event"]["bot_id"] = "B1"
    assert not in_a_case_thread(json.dumps(echo))
    echo["event"].pop("bot_id")
    echo["event"]["subtype"] = "bot_message"
    assert not in_a_case_thread(json.dumps(echo))
    mention = json.loads(_event_body("channel", "1.1"))
    mention["event"]["type"] = "app_mention"
    assert not in_a_case_thread(json.dumps(mention))


class _RecordingInbox:
    """An inbox that records events and says whether each record was asked urgently."""

    def __init__(self) -> None:
        self.asked_urgently: dict[str, bool] = {}

    def record(self, source: str, event_id: str, body: str, now: datetime,
               lease: timedelta, conversation: str | None = None) -> InboxEvent:
        self.asked_urgently[event_id] = is_urgent()
        return InboxEvent(source=source, event_id=event_id, body=body, owner="me", attempts=1)


class _Processing(SlackEventInbox):
    def __init__(self, inbox: _RecordingInbox, on_process: Callable[[str, bool], None]) -> None:
        super().__init__(bolt=None, inbox=inbox,  # type: ignore[arg-type]
                         clock=ManualClock(),
                         lease=timedelta(seconds=30))
        self.on_process = on_process

    async def _process(self, event: InboxEvent) -> None:
        self.on_process(event.event_id, await asyncio.to_thread(is_urgent))


async def test_an_agents_reply_is_recorded_and_processed_urgently_a_sellers_dm_is_not() -> None:
    inbox = _RecordingInbox()
    processed: dict[str, bool] = {}
    events = _Processing(inbox, processed.__setitem__)
    await events.accept("Ev-agent", _event_body("channel", "1.1"))
    await events.accept("Ev-seller", _event_body("im", None))
    await asyncio.wait(set(events._tasks))
    assert inbox.asked_urgently == {"Ev-agent": True, "Ev-seller": False}
    assert processed == {"Ev-agent": True, "Ev-seller": False}
