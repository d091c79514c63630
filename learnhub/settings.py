"""LearnHub settings: one module, configured from the environment (12-factor).

Every variable is listed in README.md ("Configuration"). Nothing secret has a default
that production could run with: SECRET_KEY is required whenever DEBUG is off.
"""

import re
from pathlib import Path
from urllib.parse import urlsplit

import environ
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=False)

SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set in the environment when DEBUG is off.")
    SECRET_KEY = "insecure-development-key-only-used-when-debug-is-on"  # noqa: S105

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "csp",
    "allauth",
    "allauth.account",
    "allauth.socialaccount",  # company SSO (OIDC_* below); no provider is offered unless configured
    "allauth.socialaccount.providers.openid_connect",
    "programs",
    "champions",
    "reports",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "learnhub.api",
    "learnhub.demo",  # the Acme demo and its commands; above every app, imported by none
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "learnhub.language.PersonLanguageMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_permissions_policy.PermissionsPolicyMiddleware",
    "allauth.account.middleware.AccountMiddleware",
]

ROOT_URLCONF = "learnhub.urls"
WSGI_APPLICATION = "learnhub.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "learnhub.context_processors.navigation",
            ],
        },
    },
]

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
# Behind a pooler in transaction mode (PgBouncer `pool_mode = transaction`, the web processes):
# a server-side cursor would not outlive its transaction's server connection.
DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = env.bool("DISABLE_SERVER_SIDE_CURSORS", default=False)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "programs.Employee"
# Both refuse an inactive or departed employee, at sign-in and on every request of a
# session already open (programs/auth_backends.py).
AUTHENTICATION_BACKENDS = [
    "programs.auth_backends.RosterModelBackend",
    "programs.auth_backends.RosterAuthenticationBackend",
]
# Database sessions that know their employee, so leaving ends them (programs/sessions.py).
SESSION_ENGINE = "programs.sessions"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_REDIRECT_URL = "/"
LOGIN_URL = "account_login"

# django-allauth: e-mail is the login; sign-up only for roster employees (see programs/adapters.py).
ACCOUNT_ADAPTER = "programs.adapters.AccountAdapter"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_EMAIL_VERIFICATION = env.str("ACCOUNT_EMAIL_VERIFICATION", default="mandatory")
ACCOUNT_LOGIN_BY_CODE_ENABLED = env.bool("ACCOUNT_LOGIN_BY_CODE_ENABLED", default=True)
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[LearnHub] "
ACCOUNT_FORMS = {
    "signup": "programs.adapters.RosterSignupForm",
    "request_login_code": "programs.adapters.RosterRequestLoginCodeForm",
    "reset_password": "programs.adapters.RosterResetPasswordForm",
}
ACCOUNT_MAX_EMAIL_ADDRESSES = 1  # the roster owns each person's address (provider matching uses it)
ACCOUNT_PREVENT_ENUMERATION = True  # an already claimed address gets an e-mail, not an on-page error
# Failed sign-ins are limited per client address (10 a minute, whatever the account) and
# per account *from one address* (5 in 5 minutes: programs.adapters.AccountAdapter keys
# allauth's per-account limit by account and address). Someone guessing a password never
# locks its owner out: a correct password from another address still signs in.
ACCOUNT_RATE_LIMITS = {"login_failed": "10/m/ip,5/5m/key"}
# Company e-mail domains allowed to sign up; empty means any domain (the roster still decides).
SIGNUP_EMAIL_DOMAINS = [d.lower().lstrip("@") for d in env.list("SIGNUP_EMAIL_DOMAINS", default=[])]

