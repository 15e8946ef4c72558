"""Settings for every environment, driven by environment variables.

Without DATABASE_URL and REDIS_URL the project runs on its embedded defaults: a SQLite file,
eager Celery tasks, a local-memory cache and an in-memory channel layer.
"""

import hashlib
import hmac
import secrets
from datetime import date, timedelta
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured
from django.core.management.utils import get_random_secret_key
from django.utils.translation import gettext_lazy as _

from config.logging import logging_config

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
# A developer's local overrides (written by `make install` with DEBUG=1); real environment
# variables always win over it.
if (BASE_DIR / ".env").exists():
    environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=False)


def _secret_key() -> str:
    """A real key from the environment; in DEBUG only, a generated key kept in a local file."""
    key = env.str("SECRET_KEY", default="")
    if key:
        return key
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    key_file = BASE_DIR / ".dev-secret-key"
    if not key_file.exists():
        key_file.write_text(get_random_secret_key())
    return key_file.read_text().strip()


SECRET_KEY = _secret_key()


def _audit_chain_keys() -> tuple[str, dict[str, bytes]]:
    """The key that signs new status events (id, and every key by id, retired ones included).

    The key never lives in the database: from AUDIT_CHAIN_KEY, or in DEBUG a generated local
    file. Retired keys (AUDIT_CHAIN_RETIRED_KEYS, "id:secret,id:secret") still verify the
    events they signed.
    """
    key = env.str("AUDIT_CHAIN_KEY", default="")
    if not key:
        if not DEBUG:
            raise ImproperlyConfigured("AUDIT_CHAIN_KEY must be set when DEBUG is off.")
        key_file = BASE_DIR / ".dev-audit-chain-key"
        try:
            with key_file.open("x") as created:  # two processes starting at once write it once
                created.write(secrets.token_hex(32))
        except FileExistsError:
            pass
        key = key_file.read_text().strip()
    # By default the id is derived from the key: a new key gets a new id without anyone choosing one.
    key_id = env.str("AUDIT_CHAIN_KEY_ID", default="") or (
        "k" + hmac.new(key.encode(), b"audit-chain-key-id", hashlib.sha256).hexdigest()[:8]
    )
    keys = {}
    for entry in env.list("AUDIT_CHAIN_RETIRED_KEYS", default=[]):
        retired_id, separator, retired_key = entry.partition(":")
        if not separator or not retired_id or not retired_key:
            raise ImproperlyConfigured("AUDIT_CHAIN_RETIRED_KEYS entries are written id:secret.")
        keys[retired_id.strip()] = retired_key.strip().encode()
    keys[key_id] = key.encode()
    return key_id, keys


AUDIT_CHAIN_KEY_ID, AUDIT_CHAIN_KEYS = _audit_chain_keys()
# Where the verifier writes its signed daily digest of every line's chain head: outside the
# database (ideally storage the database's administrators cannot write, e.g. a WORM bucket mount).
AUDIT_ANCHOR_DIR = Path(env.str("AUDIT_ANCHOR_DIR", default=str(BASE_DIR / "audit-anchors")))
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "daphne",
    "modeltranslation",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "guardian",
    "simple_history",
    "django_celery_beat",
    "django_fsm",
    "channels",
    "orders",
    "integrations",
    "notifications",
    "overrides",
    "reporting",
    "portal",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "config.middleware.ViewerPreferencesMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "config.middleware.DatabaseUnavailableMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"
# Threads per process serving the ASGI application's HTTP (config.http_threads).
WEB_THREADS = env.int("WEB_THREADS", default=2)

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
                "django.template.context_processors.i18n",
                "django.template.context_processors.tz",
                "overrides.context_processors.back_office",
                "portal.branding.brand",
            ],
        },
    },
]

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The web process and the scheduler share the file: wait for locks instead of failing.
    DATABASES["default"].setdefault("OPTIONS", {}).update({"timeout": 20, "transaction_mode": "IMMEDIATE"})
