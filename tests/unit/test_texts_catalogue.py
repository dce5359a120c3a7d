"""Every text the code asks for exists in the catalogue (a missing key is a crash in a chat)."""

from __future__ import annotations

import importlib
import pkgutil
import re
import string
from pathlib import Path

import pytest

import bot
from bot import domain as d
from bot.cases import TRANSITIONS
from bot.texts import CATALOGUE, t

ROOT = Path(__file__).resolve().parents[2]
# t("key", ...) and turn.say("key", ...): the catalogue's keys are dotted lower-case names.
_KEY_CALL = re.compile(r"""\b(?:t|say)\(\s*["']([a-z_]+(?:\.[a-z0-9_]+)+)["']""")


def _load_every_bot_module() -> None:
    # Some modules add their own group of texts on import (texts.register).
    for info in pkgutil.walk_packages(bot.__path__, "bot."):
        importlib.import_module(info.name)


def _keys_used() -> dict[str, list[str]]:
    used: dict[str, list[str]] = {}
    for folder in ("bot", "adapters", "frontdoor"):
        for path in (ROOT / folder).rglob("*.py"):
            for key in _KEY_CALL.findall(path.read_text(encoding="utf-8")):
                used.setdefault(key, []).append(str(path.relative_to(ROOT)))
    return used


def test_every_literal_key_exists() -> None:
    _load_every_bot_module()
    used = _keys_used()
    assert len(used) > 50, "the scan found too few keys: is the pattern still right?"
    missing = {key: files for key, files in used.items() if key not in CATALOGUE}
    assert missing == {}


def test_every_status_a_case_can_reach_has_a_seller_notice() -> None:
    reachable = set().union(*TRANSITIONS.values())
    # open: not announced (same plain label as investigating); declined and resolved have
    # their own texts.
    for status in reachable - {d.OPEN, d.DECLINED, d.RESOLVED}:
        assert f"status.{status}" in CATALOGUE
    for key in ("status.declined", "status.declined_no_reason", "status.resolved"):
        assert key in CATALOGUE


@pytest.mark.parametrize("key", sorted(CATALOGUE))
def test_texts_are_well_formed_templates(key: str) -> None:
    fields = [name for _, name, _, _ in string.Formatter().parse(CATALOGUE[key]) if name]
    filled = t(key, **{name.split(".")[0].split("[")[0]: "X" for name in fields})
    assert filled.strip()
