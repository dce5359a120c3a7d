"""Jinja2 rendering for the portal's pages: autoescaped templates from adapters/web/templates,
with what every page needs (brand, seller, CSRF token, static file URLs) filled in."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup, escape
from starlette.requests import Request
from starlette.responses import HTMLResponse

from adapters.web.session import csrf_token, current_seller
from adapters.web.uploads import MAX_FILES
from bot import i18n
from bot.texts import t

TEMPLATES_DIR = Path(__file__).parent / "templates"
STATIC_DIR = Path(__file__).parent / "static"
STATIC_PREFIX = "/portal/static/"


def static_url(name: str) -> str:
    return f"{STATIC_PREFIX}{name}"


def t_html(key: str, **values: object) -> Markup:
    """The text of ``key`` as HTML: the translation escaped, its values escaped unless they are
    markup (``link``, ``code``, ``strong``). A link or a command sits inside a sentence whose
    word order is the translator's, so it is a placeholder of the text, not a piece glued
    after it."""
    # Markup goes in after the text is escaped; other values (a count that picks the plural
    # form, a name) are filled in by t() and escaped with the text.
    slots = {name: f"\x00{name}\x00" for name, value in values.items()
             if isinstance(value, Markup)}
    html = str(escape(t(key, **{**values, **slots})))
    for name, slot in slots.items():
        html = html.replace(slot, str(values[name]))
    return Markup(html)


def link(url: str, label: str) -> Markup:
    return Markup('<a href="{}">{}</a>').format(url, label)


def code(text: str) -> Markup:
    return Markup("<code>{}</code>").format(text)


def strong(text: str, element_id: str | None = None) -> Markup:
    if element_id:
        return Markup('<strong id="{}">{}</strong>').format(element_id, text)
    return Markup("<strong>{}</strong>").format(text)


def browser_speaker(request: Request) -> i18n.Speaker:
    """For a page shown before we know the seller (a login link refused, the session ended):
    the first shipped language the browser asks for (Accept-Language), else English."""
    return speaker_of_browser(request.headers.get("accept-language", ""))


def speaker_of_browser(accept_language: str) -> i18n.Speaker:
    """The first shipped language an Accept-Language header asks for, else English."""
    for part in accept_language[:200].split(","):
        language = i18n.from_language_code(part.split(";")[0])
        if language is not None:
            return i18n.speaker(language)
    return i18n.speaker(None)


def too_large_words(accept_language: str, cap_bytes: int) -> str:
    """The refusal of a request body over the server's cap, before any page could read it
    (an upload past the limit): in the browser's language, which is the seller's on the
    portal (its pages send it)."""
    with i18n.speaking(speaker_of_browser(accept_language)):
        return t("portal.request_too_large", mb=max(1, cap_bytes // 1_000_000))


def email_settings_url(request: Request) -> str | None:
    """The email settings page, when this server sends mail (``app.state.email_settings_url``,
    set with FRONTDOOR_SMTP_URL): the portal's navigation links it."""
    state = getattr(request.scope.get("app"), "state", None)
    url = getattr(state, "email_settings_url", None)
    return url if isinstance(url, str) else None


class PageRenderer:
    """Renders a template for a request: the page's own values plus the shared ones."""

    def __init__(self, brand: str, extra_dirs: list[Path] | None = None) -> None:
        self.brand = brand
        self.env = Environment(
            loader=FileSystemLoader([*(extra_dirs or []), TEMPLATES_DIR]),
            autoescape=select_autoescape(["html"]), trim_blocks=True, lstrip_blocks=True)
        self.env.globals["static_url"] = static_url
        # The pages' words come from the bot's catalogue (bot/portal_texts.py, translated with Babel
        # like the chat's), in the language of the seller the request speaks to.
        self.env.globals["t"] = t
        self.env.globals.update(t_html=t_html, link=link, code=code, strong=strong)
        # Each form that changes a case is applied once per drawing (adapters.web.portal_once).
        self.env.globals["new_submission"] = lambda: uuid.uuid4().hex

    def page(self, request: Request, template: str, status_code: int = 200,
             **values: Any) -> HTMLResponse:
        context: dict[str, Any] = {
            "brand": self.brand, "seller": current_seller(request), "csrf": csrf_token(request),
            "notices": [], "problems": [], "request": request, "status_code": status_code,
            "email_settings_url": email_settings_url(request),
            # The language selector: the languages, each in itself, and the one shown now.
            "languages": i18n.LANGUAGE_NAMES, "language": i18n.current_language(),
            "lang": i18n.current_language().replace("_", "-"), "max_files": MAX_FILES,
        }
        context.update(values)
        html = self.env.get_template(template).render(context)
        return HTMLResponse(html, status_code=status_code, headers={
            # Pages show a seller's cases: never cached by shared caches, never framed.
            "Cache-Control": "no-store", "X-Frame-Options": "DENY",
            "Referrer-Policy": "same-origin", "X-Content-Type-Options": "nosniff"})
