"""The self-help articles speak of the seller's own marketplace (the brand), never of another
marketplace's tools; and a seller meets them in the chat with the brand filled in."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.cases import CaseService
from bot.clock import ManualClock
from bot.knowledge import DEFAULT_PATH, KnowledgeBase
from bot.relay import Relay
from storage.uow import SqlUnitOfWorkFactory
from tests.unit.chat_harness import Chat, make_engine, register

# Other marketplaces' names for their seller tools and programmes.
FOREIGN_TERMS = ("seller central", "amazon", "featured offer", "buy box", "seller hub",
                 "shopee", "daraz", "deposit methods", "stranded")


def test_the_bundled_articles_use_no_other_marketplaces_terms() -> None:
    raw = DEFAULT_PATH.read_text(encoding="utf-8").lower()
    assert [term for term in FOREIGN_TERMS if term in raw] == []
    assert "{brand}" in raw


def test_brand_fills_in_every_article(tmp_path: Path) -> None:
    articles = KnowledgeBase.load(brand="Lankamart")
    texts = [f"{a.title}\n{a.body}" for a in map(articles.article, _types(articles)) if a]
    assert texts and all("{brand}" not in text for text in texts)
    access = articles.article("account_access")
    assert access is not None and access.title == "Can't sign in to your Lankamart seller account?"
    assert "Lankamart" in (articles.article("registration") or access).body
    # An operator's own file may use the placeholder too, and other braces stay as they are.
    own = tmp_path / "kb.yml"
    own.write_text("articles:\n  payment:\n    title: Paid by {brand}\n    body: see {this}\n",
                   encoding="utf-8")
    mine = KnowledgeBase.load(own, brand="Acme Mall").article("payment")
    assert mine is not None and (mine.title, mine.body) == ("Paid by Acme Mall", "see {this}")


def _types(articles: KnowledgeBase) -> list[str]:
    from bot.labels import CASE_TYPES

    return [t for t in CASE_TYPES if articles.article(t) is not None]


@pytest.mark.parametrize("brand", ["Ceylexo", "Lankamart"])
async def test_a_seller_reads_the_article_of_their_marketplace(
        brand: str, service: CaseService, uow_factory: SqlUnitOfWorkFactory, relay: Relay,
        clock: ManualClock) -> None:
    engine = make_engine(service, uow_factory, relay, clock,
                         knowledge=KnowledgeBase.load(brand=brand), brand=brand)
    chat = Chat(engine, uow_factory)
    register(service, chat)
    await chat.say("I forgot my password and the reset email never comes")
    chat.expect(f"Can't sign in to your {brand} seller account?",
                f"on the {brand} seller sign-in page")
    chat.expect_not("Seller Central")
