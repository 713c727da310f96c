"""Settings every deployment shares, read from the environment and nothing else.

Importing a settings module only reads environment variables: it opens no socket and creates no
folder. Four modules build on this one, in the shape of cookiecutter-django:

- ``clinic.settings.local`` (the default of ``manage.py``, the worker and WSGI): the embedded
  run, SQLite, media and a filesystem Celery broker under ``var/`` (``manage.py`` creates it);
- ``clinic.settings.production``: refuses to start without its secret key, allowed hosts and an
  identifier key of its own, and turns on HTTPS-only cookies, HSTS and a content security policy;
- ``clinic.settings.test``: the suite's choice of the real PostgreSQL and Redis.

``DATABASE_URL`` (``postgres://…``) and ``CELERY_BROKER_URL`` (``redis://…``) switch any of them to
PostgreSQL and Redis, the same code in production and CI.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from urllib.parse import unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = Path(os.environ.get("BONEAGE_VAR_DIR", BASE_DIR / "var"))


def flag(name: str, default: bool) -> bool:
    return os.environ.get(name, "1" if default else "0").strip().lower() in {"1", "true", "yes"}


def database(url: str) -> dict[str, object]:
    """Django's DATABASES entry for a ``postgres://`` or ``sqlite:///`` URL.

    Written here rather than adding dj-database-url: two schemes are all the app supports.
    """
    if url.startswith("sqlite:"):
        # sqlite:///relative/path and sqlite:////absolute/path, as in SQLAlchemy's URLs
        name = url.removeprefix("sqlite:").removeprefix("///")
        # Several web processes and threads and the worker write one file (the embedded run
        # under gunicorn): a write transaction takes the lock when it begins (a deferred one that
        # upgrades later fails at once when another holds it), waits up to 30 s for it, and WAL
        # lets readers go on meanwhile.
        options = {
            "transaction_mode": "IMMEDIATE",
            "timeout": 30,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
        return {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": name or ":memory:",
            "OPTIONS": options,
        }
    parts = urlsplit(url)
    if parts.scheme in {"postgres", "postgresql"}:
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": unquote(parts.path.lstrip("/")),
            "USER": unquote(parts.username or ""),
            "PASSWORD": unquote(parts.password or ""),
            "HOST": parts.hostname or "",
            "PORT": str(parts.port or ""),
            "CONN_MAX_AGE": 60,
            # A pooled connection is checked before a request reuses it: after PostgreSQL
            # restarts, the first request reconnects instead of failing on the dead one.
            "CONN_HEALTH_CHECKS": True,
        }
    raise ImproperlyConfigured(f"DATABASE_URL scheme {parts.scheme!r} is not supported")


def broker_options(url: str, visibility_timeout_s: int) -> dict[str, object]:
    """Celery's broker transport options for ``url``: the filesystem broker's folders under
    ``var/broker`` (``manage.py`` creates them for the embedded run, not this module), Redis's
    re-delivery timeout."""
    # Redis re-delivers an unacknowledged task after this long: longer than any task and retry.
    options: dict[str, object] = {"visibility_timeout": visibility_timeout_s}
    if url.startswith("filesystem"):
        broker = VAR_DIR / "broker"
        options |= {
            "data_folder_in": str(broker / "queue"),
            "data_folder_out": str(broker / "queue"),
            "processed_folder": str(broker / "processed"),
            "control_folder": str(broker / "control"),
            "store_processed": False,
        }
    return options


SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "")
DEBUG = flag("DJANGO_DEBUG", False)
ALLOWED_HOSTS = os.environ.get("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]").split(",")
CSRF_TRUSTED_ORIGINS = [
    o for o in os.environ.get("DJANGO_CSRF_TRUSTED_ORIGINS", "").split(",") if o
]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "simple_history",
    "axes",
    "clinic",
    "clinic.api",
    "clinic.pacs",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "clinic.middleware.DatabaseUnavailableMiddleware",
    "axes.middleware.AxesMiddleware",  # last: it turns a refused login into the lockout page
]

ROOT_URLCONF = "clinic.urls"
WSGI_APPLICATION = "clinic.wsgi.application"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]

DATABASE_URL = os.environ.get("DATABASE_URL", f"sqlite:///{VAR_DIR / 'clinic.sqlite3'}")
DATABASES = {"default": database(DATABASE_URL)}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
# Login throttling (django-axes), on the site's login and the admin's alike: 20 wrong passwords
# for one username lock it for 15 minutes, counted in the database so that every web process
# sees the same count. By username, not by address: a hospital's users share a few NAT
# addresses, and a lock by address would lock the whole hospital out.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # first: a locked username is refused before checking
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = int(os.environ.get("BONEAGE_LOGIN_FAILURE_LIMIT", "20"))
AXES_COOLOFF_TIME = timedelta(minutes=int(os.environ.get("BONEAGE_LOGIN_LOCKOUT_MINUTES", "15")))
AXES_LOCKOUT_PARAMETERS = ["username"]
AXES_RESET_ON_SUCCESS = True
# The lock ends when the page said it would, however often the locked username is tried meanwhile.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_LOCKOUT_CALLABLE = "clinic.login_lockout.lockout_response"
AXES_ENABLE_ACCESS_FAILURE_LOG = True  # each wrong password kept (username, address, time)
AXES_VERBOSE = False  # axes' lines per attempt; clinic.login_lockout writes one per lockout
# axes.W006 asks for the address among the lockout parameters; by username is the choice above.
SILENCED_SYSTEM_CHECKS = ["axes.W006"]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "study-list"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
# collectstatic's target (production); whitenoise serves the apps' files without it elsewhere.
STATIC_ROOT = os.environ.get("BONEAGE_STATIC_ROOT") or None
WHITENOISE_USE_FINDERS = True  # serve app and admin static files without a collectstatic step
MEDIA_ROOT = Path(os.environ.get("BONEAGE_MEDIA_ROOT", VAR_DIR / "media"))
MEDIA_URL = "/media/"  # never routed: files go through views that check the institution
# Behind nginx: the internal location of the media folder, so that it sends the files the views
# allowed (X-Accel-Redirect, clinic.downloads); empty: Django streams them itself.
BONEAGE_MEDIA_ACCEL_PREFIX = os.environ.get("BONEAGE_MEDIA_ACCEL_PREFIX", "")
# Media on S3-compatible object storage (AWS S3, MinIO, Ceph), so that web and workers on several
# machines read the same files without a shared filesystem. Credentials come from boto3's own
# environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY) or the machine's role.
BONEAGE_S3_BUCKET = os.environ.get("BONEAGE_S3_BUCKET", "")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
if BONEAGE_S3_BUCKET:
    if BONEAGE_MEDIA_ACCEL_PREFIX:
        raise ImproperlyConfigured(
            "BONEAGE_MEDIA_ACCEL_PREFIX names a media folder for nginx; with BONEAGE_S3_BUCKET "
            "the media are in the bucket: leave it empty and the views stream them"
        )
    STORAGES["default"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": BONEAGE_S3_BUCKET,
            "endpoint_url": os.environ.get("BONEAGE_S3_ENDPOINT_URL") or None,
            "region_name": os.environ.get("BONEAGE_S3_REGION") or None,
            "location": os.environ.get("BONEAGE_S3_PREFIX", ""),
            "default_acl": "private",
            "querystring_auth": True,  # never a public URL (the views check the institution)
            "file_overwrite": True,  # the clinic names files by content or by study itself
        },
    }

# Upload safety (docs/standards.md): Django sets no maximum, the service enforces this one.
BONEAGE_MAX_UPLOAD_BYTES = int(os.environ.get("BONEAGE_MAX_UPLOAD_BYTES", 64 * 1024 * 1024))
DATA_UPLOAD_MAX_MEMORY_SIZE = 4 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 4 * 1024 * 1024
# Key of the HMAC that hashes patient IDs and accession numbers (a bare SHA-256 is guessable).
BONEAGE_IDENTIFIER_KEY = os.environ.get("BONEAGE_IDENTIFIER_KEY", "")

# Celery with PyTorch (docs/standards.md): long idempotent tasks, acknowledged after they finish.
BONEAGE_DEVICE = os.environ.get("BONEAGE_DEVICE", "cpu")  # "cpu" | "gpu": the queue tasks go to
BONEAGE_MODEL_DIR = os.environ.get("BONEAGE_MODEL_DIR") or None  # None: the shipped demo models
BONEAGE_TORCH_THREADS = int(os.environ.get("BONEAGE_TORCH_THREADS", "1"))
BONEAGE_TASK_TIME_LIMIT_S = int(os.environ.get("BONEAGE_TASK_TIME_LIMIT_S", "600"))
# A study whose worker died this many times (killed for memory, past the hard time limit) fails
# with the reason instead of being redelivered for ever.
BONEAGE_MAX_ATTEMPTS = int(os.environ.get("BONEAGE_MAX_ATTEMPTS", "3"))
# Queued this long without a worker taking it: the sweeper queues it again (a lost message).
BONEAGE_QUEUED_STALE_S = int(os.environ.get("BONEAGE_QUEUED_STALE_S", "3600"))
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "filesystem://")
BONEAGE_VISIBILITY_TIMEOUT_S = int(
    os.environ.get("BONEAGE_VISIBILITY_TIMEOUT_S", 3 * BONEAGE_TASK_TIME_LIMIT_S)
)
CELERY_BROKER_TRANSPORT_OPTIONS = broker_options(CELERY_BROKER_URL, BONEAGE_VISIBILITY_TIMEOUT_S)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_IGNORE_RESULT = True  # status and results live in the Study and Report rows
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_WORKER_PROC_ALIVE_TIMEOUT = 30  # a child starting on a busy machine is not a dead one
CELERY_WORKER_MAX_MEMORY_PER_CHILD = int(os.environ.get("BONEAGE_WORKER_MAX_MEMORY_KIB", 3_000_000))
CELERY_TASK_SOFT_TIME_LIMIT = BONEAGE_TASK_TIME_LIMIT_S
CELERY_TASK_TIME_LIMIT = BONEAGE_TASK_TIME_LIMIT_S + 60
CELERY_TASK_ROUTES = {"clinic.tasks.*": {"queue": BONEAGE_DEVICE}}
CELERY_TASK_DEFAULT_QUEUE = BONEAGE_DEVICE
CELERY_BEAT_SCHEDULE = {
    "sweep-stuck-studies": {"task": "clinic.tasks.sweep_studies", "schedule": 300.0},
    "retry-pacs-deliveries": {"task": "clinic.pacs.tasks.sweep_deliveries", "schedule": 60.0},
}

# DICOM (clinic.pacs, docs/dicom.md): the listener's AE title and port (``manage.py
# dicom_listener``), and how a result that a destination refused is tried again: after 1, 2, 4…
# times BONEAGE_PACS_BACKOFF_S, at most BONEAGE_PACS_RETRY_MAX_S apart, for ever; after
# BONEAGE_PACS_ATTEMPTS it shows as not delivered (admin and study page) while still retried.
BONEAGE_DICOM_AE_TITLE = os.environ.get("BONEAGE_DICOM_AE_TITLE", "BONEAGE")
BONEAGE_DICOM_HOST = os.environ.get("BONEAGE_DICOM_HOST", "0.0.0.0")
BONEAGE_DICOM_PORT = int(os.environ.get("BONEAGE_DICOM_PORT", "11112"))
BONEAGE_PACS_ATTEMPTS = int(os.environ.get("BONEAGE_PACS_ATTEMPTS", "4"))
BONEAGE_PACS_BACKOFF_S = float(os.environ.get("BONEAGE_PACS_BACKOFF_S", "30"))
BONEAGE_PACS_RETRY_MAX_S = float(os.environ.get("BONEAGE_PACS_RETRY_MAX_S", "3600"))
BONEAGE_PACS_TIMEOUT_S = float(os.environ.get("BONEAGE_PACS_TIMEOUT_S", "30"))

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "clinic.api.authentication.ApiTokenAuthentication",  # first: anonymous calls get 401
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "EXCEPTION_HANDLER": "clinic.api.errors.api_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_THROTTLE_RATES": {"api_token": os.environ.get("BONEAGE_API_RATE", "120/min")},
}
SPECTACULAR_SETTINGS = {"TITLE": "Bone-age clinic API", "VERSION": "1.0.0"}

# One line per event, named by its logger: ``clinic.services`` writes one line per study state
# change (id, status, attempt, stage seconds, model versions; never patient data), ``boneage``
# the engine's model loading and rejections.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"line": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "filters": {"query_string_omitted": {"()": "clinic.log_filters.QueryStringOmitted"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "line"}},
    "root": {"handlers": ["console"], "level": os.environ.get("DJANGO_LOG_LEVEL", "INFO")},
    # The request log: the page asked for, never its query string (search terms, identifiers).
    "loggers": {
        "django.server": {
            "handlers": ["console"],
            "filters": ["query_string_omitted"],
            "level": "INFO",
            "propagate": False,
        }
    },
}
