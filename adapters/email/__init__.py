"""Email: the outbox sender of destination ``email`` (SMTP) and the verification page."""
