"""The portal's language selector: the same stored choice as the chat's /language
(CaseService.set_preferences), so the chat, the emails and the pages all follow it."""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import Response

from adapters.web.portal_app import Portal, Refusal, see_other
from bot import i18n

log = logging.getLogger(__name__)
HOME = "/portal/cases"


def _back_to(value: object) -> str:
    # Only a page of this portal: the field is the seller's, an open redirect is not.
    if isinstance(value, str) and value.startswith("/portal/") and "//" not in value \
            and "\\" not in value:
        return value[:300]
    return HOME


async def choose_language(portal: Portal, request: Request, seller_id: int) -> Response:
    form = await portal.checked_form(request)
    language = form.get("language")
    if not isinstance(language, str) or language not in i18n.LANGUAGES:
        raise Refusal(400, "portal.choose_language")
    await portal.call(portal.cases.set_preferences, seller_id, language)
    log.info("portal: seller %s chose language %s", seller_id, language)
    return see_other(_back_to(form.get("back")))
