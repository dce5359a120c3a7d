"""What Frontdoor shows in Slack: the case card (parent message), thread posts, seller DMs.

Pure functions from engine data to Block Kit and mrkdwn; ``parse_action`` reads back the
buttons' ``action_id``/``value`` when an agent presses one.

Button contract (the Slack action handler relies on it):

* status buttons: ``action_id = "case_status:<status>"`` (investigating, pending, resolved,
  closed, declined), ``value`` = case number; a card offers only the moves the rules allow from
  the case's status (``bot.case_rules.status.TRANSITIONS``);
* urgent toggle: ``action_id = "case_urgent:on"`` or ``"case_urgent:off"``, ``value`` = case number;
* assign: ``action_id = "case_assign:me"``, ``value`` = case number (the presser takes the case);
* change type: a select menu, ``action_id = "case_type:select"``, each option's ``value`` =
  ``"<case number>|<case type>"`` (Slack sends the chosen one as ``selected_option``);
* seller DM buttons: ``action_id = "seller_button"``, ``value`` = the button's payload. Slack wants
  action ids unique within a block, so each seller button sits in an actions block of its own.
"""

from __future__ import annotations

import mimetypes
import posixpath
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from bot.case_rules.assignment import SLACK_USER_ID
from bot.case_rules.status import TRANSITIONS
from bot.labels import CASE_TYPES
from bot.messages import Attachment, Reply
from bot.texts import CASE_TYPE_LABELS, CATALOGUE, EVALUATION_LABELS

STATUS_ACTION_PREFIX = "case_status:"
URGENT_ACTION_PREFIX = "case_urgent:"
ASSIGN_ACTION = "case_assign:me"
TYPE_ACTION = "case_type:select"
SELLER_BUTTON_ACTION = "seller_button"
#: For bolt: ``app.action(CASE_ACTION_PATTERN)`` receives every case-card button and menu.
CASE_ACTION_PATTERN = re.compile(r"^case_(status|urgent|assign|type):")

#: The agents' status buttons, in display order.
STATUS_BUTTONS: tuple[tuple[str, str], ...] = (
    ("investigating", "Investigating"),
    ("pending", "Need info from seller"),
    ("resolved", "Resolve"),
    ("closed", "Close"),
    ("declined", "Decline: no further action"),
)
_FINAL_STATUSES = frozenset({"closed", "declined"})

# Block Kit limits (characters).
_HEADER_MAX = 150
_SECTION_MAX = 3000
_BUTTON_TEXT_MAX = 75
_BUTTON_VALUE_MAX = 2000
_FIELDS_MAX = 10
# The seller's reason on the card is a glimpse; the thread has it whole.
_EVALUATION_WORDS_MAX = 300


Block = dict[str, Any]


