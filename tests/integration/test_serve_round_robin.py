"""Round-robin assignment and escalation (issue 12), through `frontdoor serve` on the real
slack_sdk against the Slack stand-in's ``usergroups.users.list`` and ``users.getPresence``, on
SQLite and PostgreSQL: new cases go to the next member of SLACK_AGENTS_GROUP who is not away;
a case nobody answered by the first-response warning goes to the next member, who is
mentioned in the thread, once; and two processes choosing at once never hand out the same turn.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.roster import SlackRoster
from bot import domain as d
from bot.cases import CaseService
from bot.clock import ManualClock
from bot.ports import UnitOfWork
from bot.relay import Relay, RelayConfig
from bot.round_robin import ESCALATION, NEW_CASE, Roster, RoundRobin, next_member
from frontdoor.scheduling import build_sweeper
from storage.agent_rotations import SqlAgentRotations
from storage.database import Database
from storage.uow import SqlUnitOfWorkFactory
from tests.integration import serve_relay_support as relay_fixtures
from tests.integration.serve_relay_support import (
    SUPPORT,
    WAIT,
    OpenedCase,
    Served,
    TelegramSeller,
    serving,
    wait_in_thread,
)
from tests.integration.sweep_support import open_case
from tests.standins import RecordedRequest
from tests.standins.slack_api import SlackStandIn, api_error

served = relay_fixtures.served  # the server without an agents' group

GROUP = "S0AGENTS"
ANN, BEN, CAT = "U0AGENTANN", "U0AGENTBEN", "U0AGENTCAT"
ORDERS = ("111-1111111-1111111", "222-2222222-2222222", "333-3333333-3333333")


@pytest.fixture
def service_for_rotation(service: CaseService) -> list[str]:
    """Two open cases of two sellers (no agents' platform: nothing is queued to assign)."""
    return [open_case(service, user=str(user))[1].number for user in (1, 2)]


def assignee_field(request: RecordedRequest) -> str | None:
    fields = [f["text"] for b in request["blocks"] if b["type"] == "section"
              for f in b.get("fields", [])]
    return next((f for f in fields if f.startswith("*Assignee*\n")), None)


async def card_shows(served: Served, case: OpenedCase, agent: str) -> None:
    await served.slack.wait_for(
        "chat.update", timeout=WAIT,
        where=lambda r: r.get("ts") == case.parent_ts
        and assignee_field(r) == f"*Assignee*\n<@{agent}>")


async def case_for_group(served: Served, members: list[str],
                         away: tuple[str, ...] = ()) -> OpenedCase:
    """The agents' group has ``members`` (``away`` among them); a seller opens a case."""
    served.slack.usergroups[GROUP] = members
    served.slack.presence.update(dict.fromkeys(away, "away"))
    seller = TelegramSeller(served)
    await seller.register()
    return await seller.open_case(f"my order {ORDERS[0]} never arrived, the buyer waits")


def test_the_next_member_follows_the_last_skipping_the_away_and_wrapping() -> None:
    members = [CAT, ANN, BEN]
    assert next_member(members, set(), None) == ANN
    assert next_member(members, set(), ANN) == BEN
    assert next_member(members, {BEN}, ANN) == CAT
    assert next_member(members, set(), CAT) == ANN  # wraps
    assert next_member(members, set(), "U0AGENTBAZ") == BEN  # who left still marks the place
    assert next_member(members, {ANN}, CAT, exclude={BEN}) == CAT
    assert next_member(members, {ANN, BEN, CAT}, None) is None
    assert next_member([], set(), ANN) is None


async def test_new_cases_go_round_robin_to_members_who_are_not_away(db: Database) -> None:
    async with serving(db, slack_agents_group=GROUP) as served:
        served.slack.usergroups[GROUP] = [CAT, BEN, ANN]
        served.slack.presence[BEN] = "away"
        seller = TelegramSeller(served)
        await seller.register()

        cases = [await seller.open_case(f"my order {order} never arrived, the buyer waits")
                 for order in ORDERS]

        for case, agent in zip(cases, (ANN, CAT, ANN), strict=True):
            await card_shows(served, case, agent)
            note = await wait_in_thread(served, case.parent_ts, "Assigned round robin")
            assert note["text"].endswith(f"<@{agent}>")  # a real mention: the agent is told
            stored = served.services.cases.get_case(case.number).case
            assert stored.assignee_ref == agent
        assert served.slack.calls("usergroups.users.list")[0].get("usergroup") == GROUP
        assert {r.get("user") for r in served.slack.calls("users.getPresence")} == {
            ANN, BEN, CAT}


async def test_an_unanswered_case_is_escalated_to_the_next_member_once(db: Database) -> None:
    clock = ManualClock(datetime.now(UTC))
    async with serving(db, clock=clock, slack_agents_group=GROUP) as served:
        case = await case_for_group(served, [ANN, BEN])
        await card_shows(served, case, ANN)
        sweeper = build_sweeper(served.services)

        clock.advance(hours=19)  # past 75% of the 24 h first-response target
        assert sweeper.first_response() == 1

        await card_shows(served, case, BEN)
        note = await wait_in_thread(served, case.parent_ts, "escalated to")
        assert note["text"].endswith(f"<@{BEN}>")
        assert served.services.cases.get_case(case.number).case.assignee_ref == BEN

        # Urgent tightens the target, so the warning comes again: no second escalation.
        await served.press_case_button("case_urgent:on", case.number, case.parent_ts)
        clock.advance(hours=3, minutes=30)
        assert sweeper.first_response() == 1
        await served.slack.wait_for("chat.postMessage", timeout=WAIT, where=lambda r: (
            r.get("thread_ts") == case.parent_ts and "First response due" in r.get("text", "")),
            count=2)
        # What is queued after the second warning's ASSIGN_NEXT goes out after its outcome.
        await served.press_case_button("case_urgent:off", case.number, case.parent_ts)
        await wait_in_thread(served, case.parent_ts, "Urgent flag removed")
        detail = served.services.cases.get_case(case.number)
        assert detail.case.assignee_ref == BEN
        assert [e.kind for e in detail.events].count("escalated") == 1
        assert len([r for r in served.slack.calls("chat.postMessage")
                    if "escalated to" in r.get("text", "")]) == 1


async def test_an_answered_case_is_not_escalated(db: Database) -> None:
    clock = ManualClock(datetime.now(UTC))
    async with serving(db, clock=clock, slack_agents_group=GROUP) as served:
        case = await case_for_group(served, [ANN, BEN])
        await card_shows(served, case, ANN)
        await served.agent_writes(case.parent_ts, "We are on it")
        await served.telegram.wait_for("sendMessage", timeout=WAIT,
                                       where=lambda r: "We are on it" in r.get("text", ""))

        clock.advance(hours=19)
        assert build_sweeper(served.services).first_response() == 0
        assert served.services.cases.get_case(case.number).case.assignee_ref == ANN


async def test_a_group_slack_does_not_know_is_told_in_the_thread(db: Database) -> None:
    async with serving(db, slack_agents_group="S0MISSING") as served:
        case = await case_for_group(served, [ANN])  # the server asks for S0MISSING

        note = await wait_in_thread(served, case.parent_ts, "Could not assign automatically")
        assert "no_such_subteam" in note["text"]
        assert served.services.cases.get_case(case.number).case.assignee_ref is None


async def test_everyone_away_leaves_the_case_unassigned_and_says_so(db: Database) -> None:
    async with serving(db, slack_agents_group=GROUP) as served:
        case = await case_for_group(served, [ANN, BEN], away=(ANN, BEN))

        await wait_in_thread(served, case.parent_ts, "nobody in the agents' group is available")
        assert served.services.cases.get_case(case.number).case.assignee_ref is None


async def test_without_a_group_nobody_is_assigned_automatically(served: Served) -> None:
    seller = TelegramSeller(served)
    await seller.register()
    case = await seller.open_case(f"my order {ORDERS[0]} never arrived, the buyer waits")
    await served.press_case_button("case_urgent:on", case.number, case.parent_ts)
    await wait_in_thread(served, case.parent_ts, "Flagged urgent")
    assert served.services.cases.get_case(case.number).case.assignee_ref is None
    assert served.slack.calls("usergroups.users.list") == []


def test_two_processes_choosing_at_once_take_turns(db: Database,
                                                   service_for_rotation: list[str]) -> None:
    """Two workers (as two `serve` processes would) assign two new cases at the same moment:
    the second waits for the first's choice and gives the next member, not the same one."""
    numbers = service_for_rotation
    uow_factory = SqlUnitOfWorkFactory(db)
    store = SqlAgentRotations()
    first_holds_the_turn = threading.Event()
    chosen: dict[str, str | None] = {}

    class SlowStore(SqlAgentRotations):
        def last_member(self, uow: UnitOfWork, pool: str) -> str | None:
            last = super().last_member(uow, pool)
            first_holds_the_turn.set()
            threading.Event().wait(0.3)  # the other worker asks meanwhile
            return last

    def assign(number: str, rotation: SqlAgentRotations) -> None:
        robin = RoundRobin(Relay(RelayConfig(agents_destination="slack",
                                             channel_for=lambda _t: SUPPORT)), rotation)
        with uow_factory() as uow:
            case = uow.cases.get_by_number(number)
            assert case is not None
            done = robin.assign_from(uow, case.id, GROUP, NEW_CASE, Roster((ANN, BEN, CAT)),
                                     datetime.now(UTC))
            uow.commit()
        chosen[number] = done.assignee_ref if done else None

    first = threading.Thread(target=assign, args=(numbers[0], SlowStore()))
    first.start()
    assert first_holds_the_turn.wait(WAIT)
    second = threading.Thread(target=assign, args=(numbers[1], store))
    second.start()
    first.join(WAIT)
    second.join(WAIT)
    assert chosen == {numbers[0]: ANN, numbers[1]: BEN}
    with uow_factory() as uow:
        assert store.last_member(uow, GROUP) == BEN


def test_escalation_skips_the_current_assignee_and_happens_once(
        db: Database, service_for_rotation: list[str]) -> None:
    uow_factory = SqlUnitOfWorkFactory(db)
    robin = RoundRobin(Relay(RelayConfig(agents_destination="slack",
                                         channel_for=lambda _t: SUPPORT)), SqlAgentRotations())
    number = service_for_rotation[0]
    roster = Roster((ANN, BEN))
    now = datetime.now(UTC)
    results = []
    for reason in (NEW_CASE, ESCALATION, ESCALATION):
        with uow_factory() as uow:
            case = uow.cases.get_by_number(number)
            assert case is not None
            done = robin.assign_from(uow, case.id, GROUP, reason, roster, now)
            uow.commit()
        results.append(done.assignee_ref if done else None)
    assert results == [ANN, BEN, None]
    with uow_factory() as uow:
        case = uow.cases.get_by_number(number)
        assert case is not None and case.assignee_ref == BEN and case.status == d.OPEN


async def test_the_roster_counts_a_member_slack_no_longer_knows_as_away_and_is_reused() -> None:
    async with SlackStandIn() as slack:
        slack.usergroups[GROUP] = [ANN, BEN]
        slack.fail_next("users.getPresence", api_error("user_not_found"))
        roster = SlackRoster(AsyncWebClient(token="xoxb-test", base_url=slack.base_url))

        first = await roster.read(GROUP)
        again = await roster.read(GROUP)  # within the TTL: Slack is not asked again

        assert first == again and set(first.members) == {ANN, BEN} and len(first.away) == 1
        assert len(slack.calls("usergroups.users.list")) == 1
        assert len(slack.calls("users.getPresence")) == 2
        slack.usergroups[GROUP] = [CAT]
        assert (await SlackRoster(roster.client, ttl=0).read(GROUP)).members == (CAT,)
