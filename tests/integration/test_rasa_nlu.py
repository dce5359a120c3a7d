"""End to end against the real Rasa server with the trained model (the ``rasa_url`` fixture):
new seller messages per case type in English and Chinese through the app's client (a second
check beside the evaluation sets), `frontdoor nlu parse`, and the evaluation targets of issues
3 and 16."""

from __future__ import annotations

import json
import os
import random
import string
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from bot.labels import ALL_INTENTS, CASE_TYPES
from nlu.client import RasaClassifier
from nlu.evaluation import (
    LANGUAGES,
    app_classifications,
    app_label,
    evaluate,
    language_of,
)
from nlu.evaluation_report import write_report

# Training and a first server start can take minutes on a fresh machine (fixture set-up counts).
pytestmark = [pytest.mark.rasa, pytest.mark.timeout(1800)]

# The second check: messages written for these tests after the data and the evaluation sets,
# in both languages, none a near-duplicate of a training or evaluation line (checked below).
REPRESENTATIVE: dict[str, list[str]] = {
    "account_health": [
        "got a warning that my shop might be closed over customer complaints about authenticity",
        "my selling rights were taken away after the audit, what is the next step",
        "店铺因为真实性投诉收到关店警告",
        "审核之后我的销售权限被收回了，下一步该做什么",
    ],
    "account_access": [
        "the one time passcode for signing in goes to a number i no longer have",
        "signed out of everything and now the page says unusual activity, cannot get back in",
        "登录用的一次性密码发到了我已经不用的号码",
        "全部被登出后提示异常活动，现在进不去了",
    ],
    "registration": [
        "which bank statement do you accept when opening a new seller account",
        "the onboarding form rejects my business licence number as invalid",
        "开新卖家账户时你们接受哪种银行对账单",
        "入驻表格说我的营业执照号码无效",
    ],
    "listing": [
        "my product detail page shows the wrong material in the specifications",
        "the new colour option i created does not appear under the parent product",
        "商品详情页的规格里材质写错了",
        "新建的颜色选项没有出现在父商品下面",
    ],
    "order": [
        "a buyer paid for express but chose the wrong item and wants it exchanged",
        "the customer says two of the six glasses in order 171-2345678-8765432 were broken",
        "买家付了加急费但选错了商品，想换一个",
        "订单171-2345678-8765432里六个杯子有两个碎了，顾客要求处理",
    ],
    "payment": [
        "the disbursement scheduled for friday never reached my account",
        "a fee called adjustment appeared on my statement and reduced the payout",
        "原定周五的放款一直没到我的账户",
        "对账单上多了一项调整费用，回款变少了",
    ],
    "shipping": [
        "the courier scanned the parcel at the depot and then nothing for eight days",
        "my shipment was returned because the customs declaration was incomplete",
        "快递在网点扫描之后八天都没有动静",
        "因为报关单不完整，我的货被退回了",
    ],
    "inventory": [
        "the fulfilment centre shows 40 units damaged on arrival, my packing was fine",
        "i asked to pull back my stock but the removal is stuck at pending",
        "仓库显示到货时损坏了40件，我的包装没问题",
        "申请把库存撤回来，但移除一直是待处理",
    ],
    "policy": [
        "a rights owner filed a copyright claim against my product photos that i took myself",
        "am i allowed to sell supplements with melatonin on your marketplace",
        "有权利人说我自己拍的产品照片侵犯了版权",
        "含褪黑素的保健品可以在你们平台卖吗",
    ],
    "advertising": [
        "the campaign spent its budget by noon but brought zero orders",
        "my product ads stopped showing after i changed the bids",
        "广告活动中午就把预算花完了，一单都没出",
        "改了出价之后我的商品广告就不展示了",
    ],
}
CONVERSATION: list[tuple[str, str]] = [
    ("anything new on cx-4513 since monday?", "check_status"),
    ("CX-004513从周一到现在有新进展吗", "check_status"),
    ("the fix did not hold, open CX 78 again", "reopen_case"),
    ("修复没有用，把CX-000078再打开", "reopen_case"),
    ("could a member of staff take over this conversation", "talk_to_human"),
    ("能不能让工作人员接手这个对话", "talk_to_human"),
    ("hi there, good evening", "greet"),
    ("嗨，大家晚上好", "greet"),
    ("that helped a lot, thanks again", "thank"),
    ("帮了大忙，再次感谢", "thank"),
    ("how far is the moon from the earth", "out_of_scope"),
    ("月亮离地球有多远", "out_of_scope"),
]
CASES = [(text, intent) for intent, texts in REPRESENTATIVE.items() for text in texts]


