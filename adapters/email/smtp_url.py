"""FRONTDOOR_SMTP_URL: where mail is handed over.

``smtp://host[:port]`` (plain, port 25), ``smtp+starttls://host[:port]`` (STARTTLS, port 587),
``smtps://host[:port]`` (TLS from the start, port 465); optionally ``user:password@`` before
the host (percent-encoded), to log in.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

_SCHEMES = {"smtp": 25, "smtp+starttls": 587, "smtps": 465}


@dataclass(frozen=True)
class SmtpServer:
    host: str
    port: int
    tls: bool = False  # smtps: TLS from the first byte
    starttls: bool = False
    user: str | None = None
    password: str | None = None

    @classmethod
    def parse(cls, url: str) -> SmtpServer:
        """Read FRONTDOOR_SMTP_URL; ValueError saying what is wrong."""
        parts = urlsplit(url.strip())
        scheme = parts.scheme.lower()
        if scheme not in _SCHEMES:
            raise ValueError(f"FRONTDOOR_SMTP_URL must start with one of "
                             f"{', '.join(s + '://' for s in _SCHEMES)}; got {scheme or 'none'}")
        if not parts.hostname:
            raise ValueError("FRONTDOOR_SMTP_URL names no host")
        try:
            port = parts.port or _SCHEMES[scheme]
        except ValueError as exc:
            raise ValueError(f"FRONTDOOR_SMTP_URL has a bad port: {exc}") from None
        return cls(host=parts.hostname, port=port, tls=scheme == "smtps",
                   starttls=scheme == "smtp+starttls",
                   user=unquote(parts.username) if parts.username else None,
                   password=unquote(parts.password) if parts.password else None)

    def describe(self) -> str:
        """For logs: never the password."""
        scheme = "smtps" if self.tls else "smtp+starttls" if self.starttls else "smtp"
        who = f"{self.user}@" if self.user else ""
        return f"{scheme}://{who}{self.host}:{self.port}"
