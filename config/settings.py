"""Versus settings: one module, every knob read from the environment.

The defaults give the embedded mode (SQLite, eager Celery, local media, local-memory cache), so
`DEBUG=1 manage.py runserver` (what scripts/start runs) works on a fresh clone. With DEBUG off
Versus is a production server: it needs SECRET_KEY and expects HTTPS. Production sets the
variables listed in `.env.example`. Bad values fail at start-up with the variable's name, never
silently.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import environ

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
# Variables already in the environment win over the file. The reader takes everything after `=`
# as the value, so comments go on lines of their own: a `#` may be part of a random SECRET_KEY.
ENV_FILE = Path(os.environ.get("VERSUS_ENV_FILE", BASE_DIR / ".env"))
environ.Env.read_env(ENV_FILE, overwrite=False)
# pytest imports these settings itself; a test run is a development run, whatever DEBUG says
# (pytest-django turns DEBUG off for every test).
TESTING = "pytest" in sys.modules

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_bool(name: str, default: bool) -> bool:
    """Read a boolean variable; anything but a clear yes/no stops start-up."""
    raw = env.str(name, default=str(default)).strip().lower()
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise environ.ImproperlyConfigured(
        f"{name}={raw!r}: use one of 1/0, true/false, yes/no, on/off"
    )


def _env_number(name: str, default: float, cast: type, expected: str) -> Any:
    """Read a variable as `cast` (int or float); anything else stops start-up."""
    raw = env.str(name, default=str(default)).strip()
    try:
        return cast(raw)
    except ValueError:
        raise environ.ImproperlyConfigured(f"{name}={raw!r}: expected {expected}") from None


def env_int(name: str, default: int, *, minimum: int = 0) -> int:
    """Read an integer variable no smaller than `minimum`."""
    value: int = _env_number(name, default, int, "an integer")
    if value < minimum:
        raise environ.ImproperlyConfigured(f"{name}={value}: must be at least {minimum}")
    return value


def env_float(name: str, default: float, *, minimum: float, maximum: float) -> float:
    """Read a number variable between `minimum` and `maximum`."""
    value: float = _env_number(name, default, float, "a number")
    if not minimum <= value <= maximum:
        raise environ.ImproperlyConfigured(
            f"{name}={value}: must be between {minimum} and {maximum}"
        )
    return value


DEBUG = env_bool("DEBUG", default=False)
SECRET_KEY = env.str("SECRET_KEY", default="")
_NEW_KEY = "python -c 'import secrets; print(secrets.token_urlsafe(50))'"
if not DEBUG and not TESTING:
    # A server must never sign sessions and voter cookies with a key anyone can read here.
    if not SECRET_KEY:
        raise environ.ImproperlyConfigured(
            f"SECRET_KEY is not set and DEBUG is off: set SECRET_KEY (in the environment or "
            f"{ENV_FILE}) to a long random string, e.g. the output of {_NEW_KEY}; "
            "or set DEBUG=1 for the embedded development server"
        )
    if SECRET_KEY.startswith("change-me"):
        raise environ.ImproperlyConfigured(
            f"SECRET_KEY is still the placeholder of .env.example; replace it with a long "
            f"random string, e.g. the output of {_NEW_KEY}"
        )
if not SECRET_KEY:
    # Development and tests only: a key that is fine for a laptop and useless anywhere else.
    SECRET_KEY = "versus-embedded-insecure-key-set-SECRET_KEY-in-production"

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
CSRF_FAILURE_VIEW = "config.handlers.csrf_failure"
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "knox",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "leaderboards",
    "evaluation",
    "matchmaking",
    "metrics",
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
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

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
            ],
        },
    },
]

# --- Database: SQLite by default, anything dj-database-url understands via DATABASE_URL.
DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the embedded worker thread and web requests read while one writes.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env_int("DB_CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    if env_bool("DB_PREPARED_STATEMENTS", default=False):
        # Server-side parameters, so PostgreSQL plans a statement run five times on one
        # connection once and reuses the plan: a third less database CPU per vote. Off by
        # default, as in Django, because a pooler in transaction mode (PgBouncer before 1.21)
        # cannot follow prepared statements; compose connects directly and turns it on.
        DATABASES["default"].setdefault("OPTIONS", {}).update(
            server_side_binding=True, prepare_threshold=5
        )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: Celery broker and shared cache when REDIS_URL is set; in-process otherwise.
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "config.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "versus",
            # A dead Redis must cost a voter milliseconds, not a hung request.
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL or "memory://")
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", default=not REDIS_URL)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_BROKER_CONNECTION_TIMEOUT = 1.0
CELERY_BROKER_TRANSPORT_OPTIONS = {"socket_connect_timeout": 1, "socket_timeout": 1}
CELERY_TIMEZONE = "UTC"
# The rater: a leaderboard is refitted at most once per debounce interval after votes arrive;
# beat's sweep catches up whatever the broker or a worker missed.
VERSUS_RATINGS_DEBOUNCE_SECONDS = env_int("VERSUS_RATINGS_DEBOUNCE_SECONDS", default=5)
VERSUS_RATINGS_SWEEP_SECONDS = env_int("VERSUS_RATINGS_SWEEP_SECONDS", default=60, minimum=5)
CELERY_BEAT_SCHEDULE = {
    "ratings-sweep": {
        "task": "evaluation.tasks.ratings_sweep",
        "schedule": float(VERSUS_RATINGS_SWEEP_SECONDS),
    },
    "rating-snapshots-thin": {"task": "evaluation.tasks.snapshots_thin_all", "schedule": 3600.0},
}

# --- Auth and passwords.
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "admin:login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Static files (served by whitenoise) and media (local folder or S3-compatible storage).
STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(BASE_DIR / "staticfiles")))
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(BASE_DIR / "media")))
MEDIA_URL = "/media/"  # never routed: media is served through permission-checked views
MEDIA_STORAGE = env.str("MEDIA_STORAGE", default="local")
if MEDIA_STORAGE not in {"local", "s3"}:
    raise environ.ImproperlyConfigured(f"MEDIA_STORAGE={MEDIA_STORAGE!r}: use 'local' or 's3'")

_static_backend = (
    "whitenoise.storage.CompressedManifestStaticFilesStorage"
    if not DEBUG and env_bool("STATIC_MANIFEST", default=False)
    else "django.contrib.staticfiles.storage.StaticFilesStorage"
)
if MEDIA_STORAGE == "s3":
    _media = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": env.str("AWS_STORAGE_BUCKET_NAME"),
            "endpoint_url": env.str("AWS_S3_ENDPOINT_URL", default=None),
            "region_name": env.str("AWS_S3_REGION_NAME", default=None),
            "access_key": env.str("AWS_ACCESS_KEY_ID", default=None),
            "secret_key": env.str("AWS_SECRET_ACCESS_KEY", default=None),
            "default_acl": "private",
            "querystring_auth": True,
            "file_overwrite": False,
        },
    }
else:
    _media = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(MEDIA_ROOT), "base_url": MEDIA_URL},
    }
STORAGES = {"default": _media, "staticfiles": {"BACKEND": _static_backend}}

# --- Media intake limits (bytes / pixels / characters), per kind.
VERSUS_MAX_IMAGE_BYTES = env_int("VERSUS_MAX_IMAGE_BYTES", default=20 * 1024 * 1024, minimum=1)
VERSUS_MAX_VIDEO_BYTES = env_int("VERSUS_MAX_VIDEO_BYTES", default=200 * 1024 * 1024, minimum=1)
VERSUS_MAX_AUDIO_BYTES = env_int("VERSUS_MAX_AUDIO_BYTES", default=50 * 1024 * 1024, minimum=1)
VERSUS_MAX_TEXT_CHARS = env_int("VERSUS_MAX_TEXT_CHARS", default=100_000, minimum=1)
# One image or one frame; also Pillow's decompression-bomb limit (evaluation/media.py).
VERSUS_MAX_IMAGE_PIXELS = env_int("VERSUS_MAX_IMAGE_PIXELS", default=64_000_000, minimum=1)
# All frames of an animation together: decoding holds every frame in memory at once, so by
# default an animation costs no more than the largest still image.
VERSUS_MAX_ANIMATION_PIXELS = env_int("VERSUS_MAX_ANIMATION_PIXELS", default=64_000_000, minimum=1)
# The largest request body Django accepts: one submission carries one file per prompt.
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=10 * 1024 * 1024)
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
DATA_UPLOAD_MAX_NUMBER_FILES = env_int("DATA_UPLOAD_MAX_NUMBER_FILES", default=5000, minimum=1)
DATA_UPLOAD_MAX_NUMBER_FIELDS = env_int("DATA_UPLOAD_MAX_NUMBER_FIELDS", default=20000, minimum=1)

# --- REST API.
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "config.auth.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticatedOrReadOnly"],
    "DEFAULT_PARSER_CLASSES": [
        "config.api.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "EXCEPTION_HANDLER": "config.api.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
if DEBUG:
    REST_FRAMEWORK["DEFAULT_RENDERER_CLASSES"].append(
        "rest_framework.renderers.BrowsableAPIRenderer"
    )

REST_KNOX = {
    "TOKEN_TTL": None,  # owner tokens live until revoked in the admin
    "AUTH_HEADER_PREFIX": "Token",
    "AUTO_REFRESH": False,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Versus API",
    "DESCRIPTION": (
        "Rank generative models by human preference. Owners authenticate with "
        "`Authorization: Token <token>` (create one with `manage.py versus_token USERNAME`); "
        "voters use a browser session with CSRF.\n\n"
        "Errors are JSON: `detail` (what is wrong and what is allowed), a machine-readable "
        "`code` and, when one value is to blame, `field` (its path in the body, e.g. "
        "`prompts[1].tags[0]`). Creating a benchmark, leaderboard, model or result takes an "
        "`Idempotency-Key` header (a retry replays the first answer). 429 (rate limits) "
        "and 503 (the database out of reach for a moment; nothing was recorded) carry "
        "`Retry-After`: send the same request again after it."
    ),
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI from the sidecar package: no CDN at run time.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# --- Security: strict by default when DEBUG is off (manage.py check --deploy is clean).
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = 60 * 60 * 24 * 365


def env_proxy_ssl_header(name: str, default: str) -> tuple[str, str] | None:
    """Read "Header-Name: value", the header a TLS-terminating proxy sets on HTTPS requests.

    Empty means no proxy says so (gunicorn terminates TLS itself, or nothing is trusted). Only set
    it behind a proxy that overwrites the header: a client could send it too.
    """
    raw = env.str(name, default=default).strip()
    if not raw:
        return None
    header, sep, value = raw.partition(":")
    header, value = header.strip(), value.strip()
    if not sep or not header or not value or " " in header:
        raise environ.ImproperlyConfigured(
            f"{name}={raw!r}: use 'Header-Name: value', e.g. 'X-Forwarded-Proto: https', "
            "or leave it empty"
        )
    return "HTTP_" + header.upper().replace("-", "_"), value


# HTTPS hardening is on whenever DEBUG is off; VERSUS_HTTPS=0 is for trying the production stack
# over plain http://localhost (check --deploy then warns, as it should). Never on with DEBUG: the
# development server speaks plain HTTP.
VERSUS_HTTPS = not DEBUG and env_bool("VERSUS_HTTPS", default=not TESTING)
if VERSUS_HTTPS:
    SECURE_PROXY_SSL_HEADER = env_proxy_ssl_header(
        "SECURE_PROXY_SSL_HEADER", default="X-Forwarded-Proto: https"
    )
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", default=True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", default=True)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}

# --- Matchmaking and voting (matchmaking/). Rates are DRF rate strings ("60/min"); empty = off.
VERSUS_MATCHUP_TTL_SECONDS = env_int("VERSUS_MATCHUP_TTL_SECONDS", default=1800, minimum=10)
VERSUS_MIN_VIEW_MS = env_int("VERSUS_MIN_VIEW_MS", default=800)
VERSUS_TRUST_THRESHOLD_PERCENT = env_int("VERSUS_TRUST_THRESHOLD_PERCENT", default=60)
VERSUS_GOLD_SHARE_PERCENT = env_int("VERSUS_GOLD_SHARE_PERCENT", default=5)
# A busy board empties its queue in a second or two. Run dry before the refill lands, it
# sends every voter to a direct choice in the web process, which reads the whole board; at
# the load benchmark's 400 votes/s (benchmarks/voting_load) 200 and 50 ran dry, 400 and 100
# did not. A refill's cost grows with its size, and the beat refills busy boards anyway.
VERSUS_QUEUE_SIZE = env_int("VERSUS_QUEUE_SIZE", default=400, minimum=1)
VERSUS_QUEUE_LOW = env_int("VERSUS_QUEUE_LOW", default=100)
VERSUS_QUEUE_IDLE_SECONDS = env_int("VERSUS_QUEUE_IDLE_SECONDS", default=600)
VERSUS_QUEUE_REFILL_SECONDS = env_int("VERSUS_QUEUE_REFILL_SECONDS", default=60, minimum=5)
VERSUS_RATE_VOTER = env.str("VERSUS_RATE_VOTER", default="60/min")
VERSUS_RATE_IP = env.str("VERSUS_RATE_IP", default="1200/min")
# Per-IP limits read X-Forwarded-For only behind this many trusted proxies (0: REMOTE_ADDR).
REST_FRAMEWORK["NUM_PROXIES"] = env_int("VERSUS_NUM_PROXIES", default=0)
CELERY_BEAT_SCHEDULE["matchups-sweep"] = {
    "task": "matchmaking.tasks.matchups_sweep",
    "schedule": float(VERSUS_QUEUE_REFILL_SECONDS),
}
# Screening votes by network (evaluation/services/screening.py): a network is flagged for a
# model when at least MIN_VOTES of its votes involve the model, their excess score per vote
# over what everyone else's votes predict is at least MIN_EXCESS, and the bound (Hoeffding's or
# Bernstein's) on an honest network standing out that much is under ALPHA / tests.
VERSUS_SCREEN_SECONDS = env_int("VERSUS_SCREEN_SECONDS", default=900, minimum=10)
VERSUS_SCREEN_MIN_VOTES = env_int("VERSUS_SCREEN_MIN_VOTES", default=15, minimum=1)
VERSUS_SCREEN_MIN_EXCESS = env_float(
    "VERSUS_SCREEN_MIN_EXCESS", default=0.25, minimum=0.0, maximum=1.0
)
VERSUS_SCREEN_ALPHA = env_float("VERSUS_SCREEN_ALPHA", default=0.001, minimum=1e-12, maximum=1.0)
CELERY_BEAT_SCHEDULE["networks-screen"] = {
    "task": "evaluation.tasks.networks_screen_all",
    "schedule": float(VERSUS_SCREEN_SECONDS),
}
