"""Fault tests: two real `frontdoor serve` processes on PostgreSQL, one Rasa server, the
Slack and Telegram stand-ins, and the faults operators meet (platform errors and outages, the
database or Rasa going away, a process killed), counted message by message."""
