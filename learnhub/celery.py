"""The Celery application. Broker and result settings come from Django settings (CELERY_*)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "learnhub.settings")

app = Celery("learnhub")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
