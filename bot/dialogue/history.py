"""A case's conversation read back in the chat (``/case CX-…``, "Show conversation").

Both sides in order, with the status changes and links (reopened from / as) between them, one
page at a time: the newest page first, an "Older" button for the page before. The header says
where the case stands, what it is linked to and the seller's rating. Agent replies the seller
has not read are marked new on the page, then marked read.

Pages are counted from the start of the conversation (``conv:CX-…:<end>`` shows the entries
before ``end``), so a reply arriving while the seller pages back does not shift them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot import domain as d
from bot import i18n
from bot.case_rules.evaluation import reason_text
from bot.case_rules.results import CaseDetail
from bot.dialogue import portal
from bot.dialogue.common import refusal
from bot.dialogue.status import case_buttons, is_updated, marked_line
from bot.dialogue.turn import Turn
from bot.domain import CaseEvent, CaseMessage, Evaluation
from bot.errors import CaseRuleError
from bot.messages import Button, Reply
from bot.texts import STATUS_LABELS, evaluation_label, status_label, t

HEAD = "conv"
FILES = "files"
PAGE_ENTRIES = 8
# Unread replies all show on the first page, up to this many entries.
MAX_FIRST_PAGE = 3 * PAGE_ENTRIES
# One chat message stays under Telegram's 4096 characters; a longer page is split.
REPLY_CHARS = 3500
ENTRY_CHARS = 3000


@dataclass(frozen=True)
class Entry:
    """One line (or block) of the conversation, sortable by time."""

    at: datetime
    order: tuple[int, int]  # messages before events at the same instant, then by id
    text: str
    new: bool = False


def _message_entry(msg: CaseMessage, brand: str) -> Entry:
    new = msg.author_kind == d.AGENT and msg.read_at is None
    who = t("history.you") if msg.author_kind == d.SELLER else t("history.team", brand=brand)
    marks = (t("history.edited_mark") if msg.edited_at else "") + (
        t("history.new_mark") if new else "")
    body = msg.text
    if len(body) > ENTRY_CHARS:
        body = body[:ENTRY_CHARS].rstrip() + t("history.shortened")
    files = [t("history.file", name=a.get("file_name") or a.get("kind") or "file")
             for a in msg.attachments]
    text = "\n".join(part for part in (body, *files) if part)
    return Entry(msg.created_at, (0, msg.id),
                 t("history.item", who=who, when=i18n.when(msg.created_at), marks=marks,
                   text=text), new)


def _event_entry(event: CaseEvent) -> Entry | None:
    when = i18n.when(event.created_at)
    if event.kind == "status" and event.to_value in STATUS_LABELS:
        if STATUS_LABELS.get(event.from_value or "") == STATUS_LABELS[event.to_value]:
            return None  # "open" and "investigating" read the same to the seller
        status = status_label(event.to_value)
        # Only a decline's reason is the seller's business (the others are agents' notes).
        text = (t("history.status_reason", when=when, status=status, reason=event.reason)
                if event.to_value == d.DECLINED and event.reason
                else t("history.status", when=when, status=status))
    elif event.kind == "reopened_from" and event.from_value:
        text = t("history.reopened_from", when=when, number=event.from_value)
    elif event.kind == "reopened_as" and event.to_value:
        text = t("history.reopened_as", when=when, number=event.to_value)
    elif event.kind == "urgent" and event.to_value == "on":
        text = t("history.urgent", when=when)
    else:
        return None
    return Entry(event.created_at, (1, event.id), text)


def timeline(detail: CaseDetail, brand: str) -> list[Entry]:
    """The conversation as the seller may see it (no internal notes), oldest first."""
    entries = [_message_entry(m, brand) for m in detail.messages if not m.internal]
    entries += [e for e in map(_event_entry, detail.events) if e is not None]
    return sorted(entries, key=lambda e: (e.at, e.order))


def evaluation_line(evaluation: Evaluation) -> str:
    """The seller's rating, with the reason they gave."""
    level = evaluation_label(evaluation.level)
    reason = reason_text(evaluation)
    return t("eval.history_line", level=level,
             reason=t("eval.history_reason", reason=reason) if reason else "")


def _header(detail: CaseDetail) -> list[str]:
    lines = [marked_line(detail.case, detail.unread)]
    if detail.reopened_from:
        lines.append(t("case.reopened_from", number=detail.reopened_from))
    if detail.reopened_as:
        lines.append(t("case.reopened_as", number=detail.reopened_as))
    if detail.evaluation is not None:
        lines.append(evaluation_line(detail.evaluation))
    if not any(m.author_kind == d.AGENT and not m.internal for m in detail.messages):
        lines.append(t("case.no_reply_yet"))
    return lines


