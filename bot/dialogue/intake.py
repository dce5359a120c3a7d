"""Intake (rules 1, 4, 8, 9): from a classified message to a new case, or to the case that
already covers the issue.

Steps, each skipped when not needed: self-help article ("kb") -> order id for order-bound
types ("order") -> duplicate / declined / daily-cap check ("dup") -> appeal plan for
account health -> more detail if the message was thin ("describe") -> one confirmation
("confirm") -> create. Everything the seller writes along the way is kept in the draft.

A type without an order is told apart by its subject (bot.subjects): the check runs again
whenever more words change it, other open cases of the type are shown before a second one is
opened, and "It's a different issue" asks what tells it apart ("subject"). A case never loses
its type on the way, so rules 1, 4 and 8 keep applying to it.
"""

from __future__ import annotations

from bot.dialogue import appeal, opening
from bot.dialogue.answers import carries_more
from bot.dialogue.common import (
    CANCEL,
    OK,
    case_line,
    excerpt,
    is_cancel,
    is_no,
    is_yes,
    last_reply_line,
    refusal,
    type_label,
    type_menu,
)
from bot.dialogue.description import is_thin
from bot.dialogue.drafts import IntakeDraft, KeptFiles, TriageDraft, intake_draft
from bot.dialogue.turn import Turn
from bot.domain import Case
from bot.errors import CaseRuleError
from bot.identifiers import find_case_numbers, find_order_ids, normalise_case_number
from bot.labels import ORDER_CASE_TYPES
from bot.messages import Button, Reply
from bot.subjects import label_of
from bot.texts import t

FLOW = "intake"
KB_YES, KB_NO = "kb:yes", "kb:no"
DUP_ADD, DUP_NEW = "dup:add", "dup:new"
DUP_ADD_TO = "dup:add:"  # + a case number: one of several open cases of the type
SUBJECT_STEP = "subject"
# Open cases of the same type shown before a second one is opened.
_MAX_OTHERS = 3
NO_ORDER = "order:none"
# Types where a case without an order id makes sense when the seller has none.
ORDER_OPTIONAL = frozenset({"payment"})


def append_text(data: IntakeDraft | TriageDraft, text: str) -> None:
    if text:
        data["text"] = f"{data['text']}\n\n{text}" if data.get("text") else text


async def begin(turn: Turn, case_type: str | None, text: str, order_id: str | None,
                attachments: KeptFiles, human: bool = False,
                follows: str | None = None, subject: str | None = None) -> None:
    """Start intake for ``case_type`` (None: "something else") with what was said so far.

    ``follows``: the old case the new one continues (too old to reopen), whose subject it
    keeps and whose self-help article the seller has seen already.
    """
    turn.state.start(FLOW, "start", IntakeDraft(
        type=case_type, text=text, order=order_id, att=list(attachments),
        human=human, follows=follows, told_subject=subject, kb=bool(follows),
    ))
    await advance(turn)


def needs_subject(data: IntakeDraft) -> bool:
    """A typed case without an order: its subject tells it apart."""
    return bool(data.get("type")) and not data.get("order")


async def _subject(turn: Turn) -> str | None:
    draft = intake_draft(turn.state)
    if not needs_subject(draft):
        return None
    if draft.get("told_subject"):
        return str(draft["told_subject"])
    found: str | None = await turn.call(turn.cases.subject_for, draft.get("type"), None,
                                        draft.get("text") or "")
    return found


