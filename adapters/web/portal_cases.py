"""My cases (filter, search, pages) and a case's page (conversation latest on top, unread
agent replies highlighted then marked read, the actions its status allows), and the seller's
own files."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from adapters.files import FileFetchFailed, FileUnavailable
from adapters.web.portal_app import Portal, Refusal
from adapters.web.uploads import IMAGE_TYPES, SOURCE
from bot import domain as d
from bot import i18n
from bot.case_rules.base import STATUS_FILTERS
from bot.case_rules.evaluation import reason_label, reason_text
from bot.case_rules.queries import status_unseen
from bot.case_rules.results import CaseDetail
from bot.dialogue.actions import ALLOWED, KEEP, URGENT
from bot.dialogue.cleaning import clean_text
from bot.domain import Case, CaseMessage
from bot.errors import CaseNotFound, NotYourCase
from bot.texts import case_title, evaluation_label, status_label, t

#: The list's status tabs; each is labelled by the text ``portal.filter.<key>``.
FILTERS = ("in_progress", "closed", "all")
#: What the confirmation after a form says (a fixed set: nothing from the URL is shown as
#: is), by the text ``portal.done.<what>``.
DONE = ("replied", "evaluated", "urgent", "kept", "opened", "reopened", "added")


def done_notices(request: Request) -> list[str]:
    done = request.query_params.get("done")
    return [t(f"portal.done.{done}")] if done in DONE else []


def _when(case: Case) -> str:
    # In the seller's locale and time zone (the request speaks to them: portal_app.signed_in).
    return i18n.when(case.updated_at, year=True)


def is_updated(case: Case, unread: int) -> bool:
    """The "Updated" label: a new agent reply, or a status change the seller has not seen."""
    return unread > 0 or status_unseen(case)


async def case_list(portal: Portal, request: Request, seller_id: int) -> Response:
    status = request.query_params.get("status", "in_progress")
    if status not in FILTERS:
        status = "in_progress"
    # Cleaned like typed text: a NUL in a search would fail PostgreSQL's query.
    query = clean_text(request.query_params.get("q"))[:100]
    try:
        page = max(1, min(int(request.query_params.get("page", "1")), 10_000))
    except ValueError:
        page = 1
    size = portal.page_size
    # A search looks through every status, as in chat: the seller may not remember it.
    statuses = STATUS_FILTERS["all" if query else status]
    found = await portal.call(portal.queries.cases_page, seller_id, statuses, query or None,
                              portal.case_number(query) if query else None,
                              (page - 1) * size, size)
    rows = [{"case": c, "title": case_title(c), "status": status_label(c.status), "when": _when(c),
             "updated": is_updated(c, found.unread.get(c.id, 0)),
             "unread": found.unread.get(c.id, 0)} for c in found.cases]
    pages = max(1, -(-found.total // size))

    def link(**changes: Any) -> str:
        params = {"status": status, "q": query, "page": page} | changes
        return "/portal/cases?" + urlencode({k: v for k, v in params.items() if v})

    return portal.pages.page(
        request, "cases.html", nav="cases", rows=rows, status=status, query=query,
        filters=[(key, t(f"portal.filter.{key}"), link(status=key, page=None, q=None))
                 for key in FILTERS],
        total=found.total, page=page, pages=pages,
        previous=link(page=page - 1) if page > 1 else None,
        next=link(page=page + 1) if page < pages else None,
        notices=done_notices(request))


async def load_case(portal: Portal, seller_id: int, number_text: str) -> CaseDetail:
    """The seller's own case, else 404 (another seller's case looks like none at all)."""
    number = portal.case_number(number_text)
    if number is None:
        raise HTTPException(404)
    try:
        return await portal.call(portal.cases.get_case, number, seller_id)
    except (CaseNotFound, NotYourCase) as exc:
        raise HTTPException(404) from exc


def _attachments(portal: Portal, case: Case, message: CaseMessage) -> list[dict[str, Any]]:
    shown = []
    for index, a in enumerate(message.attachments):
        own = a.get("source") == SOURCE and str(a.get("file_id", "")).isdigit()
        url = f"/portal/files/{a['file_id']}" if own else None
        if (url is None and message.author_kind == d.AGENT and a.get("url")
                and portal.agent_files is not None):
            url = f"/portal/cases/{case.number}/agent-files/{message.id}/{index}"
        shown.append({"name": a.get("file_name") or a.get("kind") or "file", "url": url,
                      "image": url is not None and a.get("mime_type") in IMAGE_TYPES})
    return shown


def case_context(portal: Portal, detail: CaseDetail) -> dict[str, Any]:
    case = detail.case
    rules = portal.cases.rules
    now = portal.now()
    messages = [{"message": m, "agent": m.author_kind == d.AGENT,
                 "unread": m.author_kind == d.AGENT and m.read_at is None,
                 "who": (m.author_name or t("portal.support_team")) if m.author_kind == d.AGENT
                 else t("portal.you") if m.author_kind == d.SELLER else t("portal.support_bot"),
                 "when": i18n.when(m.created_at, year=True),
                 "files": _attachments(portal, case, m)}
                for m in reversed(detail.messages)]
    evaluation = detail.evaluation
    can_evaluate = (evaluation is None and case.resolved_at is not None
                    and case.status in (d.RESOLVED, d.CLOSED)
                    and now <= case.resolved_at + timedelta(days=rules.evaluation_days))
    latest = case.reopened_as_id is None
    reopen_open = (case.status == d.CLOSED and latest and case.closed_at is not None
                   and now - case.closed_at <= timedelta(days=rules.reopen_days))
    return {
        "case": case, "title": case_title(case), "status": status_label(case.status),
        "messages": messages,
        "when": _when(case), "detail": detail,
        "evaluation": evaluation,
        "evaluation_label": evaluation_label(evaluation.level) if evaluation else None,
        "evaluation_reason": reason_text(evaluation) if evaluation else None,
        "can_reply": case.is_active, "can_evaluate": can_evaluate,
        "evaluation_days": rules.evaluation_days,
        "levels": [(level, evaluation_label(level)) for level in d.EVALUATION_LEVELS],
        "level_labels": {level: evaluation_label(level) for level in d.EVALUATION_LEVELS},
        "reasons": [(code, reason_label(code)) for code in d.EVALUATION_REASONS],
        "other_reason": reason_label(d.REASON_OTHER),
        # A new case continuing one too old to reopen: linked both ways by events.
        "follows": [e.from_value for e in detail.events if e.kind == "follows" and e.from_value],
        "followed_by": [e.to_value for e in detail.events
                        if e.kind == "followed_by" and e.to_value],
        "can_reopen": reopen_open,
        "reopen_passed": case.status == d.CLOSED and latest and not reopen_open,
        "can_urgent": case.status in ALLOWED[URGENT] and not case.urgent,
        "can_keep": case.status in ALLOWED[KEEP] and latest,
        "keep_left": max(0, rules.keep_open_max - case.keep_open_count),
    }


async def case_page(portal: Portal, request: Request, seller_id: int,
                    problems: list[str] | None = None, status_code: int = 200,
                    form: dict[str, str] | None = None) -> Response:
    detail = await load_case(portal, seller_id, request.path_params["number"])
    response = portal.pages.page(
        request, "case.html", status_code=status_code, nav="case",
        notices=done_notices(request), problems=problems or [],
        form=form or {}, **case_context(portal, detail))
    if detail.unread or status_unseen(detail.case):
        # Seen here as in chat: the same read marks, so the chat's "Updated" clears too.
        await portal.call(portal.cases.mark_read, seller_id, [detail.case.number])
    return response


async def download(portal: Portal, request: Request, seller_id: int) -> Response:
    file_id = request.path_params["file_id"]
    if not (file_id.isascii() and file_id.isdigit()) or len(file_id) > 18:  # "²".isdigit()
        raise HTTPException(404)
    stored = await portal.call(portal.queries.get_file, int(file_id), seller_id)
    if stored is None:
        raise HTTPException(404)
    return _file_response(stored.content, stored.file_name, stored.mime_type)


async def agent_file(portal: Portal, request: Request, seller_id: int) -> Response:
    """A file an agent shared in the case's thread, fetched from Slack for its seller."""
    detail = await load_case(portal, seller_id, request.path_params["number"])
    message_id, index = request.path_params["message_id"], request.path_params["index"]
    message = next((m for m in detail.messages if str(m.id) == message_id
                    and m.author_kind == d.AGENT and not m.internal), None)
    if (message is None or not (index.isascii() and index.isdigit()) or len(index) > 4
            or int(index) >= len(message.attachments)):
        raise HTTPException(404)
    attachment = message.attachments[int(index)]
    if not attachment.get("url") or portal.agent_files is None:
        raise HTTPException(404)
    try:
        fetched = await portal.agent_files.fetch_url(str(attachment["url"]))
    except FileUnavailable as exc:
        raise HTTPException(404) from exc
    except FileFetchFailed as exc:
        raise Refusal(503, "portal.file_unavailable") from exc
    name = str(attachment.get("file_name") or fetched.name or "file")
    return _file_response(fetched.content, name, str(attachment.get("mime_type") or ""))


def _file_response(content: bytes, file_name: str, mime_type: str) -> Response:
    """A file for download; known image types shown inline, nothing run as a page."""
    inline = mime_type in IMAGE_TYPES
    safe_name = "".join(ch for ch in file_name if ch.isalnum() or ch in "._- ") or "file"
    return Response(content, media_type=mime_type if inline
                    else "application/octet-stream", headers={
                        "Content-Disposition": f'{"inline" if inline else "attachment"}; '
                                               f'filename="{safe_name}"',
                        "X-Content-Type-Options": "nosniff", "Cache-Control": "private, no-store",
                        "Content-Security-Policy": "default-src 'none'; sandbox"})
