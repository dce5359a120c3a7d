"""The Slack side, on slack-bolt (async): agents in case threads and on parent buttons, slash
commands for agents, and sellers who DM the app.

Bolt verifies request signatures (HTTP mode) and acks; our handlers turn payloads into engine
types (`AgentMessage`, `SellerMessage`) and hand them to the agent desk or the engine. Nothing
here talks to the database directly. Over HTTP, `http_endpoint` has checked each request's
shape (`payload_checks`) before these handlers see it; texts are stripped of characters no
database takes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.cards import CASE_ACTION_PATTERN, action_value, parse_action
from adapters.slack.connect_files import with_file_details
from adapters.slack.invite_actions import add_invite_actions
from adapters.slack.payload_checks import DECLINE_CALLBACK
from bot.agent_desk import AgentDesk
from bot.cases import CaseService
from bot.dialogue.cleaning import storable
from bot.errors import CaseRuleError
from bot.identifiers import normalise_case_number
from bot.messages import Attachment, SellerMessage
from bot.texts import STATUS_LABELS, t

log = logging.getLogger(__name__)

SellerHandler = Callable[[SellerMessage], Awaitable[object]]


class AgentGate:
    """Who may act as an agent: members of the configured Slack channels (cached briefly)."""

    def __init__(self, client: AsyncWebClient, channels: Iterable[str], ttl: float = 300.0) -> None:
        self.client = client
        self.channels = [c for c in channels if c]
        self.ttl = ttl
        self._members: set[str] = set()
        self._loaded_at = 0.0
        self._lock = asyncio.Lock()

    async def _refresh(self) -> None:
        members: set[str] = set()
        for channel in self.channels:
            cursor = None
            while True:
                resp = await self.client.conversations_members(channel=channel, cursor=cursor,
                                                               limit=1000)
                members.update(resp.get("members", []))
                cursor = (resp.get("response_metadata") or {}).get("next_cursor")
                if not cursor:
                    break
        self._members = members
        self._loaded_at = time.monotonic()

    async def allows(self, user_id: str) -> bool:
        async with self._lock:
            if time.monotonic() - self._loaded_at > self.ttl or user_id not in self._members:
                try:
                    await self._refresh()
                except SlackApiError:
                    log.exception("could not read channel members")
                    return False
        return user_id in self._members


def _text(value: str | None) -> str | None:
    return None if value is None else storable(value)


def _files(event: dict[str, Any], source: str | None = None) -> tuple[Attachment, ...]:
    """The files of a message; ``source`` names the channel to copy them from (a seller's
    DM files are private to the DM), None for agents' files, which stay links.

    A DM file keeps no URL: its ``url_private`` opens only inside the DM, so a link to it in
    the case's thread would lead agents nowhere (the copy is fetched by its id).
    """
    return tuple(
        Attachment(
            kind="photo" if str(f.get("mimetype", "")).startswith("image/") else "file",
            file_id=str(f.get("id", "")), file_name=_text(f.get("name")),
            mime_type=_text(f.get("mimetype")), size=f.get("size"),
            url=None if source else _text(f.get("url_private") or f.get("permalink")),
            source=source,
        )
        for f in event.get("files", []) or []
    )


def _case_summary(cases: CaseService, number: str) -> str:
    detail = cases.get_case(number)
    c = detail.case
    lines = [
        f"*{c.number}* · {c.title}",
        f"Status: {STATUS_LABELS[c.status]} ({c.status}){' · URGENT' if c.urgent else ''}",
        f"Seller: {c.seller_id} · Order: {c.order_id or '-'}",
    ]
    thread = detail.agents_thread
    if thread is not None:
        lines.append(f"Thread: <https://slack.com/archives/{thread.channel}/"
                     f"p{thread.parent_message_id.replace('.', '')}|open>")
    if detail.reopened_from:
        lines.append(f"Reopened from {detail.reopened_from}")
    return "\n".join(lines)


def build_bolt_app(
    client: AsyncWebClient,
    signing_secret: str | None,
    desk: AgentDesk,
    cases: CaseService,
    on_seller_message: SellerHandler,
    agent_channels: Iterable[str],
    case_prefix: str = "CX",
) -> AsyncApp:
    """An AsyncApp wired to the desk (agents) and the engine (sellers in DMs).

    ``signing_secret`` None disables request verification: only for Socket Mode, where Slack
    authenticates the connection instead.
    """
    app = AsyncApp(
        client=client,
        signing_secret=signing_secret,
        request_verification_enabled=signing_secret is not None,
        # Handle before answering Slack: our work is quick and it keeps order and retries simple.
        process_before_response=True,
    )
    gate = AgentGate(client, agent_channels)

    async def run(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        # The rules use a synchronous database session: keep the event loop free.
        return await asyncio.to_thread(func, *args, **kwargs)

    @app.event("message")
    async def on_message(event: dict[str, Any], body: dict[str, Any]) -> None:
        subtype = event.get("subtype")
        event_id = body.get("event_id")
        deleted = _deleted(event)
        if deleted is not None:
            if event.get("channel_type") != "im" and not deleted.get("bot_id"):
                # An agent deleted a message in a case thread: take it back from the seller.
                await run(desk.thread_delete, _agent_message(
                    deleted, str(event.get("channel")), event_id))
            return
        if event.get("bot_id") or subtype in ("bot_message", "message_deleted"):
            return  # never echo bots (our own relayed messages included)
        if event.get("channel_type") == "im":
            if subtype not in (None, "file_share"):
                return
            await on_seller_message(SellerMessage(
                channel="slack", user_id=str(event.get("user")), chat_id=event.get("channel"),
                text=_text(event.get("text")) or "", attachments=_files(event, "slack"),
                platform_message_id=event.get("ts"), reply_to_message_id=event.get("thread_ts"),
                event_id=f"slack:{event_id}" if event_id else None, raw=body,
            ))
            return
        channel = str(event.get("channel"))
        if subtype == "message_changed":
            inner = event.get("message") or {}
            if inner.get("bot_id") or not inner.get("thread_ts"):
                return
            await run(desk.thread_edit, _agent_message(inner, channel, event_id, edited=True))
            return
        if subtype not in (None, "file_share", "thread_broadcast"):
            return
        thread_ts = event.get("thread_ts")
        if not thread_ts or thread_ts == event.get("ts"):
            return  # not a thread reply: channel chatter is not for sellers
        # A refused reply is reported in the thread by the desk, through the outbox.
        event = await with_file_details(client, event)
        await run(desk.thread_message, _agent_message(event, channel, event_id))

    @app.action(CASE_ACTION_PATTERN)
    async def on_case_button(ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        user = body["user"]["id"]
        action = body["actions"][0]
        number, kind, arg = parse_action(action["action_id"], action_value(action))
        if not await gate.allows(user):
            await _ephemeral(client, body, "Only support agents can change cases.")
            return
        if kind == "status" and arg == "declined":
            await client.views_open(trigger_id=body["trigger_id"], view=_decline_view(number))
            return
        name = body["user"].get("name") or body["user"].get("username")
        outcome = await run(desk.button, number, kind, arg, user, None,
                            f"action:{action.get('action_ts')}", _text(name) if name else None)
        if outcome.action == "refused":
            await _ephemeral(client, body, f"Not changed: {outcome.error}")

    add_invite_actions(app, client, cases, gate.allows, run)

    @app.view(DECLINE_CALLBACK)
    async def on_decline(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]) -> None:
        if not await gate.allows(body["user"]["id"]):
            await ack(response_action="errors",
                      errors={"reason": "Only support agents can decline cases."})
            return
        values = view["state"]["values"]
        reason = storable(values["reason"]["reason"].get("value") or "")
        if len(reason.strip()) < 5:
            await ack(response_action="errors",
                      errors={"reason": "Tell the seller why, in a sentence."})
            return
        number = view["private_metadata"]
        outcome = await run(desk.button, number, "status", "declined", body["user"]["id"],
                            reason.strip())
        if outcome.action == "refused":
            # Keep the form open with the reason, so the agent knows nothing changed.
            await ack(response_action="errors",
                      errors={"reason": f"Not declined: {outcome.error}"})
            return
        await ack()

    @app.action("seller_button")
    async def on_seller_button(ack: AsyncAck, body: dict[str, Any],
                               client: AsyncWebClient) -> None:
        await ack()
        action = body["actions"][0]
        chat_id = (body.get("channel") or {}).get("id")
        try:
            await on_seller_message(SellerMessage(
                channel="slack", user_id=body["user"]["id"], chat_id=chat_id,
                button=_text(action.get("value")),
                event_id=f"slack:action:{action.get('action_ts')}", raw=body,
            ))
        except Exception:
            # The turn failed without an answer (the database was away): Slack never sends a
            # press again, so ask the seller to. Straight to the DM: the outbox needs the
            # database that just failed.
            log.warning("a seller's button press in Slack was not processed; asking them to "
                        "press it again", exc_info=True)
            if chat_id:
                with contextlib.suppress(SlackApiError):
                    await client.chat_postMessage(channel=chat_id, text=t("engine.error"))

    @app.command("/case")
    async def on_case_command(ack: AsyncAck, command: dict[str, Any]) -> None:
        if not await gate.allows(command["user_id"]):
            await ack("Only support agents can look up cases.")
            return
        number = normalise_case_number(storable(command.get("text") or ""), case_prefix)
        if number is None:
            await ack(f"Usage: /case {case_prefix}-000123")
            return
        try:
            await ack(await run(_case_summary, cases, number))
        except CaseRuleError as err:
            await ack(str(err))

    @app.command("/cases")
    async def on_cases_command(ack: AsyncAck, command: dict[str, Any]) -> None:
        if not await gate.allows(command["user_id"]):
            await ack("Only support agents can list cases.")
            return
        status = storable(command.get("text") or "").strip() or "in_progress"
        try:
            found = await run(cases.search_cases, status, None, 20)
        except CaseRuleError as err:
            await ack(str(err))
            return
        if not found:
            await ack(f"No cases ({status}).")
            return
        await ack("\n".join(f"*{c.number}* {STATUS_LABELS[c.status]}"
                            f"{' · URGENT' if c.urgent else ''} · {c.title}" for c in found))

    return app


def _agent_message(event: dict[str, Any], channel: str, event_id: str | None,
                   edited: bool = False) -> Any:
    from bot.messages import AgentMessage

    return AgentMessage(
        agent_id=str(event.get("user")), text=_text(event.get("text")) or "",
        thread_ref=f"{channel}:{event.get('thread_ts')}", platform_message_id=event.get("ts"),
        edited=edited, event_id=event_id, raw=event, attachments=_files(event),
    )


def _deleted(event: dict[str, Any]) -> dict[str, Any] | None:
    """The message a deletion event is about (``ts`` the deleted message's), else None.

    Slack says it with ``message_deleted`` (``deleted_ts``, ``previous_message``), or, for a
    message that keeps a place (a thread's parent), ``message_changed`` to a "tombstone".
    """
    subtype = event.get("subtype")
    if subtype == "message_deleted":
        previous = dict(event.get("previous_message") or {})
        return {**previous, "ts": event.get("deleted_ts") or previous.get("ts")}
    inner = event.get("message") or {}
    if subtype == "message_changed" and inner.get("subtype") == "tombstone":
        previous = event.get("previous_message") or {}
        return {**inner, "user": previous.get("user") or inner.get("user")}
    return None


def _decline_view(number: str) -> dict[str, Any]:
    return {
        "type": "modal",
        "callback_id": DECLINE_CALLBACK,
        "private_metadata": number,
        "title": {"type": "plain_text", "text": f"Decline {number}"},
        "submit": {"type": "plain_text", "text": "Decline"},
        "blocks": [{
            "type": "input", "block_id": "reason",
            "label": {"type": "plain_text", "text": "Reason (sent to the seller; final)"},
            "element": {"type": "plain_text_input", "action_id": "reason", "multiline": True},
        }],
    }


async def _ephemeral(client: AsyncWebClient, body: dict[str, Any], text: str) -> None:
    channel = (body.get("channel") or {}).get("id")
    if channel:
        await client.chat_postEphemeral(channel=channel, user=body["user"]["id"], text=text)