else:
    # Django's backend with a health check that polls the socket instead of a round trip.
    DATABASES["default"]["ENGINE"] = "config.postgresql"
    # Persistent: the ASGI application's HTTP runs on a fixed pool of threads per process
    # (config.http_threads) and websockets' queries on one thread, each keeping its connection
    # (Celery's workers close theirs around each task); a connection opened per request cost
    # more than the portal's cached page (130 against 930 requests/s here). 0 opens one per
    # request (behind a pooler that wants it).
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    # A worker killed while its session waits (for a lock, on a long query) would leave that session
    # holding the worker's row locks, so nobody could take its messages again: PostgreSQL checks that
    # the client is still there every few seconds and ends the session when it is gone.
    _options = DATABASES["default"].setdefault("OPTIONS", {})
    _check_ms = env.int("DATABASE_CLIENT_CHECK_MS", default=5000)
    if _check_ms:
        _options["options"] = f"{_options.get('options', '')} -c client_connection_check_interval={_check_ms}".strip()
    # An unreachable database must give a quick 503, not a request that waits for ever: bound the
    # connection attempt, and let TCP keepalives find a connection whose server went silent.
    _options.setdefault("connect_timeout", env.int("DATABASE_CONNECT_TIMEOUT", default=5))
    _options.setdefault("keepalives", 1)
    _options.setdefault("keepalives_idle", env.int("DATABASE_KEEPALIVES_IDLE", default=10))
    _options.setdefault("keepalives_interval", 5)
    _options.setdefault("keepalives_count", 3)
    # Django binds parameters on the client, so nothing of its own is ever prepared; the queries
    # every page read makes are prepared explicitly (orders.prepared). psycopg prepares nothing
    # unless a threshold is set: one no statement reaches, so that it never prepares on its own.
    _options.setdefault("prepare_threshold", 2**31 - 1)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Django's database sessions, read with one plain query (config/sessions.py).
SESSION_ENGINE = "config.sessions"
# Failed sign-ins in a window before more are refused unchecked (config.sign_in_limits): per
# account name from one network, and per network.
SIGN_IN_WINDOW_SECONDS = env.int("SIGN_IN_WINDOW_SECONDS", default=15 * 60)
SIGN_IN_FAILURES_PER_ACCOUNT = env.int("SIGN_IN_FAILURES_PER_ACCOUNT", default=10)
SIGN_IN_FAILURES_PER_NETWORK = env.int("SIGN_IN_FAILURES_PER_NETWORK", default=100)

AUTHENTICATION_BACKENDS = [
    "config.auth.ModelBackend",  # Django's, the person read by one plain query
    "guardian.backends.ObjectPermissionBackend",
]

# Internationalization: timestamps are stored in UTC; four languages ship.
LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("de", _("German")), ("fr", _("French")), ("es", _("Spanish"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
MODELTRANSLATION_DEFAULT_LANGUAGE = "en"
MODELTRANSLATION_FALLBACK_LANGUAGES = ("en",)
TIME_ZONE = "UTC"
USE_I18N = True
# English dates unambiguous for readers worldwide (config/formats/en); de, fr, es are Django's.
FORMAT_MODULE_PATH = ["config.formats"]
USE_TZ = True

# Uploaded evidence (proofs of delivery): served only through views that check scope.
MEDIA_ROOT = env.path("MEDIA_ROOT", default=BASE_DIR / "media")
MEDIA_URL = "media/"

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]

# Planners and supervisors sign in to the back office; the admin keeps its own login page.
LOGIN_URL = "backoffice:login"

# Redis, when configured, is the broker, the cache and the channel layer.
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "config.cache.SharedClientRedisCache", "LOCATION": REDIS_URL}}
    # redis-py reads with a 5 s socket timeout by default, the same 5 s a channel layer's blocking
    # receive waits on the server: under load the read timed out first and took its websocket
    # down. The pool is also sized for a process holding many sockets (each join and leave
    # borrows a connection; an exhausted pool fails at once).
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "config.channel_layer.RedisChannelLayer",
            "CONFIG": {"hosts": [{"address": REDIS_URL, "socket_timeout": 30, "max_connections": 1000}]},
        }
    }
    CELERY_BROKER_URL = REDIS_URL
    CELERY_TASK_ALWAYS_EAGER = False
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    # Tasks run in the process that sends them (the web process, or the scheduler for periodic ones).
    # A host named, so that kombu does not warn about reverting to localhost at every start.
    CELERY_BROKER_URL = "memory://localhost/"
    CELERY_TASK_ALWAYS_EAGER = True
CELERY_TASK_EAGER_PROPAGATES = False
# A separate queue name keeps runs that share one Redis (the system tests, a benchmark) apart.
CELERY_TASK_DEFAULT_QUEUE = env.str("CELERY_TASK_DEFAULT_QUEUE", default="celery")
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TIMEZONE = "UTC"
CELERY_TASK_SOFT_TIME_LIMIT = 60
CELERY_TASK_TIME_LIMIT = 90
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_BEAT_SCHEDULE = {
    "outbox-sweep": {"task": "orders.tasks.outbox_sweep", "schedule": 60.0},
    "inbound-sweep": {"task": "integrations.tasks.inbound_sweep", "schedule": 30.0},
    "poll-sources": {"task": "integrations.tasks.poll_due_sources", "schedule": 30.0},
    "stale-alerts-scan": {"task": "overrides.tasks.stale_alerts_scan_task", "schedule": 60.0},
    "discrepancies-scan": {"task": "overrides.tasks.discrepancies_scan_task", "schedule": 300.0},
    # Verifies every line's audit chain, anchors the heads and alerts on a break.
    "audit-chain-verify": {"task": "orders.tasks.audit_chain_verify_task", "schedule": 3600.0},
    # Sends what is due (after quiet hours, throttles, digest hours, maintenance windows) and
    # what a lost task or a dead worker left behind.
    "notifications-sweep": {"task": "notifications.tasks.notifications_sweep_task", "schedule": 30.0},
}

