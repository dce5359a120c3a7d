"""The per-user dialogue state: a JSON dict persisted in ``uow.dialogue``.

Kept as plain JSON (no pickles) so a conversation survives restarts, deploys and several
processes. Layout::

    {"flow": "intake", "step": "confirm", "data": {...},
     "case": "CX-000001", "case_type": "shipping", "case_at": "<iso time>",
     "offered": [["Open the case", "ok"], ...], "relayed_answered": <outbox id>}
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from bot.messages import Button


class DialogueState:
    """A typed view over the stored dict; ``dump()`` gives the dict to save."""

    def __init__(self, raw: dict[str, Any] | None = None) -> None:
        self.raw: dict[str, Any] = copy.deepcopy(raw) if raw else {}

    # The running flow ------------------------------------------------------------------------
    @property
    def flow(self) -> str | None:
        value = self.raw.get("flow")
        return str(value) if value else None

    @property
    def step(self) -> str | None:
        value = self.raw.get("step")
        return str(value) if value else None

    @property
    def data(self) -> dict[str, Any]:
        data = self.raw.setdefault("data", {})
        assert isinstance(data, dict)
        return data

    def start(self, flow: str, step: str, data: Mapping[str, object] | None = None) -> None:
        """Enter ``flow`` at ``step``; ``data`` (the flow's draft, bot.dialogue.drafts)
        replaces the flow's data when given."""
        self.raw["flow"] = flow
        self.raw["step"] = step
        if data is not None:
            self.raw["data"] = dict(data)

    def goto(self, step: str) -> None:
        self.raw["step"] = step

    def end(self) -> None:
        """Leave the running flow (the current case stays remembered)."""
        for key in ("flow", "step", "data"):
            self.raw.pop(key, None)

    def at(self, flow: str, step: str | None = None) -> bool:
        return self.flow == flow and (step is None or self.step == step)

    # The case being talked about ----------------------------------------------------------
    def remember_case(self, number: str, case_type: str | None, now: datetime) -> None:
        self.raw["case"] = number
        self.raw["case_type"] = case_type
        self.raw["case_at"] = now.isoformat()

    def forget_case(self) -> None:
        for key in ("case", "case_type", "case_at"):
            self.raw.pop(key, None)

    def current_case(self, now: datetime, window: timedelta) -> tuple[str, str | None] | None:
        """The case of the ongoing conversation, if it was talked about within ``window``."""
        number = self.raw.get("case")
        at = self.raw.get("case_at")
        if not number or not at:
            return None
        try:
            when = datetime.fromisoformat(str(at))
        except ValueError:
            return None
        if now - when > window:
            return None
        case_type = self.raw.get("case_type")
        return str(number), str(case_type) if case_type else None

    def remembered_at(self) -> datetime | None:
        """When the seller last talked about the remembered case (any age)."""
        at = self.raw.get("case_at")
        try:
            return datetime.fromisoformat(str(at)) if at else None
        except ValueError:
            return None

    # Messages relayed outside a turn (bot.dialogue.context) ----------------------------------
    def relayed_answered(self) -> int:
        """The newest relayed question (its outbox id) the seller has answered by typing."""
        value = self.raw.get("relayed_answered")
        return int(value) if isinstance(value, int) else 0

    def answer_relayed(self, outbox_id: int) -> None:
        self.raw["relayed_answered"] = max(outbox_id, self.relayed_answered())

    # Buttons offered in the last reply ----------------------------------------------------
    def offer(self, buttons: tuple[Button, ...], now: datetime | None = None) -> None:
        """Remember the last buttons (and when they were shown) so typing a label works like
        pressing it."""
        if buttons:
            self.raw["offered"] = [[b.label, b.payload] for b in buttons]
            if now is not None:
                self.raw["offered_at"] = now.isoformat()
        else:
            self.raw.pop("offered", None)
            self.raw.pop("offered_at", None)

    def offered_at(self) -> datetime | None:
        at = self.raw.get("offered_at")
        try:
            return datetime.fromisoformat(str(at)) if at else None
        except ValueError:
            return None

    def offered(self) -> list[Button]:
        return [Button(str(label), str(payload)) for label, payload in self.raw.get("offered", [])]

    def dump(self) -> dict[str, Any]:
        return copy.deepcopy(self.raw)
