"""Requests for an invitation (rule 7): an unknown user asks, agents approve or decline.

A request is posted to the agents' invites channel with Approve / Decline. The decision is
kept without a table of its own: it is an invitation row whose code names the request
(``REQ-<id>``), used by the new seller when approved, born expired when declined. The
unique code makes a second decision of the same request impossible, and a request with no
such row is still open: one open request per person.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot import i18n
from bot import outbox as ob
from bot.case_rules.base import CaseServiceBase
from bot.errors import InvalidInput
from bot.messages import Reply
from bot.outbox_payloads import ChannelPostPayload
from bot.ports import UnitOfWork
from bot.texts import t

APPROVE = "approve"
DECLINE = "decline"
#: Slack action ids of the request's buttons (the value is the request id).
ACTION_PREFIX = "invite_request:"


def decision_code(request_id: int) -> str:
    """The invitation code that records the decision on request ``request_id``."""
    return f"REQ-{request_id}"


@dataclass(frozen=True)
class RequestDecision:
    """What came of an agent's press: ``outcome`` approve | decline, or ``already`` when the
    request had been decided before (``outcome`` then says how)."""

    request_id: int
    outcome: str
    requester: str
    seller_id: int | None = None
    already: bool = False


class InvitationRequestRules(CaseServiceBase):
    """Asking for an invitation, and answering the request."""

    def request_invitation(self, identity_id: int, note: str) -> int | None:
        """Record and post a request for agents; None when this person has one open already
        (nothing is posted: a requester cannot flood the channel)."""
        now = self.clock.now()
        with self.uow() as uow:
            ident = uow.identities.get(identity_id)
            if ident is None:
                raise InvalidInput("unknown user")
            if self._open_request(uow, identity_id) is not None:
                return None
            note = note[: self.rules.max_text_chars]
            request_id = uow.invitations.add_request(identity_id, note, now)
            self._post_request(uow, request_id, _requester(ident.display_name, ident.external_id),
                               ident.channel, note, now)
            uow.commit()
            return request_id

    def open_invitation_request(self, identity_id: int) -> int | None:
        with self.uow(read_only=True) as uow:
            return self._open_request(uow, identity_id)

    def decide_invitation_request(self, request_id: int, outcome: str,
                                  agent_id: str) -> RequestDecision:
        """Approve (a new main-account seller, the requester registered as it) or decline a
        request; the requester is told either way, through the outbox."""
        if outcome not in (APPROVE, DECLINE):
            raise InvalidInput(f"unknown decision {outcome!r}")
        now = self.clock.now()
        with self.uow() as uow:
            found = uow.invitations.get_request_for_update(request_id)
            if found is None:
                raise InvalidInput(f"no invitation request {request_id}")
            ident = uow.identities.get(found[0])
            assert ident is not None  # a foreign key
            requester = _requester(ident.display_name, ident.external_id)
            earlier = uow.invitations.get_by_code_for_update(decision_code(request_id))
            if earlier is not None:
                return RequestDecision(
                    request_id, APPROVE if earlier.used_by_seller_id else DECLINE, requester,
                    earlier.used_by_seller_id, already=True)
            seller_id = None
            # The requester has no language stored yet: the one their request is written in.
            language = i18n.from_script(found[1]) or i18n.ENGLISH
            if outcome == APPROVE:
                name = (ident.display_name or "").strip()[:200] or "Seller"
                seller_id = ident.seller_id  # registered meanwhile (a code): just record it
                if seller_id is None:
                    seller_id = uow.sellers.add(None, name, now).id
                    uow.sellers.set_preferences(seller_id, language, None)
                    uow.identities.link_seller(ident.id, seller_id)
                invitation = uow.invitations.add(
                    decision_code(request_id), name, None, now, agent_id[:100], now)
                uow.invitations.mark_used(invitation.id, seller_id, now)
                with i18n.speaking(i18n.speaker(language)):
                    text = t("register.request_approved", name=name)
            else:
                # Born expired: the code records the decision and can never be redeemed.
                uow.invitations.add(decision_code(request_id), "Seller", None,
                                    now - timedelta(seconds=1), agent_id[:100], now)
                with i18n.speaking(i18n.speaker(language)):
                    text = t("register.request_declined")
            self.relay.to_identity(uow, ident, Reply(text), now)
            uow.commit()
            return RequestDecision(request_id, outcome, requester, seller_id)

    def invitation_requests(self) -> Sequence[dict[str, Any]]:
        with self.uow(read_only=True) as uow:
            return uow.invitations.list_requests()

    def _open_request(self, uow: UnitOfWork, identity_id: int) -> int | None:
        ids = uow.invitations.request_ids_of(identity_id)
        decided = uow.invitations.existing_codes([decision_code(i) for i in ids])
        open_ids = [i for i in ids if decision_code(i) not in decided]
        return open_ids[-1] if open_ids else None

    def _post_request(self, uow: UnitOfWork, request_id: int, requester: str, channel: str,
                      note: str, now: datetime) -> None:
        dest = self.relay.config.agents_destination
        target = self.relay.config.invites_channel
        if dest is None or target is None:
            return  # no agents' platform: the request is listed by `frontdoor invitations`
        uow.outbox.add(dest, ob.CHANNEL_POST, ChannelPostPayload(
            channel=target,
            text=t("agents.invite_request", requester=requester, channel=channel, note=note),
            actions=[
                {"label": t("agents.invite_approve"), "action_id": ACTION_PREFIX + APPROVE,
                 "value": str(request_id), "style": "primary"},
                {"label": t("agents.invite_decline"), "action_id": ACTION_PREFIX + DECLINE,
                 "value": str(request_id), "style": "danger"},
            ],
        ), None, f"{dest}:channel:{target}", now)


def _requester(display_name: str | None, external_id: str) -> str:
    return f"{display_name} ({external_id})" if display_name else external_id
