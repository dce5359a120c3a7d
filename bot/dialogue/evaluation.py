"""Evaluation after resolution (rule 6): three levels as buttons (``eval:<CASE>:<level>``,
sent by the case rules when a case is resolved), once per case, within the window after
resolution.

The two lower levels are recorded at once, then a reason is asked for with buttons (the seeds'
list): ``eval:<CASE>:why:<code>``, "other" asks for the seller's words, ``eval:<CASE>:skip``
(or "cancel", "skip") leaves the rating without one. A reason may also be typed: it is filed
under the code its words point to, else as "other", and the words are kept.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from bot import domain as d
from bot.case_rules.evaluation import reason_label
from bot.dialogue.common import is_cancel, plain, refusal
from bot.dialogue.drafts import RatingDraft, rating_draft
from bot.dialogue.turn import Turn
from bot.errors import CaseRuleError, EvaluationRefused
from bot.messages import Button
from bot.texts import EVALUATION_LABELS, evaluation_label, t

FLOW = "evaluation"
PREFIX = "eval:"
WHY = "why"
SKIP = "skip"
# Steps of the flow: reason buttons shown, or waiting for the words of "other".
STEP_REASON, STEP_OTHER = "reason", "other"
# After this, a typed message is no longer taken as the reason (the rating is already kept);
# the buttons keep working.
REASON_STEP_MINUTES = 30

# Typed words that mean "no reason" at the reason step.
_SKIP_WORDS = frozenset({"skip", "no", "nope", "nothing", "no comment", "none", "pass",
                         "no thanks", "not now", "later", "ok", "okay", "fine", "whatever",
                         "跳过", "不用了", "不用", "没有", "没有了", "没了", "没什么", "无", "算了",
                         "不想说", "以后再说", "下次再说", "好的", "好", "行", "没事"})
# Intents that are a new request rather than a reason: the rating is already recorded, so the
# flow steps aside and the message is read afresh.
_REQUEST_INTENTS = frozenset({"check_status", "reopen_case", "flag_urgent", "keep_open",
                              "talk_to_human"})
# What typed reasons usually say, per code; the earliest match in the text wins. The Chinese
# alternatives stand without \b: Chinese has no spaces, so no word boundaries inside a sentence.
_REASON_PATTERNS: dict[str, re.Pattern[str]] = {
    "slow_reply": re.compile(
        r"\b(slow|too long|late|delay\w*|waited|waiting|ages|forever|no (?:answer|reply|response)"
        r"|(?:nobody|no one|never) (?:\w+ )?(?:answered|replied|responded)"
        r"|took \w+ (?:days?|hours?|weeks?))\b"
        r"|太慢|很慢|回复慢|慢了|等了|等太久|等很久|好久|半天|迟迟|拖了|拖延"
        r"|没(?:有)?人(?:回复|回答|理|管)|没(?:有)?回复|不回复|不回消息"),
    "problem_not_solved": re.compile(
        r"\b(not (?:solved|fixed|resolved)|unsolved|unresolved|still (?:not|broken|the same"
        r"|happening|waiting for (?:my|the) money)|(?:didn ?t|did not|doesn ?t|does not) "
        r"(?:solve|fix|help)|same problem|nothing changed)\b"
        r"|(?:没|没有|未|还没|还没有|没能|没法)解决|问题(?:还在|依旧|依然|还是)|还是一样"
        r"|没(?:有)?用|没(?:有)?帮助|没帮上|钱还没到|还没到账"),
    "unclear_answer": re.compile(
        r"\b(unclear|confus\w*|vague|not clear|no sense|(?:don ?t|didn ?t|do not|did not) "
        r"understand|copy[- ]?paste\w*|generic|template)\b"
        r"|看不懂|没看懂|听不懂|不明白|不清楚|说不清|模糊|含糊|答非所问|模板|套话|复制粘贴"),
    "unfriendly": re.compile(
        r"\b(rude|unfriendly|impolite|arrogant|disrespect\w*|not friendly|attitude|insult\w*)\b"
        r"|态度|不礼貌|没礼貌|粗鲁|傲慢|不友好|不耐烦|敷衍"),
}


def parse(payload: str) -> tuple[str, str] | None:
    """``eval:CX-000001:so_so`` -> ("CX-000001", "so_so")."""
    parts = payload.split(":")
    if len(parts) != 3 or parts[0] != "eval" or parts[2] not in d.EVALUATION_LEVELS:
        return None
    return parts[1], parts[2]


def level_from_text(text: str) -> str | None:
    """A typed evaluation label ("So-so", "worthy of a like", "一般") -> its level."""
    typed = plain(text)
    for level, label in EVALUATION_LABELS.items():
        if typed in (plain(label), plain(evaluation_label(level)),
                     plain(level.replace("_", "-")), plain(level)):
            return level
    return None


def reason_from_text(text: str) -> str:
    """The reason code typed words point to; "other" when they point nowhere."""
    typed = plain(text)
    for code in d.EVALUATION_REASONS:
        if typed == plain(reason_label(code)):
            return code
    found = [(m.start(), code) for code, pattern in _REASON_PATTERNS.items()
             if (m := pattern.search(typed)) is not None]
    return min(found)[1] if found else d.REASON_OTHER


def reason_buttons(number: str) -> tuple[Button, ...]:
    return (
        *(Button(reason_label(code), f"{PREFIX}{number}:{WHY}:{code}")
          for code in d.EVALUATION_REASONS if code != d.REASON_OTHER),
        Button(t("button.eval_reason_other"), f"{PREFIX}{number}:{WHY}:{d.REASON_OTHER}"),
        Button(t("button.eval_skip_reason"), f"{PREFIX}{number}:{SKIP}"),
    )


# Rating --------------------------------------------------------------------------------------
async def _may_evaluate(turn: Turn, number: str, level: str) -> bool:
    """Check first, so the seller gets a precise reason instead of a generic refusal."""
    try:
        detail = await turn.call(turn.cases.get_case, number, turn.seller_id)
    except CaseRuleError as err:
        refusal(turn, err, number)
        return False
    case = detail.case
    ev = detail.evaluation
    if ev is not None:
        if ev.level == level and ev.level in d.LEVELS_NEEDING_REASON and ev.reason_code is None:
            _ask_reason(turn, case.number, level)  # the same button again: the reason is due
        else:
            turn.say("eval.already", number=case.number)
        return False
    if case.resolved_at is None or case.status not in (d.RESOLVED, d.CLOSED):
        turn.say("eval.not_resolved", number=case.number)
        return False
    window = timedelta(days=turn.cases.rules.evaluation_days)
    if turn.deps.clock.now() > case.resolved_at + window:
        turn.say("eval.expired", number=case.number, days=turn.cases.rules.evaluation_days)
        return False
    return True


def _ask_reason(turn: Turn, number: str, level: str) -> None:
    turn.state.start(FLOW, STEP_REASON, RatingDraft(
        case=number, level=level, asked_at=turn.deps.clock.now().isoformat()))
    turn.say("eval.ask_reason_buttons", number=number, level=evaluation_label(level),
             buttons=reason_buttons(number))


async def choose(turn: Turn, number: str, level: str) -> None:
    """Record the rating now (a reason, if one is asked for, comes after it)."""
    if turn.state.at(FLOW):
        turn.state.end()
    if not await _may_evaluate(turn, number, level):
        return
    try:
        await turn.call(turn.cases.evaluate, turn.seller_id, number, level)
    except EvaluationRefused:
        turn.say("eval.refused", number=number)
        return
    except CaseRuleError as err:
        refusal(turn, err, number)
        return
    if level in d.LEVELS_NEEDING_REASON:
        _ask_reason(turn, number, level)
    else:
        turn.say("eval.thanks_like", number=number)


async def typed_level(turn: Turn, level: str) -> bool:
    """A typed level with no button pressed: rate the seller's most recently resolved case."""
    summaries = await turn.call(turn.cases.list_cases, turn.seller_id, "all", None, 20)
    window = timedelta(days=turn.cases.rules.evaluation_days)
    now = turn.deps.clock.now()
    for s in summaries:
        c = s.case
        if c.resolved_at is not None and c.status in (d.RESOLVED, d.CLOSED) \
                and now <= c.resolved_at + window:
            await choose(turn, c.number, level)
            return True
    return False