# Optional company SSO (OpenID Connect, e.g. Okta, Entra ID, Google Workspace), off unless
# configured. It only signs in people on the roster: programs.adapters.SocialAccountAdapter
# links the IdP identity to the existing Employee by verified e-mail and never creates one.
# Register this redirect URI at the IdP: <site>/accounts/oidc/<OIDC_PROVIDER_ID>/login/callback/
SOCIALACCOUNT_ADAPTER = "programs.adapters.SocialAccountAdapter"
SOCIALACCOUNT_EMAIL_AUTHENTICATION = False  # the adapter matches the roster itself (pre_social_login)
SOCIALACCOUNT_STORE_TOKENS = False
SOCIALACCOUNT_PROVIDERS: dict[str, dict] = {}
_OIDC_REQUIRED = ("OIDC_SERVER_URL", "OIDC_CLIENT_ID", "OIDC_CLIENT_SECRET")
_oidc = {
    name: env.str(name, default="").strip() for name in (*_OIDC_REQUIRED, "OIDC_PROVIDER_NAME", "OIDC_PROVIDER_ID")
}
if any(_oidc.values()):
    _oidc_missing = [name for name in _OIDC_REQUIRED if not _oidc[name]]
    if _oidc_missing:
        raise ImproperlyConfigured(
            f"Company SSO is partly configured: set {', '.join(_oidc_missing)} as well "
            f"(or unset every OIDC_* variable to turn SSO off)."
        )
    SOCIALACCOUNT_PROVIDERS["openid_connect"] = {
        "OAUTH_PKCE_ENABLED": True,
        "APPS": [
            {
                "provider_id": _oidc["OIDC_PROVIDER_ID"] or "company",
                "name": _oidc["OIDC_PROVIDER_NAME"] or "company SSO",
                "client_id": _oidc["OIDC_CLIENT_ID"],
                "secret": _oidc["OIDC_CLIENT_SECRET"],
                "settings": {"server_url": _oidc["OIDC_SERVER_URL"], "fetch_userinfo": True},
            }
        ],
    }

# Pages speak the language each person saved (learnhub.language), else the browser's; the
# company default (LANGUAGE_CODE) is used for e-mails to people who chose none, and for chat
# posts. Catalogues: learnhub/locale (`make messages`, `make compilemessages`). Dates and
# numbers: Django's localized formats, with LearnHub's own date formats in learnhub/formats.
LANGUAGE_CODE = env.str("LANGUAGE_CODE", default="en")
LANGUAGES = [("en", "English"), ("de", "Deutsch")]
LOCALE_PATHS = [BASE_DIR / "learnhub" / "locale"]
FORMAT_MODULE_PATH = ["learnhub.formats"]
if LANGUAGE_CODE not in dict(LANGUAGES):
    raise ImproperlyConfigured(f"LANGUAGE_CODE must be one of {', '.join(dict(LANGUAGES))}, not {LANGUAGE_CODE!r}.")
TIME_ZONE = env.str("TIME_ZONE", default="UTC")  # the company time zone: program dates use it
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
# `collectstatic` gathers the assets here; WhiteNoise serves them when DEBUG is off.
STATIC_ROOT = env.path("STATIC_ROOT", default=BASE_DIR / "staticfiles")
STATICFILES_DIRS = [BASE_DIR / "static"]
# Uploaded files waiting for their import job (never served over HTTP). Web processes and
# Celery workers must see the same folder: one machine, or a shared volume.
MEDIA_ROOT = env.path("MEDIA_ROOT", default=BASE_DIR / "var" / "media")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

