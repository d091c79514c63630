"""What the tests that start a real Celery worker or the app under gunicorn share: Redis
must answer (a failure under CI=true, a skip elsewhere) and the processes must use the test
database."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path

import pytest
import requests
from django.conf import settings
from django.db import connection as db_connection

from learnhub.celery import app


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


WAIT_SECONDS = 60
ROOT = Path(__file__).resolve().parent.parent


class Worker:
    """A `celery -A learnhub worker` process and its log (and mail folder, if any). It runs
    in a process group of its own, so `kill()` reaches its pool children too."""

    def __init__(self, process: subprocess.Popen, logfile: Path, maildir: Path | None = None, queue: str = "") -> None:
        self.process = process
        self.logfile = logfile
        self.maildir = maildir
        self.queue = queue

    def log(self) -> str:
        return self.logfile.read_text(errors="replace") if self.logfile.exists() else ""

    def wait_for(self, pattern: str, count: int = 1, seconds: float = WAIT_SECONDS) -> list[str]:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            found = re.findall(pattern, self.log())
            if len(found) >= count:
                return found
            if self.process.poll() is not None:
                break
            time.sleep(0.2)
        pytest.fail(f"worker log never showed {count} x {pattern!r}:\n{self.log()[-3000:]}")

    def mails(self) -> list[str]:
        """The recipients of every e-mail the worker wrote (file backend)."""
        assert self.maildir is not None
        text = "".join(p.read_text(errors="replace") for p in sorted(self.maildir.glob("*")))
        return sorted(re.findall(r"^To: (.+)$", text, flags=re.MULTILINE))

    def pool_pids(self) -> list[int]:
        """The worker's pool processes (the children of its main process), from /proc."""
        children = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue  # the process ended meanwhile
            if int(fields[1]) == self.process.pid:
                children.append(int(stat.parent.name))
        return sorted(children)

    def kill(self) -> None:
        """SIGKILL the worker and its pool children at once, as a crash or an OOM kill would:
        nothing is acknowledged, nothing cleans up."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def kill_pool_child(self) -> int:
        """SIGKILL the one pool process (concurrency 1) and leave the main process running,
        as when a task's process dies: Celery sees WorkerLostError. Returns its pid."""
        (child,) = self.pool_pids()
        os.kill(child, signal.SIGKILL)
        return child


@contextmanager
def celery_worker(
    tmp_path: Path,
    *,
    concurrency: int,
    env: dict[str, str] | None = None,
    maildir: Path | None = None,
    name: str = "worker",
    queue: str | None = None,
) -> Iterator[Worker]:
    """A real worker on a queue of its own (or on `queue`, e.g. a second worker beside a
    first), against the test database and Redis; tasks queued meanwhile go to that queue.
    Its log is `tmp_path / f"{name}.log"`. Stopped (and its process group killed if need
    be) on exit."""
    require_redis()
    queue = queue or f"learnhub-test-{uuid.uuid4().hex[:12]}"
    logfile = tmp_path / f"{name}.log"
    process_env = {
        **os.environ,
        "DATABASE_URL": worker_database_url(),
        "REDIS_URL": settings.REDIS_URL,
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "SECRET_KEY": settings.SECRET_KEY,
        "CONN_MAX_AGE": "0",
        "CELERY_TASK_DEFAULT_QUEUE": queue,  # what its tasks queue goes to its own queue too
        **(env or {}),
    }
    command = [str(Path(sys.executable).parent / "celery"), "-A", "learnhub", "worker", "--loglevel=INFO"]
    command += [f"--logfile={logfile}", "-Q", queue, "-n", f"{name}-{uuid.uuid4().hex[:6]}@%h"]
    command += [f"--concurrency={concurrency}", "--pool=prefork", "--without-gossip", "--without-mingle"]
    command += ["--without-heartbeat"]
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        env=process_env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group: kill() reaches the pool too
    )
    previous_queue = app.conf.task_default_queue
    app.conf.task_default_queue = queue
    worker = Worker(process, logfile, maildir, queue)
    try:
        worker.wait_for(r"ready\.")
        yield worker
    finally:
        app.conf.task_default_queue = previous_queue
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
        with suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)  # pool children left behind by a killed main process


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def gunicorn_site(
    log: Path, *, env: dict[str, str], port: int | None = None, args: Sequence[str] = ()
) -> Iterator[str]:
    """`gunicorn learnhub.wsgi` as in production (DEBUG off, static files collected next to
    `log`) on the PostgreSQL test database, on `port` (a free one by default), with `env` on
    top; yields its URL once the sign-in page answers. The data it reads must be committed
    (`django_db(transaction=True)`)."""
    port = port or free_port()
    static_root = log.parent / "static"
    process_env = {
        **os.environ,
        "DATABASE_URL": worker_database_url(),
        "SECRET_KEY": settings.SECRET_KEY,
        "CONN_MAX_AGE": "0",
        "DEBUG": "false",
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "false",
        "STATIC_ROOT": str(static_root),
        **env,
    }
    if not static_root.exists():  # as a deployment does, so the pages have their CSS and scripts
        collect = [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"]
        subprocess.run(collect, cwd=ROOT, env=process_env, check=True, timeout=120)
    command = [str(Path(sys.executable).parent / "gunicorn"), "learnhub.wsgi", "--bind", f"127.0.0.1:{port}"]
    command += ["--workers", "1", "--preload", "--error-logfile", str(log), *args]
    process = subprocess.Popen(command, cwd=ROOT, env=process_env, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                requests.get(f"{url}/accounts/login/", timeout=10)
                break
            except (requests.ConnectionError, requests.Timeout):  # not listening yet, or a busy machine
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"gunicorn did not start:\n{log.read_text(errors='replace')[-3000:]}")
                time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