# Reason --------------------------------------------------------------------------------------
async def _give_reason(turn: Turn, number: str, code: str, words: str | None) -> None:
    turn.state.end()
    try:
        await turn.call(turn.cases.give_reason, turn.seller_id, number, code, words)
    except EvaluationRefused as err:
        already = "already" in str(err)
        turn.say("eval.reason_already" if already else "eval.reason_closed", number=number)
        return
    except CaseRuleError as err:
        refusal(turn, err, number)
        return
    turn.say("eval.thanks", number=number)


async def _reason_button(turn: Turn, number: str, code: str) -> None:
    if code == d.REASON_OTHER:
        level = str(rating_draft(turn.state).get("level") or "")
        if not turn.state.at(FLOW) or rating_draft(turn.state).get("case") != number:
            level = await _level_of(turn, number) or level
        turn.state.start(FLOW, STEP_OTHER, RatingDraft(
            case=number, level=level, asked_at=turn.deps.clock.now().isoformat()))
        turn.say("eval.ask_other", number=number)
        return
    await _give_reason(turn, number, code, None)


async def _level_of(turn: Turn, number: str) -> str | None:
    try:
        detail = await turn.call(turn.cases.get_case, number, turn.seller_id)
    except CaseRuleError:
        return None
    return detail.evaluation.level if detail.evaluation else None


