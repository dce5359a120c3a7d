"""A portal form sent twice (a double click, a browser sending it again after it lost the
answer) is applied once: each drawing of a form carries a new submission id
(adapters/web/portal_once.py)."""

from __future__ import annotations

import asyncio
import re
from contextlib import aclosing

import httpx
from sqlalchemy import func, select

from bot import domain as d
from storage.database import Database
from storage.models import CaseMessageRow, ProcessedEventRow
from tests.integration.portal_client import csrf_in, portal_serving, seller_in
from tests.integration.serve_relay_support import ORDER


def form_of(html: str, action: str) -> dict[str, str]:
    """The hidden fields of the page's form posting to ``action``."""
    start = html.index(f'action="{action}"')
    form = html[start:html.index("</form>", start)]
    return dict(re.findall(r'<input type="hidden" name="([a-z_]+)" value="([^"]*)"', form))


def messages_saying(db: Database, text: str) -> int:
    with db.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(CaseMessageRow)
                                  .where(CaseMessageRow.text == text)) or 0)


async def twice(client: httpx.AsyncClient, path: str,
                form: dict[str, str]) -> list[httpx.Response]:
    """The same submission sent twice at once, as a double click does."""
    return list(await asyncio.gather(*(client.post(path, data=form) for _ in range(2))))


async def test_a_reply_sent_twice_is_added_once_and_both_answers_lead_to_the_case(
        db: Database) -> None:
    async with portal_serving(db) as served:
        seller_id, client = await seller_in(served)
        async with aclosing(client):
            number = served.services.cases.open_case(
                seller_id, "shipping", "My parcel never arrived", ORDER).case.number
            page = await client.get(f"/portal/cases/{number}")
            path = f"/portal/cases/{number}/reply"
            form = {**form_of(page.text, path), "text": "Here is the tracking number 1Z999"}
            assert re.fullmatch(r"[0-9a-f]{32}", form["submission"])
            answers = await twice(client, path, form)
            assert [a.status_code for a in answers] == [303, 303]
            assert all(a.headers["location"].startswith(f"/portal/cases/{number}")
                       for a in answers)
            assert messages_saying(db, form["text"]) == 1
            # Sent again later (the browser's back button and "resend"): still once.
            assert (await client.post(path, data=form)).status_code == 303
            assert messages_saying(db, form["text"]) == 1

            # The page drawn again has a new id: the seller may say the same thing twice.
            again = await client.get(f"/portal/cases/{number}")
            second = {**form_of(again.text, path), "text": form["text"]}
            assert second["submission"] != form["submission"]
            assert (await client.post(path, data=second)).status_code == 303
            assert messages_saying(db, form["text"]) == 2
        with db.sessions() as session:
            assert session.scalar(select(func.count()).select_from(ProcessedEventRow).where(
                ProcessedEventRow.source == "portal")) == 2


async def test_keep_open_clicked_twice_spends_one_extension(db: Database) -> None:
    async with portal_serving(db) as served:
        seller_id, client = await seller_in(served)
        async with aclosing(client):
            cases = served.services.cases
            number = cases.open_case(seller_id, "shipping", "My parcel never arrived",
                                     ORDER).case.number
            cases.change_status(number, d.PENDING, reason="need the tracking number")
            page = await client.get(f"/portal/cases/{number}")
            path = f"/portal/cases/{number}/keep-open"
            answers = await twice(client, path, form_of(page.text, path))
            assert [a.status_code for a in answers] == [303, 303]
            assert cases.get_case(number).case.keep_open_count == 1


async def test_adding_to_the_existing_case_twice_adds_once(db: Database) -> None:
    async with portal_serving(db) as served:
        seller_id, client = await seller_in(served)
        async with aclosing(client):
            number = served.services.cases.open_case(
                seller_id, "shipping", "My parcel never arrived", ORDER).case.number
            csrf = csrf_in((await client.get("/portal/cases/new")).text)
            words = "The courier says it was delivered to a neighbour I do not know"
            existing = await client.post("/portal/cases/new", data={
                "csrf_token": csrf, "case_type": "shipping", "order_id": ORDER,
                "description": words, "kb_seen": "1"})
            assert existing.status_code == 200 and number in existing.text
            form = form_of(existing.text, "/portal/cases/new")
            assert form["add_to"] == number and form["description"] == words
            answers = await twice(client, "/portal/cases/new", form)
            assert [a.status_code for a in answers] == [303, 303]
            assert messages_saying(db, words) == 1
