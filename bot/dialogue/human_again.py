"""What the seller hears when they ask for a person a second time: when they first asked and
whether someone from the team has answered since, instead of the first promise again."""

from __future__ import annotations

from datetime import datetime, timedelta

from bot import i18n
from bot.case_rules.results import HumanRequest
from bot.dialogue.common import excerpt
from bot.dialogue.turn import Turn
from bot.messages import Reply
from bot.texts import t

_QUOTE_CHARS = 160


def ago(delta: timedelta) -> str:
    """ "just now", "5 minutes ago", "an hour ago", "3 hours ago", "2 days ago"."""
    minutes = int(delta.total_seconds() // 60)
    if minutes < 2:
        return t("time_ago.just_now")
    if minutes < 60:
        return t("time_ago.minutes", count=minutes)
    hours = minutes // 60
    if hours == 1:
        return t("time_ago.hour")
    if hours < 48:
        return t("time_ago.hours", count=hours)
    days = hours // 24
    return t("time_ago.days", count=days)


def _stamp(when: datetime) -> str:
    return i18n.when(when)


def say_asked_again(turn: Turn, request: HumanRequest) -> None:
    """One reply: when they asked, whether (and how) someone answered, whether the team was
    told of this repeat."""
    assert request.first_asked_at is not None, "the first request gets the promise instead"
    case, first, answer = request.case, request.first_asked_at, request.answer
    now = turn.deps.clock.now()
    quote = ""
    if answer is None:
        text = t("human.again_unanswered", number=case.number, ago=ago(now - first),
                 when=_stamp(first))
    else:
        quote = (t("human.again_reply_quote", text=excerpt(answer.text, _QUOTE_CHARS))
                 if answer.text.strip() else "")
        text = t("human.again_answered", number=case.number, ago=ago(now - first),
                 when=_stamp(first), who=answer.author_name or t("human.someone"),
                 answered_ago=ago(now - answer.created_at), reply=quote)
    if request.agents_told:
        text += ("\n" if quote else " ") + t("human.again_told_team")
    turn.reply_with(Reply(text, (), case.number))
