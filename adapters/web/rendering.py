"""Jinja2 rendering for the portal's pages: autoescaped templates from adapters/web/templates,
with what every page needs (brand, seller, CSRF token, static file URLs) filled in."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse

from adapters.web.session import csrf_token, current_seller
from bot import i18n
from bot.texts import t

TEMPLATES_DIR = Path(__file__).parent / "templates"
STATIC_DIR = Path(__file__).parent / "static"
STATIC_PREFIX = "/portal/static/"


def static_url(name: str) -> str:
    return f"{STATIC_PREFIX}{name}"


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
        # The pages' words come from the bot's catalogue (bot/texts.py, translated with Babel
        # like the chat's), in the language of the seller the request speaks to.
        self.env.globals["t"] = t

    def page(self, request: Request, template: str, status_code: int = 200,
             **values: Any) -> HTMLResponse:
        context: dict[str, Any] = {
            "brand": self.brand, "seller": current_seller(request), "csrf": csrf_token(request),
            "notices": [], "problems": [], "request": request, "status_code": status_code,
            "email_settings_url": email_settings_url(request),
            # The language selector: the languages, each in itself, and the one shown now.
            "languages": i18n.LANGUAGE_NAMES, "language": i18n.current_language(),
        }
        context.update(values)
        html = self.env.get_template(template).render(context)
        return HTMLResponse(html, status_code=status_code, headers={
            # Pages show a seller's cases: never cached by shared caches, never framed.
            "Cache-Control": "no-store", "X-Frame-Options": "DENY",
            "Referrer-Policy": "same-origin", "X-Content-Type-Options": "nosniff"})
