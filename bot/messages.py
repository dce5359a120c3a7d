"""The engine's own message types. Adapters translate platform payloads into these and back."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from bot.outbox_payloads import ReplyFacts

Channel = Literal["telegram", "slack", "console"]


@dataclass(frozen=True)
class Attachment:
    """Metadata of a file a seller sent; the bytes stay on the platform (``file_id``/``url``).

    ``source`` is the channel whose ``file_id`` this is (e.g. "telegram"): the agents' side
    fetches the bytes from there to copy the file into the case's thread.
    """

    kind: str  # photo | document | voice | video | file
    file_id: str
    file_name: str | None = None
    mime_type: str | None = None
    size: int | None = None
    url: str | None = None
    source: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form for storage and the outbox."""
        return {
            "kind": self.kind,
            "file_id": self.file_id,
            "file_name": self.file_name,
            "mime_type": self.mime_type,
            "size": self.size,
            "url": self.url,
            "source": self.source,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Attachment:
        return cls(
            kind=str(data.get("kind", "file")),
            file_id=str(data.get("file_id", "")),
            file_name=data.get("file_name"),
            mime_type=data.get("mime_type"),
            size=data.get("size"),
            url=data.get("url"),
            source=data.get("source"),
        )


@dataclass(frozen=True)
class Button:
    """A choice offered with a reply. ``payload`` comes back as ``SellerMessage.button``."""

    label: str
    payload: str


@dataclass(frozen=True)
class SellerMessage:
    """One inbound message from a seller (or an unregistered user) on any channel.

    ``user_id`` is the platform's user id; ``chat_id`` where replies go (Telegram chat, Slack
    DM channel). ``button`` is set when the seller pressed a button (its payload).
    ``command``/``command_args`` are set for slash commands (``/case CX-1`` -> "case", "CX-1").
    ``event_id`` identifies the platform delivery so replays are processed once.
    ``raw`` keeps the platform payload as an escape hatch.
    """

    channel: str
    user_id: str
    text: str = ""
    chat_id: str | None = None
    display_name: str | None = None
    button: str | None = None
    command: str | None = None
    command_args: str = ""
    attachments: tuple[Attachment, ...] = ()
    platform_message_id: str | None = None
    reply_to_message_id: str | None = None
    event_id: str | None = None
    raw: Mapping[str, Any] = field(default_factory=dict)
    #: The user's interface language as the platform reports it (Telegram's
    #: ``language_code``, an IETF tag such as "zh-hans"); a new seller's first language.
    language_code: str | None = None

    @property
    def address(self) -> str:
        """Where replies to this user go on its channel."""
        return self.chat_id or self.user_id


@dataclass(frozen=True)
class Reply:
    """One outbound message to a seller, with optional buttons."""

    text: str
    buttons: tuple[Button, ...] = ()
    case_number: str | None = None

    def as_dict(self) -> ReplyFacts:
        return {
            "text": self.text,
            "buttons": [{"label": b.label, "payload": b.payload} for b in self.buttons],
            "case_number": self.case_number,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Reply:
        return cls(
            text=str(data.get("text", "")),
            buttons=tuple(Button(b["label"], b["payload"]) for b in data.get("buttons", [])),
            case_number=data.get("case_number"),
        )


@dataclass(frozen=True)
class AgentMessage:
    """A human agent's message in a case thread (Slack), or from the CLI."""

    agent_id: str
    text: str
    case_number: str | None = None
    thread_ref: str | None = None  # e.g. "C123:1700000000.000100" for a Slack thread parent
    agent_name: str | None = None
    platform_message_id: str | None = None
    edited: bool = False
    event_id: str | None = None
    raw: Mapping[str, Any] = field(default_factory=dict)
    attachments: tuple[Attachment, ...] = ()  # files shared with the message


@dataclass(frozen=True)
class ChatMembership:
    """The platform reports whether the bot may write to a seller's chat: on Telegram, a
    ``my_chat_member`` update when the seller blocks the bot (``reachable`` False) or unblocks
    it (True). ``event_id`` identifies the delivery so replays are processed once."""

    channel: str
    user_id: str
    chat_id: str
    reachable: bool
    event_id: str | None = None
