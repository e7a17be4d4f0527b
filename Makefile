# Two commands do all the set-up: `make run` and `make test`. Both build .venv from requirements.lock first.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test test-sqlite test-postgresql lint bench lock clean

$(STAMP): requirements.lock pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info[:2] < (3, 11) and "Python 3.11 or newer is needed")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --require-hashes -r requirements.lock
	$(BIN)/pip install --quiet --no-deps --no-build-isolation -e .
	@touch $(STAMP)

## run: migrate, load the demo organisation (once) and serve on http://127.0.0.1:8000 (SQLite under ./var)
run: $(STAMP)
	$(BIN)/crm demo load --if-empty
	$(BIN)/crm serve

## test: lint, then the whole suite on SQLite and on PostgreSQL (skipped, saying why, if no server)
test: $(STAMP) lint
	@# The two databases' suites share nothing (own database, own mail servers on free ports): side by side.
	$(MAKE) --no-print-directory -j2 --output-sync=target test-sqlite test-postgresql

test-sqlite: $(STAMP)
	$(BIN)/pytest

test-postgresql: $(STAMP)
	CRM_TEST_DATABASE=postgresql $(BIN)/pytest

lint: $(STAMP)
	$(BIN)/ruff check .

## bench: the API read benchmark (100k contacts in PostgreSQL), the add-in's context call (1M activities,
## about 5 minutes), mail ingest, IMAP sync against mbsync (50,000 messages, about 20 minutes), Exchange
## (Graph) sync against IMAP (10,000 messages, about 12 minutes) and CalDAV sync against vdirsyncer (5,000
## events, about 5 minutes); figures go to docs/benchmarks.md
bench: $(STAMP)
	$(BIN)/python bench/api_read.py
	$(BIN)/python bench/addin_context.py
	$(BIN)/python bench/load.py
	$(BIN)/python bench/mail_ingest.py
	$(BIN)/python bench/imap_sync.py --rounds 1
	$(BIN)/python bench/exchange_sync.py --rounds 1
	$(BIN)/python bench/calendar.py
	$(BIN)/python bench/scheduling.py
	$(BIN)/python bench/workers.py

## lock: re-pin requirements.lock after changing dependencies in pyproject.toml (needs uv)
lock:
	uv pip compile pyproject.toml --extra dev --python-version 3.11 --generate-hashes -o requirements.lock

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache
