"""Typed answers, read the same way in every channel: a rating in words or as its number, a
yes or a no with a few words around it, "the first one", "a new issue", "undo", a bare
acknowledgement, and whether a message carries words beyond the action it asks for.

Pure functions over the text; the flows decide what an answer means where it is given.
"""

from __future__ import annotations

import re

from bot.dialogue.chinese_ratings import rating_in_chinese
from bot.identifiers import find_order_ids
from bot.messages import Button

_WORD = re.compile(r"[\w']+|[\U0001F300-\U0001FAFF\u2600-\u27BF]")
_CASE_NUMBER = re.compile(r"\b[a-z]{1,5}[-\s]?\d{1,6}\b")


def words(text: str) -> list[str]:
    """Lower-case words (apostrophes dropped: "didn't" -> "didnt") and emoji, in order."""
    return [w.replace("'", "") for w in _WORD.findall(text.casefold().replace("’", "'"))]


def has_words(text: str) -> bool:
    """Whether there is anything to read: a bare "4", "??" or "..." has no words."""
    return any(any(ch.isalpha() for ch in w) for w in words(text))


# Yes and no -----------------------------------------------------------------------------------
YES = frozenset({"yes", "y", "yep", "yeah", "yea", "ya", "yup", "ok", "okay", "sure", "correct",
                 "right", "exactly", "indeed", "affirmative", "👍",
                 "是", "是的", "对", "对的", "没错", "好", "好的", "可以", "行", "嗯", "嗯嗯"})
NO = frozenset({"no", "n", "nope", "nah", "not", "never", "👎",
                "不", "不是", "不对", "没有", "没", "还没有", "还没", "不用", "不用了", "不要",
                "不需要"})
# Chinese particles that end a short answer without changing it ("是啊", "没有呢", "好吧").
_CHINESE_PARTICLES = "啊吧呀呢哦嘛啦"
_YES_PHRASES = frozenset({"go ahead", "please do", "do it", "open it", "add it", "that one",
                          "thats it", "thats right", "that is right", "same one", "same case",
                          "same issue", "its the same", "it is", "of course"})
_NO_PHRASES = frozenset({"not really", "not yet", "no thanks", "no thank you", "dont",
                         "do not", "it didnt", "it did not", "didnt help", "did not help"})
# Words that may follow a yes or a no without making it a statement of its own.
_ANSWER_FILLER = frozenset({
    "please", "pls", "plz", "thanks", "thank", "you", "thx", "it", "its", "is", "it's", "did",
    "didnt", "does", "doesnt", "do", "dont", "not", "help", "helped", "helps", "solve",
    "solved", "solves", "work", "worked", "works", "that", "thats", "this", "right", "correct",
    "sure", "go", "ahead", "open", "add", "a", "the", "one", "same", "different", "new",
    "issue", "case", "problem", "really", "still", "i", "need", "yet", "all", "good", "fine",
    "ok", "okay", "so", "sorry", "exactly", "of", "course", "to", "there", "was", "wasnt",
    "another", "other", "something", "else", "thing", "at", "whatever", "definitely", "yes",
    "no", "nope", "yeah", "yep", "nah", "unfortunately", "afraid", "im",
    "谢谢", "谢谢你", "谢谢您", "请", "麻烦了", "麻烦你了",
})


def _answer_words(text: str) -> list[str]:
    """``words(text)`` with the particles at the end of Chinese words dropped."""
    return [w.rstrip(_CHINESE_PARTICLES) or w for w in words(text)]


def _reads_as(text: str, heads: frozenset[str], phrases: frozenset[str]) -> bool:
    ws = _answer_words(text)
    if not ws or len(ws) > 8:
        return False
    joined = " ".join(ws)
    if joined in phrases or any(joined.startswith(p + " ") for p in phrases):
        return all(w in _ANSWER_FILLER or w in heads for w in ws)
    return ws[0] in heads and all(w in _ANSWER_FILLER or w in heads for w in ws[1:])


def reads_as_yes(text: str) -> bool:
    """"yes", "yes please open it", "yeah that's it" (and not "yes but the buyer ...")."""
    return _reads_as(text, YES, _YES_PHRASES) and not reads_as_no(text)


def reads_as_no(text: str) -> bool:
    """"no", "no it didn't help", "nope, it's a different issue" (and not "no tracking
    number was given", which is a statement)."""
    ws = _answer_words(text)
    if not ws:
        return False
    if ws[0] in YES and len(ws) > 1 and ws[1] in NO:
        return False  # "ok no worries"-like hedges are not a no
    return _reads_as(text, NO, _NO_PHRASES)


