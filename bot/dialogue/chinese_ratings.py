"""A rating typed in Chinese after the evaluation prompt: "非常失望，根本没有人回复我" is
Very disappointing, with "根本没有人回复我" as its reason.

Chinese has no spaces, so the rating is read as a prefix of the message (after a lead such as
"说实话" or "我觉得") and whatever follows it is the reason. A two-character phrase needs
the message to end or pause after it ("一般。", "很好，谢谢", "还行吧"): "一般来说" (generally
speaking) and "很好奇" (curious) begin with one but are no rating.
"""

from __future__ import annotations

from bot.dialogue.word_count import is_cjk

CHINESE_RATING_WORDS: dict[str, tuple[str, ...]] = {
    "like": ("值得点赞", "点赞", "很好", "非常好", "特别好", "太好了", "挺好", "挺好的",
             "很好的", "不错", "很不错", "挺不错", "非常不错", "满意", "很满意", "非常满意",
             "好评", "很棒", "太棒了", "非常棒", "给力", "很给力", "很有帮助"),
    "so_so": ("一般", "一般般", "还行", "还可以", "凑合", "还凑合", "马马虎虎", "中规中矩",
              "普普通通", "不太满意", "不太好", "不怎么样"),
    "disappointing": ("非常失望", "很失望", "太失望了", "太失望", "失望", "令人失望", "很差",
                      "太差", "太差了", "非常差", "很差劲", "差劲", "差评", "很糟糕", "太糟糕了",
                      "糟糕", "不满意", "很不满意", "非常不满意", "没用", "毫无帮助"),
}
# Words that may come before the rating ("说实话，非常失望": honestly, very disappointing).
_LEADS = ("说实话", "老实说", "说真的", "总的来说", "总体来说", "总体上", "我觉得", "我感觉",
          "觉得", "感觉", "真的")
# Sentence-final particles: "一般吧", "失望了" still end the rating.
_PARTICLES = "了啊吧呀啦哦呢嘛"
# What may separate the rating from its reason.
_PAUSE = " \t\n,.;:!?~-–—，。；：！？、～…"
# Phrases at least this long are unambiguous as a prefix ("非常失望根本没人回").
_UNAMBIGUOUS_CHARS = 3
_PHRASES: list[tuple[str, str]] = sorted(
    ((level, phrase) for level, phrases in CHINESE_RATING_WORDS.items() for phrase in phrases),
    key=lambda lp: -len(lp[1]))


def rating_in_chinese(text: str) -> tuple[str, str] | None:
    """The level a message starting with a Chinese rating gives, and the words after it."""
    rest = text.strip()
    for lead in _LEADS:
        if rest.startswith(lead):
            rest = rest[len(lead):].lstrip(_PAUSE)
            break
    for level, phrase in _PHRASES:
        if not rest.startswith(phrase):
            continue
        after = rest[len(phrase):]
        if len(phrase) < _UNAMBIGUOUS_CHARS and after and is_cjk(after[0]) \
                and after[0] not in _PARTICLES:
            continue  # "一般来说…": the phrase is part of a longer word
        return level, after.lstrip(_PARTICLES).lstrip(_PAUSE).strip()
    return None
