"""The agents' side of a case thread, independent of the platform: thread replies become
replies to the seller, `note:` messages stay internal, edits are relayed as edits, and the
parent message's buttons change the case."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

from bot import domain as d
from bot.cases import CaseService
from bot.domain import Case
from bot.errors import CaseRuleError
from bot.inbound_claims import (
    IN_PROGRESS_POLL,
    IN_PROGRESS_WAIT,
    ClaimLost,
    EventInProgress,
    InboundClaim,
)
from bot.messages import AgentMessage
from bot.once import OnceRunner
from bot.ports import UnitOfWorkFactory
from bot.relay import NOTE_AUTHOR
from bot.texts import t

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DeskOutcome:
    """What happened to an agent's input; ``error`` is a reason to show the agent."""

    # reply | note | edit | delete | status | urgent | assign | type | ignored | duplicate | refused
    action: str
    case_number: str | None = None
    error: str | None = None


class AgentDesk:
    def __init__(self, cases: CaseService, uow_factory: UnitOfWorkFactory,
                 platform: str = "slack", note_prefix: str = "note:",
                 lease: timedelta = timedelta(seconds=30)) -> None:
        self.cases = cases
        self.uow = uow_factory
        self.platform = platform
        self.note_prefix = note_prefix.lower()
        # How long an event is held before a retry may take it over (its attempt died).
        self.lease = lease
        self.once = OnceRunner(uow_factory, cases.clock, platform, lease)

    def _claim(self, event_id: str | None) -> InboundClaim | None | Literal[False]:
        """Lease the event (see bot.inbound_claims): a claim, None for an event without an id,
        or False when it is a replay (another attempt working on it is waited for, then
        EventInProgress)."""
        if not event_id:
            return None
        claim = self.once.claim(event_id)
        return claim if claim is not None else False

    def _wait_for_other_attempt(self, event_id: str, deadline: float) -> None:
        """Another attempt is working on the event: give it a moment (see IN_PROGRESS_WAIT),
        then ask the platform to come back later."""
        if time.monotonic() >= deadline:
            raise EventInProgress(self.platform, event_id)
        time.sleep(IN_PROGRESS_POLL)

    def _run(self, claim: InboundClaim | None, work: Callable[[], DeskOutcome]) -> DeskOutcome:
        """Do the work of a claimed event (bot.once). The case rules run their own
        transactions; the first of them to commit marks the event done with it, so a crash
        before leaves the lease to run out and the platform's retry is processed, and a retry
        after is a replay. A failure gives the claim back at once, so Slack's next retry (bolt
        answers 500) need not wait for the lease. Rule refusals are answers, not failures:
        the event is done."""
        try:
            return self.once.run(claim, work)
        except ClaimLost as lost:
            log.warning("%s", lost)
            return DeskOutcome("duplicate")

    def _claim_and_find(self, event_id: str | None,
                        thread_ref: str | None) -> tuple[InboundClaim | None, Case] | str:
        """Claim the event and find the thread's case in one transaction ("duplicate" or
        "ignored" when there is nothing to do)."""
        deadline = time.monotonic() + IN_PROGRESS_WAIT
        while True:
            with self.uow() as uow:
                claim = None
                if event_id:
                    claim = uow.inbound.claim(self.platform, event_id, self.cases.clock.now(),
                                              self.lease)
                    if claim is None and not uow.inbound.in_progress(self.platform, event_id):
                        return "duplicate"
                if event_id is None or claim is not None:
                    case = None
                    if thread_ref and ":" in thread_ref:
                        channel, ts = thread_ref.split(":", 1)
                        case = uow.threads.find_case(self.platform, channel, ts)
                        if case is None:  # the case moved to another channel (its type)
                            moved = uow.messages.find_ref(self.platform, channel, ts)
                            case = uow.cases.get(moved[0]) if moved else None
                    if case is None:
                        return "ignored"  # rolled back: nothing claimed outside cases
                    uow.commit()
                    return claim, case
            assert event_id is not None
            self._wait_for_other_attempt(event_id, deadline)

    def thread_message(self, msg: AgentMessage) -> DeskOutcome:
        """A human wrote in a case thread (``msg.thread_ref`` = "CHANNEL:PARENT_TS")."""
        claimed = self._claim_and_find(msg.event_id, msg.thread_ref)
        if isinstance(claimed, str):
            return DeskOutcome(claimed)
        claim, case = claimed
        return self._run(claim, lambda: self._thread_message(case, msg))

    def _thread_message(self, case: Case, msg: AgentMessage) -> DeskOutcome:
        text = msg.text.strip()
        try:
            if text.lower().startswith(self.note_prefix):
                note = text[len(self.note_prefix):].strip()
                self.cases.internal_note(case.number, msg.agent_id, note, msg.agent_name,
                                         from_agents_platform=True)
                return DeskOutcome("note", case.number)
            self.cases.agent_reply(case.number, msg.agent_id, text, msg.agent_name,
                                   from_agents_platform=True,
                                   platform_message_id=msg.platform_message_id,
                                   attachments=[a.as_dict() for a in msg.attachments],
                                   platform_channel=msg.thread_ref.partition(":")[0]
                                   if msg.thread_ref else None)
            return DeskOutcome("reply", case.number)
        except CaseRuleError as err:
            self._not_sent(case, str(err))
            return DeskOutcome("refused", case.number, str(err))

    def _not_sent(self, case: Case, reason: str) -> None:
        """Tell the agents in the thread why a reply did not go. Through the outbox like every
        other thread post: a Slack outage delays the warning and loses none, and the event is
        answered without waiting for Slack."""
        with self.uow() as uow:
            self.cases.relay.post_in_thread(uow, case, t("thread.not_sent", error=reason), NOTE_AUTHOR,
                                            self.cases.clock.now())
            uow.commit()

    def thread_edit(self, msg: AgentMessage) -> DeskOutcome:
        """An agent edited a message already relayed: relay the edit where possible."""
        claim = self._claim(msg.event_id)
        if claim is False:
            return DeskOutcome("duplicate")
        return self._run(claim, lambda: self._thread_edit(msg))

    def _relayed(self, msg: AgentMessage) -> int | None:
        """The case message an agent's thread message ``msg`` was relayed as, if any."""
        if not msg.thread_ref or not msg.platform_message_id:
            return None
        channel = msg.thread_ref.split(":", 1)[0]
        with self.uow() as uow:
            ref = uow.messages.find_ref(self.platform, channel, msg.platform_message_id)
        return ref[1] if ref is not None else None

    def _thread_edit(self, msg: AgentMessage) -> DeskOutcome:
        relayed = self._relayed(msg)
        if relayed is None:
            return DeskOutcome("ignored")
        text = msg.text.strip()
        if text.lower().startswith(self.note_prefix):
            return DeskOutcome("ignored")  # turning a sent reply into a note cannot unsend it
        try:
            result = self.cases.agent_edit(relayed, text)
        except CaseRuleError as err:
            return DeskOutcome("refused", None, str(err))
        return DeskOutcome("edit", result[0].number) if result else DeskOutcome("ignored")

    def thread_delete(self, msg: AgentMessage) -> DeskOutcome:
        """An agent deleted a message already relayed: take it back from the seller where the
        platform allows, else the thread is told (bot.case_rules.deletion)."""
        claim = self._claim(msg.event_id)
        if claim is False:
            return DeskOutcome("duplicate")
        return self._run(claim, lambda: self._thread_delete(msg))

    def _thread_delete(self, msg: AgentMessage) -> DeskOutcome:
        relayed = self._relayed(msg)
        case = self.cases.agent_delete(relayed, msg.agent_id) if relayed is not None else None
        return DeskOutcome("delete", case.number) if case else DeskOutcome("ignored")

    def button(self, number: str, kind: str, arg: str, agent_id: str,
               reason: str | None = None, event_id: str | None = None,
               agent_name: str | None = None) -> DeskOutcome:
        """A button on a case's parent: ``kind`` "status" (arg = new status), "urgent"
        (arg = "on"/"off"), "assign" (arg = "me": the presser takes the case) or "type" (arg =
        the case type chosen in the menu)."""
        claim = self._claim(event_id)
        if claim is False:
            return DeskOutcome("duplicate")
        return self._run(claim, lambda: self._button(number, kind, arg, agent_id, reason,
                                                     agent_name))

    def _button(self, number: str, kind: str, arg: str, agent_id: str,
                reason: str | None, agent_name: str | None = None) -> DeskOutcome:
        try:
            if kind == "assign" and arg == "me":
                self.cases.assign(number, agent_id, agent_name, d.AGENT, agent_id)
                return DeskOutcome("assign", number)
            if kind == "status":
                self.cases.change_status(number, arg, d.AGENT, agent_id, reason)
                return DeskOutcome("status", number)
            if kind == "urgent":
                self.cases.set_urgent(number, arg == "on", d.AGENT, agent_id)
                return DeskOutcome("urgent", number)
            if kind == "type":
                self.cases.change_type(number, arg, d.AGENT, agent_id)
                return DeskOutcome("type", number)
        except CaseRuleError as err:
            return DeskOutcome("refused", number, str(err))
        return DeskOutcome("ignored", number, f"unknown action {kind}")