def escape(text: str) -> str:
    """Escape user text for mrkdwn, so a seller cannot inject links or @channel mentions."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _plain(text: str, limit: int) -> dict[str, Any]:
    return {"type": "plain_text", "text": _cut(text, limit), "emoji": True}


# The case card ------------------------------------------------------------------------------
def render_case_card(card: Mapping[str, Any]) -> tuple[list[Block], str]:
    """Block Kit blocks and the plain-text fallback for a case's parent message.

    ``card`` is the CASE_PARENT payload's ``card`` (see ``bot.relay.Relay.card``). Closed and
    declined cases get no buttons: there is nothing left to do on them.
    """
    number = str(card["number"])
    urgent = bool(card.get("urgent"))
    status = str(card.get("status") or "open")
    title = str(card.get("title") or "")
    header = f"{'🚨 ' if urgent else ''}{number} · {title}" if title else number
    facts = _fact_fields(card)
    # A section holds at most 10 fields: a case with every fact (credits, a reopening, a
    # rating, a move) gets a second section.
    blocks: list[Block] = [{"type": "header", "text": _plain(header, _HEADER_MAX)}] + [
        {"type": "section", "fields": facts[i:i + _FIELDS_MAX]}
        for i in range(0, len(facts), _FIELDS_MAX)]
    if status not in _FINAL_STATUSES:
        blocks.append({"type": "actions", "elements": _case_buttons(number, status, urgent)
                       + [_type_menu(number, card.get("case_type"))]})
    return blocks, case_card_text(card)


def render_moved_card(card: Mapping[str, Any], channel: str,
                      link: str | None) -> tuple[list[Block], str]:
    """The old parent of a case whose type moved it to ``channel``: where it went (a link to
    the new thread once posted), no buttons; its thread stays for the history."""
    number = str(card["number"])
    label = card.get("case_type_label") or CASE_TYPE_LABELS.get(card.get("case_type") or "", "")
    where = f"<#{channel}>" + (f" · <{link}|open the case's new thread>" if link else "")
    text = (f"➡️ {escape(number)} is now a *{escape(str(label))}* case and moved to {where}. "
            "Continue there; this thread stays for the history.")
    blocks: list[Block] = [
        {"type": "header", "text": _plain(f"{number} · moved", _HEADER_MAX)},
        {"type": "section", "text": {"type": "mrkdwn", "text": _cut(text, _SECTION_MAX)}},
    ]
    return blocks, escape(f"{number} moved to another channel")


def case_card_text(card: Mapping[str, Any]) -> str:
    """One-line summary: notifications and clients without Block Kit show this."""
    parts = [str(card["number"]), f"[{card.get('status_label') or card.get('status')}]"]
    if card.get("title"):
        parts.append(str(card["title"]))
    parts.append(f"— {card.get('seller_name') or card.get('seller_id')}")
    if card.get("urgent"):
        parts.append("— URGENT")
    return escape(" ".join(parts))


def _fact_fields(card: Mapping[str, Any]) -> list[dict[str, str]]:
    case_type = card.get("case_type")
    type_label = card.get("case_type_label") or CASE_TYPE_LABELS.get(case_type or "", "Untyped")
    status_label = card.get("status_label") or card.get("status")
    facts: list[tuple[str, str]] = [
        ("Type", escape(str(type_label))),
        ("Status", f"{escape(str(status_label))} (`{card.get('status')}`)"),
        ("Seller", f"{escape(str(card.get('seller_name') or '?'))} (#{card.get('seller_id')})"
                   + (f" · 🌐 {escape(str(card['seller_language']))}"
                      if card.get("seller_language") else "")),
        ("Order", escape(str(card.get("order_id") or "—"))),
        ("Urgent", "🚨 Yes" if card.get("urgent") else "No"),
        ("First response due", _due(card.get("first_response_due"))),
        ("Assignee", agent_mention(card.get("assignee_ref"), card.get("assignee_name"))
         if card.get("assignee_ref") else "Unassigned"),
    ]
    if card.get("first_response_by"):
        facts.append(("First response by", agent_mention(card["first_response_by"])))
    if card.get("resolved_by"):
        facts.append(("Resolved by", agent_mention(card["resolved_by"])))
    if card.get("reopened_from"):
        facts.append(("Reopened from", escape(str(card["reopened_from"]))))
    if card.get("moved_from_link"):
        facts.append(("Moved from", f"<{card['moved_from_link']}|its earlier thread>"))
    if card.get("evaluation"):
        facts.append(("Evaluation", _evaluation(card)))
    # Fields are at most 2000 characters; these stay well within.
    return [{"type": "mrkdwn", "text": f"*{name}*\n{value}"} for name, value in facts]


def _evaluation(card: Mapping[str, Any]) -> str:
    """"So-so — Slow reply", then the seller's own words (shortened) on a line of their own."""
    level = str(card["evaluation"])
    text = escape(EVALUATION_LABELS.get(level, level))
    code = card.get("evaluation_reason")
    if code:
        text += " — " + escape(CATALOGUE.get(f"eval.reason.{code}", str(code)))
    words = card.get("evaluation_words")
    if words:
        text += f"\n_“{escape(_cut(' '.join(str(words).split()), _EVALUATION_WORDS_MAX))}”_"
    return text


def _due(value: Any) -> str:
    if not value:
        return "—"
    try:
        due = datetime.fromisoformat(str(value))
    except ValueError:
        return escape(str(value))
    if due.tzinfo is None:
        due = due.replace(tzinfo=UTC)  # the engine stores UTC
    # Slack renders <!date^...> in each reader's own time zone; the text after | is the fallback.
    fallback = due.strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{int(due.timestamp())}^{{date_short_pretty}} {{time}}|{fallback}>"


def agent_mention(ref: Any, name: Any = None) -> str:
    """A Slack user id as a mention (Slack shows the agent's current name); any other ref
    (a CLI agent's name) as escaped text."""
    text = str(ref)
    if SLACK_USER_ID.match(text):
        return f"<@{text}>"
    return escape(str(name or text))


