"""What the tests that start a real Celery worker share: Redis must answer (a failure
under CI=true, a skip elsewhere) and the worker process must use the test database."""

from __future__ import annotations

import os

import pytest
from django.conf import settings
from django.db import connection as db_connection


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def require_redis() -> None:
    import redis

    url = settings.REDIS_URL
    try:
        if not url:
            raise redis.ConnectionError("REDIS_URL is not set")
        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        message = f"the worker tests need Redis at REDIS_URL ({url or 'unset'}): {exc}"
        if in_ci():
            pytest.fail(f"CI=true and {message}", pytrace=False)
        pytest.skip(message)


def worker_database_url() -> str:
    db = db_connection.settings_dict
    if db["ENGINE"] != "django.db.backends.postgresql":
        pytest.skip("the worker tests share the PostgreSQL test database with the worker process")
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{db['USER']}{password}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