async def _skip(turn: Turn, number: str, level: str | None) -> None:
    turn.state.end()
    level = level or await _level_of(turn, number)
    if level is None:
        turn.say("eval.skipped", number=number)
        return
    turn.say("eval.reason_skipped", number=number, level=evaluation_label(level))


async def on_button(turn: Turn, payload: str) -> bool:
    """``eval:CX-…:<level>``, ``eval:CX-…:why:<code>``, ``eval:CX-…:skip``."""
    parsed = parse(payload)
    if parsed is not None:
        await choose(turn, *parsed)
        return True
    parts = payload.split(":")
    if len(parts) == 4 and parts[0] == "eval" and parts[2] == WHY \
            and parts[3] in d.EVALUATION_REASONS:
        await _reason_button(turn, parts[1], parts[3])
        return True
    if len(parts) == 3 and parts[0] == "eval" and parts[2] == SKIP:
        level = rating_draft(turn.state).get("level") if turn.state.at(FLOW) else None
        await _skip(turn, parts[1], str(level) if level else None)
        return True
    return False


def _question_is_stale(turn: Turn) -> bool:
    try:
        asked = datetime.fromisoformat(str(rating_draft(turn.state).get("asked_at")))
    except ValueError:
        return True
    return turn.deps.clock.now() - asked > timedelta(minutes=REASON_STEP_MINUTES)


async def on_text(turn: Turn) -> bool:
    """The reason for a lower rating, typed."""
    if not turn.state.at(FLOW):
        return False
    if _question_is_stale(turn):
        turn.state.end()
        return False
    number = str(rating_draft(turn.state).get("case"))
    level = str(rating_draft(turn.state).get("level") or "") or None
    if await is_cancel(turn) or plain(turn.text) in _SKIP_WORDS:
        await _skip(turn, number, level)
        return True
    if not turn.text:
        if turn.state.at(FLOW, STEP_OTHER):
            turn.say("eval.ask_other", number=number)
        else:
            turn.say("eval.ask_reason_buttons", number=number,
                     level=evaluation_label(level or ""), buttons=reason_buttons(number))
        return True
    if turn.state.at(FLOW, STEP_OTHER):
        await _give_reason(turn, number, d.REASON_OTHER, turn.text)
        return True
    if await turn.intent() in _REQUEST_INTENTS:
        # "is CX-… reopened?", "I want a real person": a request, not a reason. The rating
        # stays recorded; the message is read as any other.
        turn.state.end()
        return False
    code = reason_from_text(turn.text)
    if code == d.REASON_OTHER and plain(turn.text) == plain(reason_label(d.REASON_OTHER)):
        await _reason_button(turn, number, code)  # "other" typed: ask for the words
        return True
    if code == d.REASON_OTHER and turn.word_count() < 2:
        # "hmm", "?": no reason in that; ask again (the buttons stay the easy way).
        turn.say("eval.ask_reason_buttons", number=number,
                 level=evaluation_label(level or ""), buttons=reason_buttons(number))
        return True
    # The label alone is the reason; anything more is kept as the seller's words.
    only_label = plain(turn.text) == plain(reason_label(code))
    await _give_reason(turn, number, code, None if only_label else turn.text)
    return True
