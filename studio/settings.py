"""Settings from the environment, with embedded defaults so `make run` needs nothing but Python.

Embedded mode (no DATABASE_URL, no REDIS_URL): SQLite in WAL mode under var/, media under
var/media/, Celery over kombu's filesystem transport under var/broker/, in-memory channel layer.
Production: PostgreSQL, Redis (broker + channel layer), optional S3-compatible storage.
"""

import os
from pathlib import Path
from typing import Any

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("STUDIO_VAR_DIR", BASE_DIR / "var"))


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG", False)
SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    # Embedded mode only: a per-checkout key kept under var/ so sessions survive restarts.
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    key_file = VAR_DIR / "secret_key"
    if not key_file.exists():
        import secrets

        key_file.write_text(secrets.token_urlsafe(64))
    SECRET_KEY = key_file.read_text().strip()

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "channels",
    "django_htmx",
    "eventlog.apps.EventlogConfig",
    "studio.apps.StudioConfig",
    "sessions.apps.LiveConfig",
    "audio.apps.AudioConfig",
    "delivery.apps.DeliveryConfig",
    "reviewlinks.apps.ReviewLinksConfig",
    "songsheet.apps.SongSheetConfig",
    "bookings.apps.BookingsConfig",
    "timesheets.apps.TimesheetsConfig",
    "notifications.apps.NotificationsConfig",
    "pages.apps.PagesConfig",
]

MIDDLEWARE = [
    "studio.health.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "studio.security.ContentSecurityPolicyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "studio.textguard.RefuseNulMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "studio.timezones.ViewerTimeZoneMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "studio.urls"
ASGI_APPLICATION = "studio.asgi.application"
WSGI_APPLICATION = None

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
                "studio.security.csp_nonce",
            ],
        },
    },
]

# --- Database -----------------------------------------------------------------------------
DATABASE_URL = os.environ.get("DATABASE_URL", "")
if DATABASE_URL:
    # Persistent connections (issue 17): DATABASE_CONN_MAX_AGE seconds (0 closes each request's
    # connection), checked before reuse so a restarted PostgreSQL costs no failed request;
    # docs/operations.md has the figure measured by tests/bench/bench_connections.py.
    DATABASES = {
        "default": dj_database_url.parse(
            DATABASE_URL,
            conn_max_age=int(os.environ.get("DATABASE_CONN_MAX_AGE", "0")),
            conn_health_checks=env_bool("DATABASE_CONN_HEALTH_CHECKS", True),
        )
    }
    # A connection pool per process (DATABASE_POOL_SIZE connections at most, 0: none). Under
    # Daphne a request's sync code runs on a thread of its own, so a pool is how the web keeps
    # connections between requests; with DATABASE_CONN_HEALTH_CHECKS a connection handed out is
    # checked first. The pool opens on a process's first query, so Celery's prefork parent,
    # which makes none, hands its children no open pool.
    DATABASE_POOL_SIZE = int(os.environ.get("DATABASE_POOL_SIZE", "0"))
    if DATABASE_POOL_SIZE > 0:
        DATABASES["default"]["CONN_MAX_AGE"] = 0
        DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
            "min_size": 1,
            "max_size": DATABASE_POOL_SIZE,
            "timeout": 10,
        }
else:
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(VAR_DIR / "studio.sqlite3"),
            "OPTIONS": {
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            },
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
EMBEDDED = not DATABASE_URL

# --- Redis, Celery, Channels ----------------------------------------------------------------
REDIS_URL = os.environ.get("REDIS_URL", "")

CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# No global time limit: each job kind declares its own (audio.jobs.registry), sent with each
# message; JOB_TIME_LIMITS="analyze=900,noop=30" overrides them per kind (seconds, soft limit).
JOB_TIME_LIMITS = {
    name.strip(): float(value)
    for name, _, value in (
        item.partition("=") for item in os.environ.get("JOB_TIME_LIMITS", "").split(",")
    )
    if name.strip() and value.strip()
}
# Two queues: "audio" for DSP kinds, "default" for the rest; a worker consumes both unless
# started with -Q for one.
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_QUEUES: dict[str, dict[str, Any]] = {"default": {}, "audio": {}}
CELERY_WORKER_SOFT_SHUTDOWN_TIMEOUT = 30
CELERY_WORKER_MAX_MEMORY_PER_CHILD = 512_000  # KiB
CELERY_TASK_IGNORE_RESULT = True
# Workers log through LOGGING below (with the request id, as JSON when asked), not Celery's own.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, Any]
CHANNEL_LAYERS: dict[str, dict[str, Any]]
# The cache holds the failed sign-in counters (studio.services.sign_in): shared through Redis
# by every process when there is one, per process in embedded mode.
CACHES: dict[str, dict[str, Any]] = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
}
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "studio-cache",
        }
    }
    CELERY_BROKER_URL = REDIS_URL
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        # Must exceed the longest hard time limit, or tasks run again in a loop.
        "visibility_timeout": int(os.environ.get("CELERY_VISIBILITY_TIMEOUT", "1800")),
    }
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                "hosts": [{"address": REDIS_URL, "max_connections": 1000}],
                "capacity": 1000,
                "expiry": 60,
                "group_expiry": 86400,
            },
        }
    }
else:
    BROKER_DIR = VAR_DIR / "broker"
    for sub in ("queue", "processed", "control"):
        (BROKER_DIR / sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR / "queue"),
        "data_folder_out": str(BROKER_DIR / "queue"),
        "processed_folder": str(BROKER_DIR / "processed"),
        "control_folder": str(BROKER_DIR / "control"),
        "store_processed": False,
    }
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
# A job whose lease lapsed (worker died) is re-run; a live lease means a duplicate delivery.
JOB_LEASE_SECONDS = int(os.environ.get("JOB_LEASE_SECONDS", "60"))
JOB_MAX_ATTEMPTS = 3
# Queued jobs whose message is older than this are sent again by requeue_stale_jobs.
JOB_REQUEUE_AFTER_SECONDS = int(os.environ.get("JOB_REQUEUE_AFTER_SECONDS", "120"))
# Each run's private work folder lives under this directory (removed when the run ends).
JOB_WORK_DIR = Path(os.environ.get("JOB_WORK_DIR", VAR_DIR / "job-work"))
CELERY_BEAT_SCHEDULE = {
    "sweep": {"task": "audio.jobs.sweep", "schedule": 30.0},
    # Each person's e-mail digest of their unread notifications (notifications/digest.py).
    "notification-digests": {
        "task": "notifications.send_digests",
        "schedule": float(os.environ.get("NOTIFICATION_DIGEST_EVERY_S", "3600")),
    },
}

# --- Storage ------------------------------------------------------------------------------
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", VAR_DIR / "media"))
MEDIA_URL = "/media/"
UPLOAD_DIR = Path(os.environ.get("UPLOAD_DIR", VAR_DIR / "uploads"))
STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "staticfiles"
SERVE_STATIC = env_bool("SERVE_STATIC", True)
STORAGE_BACKEND = os.environ.get("STORAGE_BACKEND", "local")  # "local" or "s3"
if STORAGE_BACKEND == "s3":
    STORAGES = {
        "default": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": os.environ.get("S3_BUCKET", ""),
                "endpoint_url": os.environ.get("S3_ENDPOINT_URL") or None,
                "access_key": os.environ.get("S3_ACCESS_KEY_ID", ""),
                "secret_key": os.environ.get("S3_SECRET_ACCESS_KEY", ""),
                "region_name": os.environ.get("S3_REGION") or None,
                "file_overwrite": True,
                "default_acl": None,
                "querystring_auth": True,
            },
        },
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
else:
    STORAGES = {
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }

# Upload limits (tus-style chunked uploads; every request body is bounded by the chunk cap).
UPLOAD_MAX_CHUNK_BYTES = 8 * 1024 * 1024
UPLOAD_MAX_BYTES = int(os.environ.get("UPLOAD_MAX_BYTES", str(2 * 1024**3)))
UPLOAD_EXPIRY_SECONDS = int(os.environ.get("UPLOAD_EXPIRY_SECONDS", str(24 * 3600)))
UPLOAD_MAX_CONCURRENT_PER_USER = int(os.environ.get("UPLOAD_MAX_CONCURRENT_PER_USER", "4"))
PROJECT_STORAGE_QUOTA_BYTES = int(os.environ.get("PROJECT_STORAGE_QUOTA_BYTES", str(50 * 1024**3)))
DATA_UPLOAD_MAX_MEMORY_SIZE = UPLOAD_MAX_CHUNK_BYTES + 1024 * 1024
DATA_UPLOAD_MAX_NUMBER_FILES = 10
# Under ASGI, Django spools every request body into a SpooledTemporaryFile of this size: one
# tus chunk stays in memory instead of going to a temp file (and being read back) on the way.
FILE_UPLOAD_MAX_MEMORY_SIZE = UPLOAD_MAX_CHUNK_BYTES