# Acknowledgements --------------------------------------------------------------------------------
_ACKS = frozenset({
    "ok", "okay", "k", "kk", "okk", "okey", "got it", "gotcha", "noted", "alright", "all right",
    "cool", "fine", "understood", "i see", "roger", "sure", "right", "great", "perfect",
    "sounds good", "good", "nice", "👍", "👌", "ok great", "okay great", "ok cool", "ok noted",
    "ok got it", "okay got it", "alright then", "ok then", "fine thanks", "ok thanks",
    "okay thanks", "ok thank you", "okay thank you", "got it thanks", "noted thanks",
    "great thanks", "perfect thanks", "cool thanks", "will do", "ok will do", "ok sure",
    "👍👍", "🙏", "ok 👍",
    "好的", "好", "好滴", "好嘞", "嗯", "嗯嗯", "哦", "噢", "收到", "知道了", "明白", "明白了", "了解",
    "了解了", "懂了", "行", "没问题", "好的 谢谢", "好的谢谢", "收到 谢谢", "收到谢谢", "好的 👍",
})


def is_acknowledgement(text: str) -> bool:
    """A bare "ok" / "got it" / "👍": a reaction to what was said, never content for a case."""
    return " ".join(words(text)) in _ACKS


# Ratings ---------------------------------------------------------------------------------------
RATING_WORDS: dict[str, tuple[str, ...]] = {
    "like": ("worthy of a like", "like", "liked", "great", "good", "very good", "excellent",
             "perfect", "amazing", "awesome", "brilliant", "helpful", "very helpful",
             "fantastic", "superb", "love it", "loved it", "thumbs up", "top", "👍", "😀", "😊",
             "well done", "good job", "great job", "satisfied", "happy"),
    "so_so": ("so-so", "so so", "soso", "average", "meh", "not bad", "mediocre", "could be better",
              "not great", "not that good", "mixed", "fair", "middling", "😐", "half"),
    "disappointing": ("very disappointing", "disappointing", "disappointed", "terrible", "bad",
                      "very bad", "awful", "horrible", "poor", "useless", "worst", "rubbish",
                      "not good", "not helpful", "unhelpful", "pathetic", "not happy", "unhappy",
                      "dissatisfied", "not satisfied", "👎", "😡", "😠", "thumbs down"),
}
_NEGATIONS = frozenset({"not", "wasnt", "isnt", "never", "hardly", "no", "werent", "arent"})
# Words that may come before the rating ("honestly it was terrible"); anything else there
# makes the rating word part of a statement ("I'd like to add ...").
_RATING_LEAD = frozenset({"it", "its", "was", "is", "that", "thats", "honestly", "really",
                          "very", "pretty", "quite", "overall", "so", "just", "all", "in",
                          "this", "time", "service", "support", "your", "you", "were", "are"})
_RATING_PHRASES: list[tuple[str, list[str]]] = sorted(
    ((level, words(p.replace("-", " "))) for level, ps in RATING_WORDS.items() for p in ps),
    key=lambda lp: -len(lp[1]))


def _find(phrase: list[str], ws: list[str]) -> int:
    for i in range(len(ws) - len(phrase) + 1):
        if ws[i:i + len(phrase)] == phrase:
            return i
    return -1


def _after_words(text: str, count: int) -> str:
    """``text`` without its first ``count`` words, punctuation around the cut dropped."""
    tokens = text.split()
    seen = 0
    for i, token in enumerate(tokens):
        if seen >= count:
            return " ".join(tokens[i:]).lstrip(",.;:!-–— ").strip()
        seen += len(words(token.replace("-", " ")))
    return ""


def rating(text: str) -> tuple[str, str] | None:
    """The rating a typed message gives, and the words after it: "terrible, nobody even
    answered me" -> ("disappointing", "nobody even answered me"); "非常失望，根本没有人回复我"
    likewise (bot.dialogue.chinese_ratings). None if it gives none."""
    chinese = rating_in_chinese(text)
    if chinese is not None:
        return chinese
    ws = words(text.replace("-", " "))
    if not ws:
        return None
    for level, phrase in _RATING_PHRASES:
        at = _find(phrase, ws)
        if at < 0:
            continue
        lead = ws[:at]
        if any(w not in _RATING_LEAD and w not in _NEGATIONS for w in lead):
            continue
        if any(w in _NEGATIONS for w in lead):
            level = {"like": "disappointing", "disappointing": "so_so"}.get(level, level)
        return level, _after_words(text, at + len(phrase))
    return None


_STARS = re.compile(r"^\s*(\d{1,2})\s*(?:/\s*(5|10)|stars?|⭐)\s*$", re.IGNORECASE)


def rating_from_stars(text: str) -> str | None:
    """"4/5", "2 stars", "9/10" -> a level (a bare number is a choice, not stars)."""
    m = _STARS.match(text)
    if not m:
        return None
    value, scale = int(m.group(1)), int(m.group(2) or 5)
    if not 0 <= value <= scale:
        return None
    share = value / scale
    return "like" if share >= 0.8 else "so_so" if share >= 0.5 else "disappointing"


# Choosing among offered buttons -------------------------------------------------------------
_ORDINALS = {"first": 1, "1st": 1, "one": 1, "second": 2, "2nd": 2, "two": 2, "third": 3,
             "3rd": 3, "three": 3, "fourth": 4, "4th": 4, "four": 4, "fifth": 5, "5th": 5,
             "five": 5}
