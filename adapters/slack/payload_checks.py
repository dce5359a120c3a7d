"""What a Slack request must look like before bolt's listeners see it.

The listeners in `bolt_app` read fields as Slack documents them (``body["user"]["id"]``...);
a request signed with the right secret but missing one of them, or carrying an id that
cannot be stored, can never be processed. `problem_with` finds that first, so the request
is refused with 400 and the reason instead of failing inside bolt with a 500.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from adapters.inbound_checks import (
    MAX_EVENT_ID_CHARS,
    MalformedPayload,
    check_id,
    check_nesting,
    required_object,
    required_string,
)
from adapters.slack.cards import (
    CASE_ACTION_PATTERN,
    SELLER_BUTTON_ACTION,
    action_value,
    parse_action,
)

#: The modal an agent fills in to decline a case (see `bolt_app`).
DECLINE_CALLBACK = "decline_reason"
#: "slack:" goes in front of an Events API event id when it is stored.
_EVENT_ID_CHARS = MAX_EVENT_ID_CHARS - len("slack:action:")


def problem_with(body: Any) -> str | None:
    """Why bolt's listeners could not process ``body`` (the request as bolt parsed it), or
    None if they can."""
    try:
        _check(body)
    except MalformedPayload as exc:
        return exc.reason
    return None


def _check(body: Any) -> None:
    if not isinstance(body, Mapping):
        raise MalformedPayload("body is not a JSON object")
    check_nesting(body)
    _optional_list_of_objects(body, "authorizations", "request")
    for key in ("team", "enterprise", "channel", "user", "container"):
        _optional_object(body, key, "request")
    kind = body.get("type")
    if "command" in body:
        _check_command(body)
    elif kind == "url_verification":
        required_string(body, "challenge", "URL verification")
    elif kind == "event_callback":
        check_id(body.get("event_id"), "event id", _EVENT_ID_CHARS)
        _check_event(required_object(body, "event", "event callback"))
    elif kind == "block_actions":
        _check_block_actions(body)
    elif kind == "view_submission":
        _check_view_submission(body)
    elif not isinstance(kind, str) or not kind:
        raise MalformedPayload("neither an event, an interaction nor a slash command")
    # Other well-formed kinds (a shortcut, an event type we did not subscribe to) have no
    # listener: bolt answers them itself (404), which is not an error of ours.


def _check_command(body: Mapping[str, Any]) -> None:
    required_string(body, "command", "slash command")
    check_id(body.get("user_id"), "slash command's user id")
    _optional_string(body, "text", "slash command")
    for key in ("channel_id", "team_id", "trigger_id", "response_url"):
        _optional_string(body, key, "slash command")


def _check_event(event: Mapping[str, Any]) -> None:
    required_string(event, "type", "event")
    if event["type"] != "message":
        return
    where = "message event"
    for key in ("subtype", "channel_type", "bot_id"):
        _optional_string(event, key, where)
    _check_message(event, where)
    check_id(event.get("channel"), f"{where}'s channel")
    if event.get("subtype") == "message_changed":
        _check_message(required_object(event, "message", where), "edited message")
        # A tombstone (a deleted thread parent) is read with the message it replaced.
        _check_message(_object_if_present(event, "previous_message", where), "message before the edit")
    elif event.get("subtype") == "message_deleted":
        check_id(event.get("deleted_ts"), f"{where}'s deleted_ts")
        _check_message(_object_if_present(event, "previous_message", where), "deleted message")
    elif not event.get("bot_id") and event.get("subtype") in (None, "file_share",
                                                              "thread_broadcast"):
        check_id(event.get("user"), f"{where}'s user")  # a person wrote: who?


def _check_message(message: Mapping[str, Any], where: str) -> None:
    _optional_string(message, "text", where)
    for key in ("user", "ts", "thread_ts"):
        if message.get(key) is not None:
            check_id(message[key], f"{where}'s {key}")
    if message.get("bot_id") is not None and not isinstance(message["bot_id"], str):
        raise MalformedPayload(f"{where}: bot_id is not a string")
    for file in _optional_list_of_objects(message, "files", where):
        check_id(file.get("id"), f"{where}'s file id")
        for key in ("name", "mimetype", "url_private", "permalink"):
            _optional_string(file, key, f"{where}'s file")
        size = file.get("size")
        if size is not None and (isinstance(size, bool) or not isinstance(size, int)):
            raise MalformedPayload(f"{where}: a file's size is not an integer")


def _check_block_actions(body: Mapping[str, Any]) -> None:
    where = "button press"
    check_id(required_object(body, "user", where).get("id"), f"{where}'s user id")
    required_string(body, "trigger_id", where)
    if body.get("channel") is not None:
        check_id(_object_if_present(body, "channel", where).get("id"), f"{where}'s channel id")
    actions = body.get("actions")
    if not isinstance(actions, list) or not actions or not isinstance(actions[0], Mapping):
        raise MalformedPayload(f"{where}: no actions")
    action = actions[0]
    action_id = required_string(action, "action_id", where)
    _optional_string(action, "value", where)
    if action.get("action_ts") is not None:
        check_id(action["action_ts"], f"{where}'s action_ts")
    if CASE_ACTION_PATTERN.match(action_id):
        try:
            number, _, _ = parse_action(action_id, action_value(action))
        except ValueError as exc:
            raise MalformedPayload(f"{where}: {exc}") from None
        check_id(number, f"{where}'s case number")
    elif action_id == SELLER_BUTTON_ACTION:
        required_string(action, "value", where)


def _check_view_submission(body: Mapping[str, Any]) -> None:
    where = "form submission"
    check_id(required_object(body, "user", where).get("id"), f"{where}'s user id")
    view = required_object(body, "view", where)
    required_string(view, "type", where)  # bolt's matchers read it
    if required_string(view, "callback_id", where) != DECLINE_CALLBACK:
        return
    check_id(view.get("private_metadata"), f"{where}'s case number")
    state = required_object(view, "state", where)
    values = required_object(state, "values", where)
    reason = required_object(required_object(values, "reason", where), "reason", where)
    _optional_string(reason, "value", where)


# Field helpers ------------------------------------------------------------------------------
def _optional_object(parent: Mapping[str, Any], key: str, where: str) -> None:
    value = parent.get(key)
    # Slash commands and some events carry these as plain id strings.
    if value is not None and not isinstance(value, Mapping | str):
        raise MalformedPayload(f"{where}: {key} is neither an object nor a string")


def _object_if_present(parent: Mapping[str, Any], key: str, where: str) -> Mapping[str, Any]:
    """``parent[key]`` where only an object makes sense: it, {} if absent, else refused."""
    value = parent.get(key)
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise MalformedPayload(f"{where}: {key} is not an object")
    return value


def _optional_list_of_objects(parent: Mapping[str, Any], key: str,
                              where: str) -> list[Mapping[str, Any]]:
    value = parent.get(key)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, Mapping) for item in value):
        raise MalformedPayload(f"{where}: {key} is not a list of objects")
    return value


def _optional_string(parent: Mapping[str, Any], key: str, where: str) -> None:
    if parent.get(key) is not None and not isinstance(parent[key], str):
        raise MalformedPayload(f"{where}: {key} is not a string")