# --- Auth, API ------------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
if env_bool("STUDIO_FAST_PASSWORD_HASHER", False):
    # Tests only: PBKDF2 costs ~0.3 s per user, which dominates fixture time.
    PASSWORD_HASHERS = [
        "django.contrib.auth.hashers.MD5PasswordHasher",
        "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    ]
# E-mail (invitations, password resets): printed on the console unless EMAIL_BACKEND says
# otherwise (e.g. django.core.mail.backends.smtp.EmailBackend with EMAIL_HOST and friends).
EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_FILE_PATH = os.environ.get("EMAIL_FILE_PATH", str(VAR_DIR / "mail"))
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "Studio <studio@localhost>")
# Where the server is reached from outside: the links in e-mail sent without a request (digests).
STUDIO_BASE_URL = os.environ.get("STUDIO_BASE_URL", "http://127.0.0.1:8000")
PASSWORD_RESET_TIMEOUT = 3 * 24 * 3600

# Whether anyone may create an account at /signup/ without an invitation (off: teams invite).
STUDIO_OPEN_SIGNUP = env_bool("STUDIO_OPEN_SIGNUP", False)

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "project-list"
LOGOUT_REDIRECT_URL = "login"

# How many trusted proxies (nginx) stand in front of Daphne: the client address is then read
# that many hops back in X-Forwarded-For. 0 (the default) ignores the header, which anyone can
# write (a different X-Forwarded-For per request escaped every throttle).
NUM_PROXIES = int(os.environ.get("NUM_PROXIES", "0"))

REST_FRAMEWORK = {
    "NUM_PROXIES": NUM_PROXIES,
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Token first: an anonymous request then gets 401 with WWW-Authenticate, not 403.
        "studio.api.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": [
        "studio.api.parsers.StrictJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "studio.api.errors.exception_handler",
    "DEFAULT_PAGINATION_CLASS": "studio.api.pagination.BoundedLimitOffsetPagination",
    "PAGE_SIZE": 100,
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Studio API",
    "DESCRIPTION": "Songs from first idea to delivered master, for the team that makes them.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI from our own static files (scripts/vendor.sh, pinned), never a CDN: a
    # self-hosted or offline server could not reach one, and /api/docs/ was a blank page.
    "SWAGGER_UI_DIST": "/static/vendor/swagger-ui-dist",
    "SWAGGER_UI_FAVICON_HREF": "/static/img/favicon.svg",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "MemberRoleEnum": "studio.roles.Role",
        "CreditRoleEnum": "studio.models.credit.CreditRole",
        "StageEnum": "studio.models.song.Stage",
        "TaskStatusEnum": "studio.models.task.TaskStatus",
        "SessionKindEnum": "sessions.models.SessionKind",
        "SampleKindEnum": "studio.models.rights.SampleKind",
        "PaletteStatusEnum": "songsheet.models.PaletteStatus",
        "NotificationKindEnum": "notifications.models.Kind",
        "ResourceKindEnum": "bookings.models.ResourceKind",
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "studio.api.schema.add_error_responses",
    ],
}

# --- Security -------------------------------------------------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not DEBUG and not EMBEDDED)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", not DEBUG and not EMBEDDED)
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", False)
SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "0"))
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
if env_bool("BEHIND_TLS_PROXY", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# Log lines carry the request id (studio/requestids.py). LOG_FORMAT=json gives one JSON object
# per line for a log shipper (the production setting); text is for a person at a terminal.
LOG_FORMAT = os.environ.get("LOG_FORMAT", "text")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "studio.requestids.RequestIdFilter"}},
    "formatters": {
        "text": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
        "json": {"()": "studio.requestids.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "filters": ["request_id"],
            "formatter": "json" if LOG_FORMAT == "json" else "text",
        }
    },
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"django.channels.server": {"level": "WARNING"}},
}
# /metrics is off unless this is set; Prometheus sends it as a bearer token (studio/health.py).
STUDIO_METRICS_TOKEN = os.environ.get("STUDIO_METRICS_TOKEN", "")
