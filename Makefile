# Frontdoor: `make run` and `make test` set up everything they need on a fresh machine.
SHELL := /bin/bash
# The first interpreter that really runs and is 3.11+ (pyenv shims exist for inactive versions).
PYTHON ?= $(shell for p in python3.12 python3.11 python3.13 python3; do \
	$$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null && { command -v $$p; break; }; \
	done)
VENV := .venv
BIN := $(VENV)/bin
# Re-install when the project's dependencies change.
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | sha1sum | cut -c1-12)

.PHONY: browser run test lint typecheck venv nlu-model db bench clean help translations mo

help:
	@echo "make run   - set up and start Frontdoor (console chat, or the server with tokens)"
	@echo "make test  - set up and run the whole test suite"
	@echo "make lint  - ruff and mypy"
	@echo "make bench - run the benchmarks and update docs/benchmarks.md"
	@echo "make translations - refresh the .pot from the code, merge it into each .po, compile"

venv: $(STAMP)

$(STAMP): pyproject.toml
	@test -n "$(PYTHON)" || { echo "Python 3.11 or newer is needed" >&2; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	@rm -f $(VENV)/.installed-* && touch $@

# Creates the Rasa environment (Python 3.10) and trains the model if the data changed;
# both are cached per user, so this is quick when already done.
nlu-model: venv
	$(BIN)/frontdoor nlu train

db: venv
	$(BIN)/frontdoor db upgrade

# Sellers' texts in their language (bot/i18n.py). The .po files are committed; the .mo files
# are built here (not committed; a checkout without them compiles the .po when it starts).
LOCALE := bot/locale
MO_FILES := $(patsubst %.po,%.mo,$(wildcard $(LOCALE)/*/LC_MESSAGES/messages.po))

mo: $(MO_FILES)

$(LOCALE)/%/LC_MESSAGES/messages.mo: $(LOCALE)/%/LC_MESSAGES/messages.po | venv
	$(BIN)/pybabel compile -i $< -o $@ -l $*

# After changing English texts: the template from the code, merged into each language's .po
# (changed texts come back fuzzy, new ones empty: translate them), then compiled.
translations: venv
	$(BIN)/python -m bot.i18n_catalogue $(LOCALE)/messages.pot
	$(BIN)/pybabel update -i $(LOCALE)/messages.pot -d $(LOCALE) -D messages -w 100
	$(BIN)/pybabel compile -d $(LOCALE) -D messages --statistics

run: venv nlu-model db mo
	@if [ -n "$$TELEGRAM_BOT_TOKEN$$SLACK_BOT_TOKEN" ] || grep -qsE '^(TELEGRAM_BOT_TOKEN|SLACK_BOT_TOKEN)=.+' .env; then \
		exec $(BIN)/frontdoor serve; \
	else \
		exec $(BIN)/frontdoor chat; \
	fi

test: venv nlu-model mo browser
	$(BIN)/pytest -q -ra

# The portal's browser tests drive Debian's chromium (Playwright for Python, no downloaded
# browser): installed with apt-get when missing and this user can (root, or sudo without a
# password); otherwise stop and say how, rather than skip the tests.
browser:
	@command -v chromium >/dev/null 2>&1 || [ -n "$$FRONTDOOR_CHROMIUM" ] || { \
		if [ "$$(id -u)" = 0 ]; then APT="apt-get"; \
		elif sudo -n true 2>/dev/null; then APT="sudo apt-get"; \
		else echo "The browser tests need Debian's chromium: run 'sudo apt-get install -y chromium' (or set FRONTDOOR_CHROMIUM)" >&2; exit 1; fi; \
		export DEBIAN_FRONTEND=noninteractive; $$APT install -y chromium || { $$APT update && $$APT install -y chromium; }; }

lint: venv
	$(BIN)/ruff check .
	$(BIN)/mypy

bench: venv nlu-model
	$(BIN)/python -m bench.run_all

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
