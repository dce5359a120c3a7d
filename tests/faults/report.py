"""The count after a fault scenario: lost, duplicated and dead-lettered messages, by token.

``Report.line()`` is the one-line summary each test prints; ``Report.problems()`` lists what
misses the targets (0 lost; 0 duplicated, except a Telegram send in flight at a SIGKILL; 0
dead letters; no 5xx to malformed input), with the evidence for each.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from tests.faults.cluster import Cluster, SellerCase
from tests.faults.platform_client import Delivery, PlatformClient
from tests.faults.traffic import (
    ACK,
    KILL_WINDOW_AFTER,
    KILL_WINDOW_BEFORE,
    Traffic,
    telegram_sends,
    thread_posts,
)
from tests.standins import RecordedRequest


@dataclass
class Tally:
    """One kind of message: how many were expected, which were lost or came more than once."""

    name: str
    expected: int = 0
    lost: list[str] = field(default_factory=list)
    duplicated: list[str] = field(default_factory=list)
    excused: list[str] = field(default_factory=list)  # duplicates of a send in flight at a kill

    def brief(self) -> str:
        extra = f" (+{len(self.excused)} excused)" if self.excused else ""
        return (f"{self.name} {self.expected}: lost {len(self.lost)}, "
                f"dup {len(self.duplicated)}{extra}")


def _in_flight_at_kill(copy: RecordedRequest, kills: list[float]) -> bool:
    return any(k - KILL_WINDOW_BEFORE <= copy.received_at <= k + KILL_WINDOW_AFTER
               for k in kills)


def _describe(token: str, delivery: Delivery | None, copies: list[RecordedRequest]) -> str:
    sent = ", ".join(f"t={c.received_at:.2f}" for c in copies) or "never"
    inbound = delivery.history() if delivery is not None else "?"
    return f"{token}: arrived {len(copies)}x [{sent}]; inbound attempts: {inbound}"


@dataclass
class Report:
    scenario: str
    traffic: Traffic
    seller_posts: Tally
    agent_replies: Tally
    acks: Tally
    dead: list[dict[str, Any]]
    pending: list[dict[str, Any]]
    unanswered: list[Delivery]
    inbound_outcomes: Counter[str]
    malformed: Counter[str]
    malformed_5xx: int
    settle_seconds: float
    notes: list[str] = field(default_factory=list)

    def line(self) -> str:
        outcomes = " ".join(f"{k}={v}" for k, v in sorted(self.inbound_outcomes.items()))
        return (f"[faults] {self.scenario}: inbound {len(self.traffic.seller_tokens)} telegram + "
                f"{len(self.traffic.agent_tokens)} slack ({outcomes}); "
                f"{self.seller_posts.brief()}; {self.agent_replies.brief()}; {self.acks.brief()}; "
                f"dead {len(self.dead)}; pending {len(self.pending)}; unanswered "
                f"{len(self.unanswered)}; malformed 5xx {self.malformed_5xx}/"
                f"{sum(self.malformed.values())}; traffic {self.traffic.seconds:.1f}s, settled "
                f"{self.settle_seconds:.1f}s" + "".join(f"; {n}" for n in self.notes))

    def problems(self) -> list[str]:
        found: list[str] = []
        for tally in (self.seller_posts, self.agent_replies, self.acks):
            found += [f"LOST {tally.name}: {x}" for x in tally.lost]
            found += [f"DUPLICATED {tally.name}: {x}" for x in tally.duplicated]
        found += [f"DEAD LETTER: {d}" for d in self.dead]
        found += [f"STILL PENDING: {p}" for p in self.pending]
        found += [f"NEVER ANSWERED 2xx: {d.kind} {d.event_id}: {d.history()}"
                  for d in self.unanswered]
        if self.malformed_5xx:
            found.append(f"5xx TO MALFORMED INPUT: {dict(self.malformed)}")
        return found


def _tally_tokens(name: str, tokens: dict[str, tuple[SellerCase, Delivery]],
                  copies_of: Any, kills: list[float], can_be_asked: bool) -> Tally:
    tally = Tally(name, expected=len(tokens))
    for token, (seller, delivery) in tokens.items():
        copies: list[RecordedRequest] = copies_of(seller, token)
        if not copies:
            tally.lost.append(_describe(token, delivery, copies))
        elif len(copies) > 1:
            excusable = (not can_be_asked and len(copies) == 2
                         and _in_flight_at_kill(copies[0], kills))
            (tally.excused if excusable else tally.duplicated).append(
                _describe(token, delivery, copies))
    return tally


def count(scenario: str, cluster: Cluster, client: PlatformClient, traffic: Traffic,
          settle_seconds: float, notes: list[str] | None = None) -> Report:
    kills = [k for p in cluster.processes for k in p.kills]
    posts = thread_posts(cluster)

    def in_thread(seller: SellerCase, token: str) -> list[RecordedRequest]:
        return [r for r in posts if r.get("thread_ts") == seller.parent_ts
                and token in str(r.get("text", ""))]

    def in_chat(seller: SellerCase, token: str) -> list[RecordedRequest]:
        return [r for r in telegram_sends(cluster, seller.chat)
                if token in str(r.get("text", ""))]

    seller_posts = _tally_tokens("seller->thread", traffic.seller_tokens, in_thread, kills,
                                 can_be_asked=True)
    agent_replies = _tally_tokens("agent->seller", traffic.agent_tokens, in_chat, kills,
                                  can_be_asked=False)
    acks = Tally("acks")
    for seller in cluster.sellers:
        wanted = sum(1 for s, _d in traffic.seller_tokens.values() if s is seller)
        acks.expected += wanted
        got = [r for r in telegram_sends(cluster, seller.chat)
               if ACK.format(number=seller.number) in str(r.get("text", ""))]
        label = f"{seller.chat} ({seller.number}): {len(got)} acks for {wanted} messages"
        if len(got) < wanted:
            acks.lost += [label] * (wanted - len(got))
        for extra in range(len(got) - wanted):
            # Identical texts: an extra ack is excused while acks answered at a kill remain.
            at_kill = sum(1 for r in got if _in_flight_at_kill(r, kills))
            (acks.excused if extra < at_kill else acks.duplicated).append(label)
    misplaced = [r for r in posts for t, (s, _d) in traffic.seller_tokens.items()
                 if t in str(r.get("text", "")) and r.get("thread_ts") != s.parent_ts]
    if misplaced:
        seller_posts.duplicated += [f"in another thread: {r.params}" for r in misplaced]
    deliveries = [d for _s, d in [*traffic.seller_tokens.values(), *traffic.agent_tokens.values()]]
    return Report(
        scenario=scenario, traffic=traffic, seller_posts=seller_posts,
        agent_replies=agent_replies, acks=acks, dead=cluster.dead_letters(),
        pending=cluster.pending_items(), unanswered=[d for d in deliveries if not d.answered],
        inbound_outcomes=client.outcomes(), malformed=client.malformed,
        malformed_5xx=client.malformed_5xx(), settle_seconds=settle_seconds,
        notes=list(notes or []),
    )
