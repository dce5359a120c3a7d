"""Typed answers (bot.dialogue.answers) and the placement decision (bot.dialogue.placement),
on their own: what reads as a rating, a yes, a no, a choice, an acknowledgement, or a reason
worth keeping; and where a message goes given the conversation's cases."""

from __future__ import annotations

import pytest

from bot.dialogue import answers
from bot.dialogue.context import Candidate, CaseFacts
from bot.dialogue.placement import ADD, ASK, INTAKE, place
from bot.messages import Button


@pytest.mark.parametrize(("text", "expected"), [
    ("terrible, nobody even answered me", ("disappointing", "nobody even answered me")),
    ("So-so", ("so_so", "")),
    ("so so, it took a while", ("so_so", "it took a while")),
    ("Very Disappointing", ("disappointing", "")),
    ("worthy of a like", ("like", "")),
    ("honestly it was terrible", ("disappointing", "")),
    ("it wasn't helpful", ("disappointing", "")),
    ("not bad", ("so_so", "")),
    ("not good at all", ("disappointing", "at all")),
    ("great job", ("like", "")),
    ("I'd like to add a photo of the label", None),
    ("the buyer is happy now", None),
    ("4", None),
])
def test_ratings_in_words(text: str, expected: tuple[str, str] | None) -> None:
    assert answers.rating(text) == expected


@pytest.mark.parametrize(("text", "level"), [
    ("5/5", "like"), ("4/5", "like"), ("3 stars", "so_so"), ("2 stars", "disappointing"),
    ("9/10", "like"), ("4", None), ("6/5", None),
])
def test_ratings_in_stars(text: str, level: str | None) -> None:
    assert answers.rating_from_stars(text) == level


@pytest.mark.parametrize(("text", "yes", "no"), [
    ("yes", True, False),
    ("yes please open it", True, False),
    ("yeah that's it", True, False),
    ("go ahead", True, False),
    ("yes but the buyer complained again", False, False),
    ("no", False, True),
    ("no it didn't help", False, True),
    ("nope, it's a different issue", False, True),
    ("not really", False, True),
    ("no tracking number was given by the carrier", False, False),
    ("DHL Express", False, False),
])
def test_yes_and_no_with_words_around_them(text: str, yes: bool, no: bool) -> None:
    assert (answers.reads_as_yes(text), answers.reads_as_no(text)) == (yes, no)


@pytest.mark.parametrize(("text", "ack"), [
    ("ok", True), ("got it", True), ("👍", True), ("ok thanks", True), ("noted", True),
    ("ok the parcel arrived", False), ("4", False),
])
def test_acknowledgements(text: str, ack: bool) -> None:
    assert answers.is_acknowledgement(text) is ack


def test_wordless_messages_have_nothing_to_read() -> None:
    assert not answers.has_words("4")
    assert not answers.has_words("?? ...")
    assert answers.has_words("4 parcels")


MENU = [Button("Orders", "type:order"), Button("Payments", "type:payment"),
        Button("Something else", "type:other")]
WHICH = [Button("Add to CX-000001", "pick:CX-000001"), Button("Add to CX-000002", "pick:CX-000002"),
         Button("It's a new issue", "pick:new")]
ADDED = [Button("↩️ Undo / it's something else", "undo:17")]


@pytest.mark.parametrize(("text", "offered", "payload"), [
    ("payments", MENU, "type:payment"),
    ("the payments one", MENU, "type:payment"),
    ("the second one", MENU, "type:payment"),
    ("last one", MENU, "type:other"),
    ("the first one", WHICH, "pick:CX-000001"),
    ("a new issue", WHICH, "pick:new"),
    ("none of them", WHICH, "pick:new"),
    ("undo", ADDED, "undo:17"),
    ("wrong case", ADDED, "undo:17"),
    ("the fifth one", MENU, None),
    ("my payout is late again", MENU, None),
    ("undo", MENU, None),
])
def test_short_answers_pick_an_offered_button(text: str, offered: list[Button],
                                              payload: str | None) -> None:
    assert answers.pick(text, offered, "undo:", frozenset({"pick:new"})) == payload


@pytest.mark.parametrize(("text", "more"), [
    ("this is really urgent pls, i need the money to pay my supplier", True),
    ("urgent: buyer furious", True),
    ("please keep it open, I am waiting for the courier report next week", True),
    ("please flag CX-000001 as urgent", False),
    ("keep it open please, I need a few more days", False),
    ("I want to talk to a real person now", False),
])
def test_words_beyond_the_action(text: str, more: bool) -> None:
    assert answers.carries_more(text) is more


SHIPPING = CaseFacts("CX-000001", "shipping", "123-1234567-1234567")
PAYMENT = CaseFacts("CX-000002", "payment", None)
LISTING = CaseFacts("CX-000003", "listing", None)
UNTYPED = CaseFacts("CX-000004", None, None)


@pytest.mark.parametrize(("candidates", "case_type", "order", "expected"), [
    ([Candidate(SHIPPING, False)], None, None, (ADD, "CX-000001", None)),
    ([Candidate(SHIPPING, False)], "shipping", "123-1234567-1234567", (ADD, "CX-000001", None)),
    ([Candidate(SHIPPING, False)], None, "240518K7QW93XZ", (INTAKE, None, "shipping")),
    ([Candidate(SHIPPING, False)], "payment", None, (INTAKE, None, "payment")),
    ([Candidate(SHIPPING, False)], "order", None, (ASK, "CX-000001", "order")),
    ([Candidate(PAYMENT, True)], "listing", None, (ASK, "CX-000002", "listing")),
    ([Candidate(PAYMENT, True), Candidate(SHIPPING, False)], "shipping", None,
     (ADD, "CX-000001", None)),
    ([Candidate(PAYMENT, True), Candidate(SHIPPING, False)], None, None,
     (ADD, "CX-000002", None)),
    ([Candidate(LISTING, False)], None, "240518K7QW93XZ", (ASK, "CX-000003", None)),
    ([Candidate(UNTYPED, False)], "payment", None, (ASK, "CX-000004", "payment")),
    ([Candidate(UNTYPED, False)], None, None, (ADD, "CX-000004", None)),
])
def test_placement(candidates: list[Candidate], case_type: str | None, order: str | None,
                   expected: tuple[str, str | None, str | None]) -> None:
    where = place(candidates, case_type, order)
    assert (where.kind, where.number, where.case_type) == expected
