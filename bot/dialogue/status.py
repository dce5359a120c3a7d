"""Check, don't ask (rule 2): live status, last reply and unread count, never a new case.

With a case number: that case (only the seller's own). Without: the seller's cases with a
status filter ("In progress", the default; "Closed", which includes declined; "All"), newest
activity first, with plain status labels and the "Updated" mark (a new agent reply, or a
status change the seller has not seen); showing them marks them read. A query (case number,
order id or words of the title) searches all cases.
"""

from __future__ import annotations

from bot import domain as d
from bot.case_rules.queries import status_unseen
from bot.dialogue import portal
from bot.dialogue.common import case_line, last_reply_line, refusal, status_label
from bot.dialogue.turn import Turn
from bot.domain import Case, CaseSummary
from bot.errors import CaseRuleError
from bot.identifiers import whole_case_number
from bot.messages import Button
from bot.texts import t

CASE_PREFIX = "case:"
# "cases:<filter>" or "cases:<filter>:<offset>": a filtered list, from its offset-th case.
LIST_HEAD = "cases"
IN_PROGRESS, CLOSED, ALL = "in_progress", "closed", "all"
FILTERS: tuple[str, ...] = (IN_PROGRESS, CLOSED, ALL)
_FILTER_BUTTONS = {IN_PROGRESS: "button.filter_in_progress", CLOSED: "button.filter_closed",
                   ALL: "button.filter_all"}
_TITLES = {IN_PROGRESS: "status.active_title", CLOSED: "status.closed_title",
           ALL: "status.all_title"}
_EMPTY = {IN_PROGRESS: "status.none_active", CLOSED: "status.none_closed",
          ALL: "status.none_at_all"}
# What a seller may type after /cases to pick a filter instead of searching.
FILTER_WORDS: dict[str, str] = {
    "in progress": IN_PROGRESS, "active": IN_PROGRESS, "open": IN_PROGRESS,
    "closed": CLOSED, "declined": CLOSED, "finished": CLOSED,
    "all": ALL,
}
MAX_CASE_BUTTONS = 5


def case_buttons(case: Case) -> tuple[Button, ...]:
    """What a seller can do with a case in its status."""
    n = case.number
    buttons: list[Button] = []
    if case.status in (d.OPEN, d.INVESTIGATING, d.PENDING):
        if not case.urgent:
            buttons.append(Button(t("button.flag_urgent"), f"urgent:{n}"))
        if not case.needs_human:
            buttons.append(Button(t("button.talk_to_human"), f"human:{n}"))
    if case.status in (d.PENDING, d.RESOLVED):
        buttons.append(Button(t("button.keep_open"), f"keep:{n}"))
    if case.status in (d.RESOLVED, d.CLOSED):
        buttons.append(Button(t("button.reopen", number=n), f"reopen:{n}"))
    if case.is_active:
        buttons.append(Button(t("button.close_case"), f"close:{n}"))
    return tuple(buttons)


def marked_line(case: Case, unread: int) -> str:
    """The case's line with the "Updated" mark: new replies, else an unseen status change."""
    line = case_line(case, unread)
    if not unread and status_unseen(case):
        line += t("case.updated_status_mark", status=status_label(case))
    return line


def is_updated(case: Case, unread: int) -> bool:
    return unread > 0 or status_unseen(case)


async def show_case(turn: Turn, number: str) -> None:
    """The case's status in a few lines, with what the seller can do and its conversation."""
    try:
        detail = await turn.call(turn.cases.get_case, number, turn.seller_id)
    except CaseRuleError as err:
        refusal(turn, err, number)
        return
    case = detail.case
    last = next((m for m in reversed(detail.messages) if m.author_kind == d.AGENT), None)
    lines = [marked_line(case, detail.unread)]
    reply_line = last_reply_line(last)
    lines.append(reply_line or t("case.no_reply_yet"))
    if detail.reopened_as:
        lines.append(t("case.reopened_as", number=detail.reopened_as))
    if detail.reopened_from:
        lines.append(t("case.reopened_from", number=detail.reopened_from))
    buttons = (*case_buttons(case),
               Button(t("button.show_conversation"), f"conv:{case.number}"),
               *portal.view_buttons(turn, case.number))
    turn.say("case.detail", text="\n".join(lines), buttons=buttons, case_number=case.number)
    if is_updated(case, detail.unread):
        await turn.call(turn.cases.mark_read, turn.seller_id, [case.number])
    if case.is_active:
        turn.remember_case(case.number, case.case_type)


