"""The relay: turns case changes into outbox items, in the caller's transaction.

Seller-bound items go to the seller's own channel (ordered per chat); agent-bound items go to
Slack (ordered per case: the parent is posted before anything lands in its thread).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from bot import i18n
from bot import outbox as ob
from bot.domain import ACTIVE_STATUSES, Case, Identity
from bot.messages import Reply
from bot.outbox_payloads import (
    AssignNextPayload,
    CaseParentPayload,
    ParentMovedPayload,
    ReactionPayload,
    SellerFilePayload,
    SellerMessagePayload,
    ThreadFilePayload,
    ThreadPostPayload,
)
from bot.ports import UnitOfWork
from bot.texts import CASE_TYPE_LABELS, STATUS_LABELS, t

#: Author of every note Frontdoor itself writes in case threads: the one spelling.
NOTE_AUTHOR = "Frontdoor"
#: The case event of a parent moved to another channel: from "CHANNEL:TS" (the old parent).
THREAD_MOVED_EVENT = "thread_moved"


def message_link(base: str, channel: str, ts: str) -> str:
    """A link to a message in the agents' workspace at ``base``, as Slack's "Copy link"
    makes it."""
    return f"{base.rstrip('/')}/archives/{channel}/p{ts.replace('.', '')}"


@dataclass
class RelayConfig:
    """Where agent-side items go. ``agents_destination`` None: no agent platform (console/CLI).

    ``file_sources``: channels whose files the agents' platform can fetch and copy into a
    case's thread (e.g. {"telegram"}); files from elsewhere are described only.
    """

    agents_destination: str | None = None
    channel_for: Callable[[str | None], str | None] = lambda _case_type: None
    file_sources: frozenset[str] = frozenset()
    #: Where requests for an invitation are posted for agents to answer (None: not posted).
    invites_channel: str | None = None
    #: The agents' pool new cases are assigned round robin within (a Slack user group id,
    #: SLACK_AGENTS_GROUP); None: nobody is assigned automatically.
    agents_group: str | None = None
    #: The agents' workspace URL, for links to a case's thread (SLACK_LINK_BASE).
    thread_link_base: str = "https://slack.com"


class Relay:
    def __init__(self, config: RelayConfig | None = None) -> None:
        self.config = config or RelayConfig()

    # Seller side ---------------------------------------------------------------------------
    def to_identity(
        self, uow: UnitOfWork, identity: Identity, reply: Reply, now: datetime,
        case: Case | None = None, case_message_id: int | None = None,
        agent_ts: str | None = None, agent_channel: str | None = None,
    ) -> int | None:
        """Queue a message to one platform user; None if that chat refuses messages.

        While a chat is blocked nothing is queued for it, and what was dropped is not replayed
        when the seller comes back (``seller_reachable``): a backlog sent days later would be
        out of date and out of order with what happened since. Nothing is lost either: an
        agent's reply stays a case message the seller sees with the case (its status shows
        the last reply and the unread count), the thread said "not delivered" for it, and the
        thread is told when delivery works again, so the agent resends what still matters.
        """
        if identity.blocked_at is not None:
            return None
        payload = SellerMessagePayload(address=identity.address, reply=reply.as_dict(),
                                       case_message_id=case_message_id)
        if agent_ts:
            payload["agent_ts"] = agent_ts  # the agent's thread message: its ✅ goes there
            if agent_channel:
                payload["agent_channel"] = agent_channel
        return uow.outbox.add(
            identity.channel, ob.SELLER_MESSAGE, payload, case.id if case else None,
            f"{identity.channel}:chat:{identity.address}", now,
        )

    def to_seller(
        self, uow: UnitOfWork, case: Case, reply: Reply, now: datetime,
        case_message_id: int | None = None, agent_ts: str | None = None,
        agent_channel: str | None = None,
    ) -> int | None:
        """Queue a message to the chat the case was opened from (or the seller's first)."""
        identity = self.seller_chat(uow, case)
        if identity is None:
            return None
        return self.to_identity(uow, identity, reply, now, case, case_message_id, agent_ts,
                                agent_channel)

    def files_to_seller(
        self, uow: UnitOfWork, case: Case, attachments: Sequence[dict[str, Any]],
        now: datetime, case_message_id: int | None = None,
    ) -> int | None:
        """Queue each of an agent's files to the case's chat, one item each, in the chat's
        order (so after the reply's text); the number queued, None if the chat refuses
        messages (see ``to_identity``)."""
        identity = self.seller_chat(uow, case)
        if identity is None or identity.blocked_at is not None:
            return None
        for attachment in attachments:
            uow.outbox.add(
                identity.channel, ob.SELLER_FILE,
                SellerFilePayload(
                    address=identity.address, attachment=dict(attachment),
                    caption=t("agent_file_caption", number=case.number,
                              name=attachment.get("file_name") or "file"),
                    case_number=case.number, case_message_id=case_message_id),
                case.id, f"{identity.channel}:chat:{identity.address}", now,
            )
        return len(attachments)

    def seller_chat(self, uow: UnitOfWork, case: Case) -> Identity | None:
        """Where messages about ``case`` go: the identity it was opened from, else the
        seller's first."""
        identity = uow.identities.get(case.identity_id) if case.identity_id else None
        if identity is None:
            known = uow.identities.for_seller(case.seller_id)
            identity = known[0] if known else None
        return identity

    # Seller blocked / unblocked the bot ------------------------------------------------------
    def seller_unreachable(self, uow: UnitOfWork, identity: Identity,
                           now: datetime) -> Identity:
        """The platform says the seller blocked the bot: stop queueing to that chat before a
        send fails, and tell the threads of the cases whose messages go there."""
        if identity.blocked_at is not None:
            return identity
        if uow.identities.set_blocked(identity.id, now):  # else another process did it
            self._tell_threads(uow, identity,
                               t("thread.seller_blocked", channel=identity.channel), now)
        return replace(identity, blocked_at=now)

    def seller_reachable(self, uow: UnitOfWork, identity: Identity, now: datetime) -> Identity:
        """The seller wrote again or unblocked the bot: deliver to that chat from now on, and
        tell the threads of the cases whose messages go there (replies dropped meanwhile are
        not replayed: see ``to_identity``)."""
        if identity.blocked_at is None:
            return identity
        if uow.identities.set_blocked(identity.id, None):  # else another process did it
            self._tell_threads(uow, identity,
                               t("thread.seller_reachable", channel=identity.channel), now)
        return replace(identity, blocked_at=None)

    def _tell_threads(self, uow: UnitOfWork, identity: Identity, text: str,
                      now: datetime) -> None:
        if identity.seller_id is None:
            return  # not registered: no cases
        for case in uow.cases.list_for_seller(identity.seller_id, ACTIVE_STATUSES, None, 100):
            chat = self.seller_chat(uow, case)
            if chat is not None and chat.id == identity.id:
                self.post_in_thread(uow, case, text, NOTE_AUTHOR, now)

    # Agent side ----------------------------------------------------------------------------
    def _agents(self, uow: UnitOfWork, case: Case, kind: str, payload: Mapping[str, Any],
                now: datetime) -> int | None:
        dest = self.config.agents_destination
        if dest is None:
            return None
        return uow.outbox.add(dest, kind, payload, case.id, f"{dest}:case:{case.id}", now)

    def card(self, uow: UnitOfWork, case: Case) -> dict[str, Any]:
        """The facts agents see on the case's parent message."""
        seller = uow.sellers.get(case.seller_id)
        previous = uow.cases.get(case.reopened_from_id) if case.reopened_from_id else None
        evaluation = uow.evaluations.get(case.id)
        return {
            "number": case.number,
            "title": case.title,
            "case_type": case.case_type,
            "case_type_label": CASE_TYPE_LABELS.get(case.case_type or "", "Untyped"),
            "seller_name": seller.display_name if seller else "?",
            # The language the seller is answered in (their messages are relayed as written).
            "seller_language": i18n.LANGUAGE_NAMES_FOR_AGENTS.get(seller.language or "")
            if seller else None,
            "seller_id": case.seller_id,
            "order_id": case.order_id,
            "status": case.status,
            "status_label": STATUS_LABELS[case.status],
            "urgent": case.urgent,
            "needs_human": case.needs_human,
            "first_response_due": (
                case.first_response_due_at.isoformat()
                if case.first_response_due_at and case.first_response_at is None
                else None
            ),
            "reopened_from": previous.number if previous else None,
            "evaluation": evaluation.level if evaluation else None,
            "evaluation_reason": evaluation.reason_code if evaluation else None,
            "evaluation_words": evaluation.reason if evaluation else None,
            "assignee_ref": case.assignee_ref,
            "assignee_name": case.assignee_name,
            "first_response_by": case.first_response_by,
            "resolved_by": case.resolved_by,
            "moved_from_link": self._moved_from_link(uow, case),
        }

    def _moved_from_link(self, uow: UnitOfWork, case: Case) -> str | None:
        """The link to the parent the case had before its type moved it (the latest)."""
        moves = [e for e in uow.events.for_case(case.id) if e.kind == THREAD_MOVED_EVENT]
        if not moves or not moves[-1].from_value or ":" not in moves[-1].from_value:
            return None
        channel, ts = moves[-1].from_value.split(":", 1)
        return self.thread_link(channel, ts)

    def thread_link(self, channel: str, ts: str) -> str:
        return message_link(self.config.thread_link_base, channel, ts)

    def move_parent(self, uow: UnitOfWork, case: Case, actor_kind: str, actor_ref: str | None,
                    now: datetime) -> Case | None:
        """Move the case's parent to its type's channel if that is another one: a new parent
        there (linking the old one), and the old parent updated to say where the case went.
        The old thread stays the case's by a message ref, so a reply written there still
        finds it. None when nothing moves (same channel, or no parent posted yet)."""
        dest = self.config.agents_destination
        channel = self.config.channel_for(case.case_type)
        shown = uow.threads.get(case.id, dest) if dest is not None else None
        if dest is None or not channel or shown is None or channel == shown.channel:
            return None
        old_channel, old_ts = shown.channel, shown.parent_message_id
        uow.threads.remove(case.id, dest)  # the new parent becomes the case's thread
        moved = uow.cases.update(case.id, updated_at=now)
        uow.messages.add_ref(dest, old_channel, old_ts, case.id, None)
        uow.events.add(case.id, THREAD_MOVED_EVENT, actor_kind, actor_ref,
                       f"{old_channel}:{old_ts}", channel, None, now)
        card = self.card(uow, moved)
        self._agents(uow, moved, ob.CASE_PARENT, CaseParentPayload(card=card, channel=channel),
                     now)
        self._agents(uow, moved, ob.PARENT_MOVED, ParentMovedPayload(
            channel=old_channel, ts=old_ts, card=card, to_channel=channel,
            link_base=self.config.thread_link_base), now)
        return moved

    def publish_card(self, uow: UnitOfWork, case: Case, now: datetime) -> int | None:
        """Post the case's parent message, or update it in place if already posted."""
        return self._agents(
            uow, case, ob.CASE_PARENT,
            CaseParentPayload(card=self.card(uow, case),
                              channel=self.config.channel_for(case.case_type)),
            now,
        )

    def post_in_thread(
        self, uow: UnitOfWork, case: Case, text: str, author: str, now: datetime,
        attachments: Sequence[dict[str, Any]] = (), case_message_id: int | None = None,
        mentions: Sequence[str] = (),
    ) -> int | None:
        """Post into the case's thread; then queue a copy of each file that can be copied.

        The post describes every file (the metadata stays even if a copy fails); the copies
        follow it in the thread's order, one outbox item each. ``mentions``: agents (platform
        user ids) the post notifies, named after the text.
        """
        payload = ThreadPostPayload(text=text, author=author,
                                    attachments=[dict(a) for a in attachments],
                                    case_message_id=case_message_id)
        if mentions:
            payload["mentions"] = list(mentions)
        posted = self._agents(uow, case, ob.THREAD_POST, payload, now)
        if posted is None:
            return None
        fallback: list[str | None] = []  # the case's own channel, looked up once if needed
        for attachment in attachments:
            source = self._file_source(uow, case, attachment, fallback)
            if source is not None:
                self._agents(uow, case, ob.THREAD_FILE, ThreadFilePayload(
                    source=source, attachment=dict(attachment),
                    case_message_id=case_message_id), now)
        return posted

    def _file_source(self, uow: UnitOfWork, case: Case, attachment: dict[str, Any],
                     fallback: list[str | None]) -> str | None:
        """The channel to fetch ``attachment`` from, or None if it is not to be copied."""
        if not self.config.file_sources or not attachment.get("file_id"):
            return None
        source = attachment.get("source")
        if source is None:
            if attachment.get("url"):
                return None  # already a link the agents can open (e.g. a Slack file)
            # Files recorded before attachments named their channel: the case's own chat.
            if not fallback:
                identity = uow.identities.get(case.identity_id) if case.identity_id else None
                fallback.append(identity.channel if identity else None)
            source = fallback[0]
        return str(source) if source in self.config.file_sources else None

    def request_assignment(self, uow: UnitOfWork, case: Case, reason: str,
                           now: datetime) -> int | None:
        """Ask the agents' platform who in the agents' pool can take ``case`` now; the answer
        assigns the next of them (bot.round_robin). Nothing without a pool."""
        if not self.config.agents_group:
            return None
        return self._agents(uow, case, ob.ASSIGN_NEXT,
                            AssignNextPayload(group=self.config.agents_group, reason=reason), now)

    def reaction(self, uow: UnitOfWork, case: Case, target_ts: str, name: str,
                 now: datetime, channel: str | None = None) -> int | None:
        """A reaction on a thread message; ``channel`` where that message is, when it is not
        the case's thread (a reply written in the thread of a parent that moved)."""
        payload = ReactionPayload(name=name, target_ts=target_ts)
        if channel:
            payload["channel"] = channel
        return self._agents(uow, case, ob.THREAD_REACTION, payload, now)
