"""Queueing a Celery task by its name, once the current transaction commits.

The services queue their tasks here, by name, instead of importing `programs.tasks`: that
module imports the services (each task loads its ids and calls one service function), so a
service importing it back would close a circle of imports (the roster import -> its rematch
task -> the upload job's task -> the upload jobs -> the roster import). By name, the
imports go one way only: `programs.tasks` -> the services -> this module.
"""

from __future__ import annotations

import threading
from typing import Any

from celery import Task, current_app
from django.db import transaction

# Celery discovers the tasks modules once per process: the first caller runs the discovery
# and any other thread asking meanwhile must wait for it to finish, not find the name missing.
_DISCOVERY_LOCK = threading.Lock()


def task_registered(*, name: str) -> Task:
    """The Celery task called `name`. A process that has not imported the tasks modules yet
    (a management command, a web process before its first task) imports them first, as a
    worker does when it starts (`app.autodiscover_tasks` waits for that). Thread-safe: the
    discovery runs once, and concurrent first requests of a threaded server wait for it. A
    name that no tasks module defines raises KeyError, in the caller, before anything is
    queued."""
    app = current_app
    if name not in app.tasks:
        with _DISCOVERY_LOCK:
            if name not in app.tasks:
                app.loader.import_default_modules()
    return app.tasks[name]


def task_queue_on_commit(*, name: str, args: tuple[Any, ...] = (), kwargs: dict[str, Any] | None = None) -> None:
    """Queue the task called `name` with `args` and `kwargs` once the current transaction
    commits (at once outside a transaction), so the worker reads what was written. With
    tasks run in process (CELERY_TASK_ALWAYS_EAGER) it runs then, in this process."""
    task = task_registered(name=name)
    transaction.on_commit(lambda: task.apply_async(args=args, kwargs=kwargs))


def tasks_run_in_process() -> bool:
    """True when tasks run in the process that queues them (CELERY_TASK_ALWAYS_EAGER: no
    broker and no worker, as in `make run`): nothing can run a task later, or again."""
    return bool(current_app.conf.task_always_eager)