# Redis is the Celery broker and the cache. Without REDIS_URL tasks run in process
# (the embedded default for a first run) and the cache is per process.
REDIS_URL = env.str("REDIS_URL", default="")
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL or "memory://")
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=not REDIS_URL)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=30 * 60)
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=25 * 60)
# The queue tasks are sent to, including those a task queues (a sync's other programs).
CELERY_TASK_DEFAULT_QUEUE = env.str("CELERY_TASK_DEFAULT_QUEUE", default="celery")
CELERY_TIMEZONE = TIME_ZONE
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Redis hands an unacknowledged task (acks late: its worker died) to another worker after
# this long. It must outlast the longest task (CELERY_TASK_TIME_LIMIT) and retry countdown,
# or a task still running would be delivered twice. A dead sync is taken over much sooner:
# the next queued or scheduled sync claims its lapsed lease (SYNC_LEASE_SECONDS).
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_BEAT_SCHEDULE: dict[str, dict] = {}
# Departures: just after midnight in the company time zone, end the access (sessions, API
# tokens) of everyone whose departure day has come (programs/access.py).
CELERY_BEAT_SCHEDULE["programs-departures"] = {
    "task": "programs.tasks.departures_apply",
    "schedule": crontab(minute=1, hour=0),
}
# Daily progress snapshots, just after midnight in the company time zone (CELERY_TIMEZONE).
CELERY_BEAT_SCHEDULE["reports-daily-snapshots"] = {
    "task": "reports.tasks.snapshot_active_programs",
    "schedule": crontab(minute=5, hour=0),
}
# Provider syncs: every 5 minutes, queue the connections whose own interval has elapsed.
CELERY_BEAT_SCHEDULE["programs-sync-due-connections"] = {
    "task": "programs.tasks.sync_due_connections",
    "schedule": 300.0,
}
# xAPI statements (programs/xapi): every 5 minutes, process statements whose own task was lost
# (broker down at the time, a worker that died) or gave up waiting for the connection.
CELERY_BEAT_SCHEDULE["programs-xapi-pending"] = {
    "task": "programs.tasks.xapi_pending_sweep",
    "schedule": 300.0,
}
# Communication (reports/messaging/tick.py): hourly, send what each program's MessageSettings make due.
CELERY_BEAT_SCHEDULE["reports-communications-tick"] = {
    "task": "reports.tasks.communications_tick",
    "schedule": crontab(minute=15),
}

if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="LearnHub <learnhub@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# Communication (reports/messaging/). SITE_URL builds the links in e-mails (unsubscribe,
# courses); webhook posts are retried WEBHOOK_MAX_RETRIES times with exponential backoff
# (WEBHOOK_RETRY_BACKOFF seconds, doubling); a message claimed but not recorded as sent
# after MESSAGE_CLAIM_STALE_MINUTES is reported as "unknown delivery", never resent.
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")
WEBHOOK_MAX_RETRIES = env.int("WEBHOOK_MAX_RETRIES", default=5)
WEBHOOK_RETRY_BACKOFF = env.int("WEBHOOK_RETRY_BACKOFF", default=30)
WEBHOOK_TIMEOUT_SECONDS = env.float("WEBHOOK_TIMEOUT_SECONDS", default=10.0)
MESSAGE_CLAIM_STALE_MINUTES = env.int("MESSAGE_CLAIM_STALE_MINUTES", default=30)
# Webhook URLs must be https to a public host. Only for development and tests: allow http
# and loopback / private / link-local addresses.
WEBHOOK_ALLOW_PRIVATE_URLS = env.bool("WEBHOOK_ALLOW_PRIVATE_URLS", default=False)
# An e-mail's unsubscribe link works for this many days after the e-mail was sent.
UNSUBSCRIBE_LINK_MAX_AGE_DAYS = env.int("UNSUBSCRIBE_LINK_MAX_AGE_DAYS", default=365)

# Provider syncs hold their connection with a lease of SYNC_LEASE_SECONDS, renewed every
# third of it while the run is alive: a run whose worker died is taken over within a lease.
SYNC_LEASE_SECONDS = env.int("SYNC_LEASE_SECONDS", default=90)
if SYNC_LEASE_SECONDS < 15:
    raise ImproperlyConfigured("SYNC_LEASE_SECONDS must be at least 15.")

# Uploaded roster and provider files are imported by a Celery task; larger files are refused.
IMPORT_MAX_UPLOAD_MB = env.int("IMPORT_MAX_UPLOAD_MB", default=200)
# SCIM provisioning (learnhub/scim): the enterprise-extension attributes whose values, in
# this order, make a person's organization path; and the organization of a person the
# identity provider sends without any of them.
SCIM_ORGANIZATION_ATTRIBUTES = env.list("SCIM_ORGANIZATION_ATTRIBUTES", default=["organization", "department"])
SCIM_DEFAULT_ORGANIZATION = env.str("SCIM_DEFAULT_ORGANIZATION", default="Unassigned")