def page_bounds(entries: list[Entry], end: int | None) -> tuple[int, int]:
    """``[start, end)`` of the page ending at ``end`` (None: the newest page, stretched back
    to the oldest unread reply so every new reply is on it)."""
    total = len(entries)
    if end is None or end > total:
        end = total
        start = max(0, end - PAGE_ENTRIES)
        unread = [i for i, e in enumerate(entries) if e.new]
        if unread:
            start = min(start, max(unread[0], end - MAX_FIRST_PAGE))
        return start, end
    return max(0, end - PAGE_ENTRIES), end


def _chunks(lines: list[str]) -> list[str]:
    """Join ``lines`` into chat messages of at most REPLY_CHARS characters each."""
    chunks: list[str] = []
    current = ""
    for line in lines:
        candidate = f"{current}\n\n{line}" if current else line
        if current and len(candidate) > REPLY_CHARS:
            chunks.append(current)
            candidate = line
        current = candidate
    if current:
        chunks.append(current)
    return chunks


async def show(turn: Turn, number: str, end: int | None = None) -> None:
    """A page of ``number``'s conversation; ``end`` None: the newest page."""
    try:
        detail = await turn.call(turn.cases.get_case, number, turn.seller_id)
    except CaseRuleError as err:
        refusal(turn, err, number)
        return
    case = detail.case
    entries = timeline(detail, turn.config.brand)
    newest = end is None or end >= len(entries)
    if not newest and end is not None and end <= 0:
        turn.say("history.start_reached", number=case.number, case_number=case.number)
        return
    start, stop = page_bounds(entries, None if newest else end)
    bounds = {"first": start + 1, "last": stop, "total": len(entries)}
    if newest:
        head = "\n".join(_header(detail))
        lines = [head, t("history.page", **bounds) if entries else t("history.empty")]
    else:
        lines = [t("history.older_title", number=case.number, **bounds)]
    lines += [e.text for e in entries[start:stop]]
    buttons: list[Button] = []
    if start > 0:
        buttons.append(Button(t("button.older"), f"{HEAD}:{case.number}:{start}"))
    files_from = [m for m in detail.messages if m.author_kind == d.AGENT and not m.internal
                  and m.attachments]
    if files_from:
        # The newest agent message with files: the one a seller asks for again.
        buttons.append(Button(t("button.files_again"),
                              f"{HEAD}:{case.number}:{FILES}:{files_from[-1].id}"))
    if newest:
        buttons += case_buttons(case)
        buttons += portal.view_buttons(turn, case.number)
        for linked in (detail.reopened_from, detail.reopened_as):
            if linked:
                buttons.append(Button(t("button.show_case", number=linked), f"{HEAD}:{linked}"))
    chunks = _chunks(lines)
    for i, chunk in enumerate(chunks):
        last = i == len(chunks) - 1
        turn.reply_with(Reply(chunk, tuple(buttons) if last else (), case.number))
    if newest and is_updated(case, detail.unread):
        await turn.call(turn.cases.mark_read, turn.seller_id, [case.number])
    if case.is_active:
        turn.remember_case(case.number, case.case_type)


async def send_files_again(turn: Turn, number: str, message_id: int) -> None:
    """Queue an agent message's files to the seller once more."""
    try:
        count = await turn.call(turn.cases.resend_agent_files, turn.seller_id, number,
                                message_id)
    except CaseRuleError as err:
        refusal(turn, err, number)
        return
    if count:
        turn.say("history.files_again", count=count, case_number=number)
    else:
        turn.say("history.no_files", case_number=number)


async def on_button(turn: Turn, payload: str) -> bool:
    """``conv:CX-…`` (the newest page), ``conv:CX-…:<end>`` (the page before ``end``), or
    ``conv:CX-…:files:<message id>`` (an agent message's files sent again)."""
    parts = payload.split(":")
    if len(parts) == 4 and parts[0] == HEAD and parts[2] == FILES and parts[3].isdigit():
        await send_files_again(turn, parts[1], int(parts[3]))
        return True
    if parts[0] != HEAD or len(parts) not in (2, 3) or not parts[1]:
        return False
    end: int | None = None
    if len(parts) == 3:
        if not parts[2].isdigit():
            return False
        end = int(parts[2])
    await show(turn, parts[1], end)
    return True

