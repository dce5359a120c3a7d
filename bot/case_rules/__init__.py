"""The case rules (rules 1-11), one module per group; `bot.cases.CaseService` puts them
together. Every operation is one transaction over a unit of work."""
