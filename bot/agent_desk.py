"""The agents' side of a case thread, independent of the platform: thread replies become
replies to the seller, `note:` messages stay internal, edits are relayed as edits, and the
parent message's buttons change the case."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from bot import domain as d
from bot.cases import CaseService
from bot.domain import Case
from bot.errors import CaseRuleError
from bot.messages import AgentMessage
from bot.ports import UnitOfWorkFactory
from bot.relay import NOTE_AUTHOR
from bot.texts import t

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DeskOutcome:
    """What happened to an agent's input; ``error`` is a reason to show the agent."""

    action: str  # reply | note | edit | status | urgent | ignored | duplicate | refused
    case_number: str | None = None
    error: str | None = None


class AgentDesk:
    def __init__(self, cases: CaseService, uow_factory: UnitOfWorkFactory,
                 platform: str = "slack", note_prefix: str = "note:") -> None:
        self.cases = cases
        self.uow = uow_factory
        self.platform = platform
        self.note_prefix = note_prefix.lower()

    def _first_time(self, event_id: str | None) -> bool:
        if not event_id:
            return True
        with self.uow() as uow:
            fresh = uow.inbound.claim(self.platform, event_id, self.cases.clock.now())
            uow.commit()
            return fresh

    def _run(self, event_id: str | None, work: Callable[[], DeskOutcome]) -> DeskOutcome:
        """Do the work of a claimed event; if it fails, release the claim and re-raise.

        The claim is committed before the work (the case rules run their own transactions).
        A failure makes the platform retry the event (bolt answers Slack 500), and that retry
        must be processed, not dropped as a duplicate: the agent's reply would be lost without
        a word. Rule refusals are answers, not failures: they keep the claim. A retry that
        arrives while the failing attempt is still running is still taken for a duplicate;
        Slack retries again later, which then finds the claim released.
        """
        try:
            return work()
        except Exception:
            if event_id:
                try:
                    with self.uow() as uow:
                        uow.inbound.release(self.platform, event_id)
                        uow.commit()
                except Exception:
                    log.exception("event %s failed and its claim could not be released; "
                                  "a retry of it will be dropped", event_id)
            raise

    def _claim_and_find(self, event_id: str | None, thread_ref: str | None) -> Case | str:
        """Claim the event and find the thread's case in one transaction ("duplicate" or
        "ignored" when there is nothing to do)."""
        with self.uow() as uow:
            if event_id and not uow.inbound.claim(self.platform, event_id, self.cases.clock.now()):
                return "duplicate"
            case = None
            if thread_ref and ":" in thread_ref:
                channel, ts = thread_ref.split(":", 1)
                case = uow.cases.find_by_thread(channel, ts)
            uow.commit()
        return case if case is not None else "ignored"

    def thread_message(self, msg: AgentMessage) -> DeskOutcome:
        """A human wrote in a case thread (``msg.thread_ref`` = "CHANNEL:PARENT_TS")."""
        case = self._claim_and_find(msg.event_id, msg.thread_ref)
        if isinstance(case, str):
            return DeskOutcome(case)
        found = case
        return self._run(msg.event_id, lambda: self._thread_message(found, msg))

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
                                   platform_message_id=msg.platform_message_id)
            return DeskOutcome("reply", case.number)
        except CaseRuleError as err:
            self._not_sent(case, str(err))
            return DeskOutcome("refused", case.number, str(err))

    def _not_sent(self, case: Case, reason: str) -> None:
        """Tell the agents in the thread why a reply did not go. Through the outbox like every
        other thread post: a Slack outage delays the warning and loses none, and the event is
        answered without waiting for Slack."""
        with self.uow() as uow:
            self.cases.relay.thread(uow, case, t("thread.not_sent", error=reason), NOTE_AUTHOR,
                                    self.cases.clock.now())
            uow.commit()

    def thread_edit(self, msg: AgentMessage) -> DeskOutcome:
        """An agent edited a message already relayed: relay the edit where possible."""
        if not self._first_time(msg.event_id):
            return DeskOutcome("duplicate")
        return self._run(msg.event_id, lambda: self._thread_edit(msg))

    def _thread_edit(self, msg: AgentMessage) -> DeskOutcome:
        if not msg.thread_ref or not msg.platform_message_id:
            return DeskOutcome("ignored")
        channel = msg.thread_ref.split(":", 1)[0]
        with self.uow() as uow:
            ref = uow.messages.find_ref(self.platform, channel, msg.platform_message_id)
        if ref is None or ref[1] is None:
            return DeskOutcome("ignored")
        text = msg.text.strip()
        if text.lower().startswith(self.note_prefix):
            return DeskOutcome("ignored")  # turning a sent reply into a note cannot unsend it
        try:
            result = self.cases.agent_edit(ref[1], text)
        except CaseRuleError as err:
            return DeskOutcome("refused", None, str(err))
        return DeskOutcome("edit", result[0].number) if result else DeskOutcome("ignored")

    def button(self, number: str, kind: str, arg: str, agent_id: str,
               reason: str | None = None, event_id: str | None = None) -> DeskOutcome:
        """A button on a case's parent: ``kind`` "status" (arg = new status) or "urgent"
        (arg = "on"/"off")."""
        if not self._first_time(event_id):
            return DeskOutcome("duplicate")
        return self._run(event_id, lambda: self._button(number, kind, arg, agent_id, reason))

    def _button(self, number: str, kind: str, arg: str, agent_id: str,
                reason: str | None) -> DeskOutcome:
        try:
            if kind == "status":
                self.cases.change_status(number, arg, d.AGENT, agent_id, reason)
                return DeskOutcome("status", number)
            if kind == "urgent":
                self.cases.set_urgent(number, arg == "on", d.AGENT, agent_id)
                return DeskOutcome("urgent", number)
        except CaseRuleError as err:
            return DeskOutcome("refused", number, str(err))
        return DeskOutcome("ignored", number, f"unknown action {kind}")
