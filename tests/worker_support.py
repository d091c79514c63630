"""What the tests that start a real Celery worker share: Redis must answer (a failure
under CI=true, a skip elsewhere) and the worker process must use the test database."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import pytest
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