async def advance(turn: Turn) -> None:
    """Go to the next step that still needs the seller, or create the case."""
    draft = intake_draft(turn.state)
    ct: str | None = draft.get("type")
    article = turn.deps.knowledge.article(ct)
    if article is not None and not draft.get("kb"):
        draft["kb"] = True
        body = article.body + (f"\n{article.link}" if article.link else "")
        turn.say("kb.article", title=article.title, body=body,
                 buttons=(Button(t("button.kb_solved"), KB_YES),
                          Button(t("button.kb_not_solved"), KB_NO)))
        turn.state.goto("kb")
        return
    if ct in ORDER_CASE_TYPES and not draft.get("order") and not draft.get("no_order"):
        _ask_order(turn, ct)
        return
    if ct is None and not draft.get("order"):
        # "Something else" that names an order: a declined case on it refuses this too.
        draft["order"] = next((norm for norm, _raw in find_order_ids(draft.get("text") or "")), None)
    subject = await _subject(turn)
    issue = [draft.get("order"), subject]
    if not draft.get("checked") or draft.get("checked_issue") != issue:
        # More words may name an order or change the subject, and with it the issue: check
        # again.
        draft["subject"], draft["checked_issue"] = subject, issue
        try:
            existing = await turn.call(turn.cases.check_can_open, turn.seller_id, ct,
                                       draft.get("order"), subject)
        except CaseRuleError as err:
            refusal(turn, err)
            turn.state.end()
            return
        draft["checked"] = True
        if existing is not None:
            await _offer_existing(turn, existing.number)
            return
        if needs_subject(draft) and not draft.get("others_shown"):
            others = await turn.call(turn.cases.other_active_of_type, turn.seller_id, ct,
                                     subject)
            if others:
                draft["others_shown"] = True
                _offer_others(turn, others[:_MAX_OTHERS])
                return
    if ct == "account_health":
        appeal.begin(turn)
        return
    text = draft.get("text") or ""
    asks = int(draft.get("asks", 0))
    if is_thin(turn, text) and (asks < turn.config.description_retries or not text):
        draft["asks"] = asks + 1
        turn.say("intake.ask_description" if not text else "intake.ask_more_detail",
                 type=type_label(ct))
        turn.state.goto("describe")
        return
    confirm(turn)


def _ask_order(turn: Turn, ct: str | None) -> None:
    buttons: tuple[Button, ...] = ()
    if ct in ORDER_OPTIONAL:
        buttons = (Button(t("button.no_order"), NO_ORDER),)
    turn.say("intake.ask_order", type=type_label(ct), buttons=buttons)
    turn.state.goto("order")


async def _offer_existing(turn: Turn, number: str) -> None:
    detail = await turn.call(turn.cases.get_case, number, turn.seller_id)
    last = next((m for m in reversed(detail.messages) if m.author_kind == "agent"), None)
    lines = [t("intake.duplicate", number=number), case_line(detail.case, detail.unread)]
    reply_line = last_reply_line(last)
    if reply_line:
        lines.append(reply_line)
    lines.append(t("intake.duplicate_question", number=number))
    intake_draft(turn.state)["dup"] = number
    intake_draft(turn.state)["shown"] = [number]
    intake_draft(turn.state)["dup_same"] = True
    intake_draft(turn.state)["others_shown"] = True  # this was the one to see
    turn.reply_with(_reply("\n".join(lines), (Button(t("button.add_to", number=number), DUP_ADD),
                                       Button(t("button.different_issue"), DUP_NEW)), number))
    turn.state.goto("dup")


def _offer_others(turn: Turn, others: list[Case]) -> None:
    """Open cases of this type on other subjects: the seller sees them and chooses."""
    draft = intake_draft(turn.state)
    lines = [t("intake.same_type_open", type=type_label(draft.get("type")))]
    lines += [case_line(case, 0) for case in others]
    lines.append(t("intake.same_type_question"))
    draft["shown"] = [case.number for case in others]
    draft["dup_same"] = False
    turn.reply_with(_reply("\n".join(lines), _add_to_buttons(draft["shown"]), None))
    turn.state.goto("dup")


def _add_to_buttons(numbers: list[str]) -> tuple[Button, ...]:
    """One "Add to" button per case shown, and "It's a different issue"."""
    return (*(Button(t("button.add_to", number=n), f"{DUP_ADD_TO}{n}") for n in numbers),
            Button(t("button.different_issue"), DUP_NEW))


