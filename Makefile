# LearnHub developer commands. `make run` shows the app with demo data; `make test` is
# what CI runs (.ci/run). Every environment variable is described in README.md.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
APPS := learnhub programs champions reports
CHROMIUM ?= /usr/bin/chromium
# Node packages the tests use, each pinned in its folder's package-lock.json: axe-core for the
# browser tests' accessibility checks, oidc-provider as the identity provider of the company
# sign-in tests.
NODE_TOOLS := tests/browser/axe tests/oidc_idp

# `make run`: the embedded default, SQLite in the project and tasks run in process (no Redis).
RUN_DATABASE_URL ?= sqlite:///$(CURDIR)/db.sqlite3
RUN_ADDR ?= 127.0.0.1:8000
# The demo's Coursera and Udemy Business connections read local sandboxes on these ports, over HTTP.
SANDBOX_PORT ?= 8765
UDEMY_SANDBOX_PORT ?= $(shell echo $$(( $(SANDBOX_PORT) + 1 )))
DEMO_SEED ?= 42
SANDBOX_LOG ?= $${TMPDIR:-/tmp}/learnhub-sandbox-$(SANDBOX_PORT).log
UDEMY_SANDBOX_LOG ?= $${TMPDIR:-/tmp}/learnhub-sandbox-$(UDEMY_SANDBOX_PORT).log

# Checks that only need settings, not a database, use an in-memory SQLite database.
NO_DB := DATABASE_URL=sqlite://:memory: REDIS_URL=
# `check --deploy` with production settings: DEBUG off, a long random SECRET_KEY, a host.
DEPLOY_ENV := $(NO_DB) DEBUG=false ALLOWED_HOSTS=learnhub.example.com \
	SECRET_KEY="$$($(PY) -c 'import secrets; print(secrets.token_urlsafe(64))')"

.PHONY: help install lock run test lint fmt worker beat clean browser-deps messages compilemessages

help:
	@echo "make run     first run: venv, migrate, demo data, http://$(RUN_ADDR)/"
	@echo "make test    everything CI checks: ruff, mypy, migrations, deploy checks, pytest"
	@echo "make lint    ruff format --check, ruff check, mypy"
	@echo "make fmt     ruff format and ruff check --fix"
	@echo "make worker  a Celery worker (needs REDIS_URL)"
	@echo "make beat    the Celery beat scheduler (run exactly one; needs REDIS_URL)"
	@echo "make messages         collect the strings marked for translation into learnhub/locale/*/django.po"
	@echo "make compilemessages  compile learnhub/locale/*/django.po into the .mo files the app reads (commit both)"
	@echo "make lock    rewrite requirements*.lock (every dependency pinned, with hashes) from requirements*.txt"
	@echo "make clean   remove caches and collected static files"

$(PY):
	@command -v $(PYTHON) >/dev/null || { echo "$(PYTHON) is needed to create $(VENV) (or set PYTHON=...)" >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)

# Reinstall only when the lock file changed since the last install. The lock pins every
# transitive dependency with its hashes; `make lock` rewrites it from requirements*.txt.
$(STAMP): requirements-dev.lock | $(PY)
	$(PY) -m pip install --quiet --disable-pip-version-check --require-hashes -r requirements-dev.lock
	touch $@

install: $(STAMP)

LOCK_OPTIONS := --quiet --generate-hashes --allow-unsafe --strip-extras --no-emit-index-url --no-emit-find-links
lock: $(STAMP)
	$(VENV)/bin/pip-compile $(LOCK_OPTIONS) --output-file requirements.lock requirements.txt
	$(VENV)/bin/pip-compile $(LOCK_OPTIONS) --output-file requirements-dev.lock requirements-dev.txt

