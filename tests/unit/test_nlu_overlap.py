"""Near-duplicate detection between training and held-out lines (nlu/overlap.py)."""

from __future__ import annotations

import pytest

from nlu.overlap import edit_distance, near_duplicates, tokens


@pytest.mark.parametrize(("text", "reference"), [
    ("my payout is late!!", "My payout, is late"),  # punctuation and case
    ("where  is my   payout", "where is my payout"),  # spacing
    ("my payout is late", "my payment is late"),  # one word replaced
    ("my payout is very late", "my payout is late"),  # one word added
    ("payout late since monday", "my payout late since monday"),  # one word missing
    ("CX-000012的进度怎么样？", "CX-000012的进度怎么样"),  # full-width punctuation
    ("ＣＸ－００００１２的进度", "CX-000012的进度"),  # full-width letters and digits
    ("我的回款还没有到账", "我的货款还没有到账"),  # one Chinese character
    ("包裹在海关卡了九天", "包裹在海关卡了十天"),
    ("物流信息一个星期没更新了", "物流信息一个礼拜没更新了"),  # one two-character word
])
def test_near_duplicates_are_found(text: str, reference: str) -> None:
    (found,) = near_duplicates([text], ["something else entirely", reference])
    assert found.reference == reference


@pytest.mark.parametrize(("text", "reference"), [
    ("hi", "hello"),  # short texts: one word is the whole message
    ("thanks a lot", "thanks a lot for nothing at all"),
    ("my payout is late", "my parcel is lost"),  # two words apart
    ("谢谢", "多谢"),
    ("好的", "好吧"),
    ("物流信息一个星期没更新了", "账户信息一个星期没审核了"),  # two words apart
])
def test_different_texts_are_not_near_duplicates(text: str, reference: str) -> None:
    assert near_duplicates([text], [reference]) == []


def test_the_closest_reference_is_reported() -> None:
    (found,) = near_duplicates(["my payout is late"], ["my payment is late", "my payout is late."])
    assert (found.reference, found.distance) == ("my payout is late.", 0)


def test_tokens_are_words_and_chinese_characters() -> None:
    assert tokens("ASIN B08X 不可售！cx-12") == ("asin", "b08x", "不", "可", "售", "cx", "12")


def test_edit_distance_stops_early_past_the_limit() -> None:
    assert edit_distance(("a", "b", "c"), ("a", "x", "c"), 1) == 1
    assert edit_distance(("a", "b", "c", "d"), ("x", "y", "c", "d"), 1) == 2
    assert edit_distance(("a",), ("a", "b", "c", "d"), 2) == 3
