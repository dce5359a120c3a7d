"""The console prints where it saved an agent's file, fetched from the Slack stand-in."""

from __future__ import annotations

import io
from pathlib import Path

from adapters.console import ConsoleSender
from adapters.slack.file_download import SlackFileDownload
from bot.outbox import SELLER_FILE, OutboundItem
from tests.standins.slack_api import SlackStandIn

CONTENT = b"%PDF-1.7\n" + bytes(range(256)) * 4


def _item(file: dict[str, object]) -> OutboundItem:
    attachment = {"kind": "file", "file_id": file["id"], "file_name": file["name"],
                  "mime_type": file["mimetype"], "size": file["size"],
                  "url": file["url_private"]}
    return OutboundItem(1, "console", SELLER_FILE,
                        {"address": "term-ann", "attachment": attachment,
                         "caption": "📎 CX-000001: label.pdf"})


async def test_console_saves_the_file_and_prints_its_path(tmp_path: Path) -> None:
    async with SlackStandIn() as slack:
        file = slack.host_file("label.pdf", CONTENT, "application/pdf")
        out = io.StringIO()
        sender = ConsoleSender(out=out, address="term-ann",
                               agent_files=SlackFileDownload("xoxb-test", ["127.0.0.1"]),
                               downloads=tmp_path / "downloads")

        first = await sender.deliver(_item(file))
        second = await sender.deliver(_item(file))

    assert first.ok and second.ok
    saved = sorted((tmp_path / "downloads").iterdir())
    assert [p.name for p in saved] == ["label-1.pdf", "label.pdf"]
    assert saved[1].read_bytes() == CONTENT
    assert f"saved to {saved[1]}" in out.getvalue()


async def test_console_refuses_a_foreign_host(tmp_path: Path) -> None:
    async with SlackStandIn() as slack:
        file = slack.host_file("label.pdf", CONTENT, "application/pdf")
        file["url_private"] = str(file["url_private"]).replace("127.0.0.1", "localhost")
        sender = ConsoleSender(out=io.StringIO(), address="term-ann",
                               agent_files=SlackFileDownload("xoxb-test", ["127.0.0.1"]),
                               downloads=tmp_path)
        result = await sender.deliver(_item(file))
        assert slack.calls("file_download") == []
    assert not result.ok and result.permanent and "localhost" in (result.error or "")
