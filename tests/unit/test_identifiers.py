"""Entity normalisation: order ids and case numbers in the many ways sellers type them."""

from __future__ import annotations

import pytest

from bot.classification import Entity
from bot.identifiers import extract_entities, find_case_numbers, find_order_ids, normalise_case_number
from tests.fakes import FakeClassifier


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("cx-4512", "CX-004512"),
        ("CX 77", "CX-000077"),
        ("cx004512", "CX-004512"),
        ("CX-004512", "CX-004512"),
        ("Cx#4512", "CX-004512"),
        ("cx_4512", "CX-004512"),
        ("CX - 12", "CX-000012"),
        ("cx: 999999", "CX-999999"),
        ("cx.31", "CX-000031"),
        ("CX\u20134512", "CX-004512"),  # en dash from a phone keyboard
        ("any news on my case cx4512?", "CX-004512"),
        ("(CX-77)", "CX-000077"),
        ("case no.CX-1,thanks", "CX-000001"),
        ("4512", "CX-004512"),  # bare number: what an agent types after /case
        ("#77", "CX-000077"),
        ("  cx 4512  ", "CX-004512"),
    ],
)
def test_case_numbers_are_normalised(text: str, expected: str) -> None:
    assert normalise_case_number(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "hello",
        "cx",
        "CX-",
        "cx-1234567",  # seven digits: not a case number
        "ABCX-4512",  # glued to other letters
        "cx4512abc",
        "CX-000000",  # no case has number zero
        "my order 123-1234567-1234567",
        "12345678",
        "CX123-1234567-1234567",
        "pcx 45",
    ],
)
def test_junk_is_not_a_case_number(text: str) -> None:
    assert normalise_case_number(text) is None


def test_case_numbers_with_another_prefix() -> None:
    assert normalise_case_number("ab-12", prefix="AB") == "AB-000012"
    assert normalise_case_number("cx-12", prefix="AB") is None
    assert find_case_numbers("Sup 4 and SUP-0005", prefix="SUP") == [
        ("SUP-000004", "Sup 4"), ("SUP-000005", "SUP-0005")]


def test_find_case_numbers_keeps_order_and_drops_repeats() -> None:
    text = "reopen cx 77 pls, same as CX-000077, also cx4512"
    assert find_case_numbers(text) == [("CX-000077", "cx 77"), ("CX-004512", "cx4512")]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("123-1234567-1234567", "123-1234567-1234567"),
        ("order 402-9928374-1029384 not arrived", "402-9928374-1029384"),
        ("order#402-9928374-1029384", "402-9928374-1029384"),
        ("402 9928374 1029384 is late", "402-9928374-1029384"),
        ("402\u20139928374\u20131029384", "402-9928374-1029384"),
        ("240518K7QW93XZ", "240518K7QW93XZ"),
        ("buyer of 240518k7qw93xz wants refund", "240518K7QW93XZ"),
        ("(240518K7QW93XZ)", "240518K7QW93XZ"),
        ("order:240518ABCDEFG1.", "240518ABCDEFG1"),
        ("240518K7QW93XZ, cx 77", "240518K7QW93XZ"),
    ],
)
def test_order_ids(text: str, expected: str) -> None:
    assert [value for value, _raw in find_order_ids(text)] == [expected]


@pytest.mark.parametrize(
    "text",
    [
        "12-1234567-1234567",  # first group too short
        "1234-1234567-1234567",  # first group too long
        "123-123456-1234567",
        "123-1234567-12345678",
        "123-1234567 1234567",  # mixed separators
        "123-1234567-1234567-5",
        "a123-1234567-1234567",
        "12345678901234",  # 14 digits: a GTIN-14 or phone number, not an order id
        "24051K7QW93XZ",  # 5 digits then letters
        "240518K7QW93X",  # 13 characters
        "240518K7QW93XZA",  # 15 characters
        "X240518K7QW93XZ",
        "240518-K7QW93XZ",
        "+44 7911 123456",
        "tracking 1Z999AA10123456784",
    ],
)
def test_junk_is_not_an_order_id(text: str) -> None:
    assert find_order_ids(text) == []


def test_extract_entities_mixes_both_kinds() -> None:
    text = "cx-4512 is about 240518K7QW93XZ and also 111-2223334-4445556, see CX 77"
    assert extract_entities(text) == [
        Entity("order_id", "240518K7QW93XZ", "240518K7QW93XZ"),
        Entity("order_id", "111-2223334-4445556", "111-2223334-4445556"),
        Entity("case_number", "CX-004512", "cx-4512"),
        Entity("case_number", "CX-000077", "CX 77"),
    ]


def test_extract_entities_none() -> None:
    assert extract_entities("my listing is suppressed, why??") == []


async def test_fake_classifier_uses_the_extractor() -> None:
    result = await FakeClassifier().classify("where is 240518K7QW93XZ")
    assert result.entity("order_id") == "240518K7QW93XZ"


# Chinese text: ids glued to Chinese characters, and the full-width forms Chinese input methods
# type. All of these name the same case.
@pytest.mark.parametrize(
    "text",
    [
        "CX-000012",
        "cx12",
        "CX-000012号",
        "CX-000012的进度怎么样",
        "工单cx12怎么还没人回复",
        "我的工单号是CX 12，麻烦看一下",
        "ＣＸ－００００１２",  # full-width letters, hyphen and digits
        "ＣＸ１２的进度",
        "案件CX：12号",  # full-width colon
        "第ＣＸ-12号工单",
        "ｃｘ１２",
    ],
)
def test_chinese_and_full_width_case_numbers_are_the_same_case(text: str) -> None:
    assert [value for value, _raw in find_case_numbers(text)] == ["CX-000012"]


def test_full_width_raw_value_is_what_the_seller_typed() -> None:
    assert find_case_numbers("请查ＣＸ－０００１２的进度") == [("CX-000012", "ＣＸ－０００１２")]
    assert find_order_ids("订单２４０５１８ｋ７ＱＷ９３ＸＺ没收到") == [
        ("240518K7QW93XZ", "２４０５１８ｋ７ＱＷ９３ＸＺ")]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("订单240518K7QW93XZ的货款还没到账", "240518K7QW93XZ"),
        ("订单号：111-2223334-4445556，买家说没收到", "111-2223334-4445556"),
        ("订单１１１－２２２３３３４－４４４５５５６退款了吗", "111-2223334-4445556"),
        ("单号240518k7qw93xz客户要退货", "240518K7QW93XZ"),
    ],
)
def test_order_ids_in_chinese_text(text: str, expected: str) -> None:
    assert [value for value, _raw in find_order_ids(text)] == [expected]


def test_full_width_bare_number_is_a_case_number() -> None:
    assert normalise_case_number("＃１２") == "CX-000012"
    assert normalise_case_number("１２") == "CX-000012"


def test_other_scripts_digits_are_not_ids() -> None:
    """Only ASCII (or full-width) digits: an Arabic-Indic number is not read as a case."""
    assert find_case_numbers("cx \u0661\u0662") == []
    assert find_order_ids("\u0661" * 3 + "-" + "\u0662" * 7 + "-" + "\u0663" * 7) == []
