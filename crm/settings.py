"""Settings for every environment; production differs from a laptop only by environment variables.

With nothing set, the embedded defaults run on one machine with nothing installed: SQLite under
``var/``, Celery on kombu's filesystem transport under ``var/``, e-mail written to ``var/mail/``.
``README.md`` lists every variable, its default and its production value.
"""

import os
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from crm import env

BASE_DIR = Path(__file__).resolve().parent.parent
env.read_dotenv(BASE_DIR / ".env")

VAR_DIR = Path(env.get_str("CRM_VAR_DIR", str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = env.get_bool("DJANGO_DEBUG", False)

SECRET_KEY = env.get_str("DJANGO_SECRET_KEY")
if SECRET_KEY is None:
    if not DEBUG:
        raise env.ConfigError(
            "DJANGO_SECRET_KEY",
            "is not set: it is required when DJANGO_DEBUG is false (production). "
            "Generate one with: python -c 'import secrets; print(secrets.token_urlsafe(50))'",
        )
    SECRET_KEY = "insecure-local-development-key-never-used-in-production"  # noqa: S105

ALLOWED_HOSTS = env.get_list("DJANGO_ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.get_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])

# The coalition as it names itself in pages and e-mails.
COALITION_NAME = env.get_str("COALITION_NAME", "Metro Coalition to End Human Trafficking")
# Links in e-mails and feeds; by default the address `make run` serves (PORT, 8000 unless set).
SITE_URL = env.get_str("SITE_URL", f"http://127.0.0.1:{env.get_str('PORT', '8000')}").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "simple_history",
    "sesame",
    "members",
    "campaigns",
    "toolkits",
    "mailings",
    "api",
    "celerytasks",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "crm.middleware.NullCharacterGuard",
    "crm.middleware.ApiTimesInUtc",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
]

ROOT_URLCONF = "crm.urls"
WSGI_APPLICATION = "crm.wsgi.application"

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
                "crm.context_processors.coalition",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
_db = env.get_database("DATABASE_URL", f"sqlite:///{VAR_DIR / 'db.sqlite3'}")
# Persistent connections: opening a PostgreSQL connection per request cuts throughput about
# five-fold on this stack, so connections are kept and health-checked before reuse.
_db["CONN_MAX_AGE"] = env.get_int("CONN_MAX_AGE", 60, minimum=0)
_db["CONN_HEALTH_CHECKS"] = True
if _db["ENGINE"] == "django.db.backends.sqlite3":
    # Web, worker and beat share one SQLite file: WAL lets readers run beside a writer, and
    # IMMEDIATE transactions take the write lock up front instead of failing half-way.
    _db["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    # Tests need a file, not memory, so that a real worker process sees the test database.
    # One file per test run, so two runs on one machine do not share it.
    _db["TEST"] = {"NAME": str(VAR_DIR / f"test-db-{os.getpid()}.sqlite3")}
DATABASES = {"default": _db}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache (rate limits, locks, cached figures) ---------------------------------------------
REDIS_URL = env.get_redis_url("REDIS_URL")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "crm",
        }
    }
else:
    # A file cache is shared by every process on one machine, which memory caches are not.
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
        }
    }

# --- Auth -----------------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    # One-time sign-in links e-mailed to member organisations' profile editors.
    "sesame.backends.ModelBackend",
]
SESAME_MAX_AGE = env.get_int("SIGN_IN_LINK_MAX_AGE", 60 * 60 * 24, minimum=60)
SESAME_ONE_TIME = True
SIGNATURE_CONFIRM_MAX_AGE = env.get_int("SIGNATURE_CONFIRM_MAX_AGE", 60 * 60 * 24 * 7, minimum=60)
# How many reverse proxies append to X-Forwarded-For in front of the app; the client's address
# is read that many entries from the right (crm.ratelimit.client_ip). gunicorn listens on
# loopback only, so in production one proxy (nginx, Caddy) is always in front.
TRUSTED_PROXY_COUNT = env.get_int("DJANGO_TRUSTED_PROXY_COUNT", 0 if DEBUG else 1, minimum=0)
LOGIN_URL = "admin:login"

# --- Internationalisation -------------------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("es", "Español")]
TIME_ZONE = env.get_str("TIME_ZONE", "America/New_York")
USE_I18N = True
USE_TZ = True

