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

# `make run`: the embedded default, SQLite in the project and tasks run in process (no Redis).
RUN_DATABASE_URL ?= sqlite:///$(CURDIR)/db.sqlite3
RUN_ADDR ?= 127.0.0.1:8000

# Checks that only need settings, not a database, use an in-memory SQLite database.
NO_DB := DATABASE_URL=sqlite://:memory: REDIS_URL=
# `check --deploy` with production settings: DEBUG off, a long random SECRET_KEY, a host.
DEPLOY_ENV := $(NO_DB) DEBUG=false ALLOWED_HOSTS=learnhub.example.com \
	SECRET_KEY="$$($(PY) -c 'import secrets; print(secrets.token_urlsafe(64))')"

.PHONY: help install run test lint fmt worker beat clean browser-deps

help:
	@echo "make run     first run: venv, migrate, demo data, http://$(RUN_ADDR)/"
	@echo "make test    everything CI checks: ruff, mypy, migrations, deploy checks, pytest"
	@echo "make lint    ruff format --check, ruff check, mypy"
	@echo "make fmt     ruff format and ruff check --fix"
	@echo "make worker  a Celery worker (needs REDIS_URL)"
	@echo "make beat    the Celery beat scheduler (run exactly one; needs REDIS_URL)"
	@echo "make clean   remove caches and collected static files"

$(PY):
	@command -v $(PYTHON) >/dev/null || { echo "$(PYTHON) is needed to create $(VENV) (or set PYTHON=...)" >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)

# Reinstall only when a requirements file changed since the last install.
$(STAMP): requirements.txt requirements-dev.txt | $(PY)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

install: $(STAMP)

run: $(STAMP)
	@export DEBUG=true DATABASE_URL='$(RUN_DATABASE_URL)' REDIS_URL= CELERY_BROKER_URL=; \
	$(PY) manage.py migrate --noinput; \
	$(PY) manage.py seed_demo; \
	echo; \
	echo "LearnHub is starting at http://$(RUN_ADDR)/"; \
	echo "Sign in at http://$(RUN_ADDR)/accounts/login/ with one of the demo logins printed above."; \
	echo; \
	exec $(PY) manage.py runserver $(RUN_ADDR)

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

lint: $(STAMP)
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/ruff check .
	$(NO_DB) DEBUG=true $(VENV)/bin/mypy $(APPS)

fmt: $(STAMP)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

# Uses DATABASE_URL / REDIS_URL from the environment, otherwise the defaults in
# pyproject.toml [tool.pytest.ini_options] env (local PostgreSQL, Redis db 15).
test: $(STAMP) browser-deps lint
	$(NO_DB) DEBUG=true $(PY) manage.py makemigrations --check --dry-run
	$(DEPLOY_ENV) $(PY) manage.py check --deploy --fail-level WARNING
	CHROMIUM_PATH=$(CHROMIUM) $(VENV)/bin/pytest $(PYTEST_ARGS)

worker: $(STAMP)
	$(VENV)/bin/celery -A learnhub worker -l info

beat: $(STAMP)
	$(VENV)/bin/celery -A learnhub beat -l info

clean:
	rm -rf .pytest_cache .mypy_cache .ruff_cache staticfiles test-artifacts
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -exec rm -rf {} +
