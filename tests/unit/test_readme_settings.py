"""The README's configuration reference names every setting (issue: every variable, its default)."""

from __future__ import annotations

from pathlib import Path

from frontdoor.settings import Settings

README = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")


def test_every_setting_is_in_the_readme() -> None:
    names = Settings.variable_names()
    assert len(names) > 30
    # Per case type channels are documented once, as SLACK_CHANNEL_<CASE_TYPE>.
    missing = [n for n in names
               if f"`{n}`" not in README and not n.startswith("SLACK_CHANNEL_")]
    assert missing == []
    assert "`SLACK_CHANNEL_<CASE_TYPE>`" in README
