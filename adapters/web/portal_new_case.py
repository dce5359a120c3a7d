"""The new-case form, under the chat's rules and in the chat's order: the knowledge-base
article first (rule 9), then the checks of opening (bot.case_rules.opening: declined is final,
the daily cap, one case per issue: an existing case is shown instead of a duplicate, with the
choice to add the message to it), then the case.

The files are stored on the first submission; the steps after it carry their ids, and each
id is checked to be the seller's own again.
"""

from __future__ import annotations

import logging
from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from adapters.web.portal_app import Portal, see_other
from adapters.web.portal_once import Repeated, once_per_submission
from adapters.web.portal_refusals import refusal_text
from adapters.web.uploads import (
    UploadRefused,
    attachment_record,
    forget_uploads,
    read_uploads,
    store_uploads,
)
from bot.dialogue.intake import ORDER_OPTIONAL
from bot.errors import CaseRuleError
from bot.identifiers import find_order_ids
from bot.labels import CASE_TYPES, ORDER_CASE_TYPES
from bot.texts import case_title, case_type_label, t

log = logging.getLogger(__name__)

#: Types that need an order, as in chat.
ORDER_REQUIRED = ORDER_CASE_TYPES - ORDER_OPTIONAL
MIN_DESCRIPTION_CHARS = 15
FIELDS = ("case_type", "order_id", "description", "follows")
#: How an order id looks, shown as an example (bot.identifiers reads this form and others).
ORDER_EXAMPLE = "123-1234567-1234567"


def _value(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def _types() -> list[tuple[str, str]]:
    return ([(case_type, case_type_label(case_type)) for case_type in CASE_TYPES]
            + [("", t("portal.something_else"))])


async def form(portal: Portal, request: Request, seller_id: int) -> Response:
    # From a closed case too old to reopen: the new case continues it (linked both ways).
    follows = portal.case_number(request.query_params.get("follows", "")[:40])
    return _form(portal, request, {"follows": follows} if follows else {}, [])


def _form(portal: Portal, request: Request, values: dict[str, str], problems: list[str],
          status_code: int = 200) -> Response:
    if problems:
        log.info("portal: new case refused (%s): %s", status_code, " ".join(problems))
    return portal.pages.page(request, "new_case.html", status_code=status_code, nav="new",
                             values=values, types=_types(), problems=problems,
                             max_mb=portal.max_file_bytes // 1_000_000,
                             order_example=ORDER_EXAMPLE)


async def _kept_files(portal: Portal, seller_id: int, form_data: FormData) -> list[dict[str, Any]]:
    """The attachments stored on an earlier step, by id, only the seller's own."""
    kept = []
    for text in _value(form_data, "kept_files").split(","):
        if not (text.isascii() and text.isdigit()) or len(text) > 18:
            continue
        stored = await portal.call(portal.queries.get_file, int(text), seller_id)
        if stored is not None:
            kept.append(attachment_record(stored.file_id, stored.file_name, stored.mime_type,
                                          len(stored.content)))
    return kept


async def submit(portal: Portal, request: Request, seller_id: int) -> Response:
    form_data = await portal.checked_form(request)
    values = {name: _value(form_data, name)[:4000] for name in FIELDS}
    case_type = values["case_type"] or None
    order_text = values["order_id"]
    description = values["description"]
    problems = []
    if case_type is not None and case_type not in CASE_TYPES:
        problems.append(t("portal.choose_type"))
    orders = find_order_ids(order_text) if order_text else []
    order_id = orders[0][0] if orders else None
    if order_text and order_id is None:
        problems.append(t("portal.not_an_order", text=order_text[:40], example=ORDER_EXAMPLE))
    if case_type in ORDER_REQUIRED and order_id is None and not order_text:
        problems.append(t("portal.needs_order", type=case_type_label(case_type)))
    if len(description) < MIN_DESCRIPTION_CHARS:
        problems.append(t("portal.describe_more"))
    if problems:
        return _form(portal, request, values, problems, 400)
    try:
        uploads = await read_uploads(form_data, "files", portal.max_file_bytes)
    except UploadRefused as exc:
        return _form(portal, request, values, [t("portal.not_sent", reason=exc)], 413)
    attachments = (await _kept_files(portal, seller_id, form_data)
                   + await store_uploads(portal.queries, seller_id, uploads, portal.now()))
    kept = ",".join(str(a["file_id"]) for a in attachments)
    carried = {**values, "kept_files": kept}

    article = portal.knowledge.article(case_type)
    if article is not None and _value(form_data, "kb_seen") != "1":
        return portal.pages.page(request, "new_case_article.html", nav="new", article=article,
                                 carried=carried, files=[a["file_name"] for a in attachments])
    cases = portal.cases
    try:
        subject = cases.subject_for(case_type, order_id, description)
        existing = await portal.call(cases.check_can_open, seller_id, case_type, order_id,
                                     subject)
        if existing is not None:
            if _value(form_data, "add_to") == existing.number:
                added = await once_per_submission(portal, seller_id, form_data, lambda: (
                    cases.add_seller_message(seller_id, existing.number, description,
                                             attachments)))
                if isinstance(added, Repeated):
                    # A double click: the first request added it, with these same (kept)
                    # files, which stay.
                    return see_other(f"/portal/cases/{existing.number}")
                return see_other(f"/portal/cases/{existing.number}?done=added")
            return portal.pages.page(request, "new_case_existing.html", nav="new",
                                     existing=existing, existing_title=case_title(existing),
                                     carried=carried,
                                     files=[a["file_name"] for a in attachments])
        follows = portal.case_number(values["follows"]) if values["follows"] else None
        opened = await portal.call(cases.open_case, seller_id, case_type, description,
                                   order_id, attachments, subject=subject, follows=follows)
    except CaseRuleError as exc:
        # The form shown again carries no files: the ones stored for it would be orphans.
        await forget_uploads(portal.queries, seller_id, attachments)
        log.info("portal: new case refused by a rule: %s", exc)
        rules = cases.rules
        text = refusal_text(exc, values["follows"], {"reopen": rules.reopen_days,
                                                      "evaluation": rules.evaluation_days})
        return _form(portal, request, values, [text], 409)
    if not opened.created:
        # Opened by another request a moment ago: the same issue, shown instead.
        return portal.pages.page(request, "new_case_existing.html", nav="new",
                                 existing=opened.case, existing_title=case_title(opened.case),
                                 carried=carried,
                                 files=[a["file_name"] for a in attachments])
    return see_other(f"/portal/cases/{opened.case.number}?done=opened")
