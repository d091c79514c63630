import os

from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "learnhub.settings")
application = get_wsgi_application()

# Import the URL configuration, and with it every view, now: under `gunicorn --preload` once
# in the process the workers are forked from, otherwise as each worker boots, so no first
# request pays for it (and none runs into gunicorn's --timeout doing so).
get_resolver().url_patterns  # noqa: B018