def _case_buttons(number: str, status: str, urgent: bool) -> list[Block]:
    buttons: list[Block] = []
    allowed = TRANSITIONS.get(status, frozenset())
    for target, label in STATUS_BUTTONS:
        if target not in allowed:
            continue  # the rules refuse it from here (or the case is already there)
        button: Block = {"type": "button", "text": _plain(label, _BUTTON_TEXT_MAX),
                         "action_id": f"{STATUS_ACTION_PREFIX}{target}", "value": number}
        if target == "resolved":
            button["style"] = "primary"
        if target == "declined":
            # Declining is final for the seller (no reopening): ask before doing it.
            button["style"] = "danger"
            button["confirm"] = {
                "title": _plain("Decline this case?", 100),
                "text": {"type": "mrkdwn",
                         "text": f"{escape(number)} will be closed with no further action. "
                                 "The seller cannot reopen it."},
                "confirm": _plain("Decline", 30),
                "deny": _plain("Cancel", 30),
            }
        if target == "closed":
            # A closed case is never edited again (the seller can only reopen it as a new one).
            button["confirm"] = {
                "title": _plain("Close this case?", 100),
                "text": {"type": "mrkdwn",
                         "text": f"{escape(number)} will be closed. The seller can reopen it "
                                 "as a new linked case."},
                "confirm": _plain("Close", 30),
                "deny": _plain("Cancel", 30),
            }
        buttons.append(button)
    buttons.append({"type": "button", "text": _plain("Assign to me", _BUTTON_TEXT_MAX),
                    "action_id": ASSIGN_ACTION, "value": number})
    toggle = "off" if urgent else "on"
    buttons.append({"type": "button", "text": _plain(f"Urgent {toggle}", _BUTTON_TEXT_MAX),
                    "action_id": f"{URGENT_ACTION_PREFIX}{toggle}", "value": number})
    return buttons


def _type_menu(number: str, current: str | None) -> Block:
    """"Change type": every other case type (the value names the case and the type)."""
    options = [{"text": _plain(CASE_TYPE_LABELS.get(case_type, case_type), _BUTTON_TEXT_MAX),
                "value": f"{number}|{case_type}"}
               for case_type in CASE_TYPES if case_type != current]
    return {"type": "static_select", "action_id": TYPE_ACTION,
            "placeholder": _plain("Change type", _BUTTON_TEXT_MAX), "options": options}


def action_value(action: Mapping[str, Any]) -> str:
    """What a case-card action carries: a button's ``value``, a menu's chosen option's."""
    value = action.get("value")
    if value is None:
        chosen = action.get("selected_option")
        value = chosen.get("value") if isinstance(chosen, Mapping) else None
    return value if isinstance(value, str) else ""


def parse_action(action_id: str, value: str) -> tuple[str, str, str]:
    """``(case number, kind, argument)`` of a case-card button press.

    ``("case_status:resolved", "CX-000123")`` -> ``("CX-000123", "status", "resolved")``;
    ``("case_urgent:on", "CX-000123")`` -> ``("CX-000123", "urgent", "on")``;
    ``("case_assign:me", "CX-000123")`` -> ``("CX-000123", "assign", "me")``;
    ``("case_type:select", "CX-000123|payment")`` -> ``("CX-000123", "type", "payment")``.
    Raises ValueError for anything else.
    """
    if not value:
        raise ValueError(f"case action {action_id!r} without a case number")
    if action_id == ASSIGN_ACTION:
        return value, "assign", "me"
    if action_id == TYPE_ACTION:
        number, _, case_type = value.partition("|")
        if number and case_type in CASE_TYPES:
            return number, "type", case_type
    if action_id.startswith(STATUS_ACTION_PREFIX):
        status = action_id.removeprefix(STATUS_ACTION_PREFIX)
        if status in {target for target, _ in STATUS_BUTTONS}:
            return value, "status", status
    elif action_id.startswith(URGENT_ACTION_PREFIX):
        toggle = action_id.removeprefix(URGENT_ACTION_PREFIX)
        if toggle in ("on", "off"):
            return value, "urgent", toggle
    raise ValueError(f"not a case action: {action_id!r}")