_PICK_FILLER = frozenset({"the", "a", "an", "one", "please", "pls", "option", "choice", "number",
                          "no", "nr", "button", "i", "choose", "pick", "take", "want", "ll", "il",
                          "will", "go", "for", "with", "it", "its", "that", "this", "is", "about",
                          "thanks"})
_NEW_ISSUE = frozenset({"new", "new one", "new issue", "a new issue", "its a new issue",
                        "new case", "a new case", "open a new case", "different", "different one",
                        "different issue", "its different", "its a different issue",
                        "something else", "its something else", "another", "another issue",
                        "another one", "none", "none of them", "neither", "other", "other issue",
                        "separate", "separate issue", "its separate", "no its new",
                        "no its a new one", "no new issue", "no its different"})
_UNDO = frozenset({"undo", "undo that", "undo it", "please undo", "wrong case", "its the wrong case",
                   "thats the wrong case", "not that case", "its something else", "not for that case",
                   "take it back", "remove it", "wrong one", "that was wrong", "oops",
                   "oops wrong case", "no not that case", "cancel that"})


def ordinal(text: str) -> int | None:
    """"the first one" -> 1, "2nd" -> 2, "option 3" -> 3, "the last one" -> -1."""
    ws = [w for w in words(text) if w not in _PICK_FILLER or w == "one"]
    if not ws or len(words(text)) > 5:
        return None
    if ws in (["last"], ["last", "one"]):
        return -1
    if len(ws) == 2 and ws[1] == "one":
        ws = ws[:1]
    if len(ws) != 1:
        return None
    w = ws[0]
    if w.isdigit() and len(w) == 1:
        return int(w)
    return _ORDINALS.get(w)


def means_new_issue(text: str) -> bool:
    return " ".join(words(text)) in _NEW_ISSUE


def means_undo(text: str) -> bool:
    return " ".join(words(text)) in _UNDO


def _core(label: str) -> str:
    return " ".join(w for w in words(label) if w not in _PICK_FILLER)


def pick(text: str, offered: list[Button], undo_prefix: str, new_payloads: frozenset[str]) -> str | None:
    """The payload of the offered button a short typed answer means, or None: an ordinal
    ("the second one"), the label without its small words ("payments" for "Payments",
    "shipping one"), "a new issue" for the new-issue choice, "undo" for the undo button."""
    if not offered or len(words(text)) > 6:
        return None
    if means_undo(text):
        found = [b.payload for b in offered if b.payload.startswith(undo_prefix)]
        return found[0] if len(found) == 1 else None
    if means_new_issue(text):
        found = [b.payload for b in offered if b.payload in new_payloads]
        if len(found) == 1:
            return found[0]
    position = ordinal(text)
    if position is not None:
        if position == -1:
            return offered[-1].payload
        return offered[position - 1].payload if 1 <= position <= len(offered) else None
    core = _core(text)
    if core:
        found = [b.payload for b in offered if _core(b.label) == core]
        if len(found) == 1:
            return found[0]
    return None


# Words beyond an action ------------------------------------------------------------------------
# What asking for an action is made of ("this is really urgent pls", "keep it open please, I
# need more time"): anything else in the message is the seller's reason, for the agent.
_ACTION_FILLER = frozenset({
    "this", "is", "it", "its", "really", "very", "so", "super", "extremely", "urgent",
    "urgently", "asap", "pls", "plz", "please", "flag", "flagged", "mark", "marked", "as", "make",
    "the", "a", "an", "case", "my", "me", "i", "im", "need", "needs", "want", "keep", "open",
    "opened", "more", "time", "days", "day", "week", "weeks", "few", "give", "can", "could",
    "you", "u", "we", "for", "of", "on", "to", "and", "now", "help", "person", "human", "real",
    "agent", "someone", "somebody", "talk", "speak", "with", "right", "away", "quickly", "quick",
    "fast", "hurry", "priority", "high", "important", "critical", "emergency", "still", "not",
    "dont", "close", "closing", "closed", "do", "be", "get", "let", "us", "just", "some",
    "reopen", "again", "thanks", "thank", "one", "that", "would", "like", "id", "ill", "am",
    "are", "was", "by", "have", "has", "must", "should", "team", "support", "your", "hi",
    "hello", "yes", "ok", "okay", "actually", "also", "too", "much", "matter", "matters",
})
# Two words of one's own make a reason ("urgent: buyer furious").
_OWN_WORDS = 2


def carries_more(text: str) -> bool:
    """Whether a request for an action also says something the agent should read."""
    for _norm, raw in find_order_ids(text):
        text = text.replace(raw, " ")
    text = _CASE_NUMBER.sub(" ", text.casefold())
    own = [w for w in words(text) if w not in _ACTION_FILLER and any(c.isalpha() for c in w)]
    return len(own) >= _OWN_WORDS
