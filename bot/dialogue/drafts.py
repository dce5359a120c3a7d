"""What each flow keeps in the dialogue state between turns (``DialogueState.data``).

The state is stored as JSON, so the drafts are TypedDicts over that JSON: the keys a flow may
write are named here, and mypy refuses a misspelt one. Every key is optional (a flow fills
them in as the seller answers); attachments are kept as `bot.messages.Attachment.as_dict`.
"""

from __future__ import annotations

from typing import Any, TypedDict, cast

from bot.dialogue.state import DialogueState

#: Files the seller sent along the way, as `Attachment.as_dict()` gives them.
KeptFiles = list[dict[str, Any]]


class IntakeDraft(TypedDict, total=False):
    """A case being opened (flows "intake" and "appeal")."""

    type: str | None  # the case type; None is "something else"
    text: str  # everything the seller wrote for it
    att: KeptFiles
    order: str | None
    no_order: bool  # the seller has no order id (types where that is fine)
    order_asked_again: bool
    human: bool  # the seller asked for a person
    follows: str | None  # the old case this one continues (too old to reopen)
    told_subject: str | None  # the subject the seller named
    subject: str | None  # the subject the duplicate check used
    kb: bool  # the self-help article was shown
    checked: bool  # the duplicate / cap check ran for checked_issue
    checked_issue: list[str | None]
    dup: str  # the open case that covers the issue
    shown: list[str]  # the open cases shown at the "dup" step, one of which it may be
    dup_same: bool  # ... and reads like the same issue
    others_shown: bool  # other open cases of the type were shown
    asks: int  # times more detail was asked for
    plan: dict[str, str]  # the appeal plan's parts (account health)


class TriageDraft(TypedDict, total=False):
    """A message waiting for the seller to choose its case type (flow "triage")."""

    text: str
    att: KeptFiles
    order: str | None
    human: bool


class WhichCaseDraft(TypedDict, total=False):
    """A message kept while the seller says which case it is for (flow "followup")."""

    text: str
    att: KeptFiles
    intent: str | None
    order: str | None


class ClosingDraft(TypedDict, total=False):
    """A close waiting for the seller's confirmation (flow "close")."""

    number: str
    words: str  # what the seller said when asking to close


class RatingDraft(TypedDict, total=False):
    """A rating whose reason is being asked for (flow "evaluation")."""

    case: str
    level: str
    asked_at: str  # ISO time the reason was asked


class FollowUpCaseDraft(TypedDict, total=False):
    """A message about a closed case, waiting for "open a follow-up case?"."""

    number: str
    text: str
    att: KeptFiles


def intake_draft(state: DialogueState) -> IntakeDraft:
    return cast(IntakeDraft, state.data)


def triage_draft(state: DialogueState) -> TriageDraft:
    return cast(TriageDraft, state.data)


def which_case_draft(state: DialogueState) -> WhichCaseDraft:
    return cast(WhichCaseDraft, state.data)


def closing_draft(state: DialogueState) -> ClosingDraft:
    return cast(ClosingDraft, state.data)


def rating_draft(state: DialogueState) -> RatingDraft:
    return cast(RatingDraft, state.data)


def follow_up_case_draft(state: DialogueState) -> FollowUpCaseDraft:
    return cast(FollowUpCaseDraft, state.data)