# A status fact dated further than this ahead of its receipt is not applied: its message is
# quarantined (a source clock or time zone is wrong).
FACT_MAX_FUTURE = timedelta(minutes=env.int("FACT_MAX_FUTURE_MINUTES", default=15))
# Outbox deliveries: attempts per handler before it is dead, how long a worker holds one it
# claimed (longer than a handler may run: past it the delivery is taken again), and when a
# delivery still waiting is reported overdue by /health/.
OUTBOX_MAX_ATTEMPTS = env.int("OUTBOX_MAX_ATTEMPTS", default=10)
OUTBOX_LEASE_SECONDS = env.int("OUTBOX_LEASE_SECONDS", default=120)
OUTBOX_OVERDUE_SECONDS = env.int("OUTBOX_OVERDUE_SECONDS", default=300)

# Inbound messages: size limit, signature tolerance, retries and the sweep of lost tasks.
INBOUND_MAX_BYTES = env.int("INBOUND_MAX_BYTES", default=1_000_000)
DATA_UPLOAD_MAX_MEMORY_SIZE = max(2_621_440, INBOUND_MAX_BYTES + 1)
# The largest request body the ASGI application takes (413 above it, config.http_threads): photos
# and evidence files are up to 10 MB; a webhook's own limit answers first.
WEB_MAX_BODY_BYTES = max(env.int("WEB_MAX_BODY_BYTES", default=25 * 1024 * 1024), INBOUND_MAX_BYTES + 1)
INBOUND_SIGNATURE_TOLERANCE_SECONDS = env.int("INBOUND_SIGNATURE_TOLERANCE_SECONDS", default=300)
# Webhook signatures v2 cover the source code; the old v1 ("<t>.<body>") is accepted before this
# date (ISO, UTC) so sources can move over, and refused from it on. Empty: v1 refused now.
_SIGNATURE_V1_UNTIL = env.str("INBOUND_SIGNATURE_V1_UNTIL", default="2027-04-01")
INBOUND_SIGNATURE_V1_UNTIL = date.fromisoformat(_SIGNATURE_V1_UNTIL) if _SIGNATURE_V1_UNTIL else None
INBOUND_MAX_ATTEMPTS = env.int("INBOUND_MAX_ATTEMPTS", default=8)
INBOUND_RETRY_BASE_SECONDS = env.float("INBOUND_RETRY_BASE_SECONDS", default=1.0)
INBOUND_SWEEP_AFTER_SECONDS = env.int("INBOUND_SWEEP_AFTER_SECONDS", default=30)
# How long a worker holds a message it claimed: past it, the worker is taken for dead and the
# sweep queues the message again. Longer than a task may run (CELERY_TASK_TIME_LIMIT).
INBOUND_LEASE_SECONDS = env.int("INBOUND_LEASE_SECONDS", default=120)
# Messages a worker takes in one transaction after the one its task names (1: no batching).
INBOUND_BATCH_SIZE = env.int("INBOUND_BATCH_SIZE", default=50)
MQTT_URL = env.str("MQTT_URL", default="")

# Back office: how long a new discrepancy may wait for someone to take it.
DISCREPANCY_RESPONSE_MINUTES = env.int("DISCREPANCY_RESPONSE_MINUTES", default=120)
# A live back-office page without a websocket polls this often (seconds).
BACKOFFICE_LIVE_POLL_SECONDS = env.int("BACKOFFICE_LIVE_POLL_SECONDS", default=30)
# The carrier's public tracking page per SCAC, "{number}" standing for the tracking number: the
# back office, the portal and the technician pages link a shipment's tracking number there.
# CARRIER_TRACKING_URLS (JSON) replaces them.
_DHL = "https://www.dhl.com/global-en/home/tracking/tracking-express.html?tracking-id={number}"
_FEDEX = "https://www.fedex.com/fedextrack/?trknbr={number}"
CARRIER_TRACKING_URLS = env.json(
    "CARRIER_TRACKING_URLS",
    default={
        "DHLC": _DHL,
        "DHLE": _DHL,
        "DHLG": _DHL,
        "DHLF": "https://www.dhl.com/global-en/home/tracking/tracking-freight.html?tracking-id={number}",
        "UPSN": "https://www.ups.com/track?tracknum={number}",
        "FDEN": _FEDEX,
        "FDEG": _FEDEX,
        "FDXE": _FEDEX,
        "USPS": "https://tools.usps.com/go/TrackConfirmAction?tLabels={number}",
    },
)

