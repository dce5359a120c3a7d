"""Appeals of performance notifications (account health, rule 9): a guided plan of action.

Three parts, asked one at a time and each checked to be present and substantial: the root
cause, the actions already taken, and the prevention. The combined plan becomes the case's
first message, so agents read one well-formed appeal.
"""

from __future__ import annotations

from bot.dialogue import opening
from bot.dialogue.common import CANCEL, OK, excerpt, is_cancel, is_no, is_yes
from bot.dialogue.drafts import intake_draft
from bot.dialogue.turn import Turn
from bot.dialogue.word_count import count_words
from bot.messages import Button, Reply
from bot.texts import t

FLOW = "appeal"
PARTS: tuple[str, ...] = ("root_cause", "actions", "prevention")
REDO = "plan:redo"
# Room left for the headings when the three parts are joined into one message.
_HEADINGS_ALLOWANCE = 400


def begin(turn: Turn) -> None:
    """Enter the plan of action, keeping the intake draft (type, text, attachments)."""
    data = intake_draft(turn.state)
    data.setdefault("plan", {})
    turn.state.start(FLOW, PARTS[0])
    turn.say("appeal.intro")
    _ask(turn, PARTS[0])


def _ask(turn: Turn, part: str) -> None:
    turn.say(f"appeal.ask.{part}")


def _part_limit(turn: Turn) -> int:
    return (turn.config.max_text_chars - _HEADINGS_ALLOWANCE) // len(PARTS)


def _substantial(turn: Turn, text: str, earlier: list[str]) -> bool:
    if len(text) < turn.config.min_plan_part_chars:
        return False
    if count_words(text) < turn.config.min_plan_part_words:  # Chinese has no spaces
        return False
    # The same text pasted into every part is not a plan.
    return text.casefold() not in {e.casefold() for e in earlier}


def plan_text(turn: Turn) -> str:
    data = intake_draft(turn.state)
    plan = data.get("plan", {})
    blocks = [t("appeal.plan_title")]
    if data.get("text"):
        blocks.append(t("appeal.plan_summary", text=data["text"]))
    blocks += [t(f"appeal.plan.{part}", text=plan.get(part, "")) for part in PARTS]
    return "\n\n".join(blocks)


def _confirm(turn: Turn) -> None:
    plan = intake_draft(turn.state).get("plan", {})
    lines = [t("appeal.confirm_title")]
    lines += [t(f"appeal.plan.{part}", text=excerpt(plan.get(part, ""), 200)) for part in PARTS]
    lines.append(t("appeal.confirm_question"))
    turn.reply_with(Reply("\n".join(lines), (Button(t("button.submit_appeal"), OK),
                                      Button(t("button.redo_plan"), REDO),
                                      Button(t("button.cancel"), CANCEL))))
    turn.state.goto("confirm")


async def _submit(turn: Turn) -> None:
    data = intake_draft(turn.state)
    await opening.open_now(turn, "account_health", plan_text(turn), None,
                           list(data.get("att") or []), human=bool(data.get("human")))


async def on_button(turn: Turn, payload: str) -> bool:
    if turn.state.flow != FLOW:
        return False
    if payload == OK and turn.state.step == "confirm":
        await _submit(turn)
    elif payload == REDO:
        intake_draft(turn.state)["plan"] = {}
        turn.state.goto(PARTS[0])
        _ask(turn, PARTS[0])
    elif payload == CANCEL:
        turn.state.end()
        turn.say("flow.cancelled")
    else:
        return False
    return True


async def on_text(turn: Turn) -> bool:
    step = turn.state.step
    data = intake_draft(turn.state)
    data.setdefault("att", []).extend(turn.attachments())
    if await is_cancel(turn):
        turn.state.end()
        turn.say("flow.cancelled")
        return True
    if step == "confirm":
        if await is_yes(turn):
            await _submit(turn)
        elif await is_no(turn):
            turn.state.end()
            turn.say("flow.cancelled")
        else:
            _confirm(turn)
        return True
    if step == opening.SHORTEN_STEP:
        # The joined plan was too long after all: start the parts again, shorter.
        data["plan"] = {}
        turn.state.goto(PARTS[0])
        _ask(turn, PARTS[0])
        return True
    if step not in PARTS:
        return False
    plan: dict[str, str] = data.setdefault("plan", {})
    text = turn.text
    if len(text) > _part_limit(turn):
        turn.say("appeal.part_too_long", length=len(text), limit=_part_limit(turn))
        return True
    earlier = [plan[p] for p in PARTS if p in plan and p != step]
    if not _substantial(turn, text, earlier):
        turn.say(f"appeal.thin.{step}", chars=turn.config.min_plan_part_chars)
        return True
    plan[step] = text
    index = PARTS.index(step)
    if index + 1 < len(PARTS):
        turn.state.goto(PARTS[index + 1])
        _ask(turn, PARTS[index + 1])
    else:
        _confirm(turn)
    return True