# --- Static and uploaded files --------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)  # whitenoise warns about a missing one before collectstatic
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "media/"
MEDIA_ROOT = Path(env.get_str("MEDIA_ROOT", str(VAR_DIR / "media")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = DEBUG

# --- E-mail ---------------------------------------------------------------------------------
DEFAULT_FROM_EMAIL = env.get_str("DEFAULT_FROM_EMAIL", f"{COALITION_NAME} <coalition@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
_email = env.get_email("EMAIL_URL")
EMAIL_BACKEND_OVERRIDE = env.get_str("EMAIL_BACKEND")
# django-anymail's settings: every ANYMAIL_* variable without the prefix, e.g.
# ANYMAIL_POSTMARK_SERVER_TOKEN. Read whatever the backend, because an ESP's bounce and complaint
# webhooks (/anymail/<esp>/tracking/, see mailings.webhooks) also serve SMTP relays.
ANYMAIL = {
    key.removeprefix("ANYMAIL_"): value
    for key, value in os.environ.items()
    if key.startswith("ANYMAIL_")
}
# The HTTP basic auth ("user:password"; several, comma-separated, while rotating) an ESP puts in
# its webhook URL. Without it the webhooks refuse every call: anyone could otherwise post a
# forged complaint and stop a member's mail.
_webhook_secrets = env.get_list("ANYMAIL_WEBHOOK_SECRET", [])
if any(":" not in secret for secret in _webhook_secrets):
    raise env.ConfigError("ANYMAIL_WEBHOOK_SECRET", "must be user:password (comma-separated).")
ANYMAIL.pop("WEBHOOK_SECRET", None)
if _webhook_secrets:
    ANYMAIL["WEBHOOK_SECRET"] = _webhook_secrets
if EMAIL_BACKEND_OVERRIDE:
    # Any provider django-anymail supports, configured from ANYMAIL_* variables, e.g.
    # EMAIL_BACKEND=anymail.backends.postmark.EmailBackend ANYMAIL_POSTMARK_SERVER_TOKEN=...
    EMAIL_BACKEND = EMAIL_BACKEND_OVERRIDE
elif _email is not None:
    vars().update(_email)
else:
    EMAIL_BACKEND = "crm.mail.EmailBackend"
    EMAIL_FILE_PATH = str(VAR_DIR / "mail")

# --- Celery ---------------------------------------------------------------------------------
CELERY_BROKER_URL = env.get_broker_url("CELERY_BROKER_URL", "filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    _broker_dir = Path(env.get_str("CELERY_FILESYSTEM_DIR", str(VAR_DIR / "celery")))
    for _sub in ("queue", "processed", "control"):
        (_broker_dir / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
else:
    # A task not acknowledged within this time is handed to another worker: no ETA or countdown
    # may be longer than this.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": env.get_int("CELERY_VISIBILITY_TIMEOUT", 3600, minimum=60)
    }
# --- Mailings (see mailings.services for how these fit together) ---------------------------
COALITION_POSTAL_ADDRESS = env.get_str("COALITION_POSTAL_ADDRESS", "PO Box 1000, Atlanta, GA 30301")
EMAIL_TIMEOUT = env.get_int("EMAIL_TIMEOUT", 30, minimum=1)
# Messages per second across every worker together; 0 for no installation-wide limit (a
# mailing can still have its own).
MAILING_MAX_RATE = env.get_int("MAILING_MAX_RATE", 0, minimum=0)
# A delivery claimed longer ago than this (its worker died mid-send) goes back to the queue.
# EMAIL_TIMEOUT bounds each SMTP step, and a message takes several (MAIL, RCPT, DATA, the end of
# DATA): the lease must outlast a slow but live send, or that message would go out twice.
MAILING_SEND_LEASE = env.get_int("MAILING_SEND_LEASE", 300, minimum=4 * EMAIL_TIMEOUT + 1)
# A delivery published longer ago than this and never claimed (its task lost) is published again.
MAILING_PUBLISH_LEASE = env.get_int("MAILING_PUBLISH_LEASE", 60, minimum=1)
MAILING_PUMP_INTERVAL = env.get_int("MAILING_PUMP_INTERVAL", 2, minimum=1)
MAILING_PUMP_LEASE = env.get_int("MAILING_PUMP_LEASE", 15, minimum=MAILING_PUMP_INTERVAL + 1)
MAILING_WINDOW = env.get_int("MAILING_WINDOW", 1000, minimum=10)
MAILING_MAX_ATTEMPTS = env.get_int("MAILING_MAX_ATTEMPTS", 6, minimum=1)
MAILING_RETRY_BASE = env.get_int("MAILING_RETRY_BASE", 30, minimum=1)
MAILING_RETRY_MAX = env.get_int("MAILING_RETRY_MAX", 600, minimum=1)
_visibility = CELERY_BROKER_TRANSPORT_OPTIONS.get("visibility_timeout")
if _visibility and _visibility <= MAILING_RETRY_MAX:
    raise ImproperlyConfigured(
        "MAILING_RETRY_MAX must be shorter than CELERY_VISIBILITY_TIMEOUT: a countdown past the "
        "visibility timeout would be handed to a second worker."
    )

# Workers consume this queue and tasks go to it; two installations sharing one broker (or the
# test suite beside a running `make run`) each use their own.
CELERY_TASK_DEFAULT_QUEUE = env.get_str("CELERY_DEFAULT_QUEUE", "celery")
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ALWAYS_EAGER = False
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = TIME_ZONE
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
DJANGO_CELERY_BEAT_TZ_AWARE = True

# --- Production hardening -------------------------------------------------------------------
if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.get_bool("DJANGO_SECURE_SSL_REDIRECT", True)
    # Load balancers probe the health check over plain HTTP.
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.get_int("DJANGO_SECURE_HSTS_SECONDS", 31_536_000, minimum=0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env.get_bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env.get_bool("DJANGO_SECURE_HSTS_PRELOAD", True)
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.get_str("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "api.authentication.BearerKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["api.permissions.ScopePermission"],
    "DEFAULT_THROTTLE_CLASSES": ["api.throttling.PartnerRateThrottle"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "api.pagination.SyncCursorPagination",
    "PAGE_SIZE": 100,
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["api.parsers.JSONParser"],
    "EXCEPTION_HANDLER": "api.errors.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "api.schema.ApiAutoSchema",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
# Requests per window (seconds) per partner key, signed-in person or address; 0 turns it off.
API_RATE_LIMIT = env.get_int("API_RATE_LIMIT", 1200, minimum=0)
API_RATE_WINDOW = env.get_int("API_RATE_WINDOW", 60, minimum=1)
SPECTACULAR_SETTINGS = {
    "TITLE": "Coalition CRM API",
    "DESCRIPTION": (
        "The member directory, campaigns, toolkits and mailings of the coalition, for partners' "
        "tools. Send `Authorization: Bearer <key>` (keys carry scopes). Lists are cursor-paged; "
        "`modified_since` returns what changed and, on the first page, what was deleted. Every "
        "error has the shape `{message, code, errors}`."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    # Choice sets shared by several fields, or several models' "status", each named once.
    "ENUM_NAME_OVERRIDES": {
        "OrganizationStatusEnum": "members.models.Organization.Status",
        "CampaignStatusEnum": "campaigns.models.Campaign.Status",
        "CampaignFieldRuleEnum": "campaigns.models.Campaign.FieldRule",
        "ToolkitStatusEnum": "toolkits.models.Toolkit.Status",
        "MailingStatusEnum": "mailings.models.Mailing.Status",
        "DeliveryStatusEnum": "mailings.models.Delivery.Status",
        "WebhookEventEnum": "api.models.WebhookEndpoint.Event",
        "WebhookDeliveryStatusEnum": "api.models.WebhookDelivery.Status",
    },
}

# --- Outbound webhooks (see api.webhooks for how these fit together) ------------------------
# Seconds to connect and for each read of a partner's endpoint; a task sends one delivery, so a
# slow endpoint holds one worker slot this long and no other endpoint waits for it.
WEBHOOK_TIMEOUT = env.get_int("WEBHOOK_TIMEOUT", 5, minimum=1)
# A delivery not answered with a 2xx is retried, with a capped exponential backoff plus jitter,
# until this many hours of retries have passed; then it is failed (a partner can redeliver it).
WEBHOOK_RETRY_HOURS = env.get_int("WEBHOOK_RETRY_HOURS", 25, minimum=24)
WEBHOOK_RETRY_BASE = env.get_int("WEBHOOK_RETRY_BASE", 30, minimum=1)
WEBHOOK_RETRY_MAX = env.get_int("WEBHOOK_RETRY_MAX", 3600, minimum=WEBHOOK_RETRY_BASE)
# A delivery claimed longer ago than this (its worker died mid-send) may be sent again. It must
# outlast a slow but live send: a connect and a few reads of WEBHOOK_TIMEOUT each.
WEBHOOK_LEASE = env.get_int("WEBHOOK_LEASE", 60, minimum=4 * WEBHOOK_TIMEOUT + 1)
# A delivery published this long ago and never claimed (its task lost) is published again by the
# sweep (webhooks.sweep, every 30 s). Retries wait in the database, not in the broker: no task
# is ever published with a countdown, so none can outlive the broker's visibility timeout.
WEBHOOK_PUBLISH_LEASE = env.get_int("WEBHOOK_PUBLISH_LEASE", 120, minimum=1)
# Plain-http endpoints and endpoints on private, loopback or link-local addresses (the server's
# own network) are refused in production and allowed with DJANGO_DEBUG (a laptop's test server).
WEBHOOK_ALLOW_HTTP = env.get_bool("WEBHOOK_ALLOW_HTTP", DEBUG)
WEBHOOK_ALLOW_PRIVATE_ADDRESSES = env.get_bool("WEBHOOK_ALLOW_PRIVATE_ADDRESSES", DEBUG)
# Delivered and failed deliveries are kept this many days in the log partners read, then deleted.
WEBHOOK_LOG_DAYS = env.get_int("WEBHOOK_LOG_DAYS", 30, minimum=2)
