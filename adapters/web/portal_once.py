"""A portal form is applied once per submission.

Every form that changes a case carries a submission id, new each time the page is drawn
(``new_submission()`` in the templates, adapters.web.rendering). A double click, or a browser
sending the form again after it lost the answer, repeats the id: the second request finds
the first one's claim (bot.once, source ``portal``) and changes nothing. A page drawn again
after a refusal has a new id, so a corrected form is not mistaken for a repeat.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TypeVar

from starlette.datastructures import FormData

from adapters.web.portal_app import Portal
from bot.inbound_claims import ClaimLost, EventInProgress

SUBMISSION_FIELD = "submission"
_SUBMISSION_ID = re.compile(r"[0-9a-f]{32}")
T = TypeVar("T")


class Repeated:
    """The form was applied already (or is being applied by the first request)."""


REPEATED = Repeated()


async def once_per_submission(portal: Portal, seller_id: int, form: FormData,
                              work: Callable[[], T]) -> T | Repeated:
    """``work`` (one case-service call) off the event loop, unless this submission was
    applied already. A form without a valid id (a page drawn before ids existed, a script)
    is applied as it comes. A rule's refusal (CaseRuleError) reaches the caller, and the id
    can be sent again."""
    submission = form.get(SUBMISSION_FIELD)
    if not isinstance(submission, str) or not _SUBMISSION_ID.fullmatch(submission):
        return await portal.call(work)
    once = portal.once
    try:
        claim = await portal.call(once.claim, f"{seller_id}:{submission}")
        if claim is None:
            return REPEATED
        return await portal.call(once.run, claim, work)
    except (EventInProgress, ClaimLost):
        # The first request is still at it (or took over): its result is what the seller
        # will see on the case's page.
        return REPEATED