def _shown(draft: IntakeDraft) -> list[str]:
    """The open cases shown at the "dup" step (a draft saved before "shown": the one in "dup")."""
    return list(draft.get("shown") or ([draft["dup"]] if draft.get("dup") else []))


def _named_case(turn: Turn, shown: list[str]) -> tuple[str | None, str]:
    """The one shown case a typed answer names, in any spelling ("cx1", "CX-000001号"), and
    what the answer says besides case numbers."""
    prefix = turn.config.case_prefix
    found = find_case_numbers(turn.text, prefix)
    named = {number for number, _raw in found} | {normalise_case_number(turn.text, prefix)}
    rest = turn.text
    for _number, raw in found:
        rest = rest.replace(raw, " ")
    hits = [number for number in shown if number in named]
    return (hits[0] if len(hits) == 1 else None), rest


def _ask_which(turn: Turn, shown: list[str]) -> None:
    """Ask again at the "dup" step; with several cases shown, which one (never the first)."""
    key = "intake.duplicate_question" if len(shown) == 1 else "intake.which_of_them"
    turn.say(key, number=shown[0] if shown else "", buttons=_add_to_buttons(shown))


def _reply(text: str, buttons: tuple[Button, ...], number: str | None) -> Reply:
    return Reply(text, buttons, number)


def confirm(turn: Turn) -> None:
    draft = intake_draft(turn.state)
    lines = [t("intake.confirm_title"), t("intake.confirm_type", type=type_label(draft.get("type")))]
    if draft.get("order"):
        lines.append(t("intake.confirm_order", order=draft["order"]))
    if draft.get("subject"):
        lines.append(t("intake.confirm_subject", subject=label_of(draft["subject"])))
    if draft.get("follows"):
        lines.append(t("intake.confirm_follows", number=draft["follows"]))
    lines.append(t("intake.confirm_description", text=excerpt(draft.get("text") or "", 300)))
    if draft.get("att"):
        lines.append(t("intake.confirm_attachments", count=len(draft["att"])))
    lines.append(t("intake.confirm_question"))
    turn.reply_with(_reply("\n".join(lines), (Button(t("button.open_case"), OK),
                                       Button(t("button.cancel"), CANCEL)), None))
    turn.state.goto("confirm")


async def create(turn: Turn) -> None:
    draft = intake_draft(turn.state)
    await opening.open_now(turn, draft.get("type"), draft.get("text") or "", draft.get("order"),
                           list(draft.get("att") or []), human=bool(draft.get("human")),
                           subject=draft.get("subject"), follows=draft.get("follows"))


async def cancel(turn: Turn) -> None:
    turn.state.end()
    turn.say("flow.cancelled")


# Buttons ------------------------------------------------------------------------------------
async def on_button(turn: Turn, payload: str) -> bool:
    """Handle an intake button; False if it does not belong to the current step (stale)."""
    step = turn.state.step if turn.state.flow == FLOW else None
    draft = intake_draft(turn.state)
    if payload == KB_YES and step == "kb":
        turn.state.end()
        turn.say("kb.glad")
    elif payload == KB_NO and step == "kb":
        await advance(turn)
    elif payload == NO_ORDER and step == "order":
        draft["no_order"] = True
        await advance(turn)
    elif payload == DUP_ADD and step == "dup" and draft.get("dup"):
        await _add_to_existing(turn, draft["dup"])
    elif payload.startswith(DUP_ADD_TO) and step == "dup":
        await _add_to_existing(turn, payload.removeprefix(DUP_ADD_TO))
    elif payload == DUP_NEW and step == "dup":
        await _different_issue(turn)
    elif payload == OK and step == "confirm":
        await create(turn)
    elif payload == CANCEL and turn.state.flow == FLOW:
        await cancel(turn)
    else:
        return False
    return True


async def _add_to_existing(turn: Turn, number: str) -> None:
    from bot.dialogue import followup

    draft = intake_draft(turn.state)
    turn.state.end()
    await followup.add_to_case(turn, number, draft.get("text") or "", list(draft.get("att") or []))


