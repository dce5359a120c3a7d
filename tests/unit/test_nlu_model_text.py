"""What the model reads of a message: full-width forms folded, Traditional characters as
Simplified, reference codes left out, order ids and case numbers kept (they are features the
model was trained on)."""

from __future__ import annotations

import pytest

from nlu.model_text import model_text, simplified
from nlu.project import RasaProject, read_training_examples


@pytest.mark.parametrize(("typed", "read"), [
    ("More details for CX-000004 reference tkeee9d18ee7", "More details for CX-000004 reference"),
    ("UPS tracking 1Z999AA10123456784 shows nothing", "UPS tracking shows nothing"),
    ("ASIN B08XYZ1234 was suppressed", "ASIN was suppressed"),
    ("单号1Z999AA10123456784的包裹没到", "单号的包裹没到"),
    ("payment ref pay_9f8e7d6c5b for order 240518K7QW93XZ", "payment ref for order 240518K7QW93XZ"),
    ("ＣＸ－００００１２号的进度怎么样？", "CX-000012号的进度怎么样?"),
    ("订单２４０５１８Ｋ７ＱＷ９３ＸＺ没收到", "订单240518K7QW93XZ没收到"),
    ("order 123-4567890-1234567 late", "order 123-4567890-1234567 late"),
    ("cx12 any news", "cx12 any news"),
    ("SKU ABC-12X7 missing", "SKU missing"),
    ("order ref ABCDEF123456 paid", "order ref paid"),
])
def test_codes_are_left_out_and_identifiers_kept(typed: str, read: str) -> None:
    assert model_text(typed) == read


@pytest.mark.parametrize("text", [
    "2fa code never arrives", "my mp3 listing", "b2b pricing", "covid lockdown delays",
    "iphone 15 case listing", "12345678 units stranded", "SKU ABC-12 missing",
    "my 1099-NEC form is missing", "covid-19 delays", "iphone15 cases", "delivered in 48hours",
    "100pcs per carton", "invoice INV202401 attached",
])
def test_words_short_model_numbers_and_plain_numbers_stay(text: str) -> None:
    assert model_text(text) == text


def test_a_message_that_is_only_a_code_is_read_as_typed() -> None:
    assert model_text("tkeee9d18ee7") == "tkeee9d18ee7"


def test_a_custom_case_prefix_is_kept() -> None:
    assert model_text("status of SR-004512 ref ab12cd34", case_prefix="SR") == "status of SR-004512 ref"


@pytest.mark.parametrize(("typed", "read"), [
    ("庫存同步有問題，賣掉了還顯示有貨", "库存同步有问题,卖掉了还显示有货"),
    ("工單被關閉了，可以再開啟嗎", "工单被关闭了,可以再开启吗"),
    ("訂單２４０５１８Ｋ７ＱＷ９３ＸＺ的貨款還沒到賬", "订单240518K7QW93XZ的货款还没到账"),
    ("ＣＸ－００００１２號處理到邊", "CX-000012号处理到边"),
    # Simplified text and English stay as they are.
    ("订单240518K7QW93XZ的货款还没到账", "订单240518K7QW93XZ的货款还没到账"),
    ("my payout never arrived", "my payout never arrived"),
])
def test_traditional_characters_are_read_as_simplified(typed: str, read: str) -> None:
    """A Hong Kong or Taiwan seller's Traditional characters meet the (Simplified) words the
    model was trained on."""
    assert model_text(typed) == read


def test_training_data_is_written_as_the_model_reads_it() -> None:
    """Every Chinese training line is in Simplified characters: a Traditional one could never
    match what the client sends (it folds Traditional to Simplified)."""
    traditional = [text for text, _ in read_training_examples(RasaProject()) if simplified(text) != text]
    assert traditional == []