# Notifications. Links in messages and Twilio's callbacks use the public address of the site
# (behind a proxy: the address the world sees, which Twilio signs its callbacks for).
PUBLIC_BASE_URL = env.str("PUBLIC_BASE_URL", default="http://127.0.0.1:8000" if DEBUG else "").rstrip("/")
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Part status <parts@localhost>")
# Email over SMTP; in DEBUG printed on the console unless EMAIL_HOST is set.
EMAIL_HOST = env.str("EMAIL_HOST", default="")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)
EMAIL_BACKEND = (
    "django.core.mail.backends.smtp.EmailBackend"
    if EMAIL_HOST or not DEBUG
    else "django.core.mail.backends.console.EmailBackend"
)
EMAIL_HOST = EMAIL_HOST or "localhost"
# SMS with the official Twilio client. TWILIO_API_URL points it at another host (the local fake
# of `make run` and the tests: `manage.py fake_twilio`); blank: Twilio itself. In DEBUG the
# defaults talk to the fake on port 8055.
_FAKE_TWILIO = DEBUG and not env.str("TWILIO_AUTH_TOKEN", default="")
TWILIO_ACCOUNT_SID = env.str("TWILIO_ACCOUNT_SID", default="AC" + "0" * 32 if _FAKE_TWILIO else "")
TWILIO_AUTH_TOKEN = env.str("TWILIO_AUTH_TOKEN", default="fake-twilio-auth-token" if _FAKE_TWILIO else "")
TWILIO_FROM_NUMBER = env.str("TWILIO_FROM_NUMBER", default="+15005550006" if _FAKE_TWILIO else "")
TWILIO_API_URL = env.str("TWILIO_API_URL", default="http://127.0.0.1:8055" if _FAKE_TWILIO else "")
TWILIO_TIMEOUT = env.float("TWILIO_TIMEOUT", default=10.0)
# A worker holds a notification it is sending this long; past it another takes over (and asks
# the provider first whether the message already went). Longer than a task may run.
NOTIFICATIONS_LEASE_SECONDS = env.int("NOTIFICATIONS_LEASE_SECONDS", default=120)
NOTIFICATIONS_MAX_ATTEMPTS = env.int("NOTIFICATIONS_MAX_ATTEMPTS", default=5)
# Test messages (and phone verification codes) one person may send from the preview per hour.
NOTIFICATIONS_TEST_SENDS_PER_HOUR = env.int("NOTIFICATIONS_TEST_SENDS_PER_HOUR", default=10)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "config.api_auth.BasicAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.DjangoModelPermissions"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "orders.api.pagination.OrderCursorPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "orders.api.schema.ErrorDocumentingAutoSchema",
    "DEFAULT_VERSIONING_CLASS": "rest_framework.versioning.NamespaceVersioning",
    "ALLOWED_VERSIONS": ["v1"],
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Service-part order status API",
    "DESCRIPTION": "Where is my part? Orders, lines, split shipments, rollups and status timelines.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # No badge from validator.swagger.io: the docs fetch nothing from outside (the ReDoc page's
    # template, templates/drf_spectacular/redoc.html, leaves out the web fonts for the same reason).
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},
}

SIMPLE_HISTORY_REVERT_DISABLED = True

# Production hardening, active whenever DEBUG is off.
if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_REDIRECT_EXEMPT = [r"^health/$"]
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
    # Preloading commits the operator's whole domain to HTTPS for good: their choice, not a default.
    SILENCED_SYSTEM_CHECKS = [] if SECURE_HSTS_PRELOAD else ["security.W021"]
    SECURE_CONTENT_TYPE_NOSNIFF = True
    X_FRAME_OPTIONS = "DENY"

# Status link tokens travel only in URL paths and never reach a log (portal.logs, see logging_config).
LOGGING = logging_config(env.str("LOG_LEVEL", default="INFO"))
# The worker logs through LOGGING too (one line per record), not through a handler of its own.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

# Customer portal and status links (portal/): opens allowed per token and per client address
# per minute (over it: 429).
STATUS_LINK_OPENS_PER_MINUTE = env.int("STATUS_LINK_OPENS_PER_MINUTE", default=30)
STATUS_LINK_OPENS_PER_MINUTE_PER_IP = env.int("STATUS_LINK_OPENS_PER_MINUTE_PER_IP", default=120)
STATUS_LINK_MAX_DAYS = env.int("STATUS_LINK_MAX_DAYS", default=90)  # an account's default and the admin's edits
STATUS_LINK_ISSUES_PER_HOUR = env.int("STATUS_LINK_ISSUES_PER_HOUR", default=30)  # per person; past it: a form error
