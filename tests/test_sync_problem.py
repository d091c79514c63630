"""One rule for "can this connection sync now?" (`programs.sync.schedule.sync_problem`),
asked by the providers page, `manage.py sync_provider` and the schedule (and the API, in
tests/test_api.py): they refuse the same connections with the same words."""

from __future__ import annotations

import datetime as dt
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.messages import get_messages
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse
from django.utils import timezone

from programs.models import ProviderConnection, SyncRun
from programs.sync.lease import connection_claim
from programs.sync.schedule import connections_due, sync_due_queue, sync_problem, sync_request
from tests.factories import ConnectionFactory

pytestmark = pytest.mark.django_db

PAUSED = "This connection is paused: resume it first (python manage.py provider_connection paused --active)."
OTHER = (
    "Other (completions file) connections are not synced from an API. Their completions come from a completions "
    "file: upload it on the connection's page, or run python manage.py import_provider_csv PATH --connection workshops."
)
RUNNING = (
    "A sync of coursera is already running, and this server runs syncs in its own process (no Celery worker), "
    "so another cannot wait for it: try again when it ends."
)


@pytest.fixture
def worker_mode():
    """Tasks go to a broker and a worker, as in production (no message is sent here: the
    tests capture the on-commit callbacks without running them)."""
    from learnhub.celery import app

    app.conf.task_always_eager = False
    yield
    app.conf.task_always_eager = True


def test_the_rule_says_why_not_in_words_for_an_ld_admin():
    coursera = ConnectionFactory(name="coursera")
    assert sync_problem(connection=coursera) == ""
    assert sync_problem(connection=ConnectionFactory(name="paused", is_active=False)) == PAUSED
    assert sync_problem(connection=ConnectionFactory(name="workshops", kind="other")) == OTHER
    assert sync_problem(connection=ConnectionFactory(name="udemy", kind="udemy")) == ""
    # The kind comes first: a paused file connection could not sync even once resumed.
    paused_file = ConnectionFactory(name="paused workshops", kind="other", is_active=False)
    assert sync_problem(connection=paused_file) == OTHER.replace("workshops.", "'paused workshops'.")
    assert sync_problem(connection=ConnectionFactory(name="Coursera (demo)", is_active=False)) == (
        "This connection is paused: resume it first (python manage.py provider_connection 'Coursera (demo)' --active)."
    )


def test_a_running_sync_is_a_reason_only_where_the_request_could_not_wait_for_it(worker_mode):
    conn = ConnectionFactory(name="coursera")
    assert connection_claim(connection=conn) is not None

    # On a worker, a sync asked for now waits for the running one and then runs.
    assert sync_problem(connection=conn) == ""
    # A sync run at once (the command) hears of the running one from its own claim.
    assert sync_problem(connection=conn, queued=False) == ""

    from learnhub.celery import app

    app.conf.task_always_eager = True  # tasks in process: the request would run inside it, and cannot wait
    assert sync_problem(connection=conn) == RUNNING
    assert sync_problem(connection=conn, queued=False) == ""


def test_a_paused_connection_is_refused_alike_by_the_page_the_command_and_the_schedule(
    personas, django_capture_on_commit_callbacks
):
    paused = ConnectionFactory(name="paused", is_active=False, client_secret="x")
    admin = personas.client_for(personas.admin)

    # The providers page: "Sync now" is refused with the rule's words, and not offered.
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = admin.post(reverse("programs:providers:sync", args=[paused.pk]), {"full": "on"})
    assert response.status_code == 302
    assert [(m.level_tag, str(m)) for m in get_messages(response.wsgi_request)] == [("error", PAUSED)]
    assert callbacks == []
    detail = admin.get(reverse("programs:providers:detail", args=[paused.pk])).content.decode()
    assert f"<p>{PAUSED}</p>" in detail
    assert f'action="/providers/{paused.pk}/sync/"' not in detail

    # The command: the same words, after the connection's name.
    with pytest.raises(CommandError) as refused:
        call_command("sync_provider", "paused", stdout=io.StringIO())
    assert str(refused.value) == f"paused: {PAUSED}"
    out = io.StringIO()
    call_command("sync_provider", stdout=out)
    assert out.getvalue().strip() == "No active connection can be synced from an API."

    # The schedule skips it, and a request queues nothing.
    now = timezone.now()
    assert list(connections_due(now=now)) == []
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        assert sync_due_queue(now=now) == []
        assert sync_request(connection=paused) is False
    assert callbacks == []

    assert ProviderConnection.objects.get(pk=paused.pk).sync_requested_at is None
    assert SyncRun.objects.count() == 0


def test_the_schedule_asks_the_same_rule(worker_mode):
    now = timezone.now()
    due = ConnectionFactory(name="due")
    ConnectionFactory(name="paused", is_active=False)
    ConnectionFactory(name="workshops", kind="other")
    held = ConnectionFactory(name="held")
    ProviderConnection.objects.filter(pk=held.pk).update(sync_claimed_until=now + dt.timedelta(seconds=30))

    assert [c.name for c in connections_due(now=now)] == ["due"]
    assert [sync_problem(connection=c) for c in ProviderConnection.objects.order_by("name")] == [
        "",  # due
        "",  # held: a request would wait for the running sync; the schedule leaves it to that sync
        PAUSED,
        OTHER,
    ]
    assert due.pk in sync_due_queue(now=now)


def test_a_process_that_never_imported_the_tasks_still_queues_them_by_name(tmp_path):
    """A management command's process (or a web process) imports no tasks module by itself;
    the services queue tasks by name, so the name is looked up the way a worker does at
    start. Without that, an eager server would hand the task to a broker nobody reads."""
    script = (
        "import sys, django\n"
        "django.setup()\n"
        "from programs.task_queue import task_registered\n"
        "before = 'programs.tasks' in sys.modules\n"
        "names = [task_registered(name=f'programs.tasks.{n}').name for n in "
        "('sync_connection', 'unmatched_rematch_task', 'import_job_run_task')]\n"
        "print(before, *names)\n"
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "learnhub.settings",
        "DEBUG": "true",
        "DATABASE_URL": f"sqlite:///{tmp_path}/unused.sqlite3",
        "REDIS_URL": "",
    }
    root = Path(__file__).resolve().parent.parent
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=root, env=env, capture_output=True, text=True, timeout=60, check=False
    )

    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [
        "False",
        "programs.tasks.sync_connection",
        "programs.tasks.unmatched_rematch_task",
        "programs.tasks.import_job_run_task",
    ]
