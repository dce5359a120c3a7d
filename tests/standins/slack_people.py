"""The stand-in's answers about people: Slack user groups (``usergroups.users.list``) and
presence (``users.getPresence``), kept in dicts a test fills through ``SlackStandIn``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.standins import HandlerResult

Handler = Callable[[dict[str, Any]], HandlerResult]


def usergroup_users_handler(groups: dict[str, list[str]]) -> Handler:
    """``usergroups.users.list``: the group's active members, ``no_such_subteam`` if unknown."""

    def handle(params: dict[str, Any]) -> HandlerResult:
        group = str(params.get("usergroup") or "")
        if group not in groups:
            return 200, {"ok": False, "error": "no_such_subteam"}
        return 200, {"ok": True, "users": list(groups[group])}

    return handle


def presence_handler(presence: dict[str, str]) -> Handler:
    """``users.getPresence``: "active" unless a test said otherwise."""

    def handle(params: dict[str, Any]) -> HandlerResult:
        user = str(params.get("user") or "")
        if not user:
            return 200, {"ok": False, "error": "invalid_arguments"}
        state = presence.get(user, "active")
        return 200, {"ok": True, "presence": state, "online": state == "active"}

    return handle
