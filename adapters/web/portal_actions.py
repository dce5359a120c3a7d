"""What a seller does on a case's page: reply (text and files), evaluate, reopen, flag urgent,
keep open. Each is one call of the case service, the same the chat makes: the rules decide,
and a refusal is shown on the page with the rule's reason."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from adapters.web.portal_app import Portal, see_other
from adapters.web.portal_cases import case_page, load_case
from adapters.web.portal_once import Repeated, once_per_submission
from adapters.web.portal_refusals import refusal_text
from adapters.web.uploads import UploadRefused, forget_uploads, read_uploads, store_uploads
from bot import domain as d
from bot.case_rules.results import CaseDetail
from bot.errors import CaseRuleError, InvalidInput
from bot.texts import t

log = logging.getLogger(__name__)
T = TypeVar("T")


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


async def _refused(portal: Portal, request: Request, seller_id: int, problem: str,
                   status_code: int, form: FormData) -> Response:
    log.info("portal: %s refused for seller %s: %s", request.url.path, seller_id, problem)
    kept = {k: v for k, v in form.items() if isinstance(v, str) and k != "csrf_token"}
    return await case_page(portal, request, seller_id, [problem], status_code, kept)


async def _by_the_rules(portal: Portal, request: Request, seller_id: int, form: FormData,
                        detail: CaseDetail, work: Callable[[], T]) -> T | Response:
    """``work`` (one case-service call) off the event loop, once per form submission; a
    rule's refusal is shown on the case's page with its reason, in the seller's words (the
    rule's own message is logged). A repeated submission answers with the case's page, where
    the first one's result shows."""
    try:
        done = await once_per_submission(portal, seller_id, form, work)
    except CaseRuleError as exc:
        log.info("portal: case rule refused on %s: %s", detail.case.number, exc)
        rules = portal.cases.rules
        sentence = refusal_text(exc, detail.case.number, {
            "reopen": rules.reopen_days, "evaluation": rules.evaluation_days}, detail)
        return await _refused(portal, request, seller_id, sentence, _status(exc), form)
    if isinstance(done, Repeated):
        log.info("portal: %s sent again by seller %s; applied once", request.url.path,
                 seller_id)
        return see_other(f"/portal/cases/{detail.case.number}")
    return done


def _done(number: str, what: str) -> Response:
    return see_other(f"/portal/cases/{number}?done={what}")


async def _with_files(portal: Portal, request: Request, seller_id: int, form: FormData,
                      ) -> list[dict[str, object]] | Response:
    try:
        files = await read_uploads(form, "files", portal.max_file_bytes)
    except UploadRefused as exc:
        return await _refused(portal, request, seller_id, t("portal.not_sent", reason=exc), 413,
                              form)
    return await store_uploads(portal.queries, seller_id, files, portal.now())


async def reply(portal: Portal, request: Request, seller_id: int) -> Response:
    form = await portal.checked_form(request)
    detail = await load_case(portal, seller_id, request.path_params["number"])
    text = _text(form, "text")
    attachments = await _with_files(portal, request, seller_id, form)
    if isinstance(attachments, Response):
        return attachments
    if not text and not attachments:
        return await _refused(portal, request, seller_id,
                              t("portal.write_something"), 400, form)
    added = await _by_the_rules(portal, request, seller_id, form, detail, lambda: (
        portal.cases.add_seller_message(seller_id, detail.case.number, text, attachments)))
    if isinstance(added, Response):
        await forget_uploads(portal.queries, seller_id, attachments)
        return added
    return _done(detail.case.number, "replied")


async def evaluate(portal: Portal, request: Request, seller_id: int) -> Response:
    form = await portal.checked_form(request)
    detail = await load_case(portal, seller_id, request.path_params["number"])
    level = _text(form, "level")
    code = _text(form, "reason_code") or None
    words = _text(form, "reason") or None
    if level not in d.EVALUATION_LEVELS:
        return await _refused(portal, request, seller_id, t("portal.choose_level"), 400,
                              form)
    if level in d.LEVELS_NEEDING_REASON and code is None and words is None:
        return await _refused(portal, request, seller_id,
                              t("portal.choose_reason"), 400, form)
    if level not in d.LEVELS_NEEDING_REASON:
        code = words = None
    rated = await _by_the_rules(portal, request, seller_id, form, detail, lambda: (
        portal.cases.evaluate(seller_id, detail.case.number, level, words, code)))
    return rated if isinstance(rated, Response) else _done(detail.case.number, "evaluated")


async def reopen(portal: Portal, request: Request, seller_id: int) -> Response:
    form = await portal.checked_form(request)
    detail = await load_case(portal, seller_id, request.path_params["number"])
    text = _text(form, "text")
    if not text:  # checked before the files are stored, so a refusal leaves none behind
        return await _refused(portal, request, seller_id,
                              t("portal.reopen_needs_text"), 400, form)
    attachments = await _with_files(portal, request, seller_id, form)
    if isinstance(attachments, Response):
        return attachments
    result = await _by_the_rules(portal, request, seller_id, form, detail, lambda: (
        portal.cases.reopen(seller_id, detail.case.number, text, attachments)))
    if isinstance(result, Response):
        await forget_uploads(portal.queries, seller_id, attachments)
        return result
    return _done(result.case.number, "reopened" if result.new_case else "added")


async def urgent(portal: Portal, request: Request, seller_id: int) -> Response:
    form = await portal.checked_form(request)
    detail = await load_case(portal, seller_id, request.path_params["number"])
    flagged = await _by_the_rules(portal, request, seller_id, form, detail, lambda: (
        portal.cases.set_urgent(detail.case.number, True, d.SELLER, str(seller_id),
                                seller_id=seller_id)))
    return flagged if isinstance(flagged, Response) else _done(detail.case.number, "urgent")


async def keep_open(portal: Portal, request: Request, seller_id: int) -> Response:
    form = await portal.checked_form(request)
    detail = await load_case(portal, seller_id, request.path_params["number"])
    kept = await _by_the_rules(portal, request, seller_id, form, detail, lambda: (
        portal.cases.keep_open(seller_id, detail.case.number)))
    return kept if isinstance(kept, Response) else _done(detail.case.number, "kept")


def _status(exc: CaseRuleError) -> int:
    return 400 if isinstance(exc, InvalidInput) else 409


ACTIONS: dict[str, Callable[[Portal, Request, int], Awaitable[Response]]] = {
    "reply": reply, "evaluate": evaluate, "reopen": reopen, "urgent": urgent,
    "keep-open": keep_open,
}
