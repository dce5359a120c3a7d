"""Traffic with a unique token in every message, and what the platforms ended up showing.

Sellers write follow-ups to their open case on Telegram (each message carries the case number,
so the engine places it whether or not the NLU answers); agents answer in each case's Slack
thread. Afterwards every seller token must be in its case's thread exactly once, every agent
token in the seller's chat exactly once, and each seller message acknowledged once.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from tests.faults.cluster import AGENT, SUPPORT, Cluster, SellerCase
from tests.faults.platform_client import Delivery, PlatformClient
from tests.standins import RecordedRequest, slack_api, telegram_api

# What sellers write: details for their case, never a request the engine acts on instead
# (status, reopen, urgent...). Checked against the real model in test_seller_texts_*.
SELLER_TEXTS = (
    "More details for {number}: the buyer sent me a photo of the torn box, reference {token}",
    "For {number} I attach the receipt from the drop-off point, reference {token}",
    "About {number}: the neighbour did not receive the parcel either, reference {token}",
)
AGENT_TEXT = "Thank you, we asked the carrier to trace the parcel, reference {token}"
ACK = "Added to {number}"
# A duplicate of a Telegram message is excused only if its first copy was answered this close
# to a SIGKILL: a send in flight when the process died, on a platform we cannot ask.
KILL_WINDOW_BEFORE = 1.0
KILL_WINDOW_AFTER = 0.5

_update_ids = itertools.count(800_000)
_agent_ts = itertools.count(1)


def new_token() -> str:
    """Digits after a fixed prefix: letters drawn at random make words of their own to the
    model's character n-grams ("tkeee9…" read as keep_open), and this traffic is about delivery,
    not about the NLU (see test_seller_texts_are_read_as_case_details)."""
    return f"tk{uuid.uuid4().int % 10**10:010d}"


@dataclass
class Plan:
    """How much traffic, over how long, from which seed."""

    messages_per_seller: int = 3
    agent_replies: bool = True  # one per case
    spread_seconds: float = 6.0
    malformed_rounds: int = 3
    seed: int = 1


@dataclass
class Traffic:
    """What was sent: token -> (seller, delivery)."""

    seller_tokens: dict[str, tuple[SellerCase, Delivery]] = field(default_factory=dict)
    agent_tokens: dict[str, tuple[SellerCase, Delivery]] = field(default_factory=dict)
    started_at: float = 0.0
    seconds: float = 0.0


async def _seller_writes(client: PlatformClient, traffic: Traffic, seller: SellerCase,
                         offsets: list[float], texts: list[str]) -> None:
    message_ids = itertools.count(1)
    for offset, template in zip(offsets, texts, strict=True):
        await asyncio.sleep(max(0.0, traffic.started_at + offset - time.monotonic()))
        token = new_token()
        update = telegram_api.message_update(
            template.format(number=seller.number, token=token), user_id=seller.user_id,
            first_name=seller.name, last_name=None, username=None,
            message_id=next(message_ids), update_id=next(_update_ids))
        traffic.seller_tokens[token] = (seller, await client.telegram_update(update, token))


async def _agent_answers(cluster: Cluster, client: PlatformClient, traffic: Traffic,
                         seller: SellerCase, offset: float) -> None:
    await asyncio.sleep(max(0.0, traffic.started_at + offset - time.monotonic()))
    token = new_token()
    text = AGENT_TEXT.format(token=token)
    ts = f"1600000000.{next(_agent_ts):06d}"
    event = slack_api.thread_reply_event(SUPPORT, seller.parent_ts, text, user=AGENT, ts=ts)
    # The agent's message exists in Slack before Slack sends the event (reactions find it).
    cluster.slack.messages.setdefault(SUPPORT, []).append(
        {"type": "message", "ts": ts, "user": AGENT, "text": text,
         "thread_ts": seller.parent_ts})
    traffic.agent_tokens[token] = (seller, await client.slack_event(event, f"Ev{token}", token))


async def _malformed(client: PlatformClient, traffic: Traffic, offsets: list[float]) -> None:
    for offset in offsets:
        await asyncio.sleep(max(0.0, traffic.started_at + offset - time.monotonic()))
        await client.send_malformed()


async def run_traffic(cluster: Cluster, client: PlatformClient, plan: Plan,
                      fault: Callable[[], Awaitable[None]] | None = None) -> Traffic:
    """Send the plan's traffic (and run ``fault`` beside it); returns once every event was
    answered 2xx or given up."""
    rnd = random.Random(plan.seed)
    traffic = Traffic(started_at=time.monotonic())
    jobs: list[Awaitable[None]] = []
    for seller in cluster.sellers:
        offsets = sorted(rnd.uniform(0, plan.spread_seconds)
                         for _ in range(plan.messages_per_seller))
        texts = [SELLER_TEXTS[i % len(SELLER_TEXTS)] for i in range(plan.messages_per_seller)]
        jobs.append(_seller_writes(client, traffic, seller, offsets, texts))
        if plan.agent_replies:
            jobs.append(_agent_answers(cluster, client, traffic, seller,
                                       rnd.uniform(0, plan.spread_seconds)))
    jobs.append(_malformed(client, traffic, [plan.spread_seconds * (i + 0.5) / plan.malformed_rounds
                                             for i in range(plan.malformed_rounds)]))
    if fault is not None:
        jobs.append(fault())
    await asyncio.gather(*jobs)
    traffic.seconds = time.monotonic() - traffic.started_at
    return traffic


# What arrived ------------------------------------------------------------------------------
def telegram_sends(cluster: Cluster, chat: str) -> list[RecordedRequest]:
    """Messages Telegram accepted (200) for ``chat``, in order."""
    return [r for r in cluster.telegram.calls("sendMessage")
            if r.status == 200 and r.get("chat_id") == chat]


def thread_posts(cluster: Cluster) -> list[RecordedRequest]:
    """Posts Slack accepted in any thread, in order."""
    return [r for r in cluster.slack.calls("chat.postMessage")
            if r.status == 200 and isinstance(r.response, dict) and r.response.get("ok")
            and r.get("thread_ts")]


def arrived(traffic: Traffic, cluster: Cluster) -> bool:
    """Every token and every acknowledgement is there at least once."""
    posts = " ".join(str(r.get("text", "")) for r in thread_posts(cluster))
    if any(token not in posts for token in traffic.seller_tokens):
        return False
    for seller in cluster.sellers:
        sent = " ".join(str(r.get("text", "")) for r in telegram_sends(cluster, seller.chat))
        mine = [t for t, (s, _d) in traffic.agent_tokens.items() if s is seller]
        if any(token not in sent for token in mine):
            return False
        wanted = sum(1 for s, _d in traffic.seller_tokens.values() if s is seller)
        if sent.count(ACK.format(number=seller.number)) < wanted:
            return False
    return True


async def wait_until_settled(cluster: Cluster, traffic: Traffic, timeout: float) -> float:
    """Until everything arrived and the outbox holds nothing pending (so no late copy can
    still come), or ``timeout``; returns the seconds waited."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if arrived(traffic, cluster) and await asyncio.to_thread(cluster.pending_outbox) == 0:
            break
        await asyncio.sleep(0.5)
    return time.monotonic() - started
