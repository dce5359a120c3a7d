"""Pure helpers for copying sellers' files into case threads: the Telegram file URL, the
uploaded file's name, the note when a copy fails, and the attachment's source field."""

from __future__ import annotations

import pytest

from adapters.slack.cards import file_not_copied_text, upload_filename
from adapters.telegram.files import file_base_url
from bot.messages import Attachment


@pytest.mark.parametrize(("api", "files"), [
    ("https://api.telegram.org/bot", "https://api.telegram.org/file/bot"),
    ("http://127.0.0.1:8081/bot", "http://127.0.0.1:8081/file/bot"),
    ("https://tg.example/proxy/bot{token}", "https://tg.example/proxy/file/bot{token}"),
    ("https://tg.example/api/", "https://tg.example/api/file/bot"),
])
def test_file_base_url_sits_beside_the_methods(api: str, files: str) -> None:
    assert file_base_url(api) == files


def test_upload_filename_keeps_the_sellers_name() -> None:
    doc = Attachment("document", "d1", "invoice.pdf", "application/pdf")
    assert upload_filename(doc, "file_7.pdf") == "invoice.pdf"


@pytest.mark.parametrize(("attachment", "stored", "name"), [
    (Attachment("photo", "p1", None, "image/jpeg"), "file_12.jpg", "photo.jpg"),
    (Attachment("photo", "p1", None, "image/jpeg"), None, "photo.jpg"),
    (Attachment("voice", "v1", None, "audio/ogg"), "file_3.oga", "voice.oga"),
    (Attachment("voice", "v1", None, "audio/ogg"), None, "voice.ogg"),
    (Attachment("video", "m1", "  ", "video/mp4"), None, "video.mp4"),
    (Attachment("file", "f1"), None, "file"),
])
def test_upload_filename_without_one(attachment: Attachment, stored: str | None,
                                     name: str) -> None:
    assert upload_filename(attachment, stored) == name


def test_not_copied_note_names_the_file_and_escapes() -> None:
    doc = Attachment("document", "BQAC<1>", "a<b>.pdf", "application/pdf", 25_000_000)
    text = file_not_copied_text(doc, "telegram", "Bad Request: file is too big & old")

    assert text.startswith("⚠️ Could not copy the seller's document _a&lt;b&gt;.pdf_ "
                           "from Telegram into this thread")
    assert "file is too big &amp; old" in text
    assert "file_id `BQAC&lt;1&gt;`" in text and "<" not in text
    unnamed = file_not_copied_text(Attachment("photo", "p1"), "telegram", "gone")
    assert unnamed.startswith("⚠️ Could not copy the seller's photo from Telegram")


def test_attachment_source_round_trips_and_defaults_to_none() -> None:
    photo = Attachment("photo", "p1", None, "image/jpeg", 10, source="telegram")
    assert Attachment.from_dict(photo.as_dict()) == photo
    legacy = {"kind": "photo", "file_id": "p1", "mime_type": "image/jpeg", "size": 10}
    assert Attachment.from_dict(legacy).source is None
