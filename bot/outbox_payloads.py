"""What each kind of outbox item carries (`bot.outbox` names the kinds).

Payloads are stored as JSON, so they are TypedDicts: the rules build them with these
constructors and mypy refuses a misspelt or missing key. Senders read them back from the
stored JSON (``OutboundItem.payload``). Files are `bot.messages.Attachment.as_dict()`; a
case card is `bot.relay.Relay.card`.
"""

from __future__ import annotations

from typing import Any, NotRequired, TypedDict

from bot import outbox as ob

#: `Attachment.as_dict()`: kind, file_id, file_name, mime_type, size, url, source.
FileFacts = dict[str, Any]


class ReplyFacts(TypedDict):
    """`bot.messages.Reply.as_dict()`."""

    text: str
    buttons: list[dict[str, str]]  # label, payload
    case_number: str | None


# Seller-bound kinds --------------------------------------------------------------------------
class SellerMessagePayload(TypedDict):
    """``seller.message``: a reply to the seller's chat."""

    address: str
    reply: ReplyFacts
    case_message_id: int | None
    agent_ts: NotRequired[str]  # the agent's thread message it relays (its ✅ goes there)
    agent_channel: NotRequired[str]  # the channel of that message


class SellerEditPayload(TypedDict):
    """``seller.edit``: the seller's copy of a message changes (an agent edited it, or a
    rating prompt is closed). The platform message is found at delivery when not given."""

    address: str
    text: str
    platform_message_id: NotRequired[str]
    case_message_id: NotRequired[int]


class SellerFilePayload(TypedDict):
    """``seller.file``: one file an agent shared, after the reply's text."""

    address: str
    attachment: FileFacts
    caption: str
    case_number: str
    case_message_id: int | None


class SellerDeletePayload(TypedDict):
    """``seller.delete``: an agent deleted a relayed message; take the seller's copy back.
    ``file``: the copy is one of the message's files (a Slack DM's is a file the bot shared,
    deleted with ``files.delete``; ``platform_message_id`` is then its file id).
    ``partial``: another copy of the message could not be taken back (the thread was told
    so), so this one's success is not announced as the message's deletion."""

    address: str
    platform_message_id: str
    case_message_id: int
    file: NotRequired[bool]
    partial: NotRequired[bool]


# Agent-bound kinds ---------------------------------------------------------------------------
class CaseParentPayload(TypedDict):
    """``agents.case_parent``: the case's card, posted once, then updated in place."""

    card: dict[str, Any]
    channel: str | None


class ThreadPostPayload(TypedDict):
    """``agents.thread_post``: a message in the case's thread."""

    text: str
    author: str
    attachments: list[FileFacts]
    case_message_id: int | None
    mentions: NotRequired[list[str]]  # agents the post notifies


class ThreadFilePayload(TypedDict):
    """``agents.thread_file``: a seller's file copied into the thread, after its post."""

    source: str  # the channel the file is fetched from
    attachment: FileFacts
    case_message_id: int | None


class ReactionPayload(TypedDict):
    """``agents.reaction``: a reaction (the ✅) on a thread message."""

    name: str
    target_ts: str
    channel: NotRequired[str]  # the message's channel when not the case's thread


class ChannelPostPayload(TypedDict):
    """``agents.channel_post``: a top-level message in an agents' channel."""

    channel: str
    text: str
    blocks: NotRequired[list[dict[str, Any]]]
    actions: NotRequired[list[dict[str, str]]]  # buttons: label, action_id, value, style


class AssignNextPayload(TypedDict):
    """``agents.assign_next``: who in the agents' pool takes the case now."""

    group: str
    reason: str  # bot.outbox.ASSIGN_NEW_CASE | ASSIGN_ESCALATION


class ParentMovedPayload(TypedDict):
    """``agents.parent_moved``: the old parent says where the case went."""

    channel: str
    ts: str
    card: dict[str, Any]
    to_channel: str
    link_base: str


#: The payload type of every kind of item.
PAYLOAD_TYPES: dict[str, type] = {
    ob.SELLER_MESSAGE: SellerMessagePayload,
    ob.SELLER_EDIT: SellerEditPayload,
    ob.SELLER_FILE: SellerFilePayload,
    ob.SELLER_DELETE: SellerDeletePayload,
    ob.CASE_PARENT: CaseParentPayload,
    ob.THREAD_POST: ThreadPostPayload,
    ob.THREAD_FILE: ThreadFilePayload,
    ob.THREAD_REACTION: ReactionPayload,
    ob.CHANNEL_POST: ChannelPostPayload,
    ob.ASSIGN_NEXT: AssignNextPayload,
    ob.PARENT_MOVED: ParentMovedPayload,
}
