"""Rules 1 and 4 without holes, as a seller meets them in the chat (issue 11): a declined
issue is refused on every path, two issues of a type without an order are told apart by
their subject, reopening is outside the daily cap and has a window. SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from bot.cases import CaseRules, CaseService
from bot.clock import ManualClock
from tests.unit import chat_harness
from tests.unit.chat_harness import Chat

chat = chat_harness.chat
engine = chat_harness.engine

ORDER = "123-1234567-1234567"
ORDER2 = "240518K7QW93XZ"


async def _open(chat: Chat, text: str) -> None:
    """Describe a new issue and open it (past the self-help article and, should the chat
    think it may belong to the case talked about, the "new issue" choice)."""
    await chat.say(text)
    await _past_the_new_issue_choice(chat)
    await chat.press("Open the case")
    chat.expect("Opened CX-")


async def _past_the_new_issue_choice(chat: Chat) -> None:
    if "It's a new issue" in chat.buttons:
        await chat.press("It's a new issue")
    if "No, I still need help" in chat.buttons:
        await chat.press("No, I still need help")


def _refusals(chat: Chat) -> int:
    return chat.text.count("declined with no further action")


# A declined issue, every path -------------------------------------------------------------
async def test_something_else_naming_a_declined_order_is_refused_once(
        chat: Chat, service: CaseService, clock: ManualClock) -> None:
    await _open(chat, f"my order {ORDER} never arrived, the buyer is waiting since Monday")
    service.change_status("CX-000001", "declined", reason="the carrier confirmed delivery")
    clock.advance(hours=2)
    await chat.command("new")
    await chat.press("Something else")
    chat.expect("What happened?")
    await chat.say(f"I want you to look at order {ORDER} one more time please")
    chat.expect("CX-000001 on this issue was declined with no further action",
                "the carrier confirmed delivery")
    assert _refusals(chat) == 1
    chat.expect_not("Open it?")
    assert len(service.search_cases()) == 1


async def test_a_different_issue_on_the_same_order_never_drops_its_type(
        chat: Chat, service: CaseService, clock: ManualClock) -> None:
    await _open(chat, f"my order {ORDER} never arrived, the buyer is waiting since Monday")
    service.change_status("CX-000001", "declined", reason="the carrier confirmed delivery")
    await _open(chat, f"the buyer wants a refund on {ORDER} and the button is greyed out")
    clock.advance(hours=1)
    await chat.say(f"the buyer sent another refund request for {ORDER} with new photos")
    await _past_the_new_issue_choice(chat)
    chat.expect("You already have a case on this issue", "Shall I add your message to CX-000002?")
    await chat.press("It's a different issue")
    chat.expect("Which order is this other issue about?")
    await chat.say(ORDER)
    chat.expect("Shall I add your message to CX-000002?")
    await chat.press("It's a different issue")
    chat.expect("CX-000002 already covers Orders for order 123-1234567-1234567",
                "pick its type")
    chat.expect_buttons("Shipping", "Something else")
    await chat.press("Shipping")  # the declined issue, by another door
    chat.expect("CX-000001 on this issue was declined", "the carrier confirmed delivery")
    assert _refusals(chat) == 1
    assert [c.case_type for c in service.search_cases()] == ["order", "shipping"]


async def test_a_retyped_description_of_a_declined_listing_is_refused(
        chat: Chat, service: CaseService, clock: ManualClock) -> None:
    await _open(chat, "my bamboo cutting board listing is suppressed for a policy violation")
    service.change_status("CX-000001", "declined", reason="restricted product")
    clock.advance(hours=25)  # a new day: not a follow-up of the case talked about
    await chat.say("please look again, the bamboo cutting board is still suppressed")
    await _past_the_new_issue_choice(chat)
    chat.expect("CX-000001 on this issue was declined with no further action",
                "restricted product")
    assert _refusals(chat) == 1
    assert len(service.search_cases()) == 1


# Two issues of a type without an order ------------------------------------------------------
async def test_two_suppressed_listings_are_two_cases(chat: Chat, service: CaseService,
                                                     clock: ManualClock) -> None:
    await _open(chat, "my blue mug listing is suppressed, I fixed the photos already")
    clock.advance(hours=25)  # a new day: not a follow-up of the case talked about
    await chat.say("now the red kettle listing is suppressed as well")
    await _past_the_new_issue_choice(chat)
    chat.expect("You already have Listings cases open:", "CX-000001 · Listings · blue mug",
                "Is this about one of them?")
    chat.expect_buttons("Add to CX-000001", "It's a different issue")
    await chat.press("It's a different issue")
    chat.expect("Type: Listings", "About: red kettle suppressed")
    await chat.press("Open the case")
    chat.expect("Opened CX-000002 (Listings · red kettle suppressed)")
    second = service.get_case("CX-000002").case
    assert (second.case_type, second.subject) == ("listing", "red kettle suppressed")


async def test_the_seller_can_add_to_the_case_they_see_instead(
        chat: Chat, service: CaseService, clock: ManualClock) -> None:
    await _open(chat, "my blue mug listing is suppressed, I fixed the photos already")
    clock.advance(hours=25)
    await chat.say("the red kettle listing is suppressed since this morning too")
    await _past_the_new_issue_choice(chat)
    await chat.press("Add to CX-000001")
    chat.expect("Added to CX-000001")
    assert len(service.search_cases()) == 1
    assert "red kettle" in service.get_case("CX-000001").messages[-1].text


async def test_a_typed_yes_adds_to_the_only_case_shown(chat: Chat, service: CaseService,
                                                       clock: ManualClock) -> None:
    await _open(chat, "my blue mug listing is suppressed, I fixed the photos already")
    clock.advance(hours=25)
    await chat.say("the red kettle listing is suppressed since this morning too")
    await _past_the_new_issue_choice(chat)
    chat.expect("Is this about one of them?")
    await chat.say("yes")
    chat.expect("Added to CX-000001")
    assert "red kettle" in service.get_case("CX-000001").messages[-1].text


async def _two_listing_cases_and_a_third_listing(chat: Chat, clock: ManualClock) -> None:
    """CX-000001 (blue mug) and CX-000002 (red kettle) open; a third listing shows both."""
    await _open(chat, "my blue mug listing is suppressed, I fixed the photos already")
    clock.advance(hours=25)
    await chat.say("now the red kettle listing is suppressed as well")
    await _past_the_new_issue_choice(chat)
    await chat.press("It's a different issue")
    await chat.press("Open the case")
    chat.expect("Opened CX-000002")
    clock.advance(hours=25)
    await chat.say("the green teapot listing is suppressed since this morning")
    await _past_the_new_issue_choice(chat)
    chat.expect("CX-000001 · Listings", "CX-000002 · Listings", "Is this about one of them?")


def _cases_with(service: CaseService, words: str) -> list[str]:
    return [number for number in ("CX-000001", "CX-000002")
            if any(words in m.text for m in service.get_case(number).messages)]


async def test_a_typed_yes_with_several_cases_shown_asks_which(
        chat: Chat, service: CaseService, clock: ManualClock) -> None:
    await _two_listing_cases_and_a_third_listing(chat, clock)
    await chat.say("yes")
    chat.expect("Which case should I add your message to?")
    chat.expect_buttons("Add to CX-000001", "Add to CX-000002", "It's a different issue")
    assert _cases_with(service, "green teapot") == []
    await chat.press("Add to CX-000002")
    chat.expect("Added to CX-000002")
    assert _cases_with(service, "green teapot") == ["CX-000002"]


@pytest.mark.parametrize("typed", ["CX-000001", "cx1", "ＣＸ－０００００１", "CX-000001号"])
async def test_typing_the_number_of_a_case_shown_adds_to_that_case(
        chat: Chat, service: CaseService, clock: ManualClock, typed: str) -> None:
    await _two_listing_cases_and_a_third_listing(chat, clock)
    await chat.say(typed)
    chat.expect("Added to CX-000001")
    chat.expect_not("CX-000002?")
    assert _cases_with(service, "green teapot") == ["CX-000001"]
    assert service.get_case("CX-000001").messages[-1].text == (
        "the green teapot listing is suppressed since this morning")


async def test_the_same_listing_in_other_words_asks_what_tells_it_apart(
        chat: Chat, service: CaseService, clock: ManualClock) -> None:
    await _open(chat, "my blue mug listing is suppressed, I fixed the photos already")
    clock.advance(hours=25)
    await chat.say("blue mug suppressed again?? it was fine yesterday")
    await _past_the_new_issue_choice(chat)
    chat.expect("You already have a case on this issue", "CX-000001")
    await chat.press("It's a different issue")
    chat.expect("What tells this Listings issue apart from CX-000001?")
    await chat.say("it's the large blue mug, ASIN B07XJ8C8F5")
    chat.expect("About: ASIN B07XJ8C8F5")
    await chat.press("Open the case")
    chat.expect("Opened CX-000002")
    assert service.get_case("CX-000002").case.subject == "asin b07xj8c8f5"


async def test_a_declined_listing_does_not_block_another_listing(
        chat: Chat, service: CaseService, clock: ManualClock) -> None:
    await _open(chat, "my bamboo cutting board listing is suppressed for a policy violation")
    service.change_status("CX-000001", "declined", reason="restricted product")
    clock.advance(hours=25)  # a new day: not a follow-up of the case talked about
    await chat.say("my blue mug listing is suppressed, I fixed the photos already")
    await _past_the_new_issue_choice(chat)
    chat.expect_not("declined")
    chat.expect("About: blue mug")
    await chat.press("Open the case")
    chat.expect("Opened CX-000002")


# Reopening ----------------------------------------------------------------------------------
async def test_reopening_is_possible_when_the_daily_cap_is_reached(
        chat: Chat, service: CaseService, clock: ManualClock) -> None:
    await _open(chat, f"my order {ORDER} never arrived, the buyer is waiting since Monday")
    service.change_status("CX-000001", "closed")
    clock.advance(hours=1)
    seller = service.get_case("CX-000001").case.seller_id
    for i in range(4):
        service.open_case(seller, None, f"question {i}")
    await chat.say("please reopen CX-000001")
    chat.expect("Reopened as CX-000006 (linked to CX-000001)")
    await chat.say("my blue mug listing is suppressed, I fixed the photos already")
    await _past_the_new_issue_choice(chat)
    chat.expect("today's limit of 5 new cases")


async def test_a_case_closed_too_long_ago_offers_a_linked_new_case(
        chat: Chat, service: CaseService, clock: ManualClock) -> None:
    await _open(chat, "my blue mug listing is suppressed, I fixed the photos already")
    service.change_status("CX-000001", "closed")
    clock.advance(days=31)
    await chat.say("reopen CX-000001")
    chat.expect("CX-000001 was closed more than 30 days ago, so it can't be reopened")
    chat.expect_buttons("New case about CX-000001", "Cancel")
    await chat.press("New case about CX-000001")
    chat.expect("What happened?")
    await chat.say("The blue mug listing got suppressed again after the price change.")
    chat.expect("Type: Listings", "About: blue mug suppressed", "Follows up: CX-000001")
    await chat.press("Open the case")
    chat.expect("Opened CX-000002")
    new = service.get_case("CX-000002")
    assert new.case.subject == service.get_case("CX-000001").case.subject
    assert ("follows", "CX-000001") in [(e.kind, e.from_value) for e in new.events]


async def test_reopening_within_the_window_still_works(chat: Chat, service: CaseService,
                                                       clock: ManualClock) -> None:
    await _open(chat, "my blue mug listing is suppressed, I fixed the photos already")
    service.change_status("CX-000001", "closed")
    clock.advance(days=29)
    await chat.say("reopen CX-000001")
    chat.expect("Reopened as CX-000002 (linked to CX-000001)")


async def test_the_window_is_configurable(service: CaseService, chat: Chat,
                                          clock: ManualClock) -> None:
    service.rules = CaseRules(reopen_days=3)
    await _open(chat, "my blue mug listing is suppressed, I fixed the photos already")
    service.change_status("CX-000001", "closed")
    clock.advance(days=4)
    await chat.say("reopen CX-000001")
    chat.expect("closed more than 3 days ago")


# A message about a closed case ----------------------------------------------------------------
async def test_a_message_about_a_closed_case_is_kept_for_the_reopened_case(
        chat: Chat, service: CaseService, clock: ManualClock) -> None:
    await _open(chat, f"my order {ORDER} never arrived, the buyer is waiting since Monday")
    service.change_status("CX-000001", "closed")
    clock.advance(hours=1)
    await chat.say("CX-000001 the parcel is still missing, the buyer wrote again")
    chat.expect("CX-000001 is closed. Reopen it to continue?")
    await chat.press("Reopen CX-000001")
    chat.expect("Reopened as CX-000002 (linked to CX-000001)")
    assert [m.text for m in service.get_case("CX-000002").messages] == [
        "CX-000001 the parcel is still missing, the buyer wrote again"]

    service.change_status("CX-000002", "closed")
    clock.advance(days=31)  # past the window: the new case that follows it keeps the words
    await chat.say("CX-000002 the parcel is lost once more and the buyer is angry")
    await chat.press("Reopen CX-000002")
    chat.expect("closed more than 30 days ago")
    await chat.press("New case about CX-000002")
    chat.expect("Description: CX-000002 the parcel is lost once more and the buyer is angry",
                "Follows up: CX-000002")
    chat.expect_not("What happened?")
    await chat.press("Open the case")
    assert [m.text for m in service.get_case("CX-000003").messages] == [
        "CX-000002 the parcel is lost once more and the buyer is angry"]


async def test_reopening_onto_the_case_already_active_adds_the_words_to_it(
        chat: Chat, service: CaseService, clock: ManualClock) -> None:
    await _open(chat, f"my order {ORDER} never arrived, the buyer is waiting since Monday")
    service.change_status("CX-000001", "closed")
    clock.advance(minutes=5)
    seller = service.get_case("CX-000001").case.seller_id
    service.open_case(seller, "shipping", f"order {ORDER} still not delivered", ORDER)
    clock.advance(minutes=5)
    await chat.say("CX-000001 the courier now says the parcel was returned to the warehouse")
    chat.expect("CX-000001 is closed. Reopen it to continue?")
    await chat.press("Reopen CX-000001")
    chat.expect("You already have CX-000002 open on the same issue as CX-000001",
                "I've added your message to CX-000002")
    chat.expect_not("Write here")
    assert service.get_case("CX-000002").messages[-1].text == (
        "CX-000001 the courier now says the parcel was returned to the warehouse")
    assert len(service.search_cases("all")) == 2


async def test_a_typed_yes_or_no_answers_the_questions_about_a_closed_case(
        chat: Chat, service: CaseService, clock: ManualClock) -> None:
    await _open(chat, f"my order {ORDER} never arrived, the buyer is waiting since Monday")
    service.change_status("CX-000001", "closed")
    clock.advance(hours=1)
    await chat.say("CX-000001 the buyer says the parcel never came after all")
    await chat.say("no")
    chat.expect("Okay, cancelled")
    assert len(service.search_cases("all")) == 1

    await chat.say("CX-000001 the parcel is still missing, the buyer wrote again")
    await chat.say("yes please")
    chat.expect("Reopened as CX-000002 (linked to CX-000001)")
    assert [m.text for m in service.get_case("CX-000002").messages] == [
        "CX-000001 the parcel is still missing, the buyer wrote again"]

    service.change_status("CX-000002", "closed")
    clock.advance(days=31)
    await chat.say("CX-000002 the parcel is lost once more and the buyer is angry")
    await chat.say("yes")
    chat.expect("closed more than 30 days ago", "I can open a new case")
    await chat.say("yes, do that")
    chat.expect("Follows up: CX-000002", "the buyer is angry")
    await chat.say("yes")
    chat.expect("Opened CX-000003")


async def test_asking_to_reopen_in_words_adds_them_to_the_kept_message(
        chat: Chat, service: CaseService, clock: ManualClock) -> None:
    await _open(chat, f"my order {ORDER} never arrived, the buyer is waiting since Monday")
    service.change_status("CX-000001", "closed")
    clock.advance(hours=1)
    await chat.say("CX-000001 the parcel is still missing, the buyer wrote again")
    chat.expect("Reopen it to continue?")
    await chat.say("please reopen it, the buyer now wants a refund")
    chat.expect("Reopened as CX-000002 (linked to CX-000001)")
    assert [m.text for m in service.get_case("CX-000002").messages] == [
        "CX-000001 the parcel is still missing, the buyer wrote again\n"
        "please reopen it, the buyer now wants a refund"]


async def test_asking_to_reopen_another_case_reopens_that_one(
        chat: Chat, service: CaseService, clock: ManualClock) -> None:
    """While "CX-000001 is closed. Reopen it?" waits, "please reopen CX-000002" is about the
    other case, not an answer to the question."""
    await _open(chat, f"my order {ORDER} never arrived, the buyer is waiting since Monday")
    await _open(chat, f"my order {ORDER2} was charged twice on my payout statement")
    service.change_status("CX-000001", "closed")
    service.change_status("CX-000002", "closed")
    clock.advance(hours=1)
    await chat.say("CX-000001 the parcel is still missing, the buyer wrote again")
    chat.expect("CX-000001 is closed. Reopen it to continue?")
    await chat.say("please reopen CX-000002")
    chat.expect("Reopened as CX-000003 (linked to CX-000002)")
    reopened = service.get_case("CX-000003")
    assert reopened.case.reopened_from_id == service.get_case("CX-000002").case.id
    assert all("parcel is still missing" not in m.text for m in reopened.messages)
