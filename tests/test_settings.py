"""Settings come from the environment: production settings pass Django's deployment
checks, a missing production secret stops start-up, and without Redis tasks run in process.

Each case starts a fresh Python process, because settings are read once at import."""

from __future__ import annotations

import os
import secrets
import string
import subprocess
import sys
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
# Variables the tests decide; everything else (PATH, ...) is inherited.
DECIDED = {
    "DEBUG",
    "SECRET_KEY",
    "ALLOWED_HOSTS",
    "DATABASE_URL",
    "REDIS_URL",
    "CELERY_BROKER_URL",
    "CELERY_TASK_ALWAYS_EAGER",
    "SECURE_SSL_REDIRECT",
    "SECURE_HSTS_SECONDS",
    "DJANGO_SETTINGS_MODULE",
    "DJANGO_ALLOW_ASYNC_UNSAFE",  # the browser tests set it in this process; production never does
    "DISABLE_SERVER_SIDE_CURSORS",
}


def production_env(tmp_path: Path, **overrides: str) -> dict[str, str]:
    key = "".join(secrets.choice(string.ascii_letters + string.digits + "!@#%^&*(-_=+)") for _ in range(60))
    env = {name: value for name, value in os.environ.items() if name not in DECIDED}
    env.update(
        DEBUG="false",
        SECRET_KEY=key,
        ALLOWED_HOSTS="learnhub.example.com",
        DATABASE_URL=f"sqlite:///{tmp_path / 'settings-check.sqlite3'}",
        REDIS_URL="",
        DJANGO_SETTINGS_MODULE="learnhub.settings",
    )
    env.update(overrides)
    return env


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args], cwd=PROJECT, env=env, capture_output=True, text=True, timeout=120, check=False
    )


def setting(name: str, env: dict[str, str]) -> str:
    """The value of one setting as a fresh process sees it (only the settings module is imported)."""
    result = run(["-c", f"from django.conf import settings; print(repr(settings.{name}))"], env)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_production_settings_pass_the_deployment_checks(tmp_path):
    result = run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], production_env(tmp_path))

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_production_settings_are_strict(tmp_path):
    env = production_env(tmp_path)

    assert setting("DEBUG", env) == "False"
    assert setting("ALLOWED_HOSTS", env) == "['learnhub.example.com']"
    assert setting("SECURE_SSL_REDIRECT", env) == "True"
    assert setting("SESSION_COOKIE_SECURE", env) == "True"
    assert setting("SECURE_HSTS_SECONDS", env) == "31536000"


def test_without_secret_key_start_up_fails_with_a_clear_message(tmp_path):
    env = production_env(tmp_path)
    del env["SECRET_KEY"]
    result = run(["manage.py", "check"], env)

    assert result.returncode == 1
    assert "SECRET_KEY must be set" in result.stderr


def test_an_empty_secret_key_is_no_secret_key(tmp_path):
    result = run(["manage.py", "check"], production_env(tmp_path, SECRET_KEY=""))

    assert result.returncode == 1
    assert "SECRET_KEY must be set" in result.stderr


def test_without_redis_tasks_run_in_process(tmp_path):
    env = production_env(tmp_path, REDIS_URL="")

    assert setting("CELERY_TASK_ALWAYS_EAGER", env) == "True"
    assert setting("CELERY_BROKER_URL", env) == "'memory://'"


def test_with_redis_tasks_go_to_the_broker(tmp_path):
    env = production_env(tmp_path, REDIS_URL="redis://127.0.0.1:6379/5")

    assert setting("CELERY_TASK_ALWAYS_EAGER", env) == "False"
    assert setting("CELERY_BROKER_URL", env) == "'redis://127.0.0.1:6379/5'"


def test_server_side_cursors_are_on_unless_a_transaction_pooler_needs_them_off(tmp_path):
    assert setting("DATABASES['default']['DISABLE_SERVER_SIDE_CURSORS']", production_env(tmp_path)) == "False"
    behind_pgbouncer = production_env(tmp_path, DISABLE_SERVER_SIDE_CURSORS="true")
    assert setting("DATABASES['default']['DISABLE_SERVER_SIDE_CURSORS']", behind_pgbouncer) == "True"
