"""What the model reads of a seller's message.

Three changes from what the seller typed, all so that the words decide the intent:

- full-width letters, digits and signs (typed by Chinese input methods: "ＣＸ－００００１２号") are
  read as their ASCII forms, which is how nearly all the training examples write them;
- Traditional Chinese characters (sellers from Hong Kong and Taiwan: "庫存同步有問題") are read as
  their Simplified forms (OpenCC's conversion), the script the training examples are written
  in; a character n-gram model would otherwise see a different word in each script;
- reference codes are left out: a run of letters and digits such as a tracking number, a
  payment reference or an ASIN ("tkeee9d18ee7", "1Z999AA10123456784"). The model reads
  character n-grams, and a random code shares some with words it knows ("eee" with "keep"), so
  a code could tip a message to an intent its words don't say. Order ids and case numbers stay:
  they are features the model was trained on (an order id hints at order, shipping and payment
  issues, a case number at status, reopen and urgent).

The engine finds order ids and case numbers in the text as typed (:mod:`bot.identifiers`), so
nothing the engine acts on is lost here.
"""

from __future__ import annotations

import re
from functools import cache

from opencc import OpenCC

from bot.identifiers import find_case_numbers, find_order_ids, fold_full_width

# A run of ASCII letters and digits, with dashes or underscores inside it, not glued to other
# letters or digits (Chinese characters may touch it: "单号1Z999AA1012的").
_RUN = re.compile(r"(?<![0-9A-Za-z])[0-9A-Za-z](?:[0-9A-Za-z_-]*[0-9A-Za-z])?(?![0-9A-Za-z])")
# Shorter runs are words or model numbers ("2fa", "mp3", "b2b") that can carry meaning.
_CODE_MIN_LENGTH = 6
# A word and a number glued together ("iphone15", "covid-19", "48hours", "1099-NEC") say
# something; letters and digits mixed more than that ("tkeee9d18ee7", "B08XYZ1234"), or a
# long glued pair ("abcdef123456"), are a code.
_CODE_MIN_ALTERNATIONS = 2
_GLUED_PAIR_MIN_LENGTH = 10
_LETTERS_OR_DIGITS = re.compile(r"[A-Za-z]+|[0-9]+")


def _is_reference_code(run: str, case_prefix: str) -> bool:
    """True for a code of at least two letters and two digits, mixed or long, that is neither
    an order id nor a case number."""
    if len(run) < _CODE_MIN_LENGTH:
        return False
    digits = sum(char.isdigit() for char in run)
    letters = sum(char.isalpha() for char in run)
    if digits < 2 or letters < 2:
        return False
    alternations = len(_LETTERS_OR_DIGITS.findall(run)) - 1
    if alternations < _CODE_MIN_ALTERNATIONS and len(run) < _GLUED_PAIR_MIN_LENGTH:
        return False
    return not (find_order_ids(run) or find_case_numbers(run, case_prefix))


@cache
def _to_simplified() -> OpenCC:
    # Loading the conversion tables takes a few milliseconds: once per process, on first use.
    return OpenCC("t2s")


def simplified(text: str) -> str:
    """``text`` with Traditional Chinese characters in their Simplified forms (others as they
    are)."""
    return str(_to_simplified().convert(text))


def model_text(text: str, case_prefix: str = "CX") -> str:
    """``text`` as the model should read it: full-width folded, Traditional characters
    Simplified, reference codes left out."""
    folded = simplified(fold_full_width(text))
    kept = _RUN.sub(lambda match: "" if _is_reference_code(match.group(0), case_prefix) else match.group(0),
                    folded)
    # Removing a code can leave two spaces; the tokenizer doesn't care, but a log reader might.
    return re.sub(r"[ \t]{2,}", " ", kept).strip() or folded.strip()
