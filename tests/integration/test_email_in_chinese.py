"""The mails a Chinese seller gets are Chinese: the address confirmation, the unread-reply
notice (one reply and several: the plural form) and the evaluation invitation with its date in
Chinese, on both databases. Nothing English of ours may be left once what is not language (case
numbers, addresses, the link's slot, the agent's own words, names) is taken out."""

from __future__ import annotations

import re
from datetime import timedelta

from bot import domain as d
from bot import i18n
from bot.cases import CaseService
from bot.clock import ManualClock
from bot.email_notices import EmailNotices
from bot.seller_emails import EMAIL_EVALUATION, EMAIL_REPLY, EMAIL_VERIFY, LINK_SLOT
from storage.email_notice_queries import SqlEmailNoticeStore
from storage.uow import SqlUnitOfWorkFactory
from tests.integration.case_rules_support import make_seller
from tests.integration.test_email_notices import mails

ORDER = "123-1234567-1234567"
NOT_LANGUAGE = re.compile(r"CX-\d+|\d{3}-\d{7}-\d{7}|\S+@\S+\.\w+|" + re.escape(LINK_SLOT))
AGENT_WORDS = "Tracking number is SF1234567890"


def english_left(text: str, *typed: str) -> list[str]:
    for words in typed:
        text = text.replace(words, " ")
    return re.findall(r"[A-Za-z]{2,}", NOT_LANGUAGE.sub(" ", text))


def test_a_chinese_sellers_mails_are_chinese(service: CaseService,
                                             uow_factory: SqlUnitOfWorkFactory,
                                             clock: ManualClock) -> None:
    _, seller = make_seller(service, "zh1", "王芳的店")
    service.set_preferences(seller.id, i18n.CHINESE, "Asia/Shanghai")
    service.request_email(seller.id, "wang@example.com")
    [verify] = mails(uow_factory, EMAIL_VERIFY)
    assert "确认" in verify.payload["subject"] and "确认" in verify.payload["text"]
    assert not english_left(verify.payload["subject"] + verify.payload["text"], "王芳的店")
    service.verify_email(verify.payload["link"]["token"])

    sweep = EmailNotices(uow_factory, SqlEmailNoticeStore(), clock, timedelta(minutes=30), 4)
    shipping = service.open_case(seller.id, "shipping", "包裹还没到", order_id=ORDER).case
    payment = service.open_case(seller.id, "payment", "货款还没到账",
                                order_id="240518K7QW93XZ").case
    service.agent_reply(shipping.number, "cli", AGENT_WORDS, "Bo")
    service.agent_reply(payment.number, "cli", "已经转账", "Bo")
    clock.advance(minutes=5)
    service.agent_reply(payment.number, "cli", "请查收", "Bo")
    clock.advance(minutes=31)
    assert sweep.run() == 2
    by_case = {m.case_id: m.payload for m in mails(uow_factory, EMAIL_REPLY)}
    one, several = by_case[shipping.id], by_case[payment.id]
    for payload in (one, several):
        assert not english_left(payload["subject"] + payload["text"], AGENT_WORDS, "王芳的店",
                                "240518K7QW93XZ"), payload
    assert AGENT_WORDS in one["text"] and "请查收" in several["text"]
    assert "2" in several["text"] and several["text"] != one["text"]
    assert "物流" in one["text"]  # the case's title in Chinese

    service.change_status(shipping.number, d.RESOLVED)
    assert sweep.run() == 1
    [invite] = mails(uow_factory, EMAIL_EVALUATION)
    assert not english_left(invite.payload["subject"] + invite.payload["text"], "王芳的店")
    assert re.search(r"\d{1,2}月\d{1,2}日 \d{2}:\d{2}", invite.payload["text"]), invite.payload