# xAPI statement intake (/xapi/<connection id>/statements): the largest request body taken
# (a batch of statements), and how long an OAuth 2.0 access token issued to a provider lasts.
XAPI_MAX_BODY_KB = env.int("XAPI_MAX_BODY_KB", default=5120)
XAPI_TOKEN_SECONDS = env.int("XAPI_TOKEN_SECONDS", default=3600)
if XAPI_MAX_BODY_KB < 1:
    raise ImproperlyConfigured("XAPI_MAX_BODY_KB must be at least 1.")
if not 60 <= XAPI_TOKEN_SECONDS <= 86_400:
    raise ImproperlyConfigured("XAPI_TOKEN_SECONDS must be between 60 and 86400 (one day).")

# Security: strict unless DEBUG. Behind a TLS-terminating proxy set SECURE_PROXY_SSL_HEADER.
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Content-Security-Policy (django-csp): our own scripts, styles and images only; no inline
# script or style, no framing. A company SSO sign-in posts to our site, which redirects to
# the identity provider, so that origin is allowed as a form target.
_form_action = ["'self'"]
if _oidc["OIDC_SERVER_URL"]:
    _idp = urlsplit(_oidc["OIDC_SERVER_URL"])
    _form_action.append(f"{_idp.scheme}://{_idp.netloc}")
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": _form_action,
        "frame-ancestors": ["'none'"],
    }
}
# Permissions-Policy (django-permissions-policy): no page needs these browser features.
PERMISSIONS_POLICY: dict[str, list[str]] = {
    feature: []
    for feature in (
        "accelerometer",
        "autoplay",
        "camera",
        "display-capture",
        "encrypted-media",
        "fullscreen",
        "geolocation",
        "gyroscope",
        "magnetometer",
        "microphone",
        "midi",
        "payment",
        "usb",
    )
}
if env.bool("USE_X_FORWARDED_PROTO", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# How many proxies in front of the app append to X-Forwarded-For: the sign-in limits count
# per client address, which is read from that header only when this is set (0: REMOTE_ADDR).
ALLAUTH_TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)

# Uploads: rosters and provider exports can be large, but not unbounded.
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# The REST API (learnhub/api): session (CSRF enforced) or `Authorization: Bearer <token>`.
# API_TOKEN_THROTTLE_RATE limits each token (DRF rate syntax: 1000/hour, 50/minute, ...).
API_TOKEN_THROTTLE_RATE = env.str("API_TOKEN_THROTTLE_RATE", default="1000/hour")
if not re.fullmatch(r"[1-9]\d*/(s|sec|second|m|min|minute|h|hour|d|day)", API_TOKEN_THROTTLE_RATE):
    raise ImproperlyConfigured(
        f"API_TOKEN_THROTTLE_RATE must look like 1000/hour (a count / second, minute, hour or day), "
        f"not {API_TOKEN_THROTTLE_RATE!r}."
    )
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "learnhub.api.authentication.BearerTokenAuthentication",
        "learnhub.api.authentication.CsrfSessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": [
        "rest_framework.permissions.IsAuthenticated",
        "learnhub.api.permissions.TokenScope",
    ],
    "DEFAULT_THROTTLE_CLASSES": ["learnhub.api.throttling.ApiTokenRateThrottle"],
    "DEFAULT_PAGINATION_CLASS": "learnhub.api.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "learnhub.api.errors.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
API_DOCS_PUBLIC = env.bool("API_DOCS_PUBLIC", default=False)
SPECTACULAR_SETTINGS = {
    "TITLE": "LearnHub API",
    "DESCRIPTION": (
        "Programs, progress, snapshots, organizations, roster, collections, study groups and provider syncs. "
        "Authenticate with the browser session or `Authorization: Bearer <token>` (tokens: /api/tokens/)."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # The schema and the docs page need a signed-in person unless API_DOCS_PUBLIC is on.
    "SERVE_PERMISSIONS": [
        "rest_framework.permissions.AllowAny" if API_DOCS_PUBLIC else "rest_framework.permissions.IsAuthenticated"
    ],
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        "ProgramStatusEnum": "programs.models.ProgramStatus",
        "SyncStatusEnum": "programs.models.SyncStatus",
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "learnhub.api.schema.error_responses",
    ],
}
