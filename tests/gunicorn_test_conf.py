"""gunicorn settings for the live upload tests (tests/test_upload_jobs_live.py): the tasks
the app queues go to the test worker's own queue, LEARNHUB_TEST_CELERY_QUEUE, as
`tests.worker_support.celery_worker` routes the test process's own tasks."""

from __future__ import annotations

import os
from typing import Any


def post_worker_init(worker: Any) -> None:
    from learnhub.celery import app

    app.conf.task_default_queue = os.environ["LEARNHUB_TEST_CELERY_QUEUE"]