# The demo's completions arrive like real ones: seed_demo writes the roster and the
# connections, the Coursera and Udemy Business sandboxes serve each provider's records over
# HTTP, sync_provider runs the real pipeline, and post_demo_statements pushes a few xAPI
# statements through the xAPI intake, as LinkedIn Learning would. The sandboxes keep running
# with the server ("Sync now" and "Test connection" work) and stop with it (trap).
run: $(STAMP)
	@export DEBUG=true DATABASE_URL='$(RUN_DATABASE_URL)' REDIS_URL= CELERY_BROKER_URL= \
		EMAIL_URL='filemail:///$(CURDIR)/var/mail' SITE_URL='http://$(RUN_ADDR)'; \
	mkdir -p var/mail; \
	$(PY) manage.py migrate --noinput; \
	seeded="$$($(PY) manage.py seed_demo --seed $(DEMO_SEED) --sandbox-port $(SANDBOX_PORT) \
		--udemy-sandbox-port $(UDEMY_SANDBOX_PORT))"; \
	echo "$$seeded"; \
	sandbox="$(PY) manage.py run_sandbox_provider --org-id acme-demo --seed $(DEMO_SEED) --quiet"; \
	$$sandbox --kind coursera --port $(SANDBOX_PORT) --timestamps as-is >"$(SANDBOX_LOG)" 2>&1 & coursera=$$!; \
	$$sandbox --kind udemy --port $(UDEMY_SANDBOX_PORT) >"$(UDEMY_SANDBOX_LOG)" 2>&1 & udemy=$$!; \
	trap 'kill $$coursera $$udemy 2>/dev/null || true' EXIT INT TERM; \
	started() { \
		for _ in $$(seq 60); do \
			kill -0 "$$1" 2>/dev/null || { cat "$$3" >&2; echo "The $$4 sandbox did not start (port in use? set $$5=...)" >&2; exit 1; }; \
			$(PY) -c 'import sys, urllib.request as u; u.urlopen(sys.argv[1], timeout=1)' "$$2" 2>&1 | grep -q 401 && return 0; \
			sleep 0.5; \
		done; \
	}; \
	started $$coursera http://127.0.0.1:$(SANDBOX_PORT)/api/businesses.v1/acme-demo/programs \
		"$(SANDBOX_LOG)" Coursera SANDBOX_PORT; \
	started $$udemy http://127.0.0.1:$(UDEMY_SANDBOX_PORT)/api-2.0/organizations/acme-demo/analytics/user-course-activity/ \
		"$(UDEMY_SANDBOX_LOG)" "Udemy Business" UDEMY_SANDBOX_PORT; \
	$(PY) manage.py sync_provider "Coursera (demo)"; \
	$(PY) manage.py sync_provider "Udemy Business (demo)"; \
	$(PY) manage.py post_demo_statements --seed $(DEMO_SEED); \
	$(PY) manage.py backfill_snapshots; \
	echo; \
	echo "$$seeded" | grep -A8 '^Demo logins' | grep -v '^Open '; \
	echo "Demo sandboxes: Coursera http://127.0.0.1:$(SANDBOX_PORT)/api/ (log: $(SANDBOX_LOG)),"; \
	echo "  Udemy Business http://127.0.0.1:$(UDEMY_SANDBOX_PORT)/api-2.0/ (log: $(UDEMY_SANDBOX_LOG)); \"Sync now\" and \"Test connection\" on /providers/ read them."; \
	echo "Demo e-mails (sign-in codes, password resets, digests, nudges) are written to var/mail/."; \
	echo "LearnHub is starting at http://$(RUN_ADDR)/ (sign in at http://$(RUN_ADDR)/accounts/login/)"; \
	echo; \
	$(PY) manage.py runserver $(RUN_ADDR)

# Browser tests drive Debian's chromium. Install it when missing and we are root; under
# CI=true a missing browser is an error; elsewhere the browser tests skip with a reason.
browser-deps:
	@if [ ! -x "$(CHROMIUM)" ]; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			echo "Installing chromium for the browser tests"; \
			{ apt-get install -y chromium chromium-driver || { apt-get update && apt-get install -y chromium chromium-driver; }; } || true; \
		fi; \
	fi; \
	if [ ! -x "$(CHROMIUM)" ]; then \
		if [ "$${CI:-}" = true ]; then echo "CI=true but $(CHROMIUM) is missing: install chromium chromium-driver" >&2; exit 1; fi; \
		echo "NOTE: $(CHROMIUM) is missing; the browser tests will be skipped"; \
	fi
	@for dir in $(NODE_TOOLS); do \
		if [ ! -f "$$dir/node_modules/.package-lock.json" ] || [ "$$dir/package-lock.json" -nt "$$dir/node_modules/.package-lock.json" ]; then \
			if command -v npm >/dev/null; then \
				npm ci --prefix "$$dir" --no-audit --no-fund --silent && touch "$$dir/node_modules/.package-lock.json"; \
			elif [ "$${CI:-}" = true ]; then echo "CI=true but npm is missing: install Node.js and npm ($$dir)" >&2; exit 1; \
			else echo "NOTE: npm is missing; the tests that need $$dir will be skipped"; fi; \
		fi; \
	done

lint: $(STAMP)
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/ruff check .
	$(NO_DB) DEBUG=true $(VENV)/bin/mypy $(APPS)

fmt: $(STAMP)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

# Uses DATABASE_URL / REDIS_URL from the environment, otherwise the defaults in
# pyproject.toml [tool.pytest.ini_options] env (local PostgreSQL, Redis db 15).
# pytest-xdist runs the suite in PYTEST_WORKERS processes (0: one process), each with its
# own test database and Redis database; idle workers take tests from busy ones (worksteal).
# Four on two cores: many tests spend their time waiting on a Celery worker or a lease.
PYTEST_WORKERS ?= 4
test: $(STAMP) browser-deps lint
	$(NO_DB) DEBUG=true $(PY) manage.py makemigrations --check --dry-run
	$(DEPLOY_ENV) $(PY) manage.py check --deploy --fail-level WARNING
	CHROMIUM_PATH=$(CHROMIUM) $(VENV)/bin/pytest -n $(PYTEST_WORKERS) --dist worksteal $(PYTEST_ARGS)

# Translations: every language of settings.LANGUAGES but English (the language of the source).
# No line numbers in the catalogue, so it changes only when a string does.
MESSAGE_LANGUAGES := de
MESSAGES_OPTIONS := --no-location --no-obsolete --ignore=.venv --ignore=node_modules --ignore=tests \
	--ignore=bench --ignore=test-artifacts --ignore=staticfiles --ignore=learnhub/demo
messages: $(STAMP)
	$(NO_DB) DEBUG=true $(PY) manage.py makemessages $(addprefix --locale=,$(MESSAGE_LANGUAGES)) $(MESSAGES_OPTIONS)

# From learnhub/, so that only our catalogue is compiled (not those of the packages in .venv).
compilemessages: $(STAMP)
	cd learnhub && $(NO_DB) DEBUG=true ../$(PY) ../manage.py compilemessages

worker: $(STAMP)
	$(VENV)/bin/celery -A learnhub worker -l info

beat: $(STAMP)
	$(VENV)/bin/celery -A learnhub beat -l info

clean:
	rm -rf .pytest_cache .mypy_cache .ruff_cache staticfiles test-artifacts
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -exec rm -rf {} +
