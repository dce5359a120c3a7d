"""What the portal does with files, over HTTP on SQLite and PostgreSQL (the whole `frontdoor
serve` app, a plain HTTP client as the browser): the chat's size and count limits per file,
the server's cap on a whole request (refused in the browser's language), and no file kept
from a message the rules refuse."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import aclosing

import pytest

from bot import domain as d
from storage.database import Database
from tests.integration.portal_client import csrf_of, portal_files, portal_serving, seller_in
from tests.integration.serve_relay_support import ORDER, Served


@pytest.fixture
async def served(db: Database) -> AsyncIterator[Served]:
    async with portal_serving(db) as running:
        yield running


async def test_uploads_keep_the_chats_size_limit(served: Served) -> None:
    seller_id, client = await seller_in(served)
    cases = served.services.cases
    async with aclosing(client):
        number = cases.open_case(seller_id, "shipping", "Parcel lost in transit", ORDER).case.number
        before = len(cases.get_case(number).messages)
        token = await csrf_of(client)
        big = await client.post(f"/portal/cases/{number}/reply", data={
            "text": "the photo", "csrf_token": token},
            files={"files": ("big.jpg", b"x" * 1_000_001, "image/jpeg")})
        assert big.status_code == 413 and "1 MB limit" in big.text
        assert len(cases.get_case(number).messages) == before
        many = await client.post(f"/portal/cases/{number}/reply", data={
            "text": "many", "csrf_token": token},
            files=[("files", (f"f{i}.txt", b"x", "text/plain")) for i in range(6)])
        assert many.status_code == 413 and "at most 5 files" in many.text
        fine = await client.post(f"/portal/cases/{number}/reply", data={
            "text": "", "csrf_token": token},
            files={"files": ("ok.jpg", b"x" * 1_000_000, "image/jpeg")})
        assert fine.status_code == 303
        assert cases.get_case(number).messages[-1].attachments[0]["size"] == 1_000_000
    # The larger cap is the portal's only: a webhook still gets the 1 MB one.
    webhook = await served.http.post("/telegram/webhook", content=b"x" * 1_100_000)
    assert webhook.status_code == 413
    assert "request body too large" in webhook.text


async def test_a_body_over_the_servers_cap_is_refused_in_the_browsers_language(
        served: Served) -> None:
    """An upload past the whole request's cap is refused before any page reads it; the portal's
    readers still get words, in their language (the portal's pages send it)."""
    seller_id, client = await seller_in(served)
    cases = served.services.cases
    async with aclosing(client):
        number = cases.open_case(seller_id, "shipping", "Parcel lost in transit", ORDER).case.number
        before = len(cases.get_case(number).messages)
        # Five files of the 1 MB limit and the form fit the cap (6 MB); this does not.
        for language, words in (("zh-CN,zh;q=0.9", "未发送：内容太大。一次最多可发送 6 MB"),
                                ("en-GB,en", "Not sent: too large. At most 6 MB")):
            refused = await client.post(
                f"/portal/cases/{number}/reply", content=b"x" * 6_100_000,
                headers={"Accept-Language": language, "Content-Type": "multipart/form-data"})
            assert refused.status_code == 413
            assert words in refused.text
        assert len(cases.get_case(number).messages) == before


async def test_files_sent_with_a_refused_message_are_not_kept(served: Served, db: Database,
                                                             ) -> None:
    """A reply or reopen a case rule refuses deletes the files stored with it (right after the
    refusal, by the same request): none stays behind that no case refers to."""
    seller_id, client = await seller_in(served)
    cases = served.services.cases
    async with aclosing(client):
        number = cases.open_case(seller_id, "shipping", "Parcel lost in transit", ORDER).case.number
        token = await csrf_of(client)
        # A reply to a closed case is refused by the rules after the upload: its file goes.
        cases.change_status(number, d.CLOSED, reason="done")
        closed = await client.post(f"/portal/cases/{number}/reply", data={
            "text": "one more thing", "csrf_token": token},
            files={"files": ("late.jpg", b"jpeg", "image/jpeg")})
        assert closed.status_code >= 400, closed.text
        assert portal_files(db) == 0
        # What the rules accept keeps its file.
        fine = await client.post(f"/portal/cases/{number}/reopen", data={
            "text": "still broken", "csrf_token": token},
            files={"files": ("proof.jpg", b"jpeg", "image/jpeg")})
        assert fine.status_code == 303, fine.text
        assert portal_files(db) == 1