def filter_from_words(words: str) -> str | None:
    """``/cases closed`` and the like: the filter those words name, or None (a search)."""
    return FILTER_WORDS.get(" ".join(words.casefold().split()))


def search_term(query: str, prefix: str) -> str:
    """What to search for: a query that is only a case number, written any way a seller types
    it ("cx1", "CX 1", "#1", "ＣＸ－０００００１", "CX-000001号"), as cases are numbered
    ("CX-000001"); any other query (words, an order id, words around a number) as typed."""
    return whole_case_number(query, prefix) or query


async def show_list(turn: Turn, query: str | None = None, status_filter: str = IN_PROGRESS,
                    offset: int = 0) -> None:
    """The seller's cases under ``status_filter``, or those matching ``query`` (any status).
    ``offset``: where this page starts (the "More" button)."""
    if query and filter_from_words(query):
        status_filter, query = filter_from_words(query) or IN_PROGRESS, None
    limit = turn.config.list_limit
    offset = max(offset, 0)
    summaries = await turn.call(turn.cases.list_cases, turn.seller_id,
                                ALL if query else status_filter,
                                search_term(query, turn.config.case_prefix) if query else None,
                                offset + limit + 1)
    page = list(summaries[offset:offset + limit])
    more = len(summaries) > offset + limit
    # In the default view, cases that ended since the seller last looked are news too.
    finished = (await _finished_unseen(turn) if not query and status_filter == IN_PROGRESS
                and offset == 0 else [])
    if not page and not finished:
        if query:
            turn.say("status.none_matching", query=query)
        else:
            turn.say(_EMPTY[status_filter], buttons=_filter_buttons(status_filter))
        return
    count: object = len(page)
    if offset or more:
        count = t("status.range", first=offset + 1, last=offset + len(page))
    if query:
        title = t("status.matching", query=query, count=count)
    elif page:
        title = t(_TITLES[status_filter], count=count)
    else:
        title = t(_EMPTY[status_filter])
    blocks = [_block(s) for s in page]
    if finished:
        blocks.append(t("status.finished_title") + "\n"
                      + "\n\n".join(_block(s) for s in finished))
    shown = page + finished
    buttons = [Button(s.case.number, f"{CASE_PREFIX}{s.case.number}")
               for s in shown[:MAX_CASE_BUTTONS]]
    if more:
        target = f"{status_filter}:{offset + limit}" if not query else None
        if target is not None:
            buttons.append(Button(t("button.more_cases"), f"{LIST_HEAD}:{target}"))
    if not query:
        buttons.extend(_filter_buttons(status_filter))
    buttons.extend(portal.view_buttons(turn))
    turn.say("status.list", title=title, text="\n\n".join(blocks), buttons=tuple(buttons))
    read = [s.case.number for s in shown if is_updated(s.case, s.unread)]
    if read:
        await turn.call(turn.cases.mark_read, turn.seller_id, read)
    active = [s for s in page if s.case.is_active]
    if len(page) == 1 and len(active) == 1:
        turn.remember_case(active[0].case.number, active[0].case.case_type)


def _block(summary: CaseSummary) -> str:
    block = marked_line(summary.case, summary.unread)
    last = last_reply_line(summary.last_reply)
    return block + "\n" + last if last else block


def _filter_buttons(current: str) -> tuple[Button, ...]:
    return tuple(Button(t(_FILTER_BUTTONS[f]), f"{LIST_HEAD}:{f}") for f in FILTERS
                 if f != current)


async def _finished_unseen(turn: Turn) -> list[CaseSummary]:
    """Closed or declined cases whose ending the seller has not seen yet."""
    ended = await turn.call(turn.cases.list_cases, turn.seller_id, CLOSED, None,
                            turn.config.list_limit)
    return [s for s in ended if status_unseen(s.case)]


async def on_button(turn: Turn, payload: str) -> bool:
    """``cases:<filter>`` and ``cases:<filter>:<offset>``."""
    parts = payload.split(":")
    if len(parts) not in (2, 3) or parts[0] != LIST_HEAD or parts[1] not in FILTERS:
        return False
    offset = int(parts[2]) if len(parts) == 3 and parts[2].isdigit() else 0
    await show_list(turn, status_filter=parts[1], offset=offset)
    return True


async def check(turn: Turn, number: str | None, query: str | None = None,
                status_filter: str = IN_PROGRESS) -> None:
    """The status entry point (typed question, ``/cases``, ``/case``)."""
    if number:
        await show_case(turn, number)
    else:
        await show_list(turn, query, status_filter)
