"""The seller portal and the web chat: Starlette routes, Jinja2 templates, the session."""