async def _different_issue(turn: Turn) -> None:
    draft = intake_draft(turn.state)
    ct = draft.get("type")
    if not draft.get("dup_same"):
        # Other open cases of the type were shown; this one has a subject of its own.
        await advance(turn)
        return
    draft["checked"] = False
    if needs_subject(draft):
        # Same type, and its words read like the open case: ask what tells it apart.
        turn.say("intake.ask_subject", type=type_label(ct), number=draft.get("dup"))
        turn.state.goto(SUBJECT_STEP)
        return
    if ct in ORDER_CASE_TYPES and not draft.get("order_asked_again"):
        # The likeliest difference is the order: ask which one before anything else.
        draft["order_asked_again"] = True
        draft["order"] = None
        draft["no_order"] = False
        turn.say("intake.which_order")
        turn.state.goto("order")
        return
    # Same type and order, yet another issue: another type of problem with that order (a
    # case never drops its type to get round rule 1 or 4). The words so far are kept.
    turn.state.start("triage", "type", TriageDraft(
        text=draft.get("text") or "", att=draft.get("att") or [], order=draft.get("order"),
        human=bool(draft.get("human"))))
    turn.say("intake.same_order_other_type", number=draft.get("dup"), type=type_label(ct),
             order=draft.get("order"), buttons=type_menu([], turn.config.menu_types))


# Text ----------------------------------------------------------------------------------------
async def on_text(turn: Turn) -> bool:
    """Handle typed text in intake; False lets the router treat it as a fresh message."""
    step = turn.state.step
    draft = intake_draft(turn.state)
    draft.setdefault("att", []).extend(turn.attachments())
    if await is_cancel(turn):
        await cancel(turn)
        return True
    if step == "kb":
        if await is_yes(turn):
            turn.state.end()
            turn.say("kb.glad")
            return True
        if not await is_no(turn):
            append_text(draft, turn.text)  # more detail is an answer too: it needs a case
        await advance(turn)
        return True
    if step == "order":
        found = await turn.order_id() or next(
            (normalised for normalised, _raw in find_order_ids(turn.text)), None)
        if found:
            draft["order"] = found
            draft["checked"] = False
            if turn.word_count() > 2:
                append_text(draft, turn.text)
            await advance(turn)
            return True
        if draft.get("type") in ORDER_OPTIONAL and await is_no(turn):
            draft["no_order"] = True
            await advance(turn)
            return True
        if turn.word_count() > 3:
            append_text(draft, turn.text)
        turn.say("intake.order_invalid")
        return True
    if step == "dup":
        shown = _shown(draft)
        named, rest = _named_case(turn, shown)
        if named is not None:
            if carries_more(rest):
                append_text(draft, turn.text)
            await _add_to_existing(turn, named)
        elif await is_yes(turn):
            if len(shown) == 1:
                await _add_to_existing(turn, shown[0])
            else:
                _ask_which(turn, shown)
        elif await is_no(turn):
            await _different_issue(turn)
        else:
            append_text(draft, turn.text)
            _ask_which(turn, shown)
        return True
    if step == "describe":
        append_text(draft, turn.text)
        await advance(turn)
        return True
    if step == SUBJECT_STEP:
        told = await turn.call(turn.cases.subject_for, draft.get("type"), None, turn.text)
        if told is None:
            turn.say("intake.subject_unclear")
            return True
        draft["told_subject"] = told
        append_text(draft, turn.text)
        await advance(turn)
        return True
    if step == opening.SHORTEN_STEP:
        if turn.text:
            draft["text"] = turn.text  # the summary replaces the over-long description
        confirm(turn)
        return True
    if step == "confirm":
        if await is_yes(turn):
            await create(turn)
        elif await is_no(turn):
            await cancel(turn)
        else:
            append_text(draft, turn.text)
            turn.say("intake.added_detail")
            confirm(turn)
        return True
    return False