def test_every_case_type_is_covered() -> None:
    assert set(REPRESENTATIVE) == set(CASE_TYPES)


def test_server_reports_the_loaded_model(rasa_url: str) -> None:
    status = httpx.get(f"{rasa_url}/status", timeout=10).json()
    assert status["model_file"]


async def test_second_check_messages(rasa_url: str) -> None:
    """New text, scored as the app acts on it (top intent at the engine's thresholds: 0.40 for a
    case type, 0.55 for a conversational intent). Measured with model ad0648f1 on 2026-11-30:
    20/26 English, 23/26 Chinese; this fails below 70% in either language, and lists the
    misread ones."""
    texts = [text for text, _ in CASES + CONVERSATION]
    results = await app_classifications(rasa_url, texts)
    for language in LANGUAGES:
        pairs = [(text, expected, app_label(result), result.intent, result.confidence)
                 for (text, expected), result in zip(CASES + CONVERSATION, results, strict=True)
                 if language_of(text) == language]
        wrong = [pair for pair in pairs if pair[2] != pair[1]]
        assert len(pairs) >= 20
        assert len(wrong) <= 0.3 * len(pairs), (language, wrong)
    assert all(r.ranking[0] == (r.intent, r.confidence) for r in results)


async def test_chinese_entities_are_normalised_end_to_end(rasa_url: str) -> None:
    async with RasaClassifier(rasa_url, timeout=10) as nlu:
        result = await nlu.classify("ＣＸ－００００１２号的进度怎么样，订单２４０５１８ｋ７ＱＷ９３ＸＺ")
    assert result.intent == "check_status"
    assert result.entity("case_number") == "CX-000012"
    assert result.entity("order_id") == "240518K7QW93XZ"


async def test_a_reference_code_does_not_change_the_reading(rasa_url: str) -> None:
    """A random code shares character n-grams with words the model knows ("tkeee9d18ee7" with
    "keep"); before the client left codes out, 5 of these 40 codes turned this follow-up into
    another intent ("tkeee9d18ee7" into keep_open at 0.75 on the model before)."""
    text = "More details for CX-000004: the buyer sent photos, reference"
    shuffle = random.Random(16)
    codes = ["tkeee9d18ee7"] + ["".join(shuffle.choices(string.ascii_lowercase, k=6))
                                + "".join(shuffle.choices(string.digits, k=6)) for _ in range(39)]
    async with RasaClassifier(rasa_url, timeout=10) as nlu:
        plain = await nlu.classify(text)
        readings = [await nlu.classify(f"{text} {code}") for code in codes]
    reading = (plain.intent, round(plain.confidence, 6))
    assert {(r.intent, round(r.confidence, 6)) for r in readings} == {reading}
    assert all(r.entity("case_number") == "CX-000004" for r in readings)


async def test_entities_are_normalised_end_to_end(rasa_url: str) -> None:
    async with RasaClassifier(rasa_url, timeout=10) as nlu:
        result = await nlu.classify("cx 4512 is about order 240518k7qw93xz, still not delivered")
    assert result.entity("case_number") == "CX-004512"
    assert result.entity("order_id") == "240518K7QW93XZ"


def test_parse_command(rasa_url: str) -> None:
    lines = "my payout is missing\n\nany update on cx 77\n"
    env = {**os.environ, "FRONTDOOR_NLU_URL": rasa_url}
    frontdoor = Path(sys.executable).parent / "frontdoor"  # the console script of this venv
    done = subprocess.run([str(frontdoor), "nlu", "parse"], input=lines,
                          capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    records = [json.loads(line) for line in done.stdout.splitlines()]
    assert [r["text"] for r in records] == ["my payout is missing", "any update on cx 77"]
    assert records[0]["intent"] in ALL_INTENTS  # which one is the evaluation's business
    assert 0.0 < records[0]["confidence"] <= 1.0
    assert records[1]["entities"] == [{"entity": "case_number", "value": "CX-000077"}]
    assert set(records[1]) == {"text", "intent", "confidence", "entities"}


def test_evaluation_meets_the_targets(rasa_url: str, tmp_path: Path) -> None:
    """Issues 3 and 16's targets on the final sets, per language: this fails when the model or
    data regress."""
    report = evaluate(rasa_url)
    assert set(report.languages) == {"en", "zh"}
    written = write_report(report, tmp_path)
    assert {path.name for path in written} >= {"confusion_app_en.png", "confusion_app_zh.png"}
    assert all(path.stat().st_size > 0 for path in written)
    # Every target holds on the fourth Chinese final set (nlu/README.md): Chinese macro-F1 under
    # the app's rule at least 0.90, and the model above the TF-IDF baseline both ways.
    assert report.failed_targets() == []