# Thread posts -------------------------------------------------------------------------------
def thread_post_text(text: str, author: str,
                     attachments: Sequence[Attachment | Mapping[str, Any]] = (),
                     mentions: Sequence[str] = ()) -> str:
    """mrkdwn for a message relayed into a case thread: author, text, one line per file.

    Files are described, not embedded: the Telegram download URL contains the bot token and
    must never be posted. ``mentions`` (Slack user ids; anything else is dropped) follow the
    text as real mentions, so the agents named are notified; the text itself stays escaped.
    """
    named = " ".join(f"<@{m}>" for m in mentions if SLACK_USER_ID.match(str(m)))
    text = f"{escape(text)} {named}".strip() if named else escape(text)
    lines = [f"*{escape(author)}*: {text}" if text else f"*{escape(author)}*"]
    for item in attachments:
        attachment = item if isinstance(item, Attachment) else Attachment.from_dict(item)
        lines.append(attachment_line(attachment))
    return "\n".join(lines)


def attachment_line(attachment: Attachment) -> str:
    """``📎 document report.pdf (1.2 MB, application/pdf) · file_id `BQAC...```."""
    label = attachment.kind
    if attachment.file_name or attachment.url:
        name = escape(attachment.file_name or attachment.kind)
        label += " " + (f"<{attachment.url}|{name}>" if attachment.url else name)
    details = [d for d in (_size(attachment.size), attachment.mime_type) if d]
    suffix = f" ({escape(', '.join(details))})" if details else ""
    return f"📎 {label}{suffix} · file_id `{escape(attachment.file_id)}`"


def upload_filename(attachment: Attachment, stored_name: str | None = None) -> str:
    """The file name for a copy of ``attachment`` uploaded into Slack.

    The seller's own name if the platform passed it on (documents), else the kind with the
    extension of the platform's stored name (``file_12.jpg``) or of the MIME type:
    ``photo.jpg``, ``voice.ogg``.
    """
    if attachment.file_name and attachment.file_name.strip():
        return attachment.file_name.strip()
    ext = posixpath.splitext(stored_name or "")[1]
    if not ext and attachment.mime_type:
        ext = _EXTENSIONS.get(attachment.mime_type) or (
            mimetypes.guess_extension(attachment.mime_type) or "")
    return f"{attachment.kind}{ext}"


# Preferred extensions where ``mimetypes`` picks an unusual one (``.oga``, ``.jpe``).
_EXTENSIONS = {"audio/ogg": ".ogg", "image/jpeg": ".jpg", "video/mp4": ".mp4"}


def file_not_copied_text(attachment: Attachment, source: str, reason: str) -> str:
    """The thread note when a seller's file could not be copied into Slack.

    The message above it still has the file's details (``attachment_line``), so nothing is
    lost: an agent can ask the seller to send it again, or find it by its file_id.
    """
    name = f" _{escape(attachment.file_name)}_" if attachment.file_name else ""
    return (f"⚠️ Could not copy the seller's {escape(attachment.kind)}{name} "
            f"from {escape(source.title())} into this thread: "
            f"{escape(reason)}. Its details are in the message above "
            f"(file_id `{escape(attachment.file_id)}`).")


def _size(size: int | None) -> str | None:
    if size is None:
        return None
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KB"
    return f"{size / (1024 * 1024):.1f} MB"


# Seller DMs ---------------------------------------------------------------------------------
def reply_blocks(reply: Reply) -> list[Block]:
    """A seller-bound reply in a Slack DM: its text, then one button per actions block."""
    blocks: list[Block] = [{"type": "section",
                            "text": {"type": "mrkdwn", "text": _cut(escape(reply.text) or "…",
                                                                     _SECTION_MAX)}}]
    for button in reply.buttons:
        if len(button.payload) > _BUTTON_VALUE_MAX:
            raise ValueError(f"button payload over {_BUTTON_VALUE_MAX} characters")
        blocks.append({"type": "actions", "elements": [{
            "type": "button", "text": _plain(button.label, _BUTTON_TEXT_MAX),
            "action_id": SELLER_BUTTON_ACTION, "value": button.payload,
        }]})
    return blocks


def text_blocks(text: str) -> list[Block]:
    """A plain message as blocks (used to replace a DM's blocks on edit, dropping buttons)."""
    return [{"type": "section", "text": {"type": "mrkdwn",
                                         "text": _cut(escape(text) or "…", _SECTION_MAX)}}]
