"""The seller portal and the web chat: Starlette routes, Jinja2 templates, the session."""

# The portal's words join the catalogue before any page of this package is rendered.
import bot.portal_texts  # noqa: E402,F401
