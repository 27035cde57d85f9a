"""Rekam settings: one file, driven by environment variables.

SQLite is the embedded default so ``rekam demo`` works on a bare machine;
``DATABASE_URL`` switches to PostgreSQL, ``REDIS_URL`` enables Redis where it is used.
"""

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent
PROJECT_DIR = BASE_DIR.parent


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    if value.lower() in {"1", "true", "yes", "on"}:
        return True
    if value.lower() in {"0", "false", "no", "off", ""}:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean, got {value!r}")


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None:
        return default
    try:
        return int(value)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be an integer, got {value!r}") from exc


DEBUG = env_bool("DEBUG", default=False)
# The demo key is only for the embedded default; any deployment sets SECRET_KEY
# (rekam.checks refuses the demo key under ``rekam check --deploy``).
DEMO_SECRET_KEY = "rekam-demo-only-not-secret"
SECRET_KEY = env_str("SECRET_KEY", DEMO_SECRET_KEY)
ALLOWED_HOSTS = env_str("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(",")
CSRF_TRUSTED_ORIGINS = [o for o in env_str("CSRF_TRUSTED_ORIGINS").split(",") if o]
# The site's public address ("https://rekam.example.go.id", no trailing slash): what paper
# documents print for people to type, e.g. the Suket verifier when SUKET_VERIFY_URL is a bare
# path. The default only suits the embedded demo on this machine; a deployment sets it.
PUBLIC_BASE_URL = env_str("PUBLIC_BASE_URL", "http://127.0.0.1:8000")

# Where the embedded database, import reports and other local files live.
DATA_DIR = Path(env_str("REKAM_DATA_DIR", str(PROJECT_DIR / "var")))
# Region and election data shipped with the project (see data/regions/*/SOURCES.md).
REGION_DATA_DIR = Path(env_str("REKAM_REGION_DATA_DIR", str(PROJECT_DIR / "data" / "regions")))
ELECTION_DATA_DIR = Path(
    env_str("REKAM_ELECTION_DATA_DIR", str(PROJECT_DIR / "data" / "elections"))
)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rekam.accounts",
    "rekam.regions",
    "rekam.audit",
    "rekam.residents",
    "rekam.elections",
    "rekam.servicepoints",
    "rekam.antrean",
    "rekam.suket",
    "rekam.web",
    "rekam.notifications",
    "rekam.demo",
    "rekam.voters",
    "rekam.invitations",
    "rekam.reporting",
    "rekam.uploads",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "rekam.web.middleware.IgnoreBrowserLanguageMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "rekam.web.middleware.PasswordChangeRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "rekam.urls"
WSGI_APPLICATION = "rekam.wsgi.application"

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
            ],
        },
    },
]

_sqlite_path = DATA_DIR / "rekam.sqlite3"
DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{_sqlite_path}"), conn_max_age=60
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    Path(DATABASES["default"]["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        # WAL lets readers work while one writer commits; IMMEDIATE takes the write lock at
        # BEGIN so two writers queue on the busy timeout instead of failing mid-transaction.
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env_str("REDIS_URL")
if REDIS_URL:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "rekam_cache",
        }
    }

AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "id"
LANGUAGES = [("id", "Bahasa Indonesia"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Jakarta"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"
# WhiteNoise expects the folder even before the first collectstatic.
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
MEDIA_ROOT = DATA_DIR / "media"
IMPORT_REPORT_DIR = DATA_DIR / "import-reports"
# Files uploaded from the web for an import, with the import's reports (one folder each).
UPLOAD_DIR = DATA_DIR / "uploads"

SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
# HTTPS: off for the embedded demo on 127.0.0.1; a deployment behind TLS turns them on
# (``rekam check --deploy`` says which are missing).
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", False)
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", False)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", False)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
# Behind a TLS-terminating proxy (nginx) that sets X-Forwarded-Proto: trust it, or
# SECURE_SSL_REDIRECT would redirect forever.
if env_bool("SECURE_PROXY_SSL", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Requests per client address and minute (in the cache: Redis with REDIS_URL) for the login
# form and the public online Suket check. 0: no limit.
RATELIMIT_LOGIN_PER_MINUTE = env_int("RATELIMIT_LOGIN_PER_MINUTE", 20)
RATELIMIT_VERIFY_PER_MINUTE = env_int("RATELIMIT_VERIFY_PER_MINUTE", 60)
# Behind a proxy: the META key holding the client's address (e.g. "HTTP_X_REAL_IP").
CLIENT_IP_HEADER = env_str("CLIENT_IP_HEADER")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "WARNING")},
    # The immediate task backend logs every task it runs at INFO: noise in commands' output.
    "loggers": {"django.tasks": {"level": env_str("TASKS_LOG_LEVEL", "WARNING")}},
}

# Notifications
# "file" (the embedded default) writes every WhatsApp, SMS and e-mail message to a file under
# DATA_DIR/outbox and shows it on the staff "sent messages" page; "live" sends through the
# WhatsApp Cloud API, the SMS gateway and the e-mail backend below. Letters are local either way.
NOTIFICATIONS_BACKEND = env_str("NOTIFICATIONS_BACKEND", "file")
NOTIFICATIONS_OUTBOX_DIR = DATA_DIR / "outbox"
NOTIFICATIONS_LETTER_DIR = DATA_DIR / "letters"
# Fallback order when the caller names none.
NOTIFICATIONS_DEFAULT_CHANNELS = env_str(
    "NOTIFICATIONS_DEFAULT_CHANNELS", "whatsapp,sms,email,letter"
)
# Hand each message to the task backend (django.tasks) as soon as its transaction commits; the
# ``send_messages`` worker picks up whatever that did not finish (or everything, when off).
# With Django's default immediate backend the committing process sends it itself: right for
# the file backend, while live deployments with workers turn this off or use a queued backend.
NOTIFICATIONS_SEND_ON_COMMIT = env_bool("NOTIFICATIONS_SEND_ON_COMMIT", True)
NOTIFICATIONS_HTTP_TIMEOUT_MS = env_int("NOTIFICATIONS_HTTP_TIMEOUT_MS", 10_000)
NOTIFICATIONS_MAX_ATTEMPTS = env_int("NOTIFICATIONS_MAX_ATTEMPTS", 6)  # per channel
NOTIFICATIONS_BACKOFF_BASE_MS = env_int("NOTIFICATIONS_BACKOFF_BASE_MS", 2_000)
NOTIFICATIONS_BACKOFF_MAX_MS = env_int("NOTIFICATIONS_BACKOFF_MAX_MS", 600_000)
# A claimed message whose worker went silent this long is claimed again; it must exceed the
# time one message can take (every channel's timeout together, WhatsApp's twice: upload, send).
NOTIFICATIONS_LEASE_SECONDS = env_int("NOTIFICATIONS_LEASE_SECONDS", 120)
NOTIFICATIONS_WORKER_BATCH = env_int("NOTIFICATIONS_WORKER_BATCH", 20)
NOTIFICATIONS_WORKER_POLL_MS = env_int("NOTIFICATIONS_WORKER_POLL_MS", 1_000)
NOTIFICATIONS_WORKER_MAX_SECONDS = env_int("NOTIFICATIONS_WORKER_MAX_SECONDS", 3_600)
NOTIFICATIONS_WHATSAPP_BASE_URL = env_str(
    "NOTIFICATIONS_WHATSAPP_BASE_URL", "https://graph.facebook.com"
)
NOTIFICATIONS_WHATSAPP_API_VERSION = env_str("NOTIFICATIONS_WHATSAPP_API_VERSION", "v23.0")
NOTIFICATIONS_WHATSAPP_PHONE_NUMBER_ID = env_str("NOTIFICATIONS_WHATSAPP_PHONE_NUMBER_ID")
NOTIFICATIONS_WHATSAPP_TOKEN = env_str("NOTIFICATIONS_WHATSAPP_TOKEN")
NOTIFICATIONS_WHATSAPP_APP_SECRET = env_str("NOTIFICATIONS_WHATSAPP_APP_SECRET")
NOTIFICATIONS_WHATSAPP_VERIFY_TOKEN = env_str("NOTIFICATIONS_WHATSAPP_VERIFY_TOKEN")
# Approved template names where they differ from the message families' defaults:
# "suket_issued=disdukcapil_suket_v2,invitation=undangan_rekam".
NOTIFICATIONS_WHATSAPP_TEMPLATES = env_str("NOTIFICATIONS_WHATSAPP_TEMPLATES")
NOTIFICATIONS_WHATSAPP_RATE = env_int("NOTIFICATIONS_WHATSAPP_RATE", 80)  # messages/s, 0: none
NOTIFICATIONS_SMS_URL = env_str("NOTIFICATIONS_SMS_URL")
# The Authorization header's value, e.g. "Bearer abc" or "Basic dXNlcjpwYXNz".
NOTIFICATIONS_SMS_AUTH = env_str("NOTIFICATIONS_SMS_AUTH")
NOTIFICATIONS_SMS_BODY = env_str("NOTIFICATIONS_SMS_BODY", "json")  # "json" or "form"
# Our field = the gateway's field name, for the recipient, the text and the sender.
NOTIFICATIONS_SMS_FIELDS = env_str("NOTIFICATIONS_SMS_FIELDS", "to=to,text=text,sender=from")
NOTIFICATIONS_SMS_SENDER = env_str("NOTIFICATIONS_SMS_SENDER", "DUKCAPIL")
NOTIFICATIONS_SMS_ID_FIELD = env_str("NOTIFICATIONS_SMS_ID_FIELD", "id")
# Header carrying the message's idempotency key; empty when the gateway has none.
NOTIFICATIONS_SMS_IDEMPOTENCY_HEADER = env_str(
    "NOTIFICATIONS_SMS_IDEMPOTENCY_HEADER", "Idempotency-Key"
)
NOTIFICATIONS_SMS_RATE = env_int("NOTIFICATIONS_SMS_RATE", 20)
NOTIFICATIONS_EMAIL_FROM = env_str("NOTIFICATIONS_EMAIL_FROM", "Disdukcapil <noreply@localhost>")
NOTIFICATIONS_EMAIL_RATE = env_int("NOTIFICATIONS_EMAIL_RATE", 10)
# E-mail (the e-mail channel sends through the default mailer).
_email_backend = env_str("EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend")
MAILERS: dict[str, dict[str, object]] = {"default": {"BACKEND": _email_backend}}
if _email_backend.endswith("smtp.EmailBackend"):
    MAILERS["default"]["OPTIONS"] = {
        "host": env_str("EMAIL_HOST", "127.0.0.1"),
        "port": env_int("EMAIL_PORT", 25),
        "username": env_str("EMAIL_HOST_USER"),
        "password": env_str("EMAIL_HOST_PASSWORD"),
        "use_tls": env_bool("EMAIL_USE_TLS", False),
        "timeout": env_int("EMAIL_TIMEOUT", 10),
    }

# Suket
# Seals the offices' Ed25519 private keys in the database; set it apart from SECRET_KEY so a
# rotated SECRET_KEY does not lock the keys away.
SUKET_KEY_SECRET = env_str("SUKET_KEY_SECRET", SECRET_KEY)
# Printed under each Suket's QR code: where the public verifier page lives. A bare path is
# printed after PUBLIC_BASE_URL (rekam.suket.services.suket_verify_url); a deployment sets the
# absolute address (https://…/verifikasi) and ``rekam check --deploy`` refuses a relative one.
SUKET_VERIFY_URL = env_str("SUKET_VERIFY_URL", "/verifikasi")

# Voter list
# Working files of DPT imports and reconciliations (DuckDB spills here too); emptied after a run.
VOTERS_WORK_DIR = Path(env_str("VOTERS_WORK_DIR", str(DATA_DIR / "voters-work")))
VOTERS_DUCKDB_THREADS = env_int("VOTERS_DUCKDB_THREADS", 2)
VOTERS_DUCKDB_MEMORY = env_str("VOTERS_DUCKDB_MEMORY", "2GB")
# The django.tasks backend alias that runs reconciliations started from the web. With the
# immediate backend (Django's default) the run starts once the response has been sent, so the
# progress page still follows it; a queued backend (django-tasks-db, RQ) runs it in a worker.
VOTERS_TASK_BACKEND = env_str("VOTERS_TASK_BACKEND", "default")
# Work started from a page with the in-process task backend runs in a thread of its own
# (rekam.web.background); 0 runs it in the request's thread after the response.
BACKGROUND_IN_THREAD = env_bool("BACKGROUND_IN_THREAD", default=True)

# Queue
# Days ahead a resident may take an online number; minutes before its arrival window a number
# may check in at the gate.
ANTREAN_BOOKING_DAYS = env_int("ANTREAN_BOOKING_DAYS", 14)
ANTREAN_EARLY_MINUTES = env_int("ANTREAN_EARLY_MINUTES", 15)
# A point whose holiday rule is "run-up" opens on holidays this many days before a polling day
# in its region, and on the polling day itself (R1, R3).
ANTREAN_HOLIDAY_RUN_UP_DAYS = env_int("ANTREAN_HOLIDAY_RUN_UP_DAYS", 30)
# Put an online number's WhatsApp confirmation in the outbox right after the number is committed
# (in the request); off, the ``antrean_confirm`` worker does it (deployments with workers).
ANTREAN_CONFIRM_ON_COMMIT = env_bool("ANTREAN_CONFIRM_ON_COMMIT", True)
# The public address the confirmation's link points at ("https://antrean.example.go.id");
# empty: the address the resident used, or no link from the worker.
ANTREAN_PUBLIC_URL = env_str("ANTREAN_PUBLIC_URL")
# How long proving NIK + date of birth lasts on the online pages.
ANTREAN_IDENTITY_MINUTES = env_int("ANTREAN_IDENTITY_MINUTES", 30)
# Public pages' limits (in the cache: Redis with REDIS_URL): bookings and cancellations per
# address and minute, identity checks (NIK + date of birth) per address and minute, counted
# apart, and wrong dates of birth per NIK in 15 minutes (against guessing). A whole village or
# a carrier's NAT may share one address, so the per-address limits only stop floods; the
# per-NIK one stops guessing. 0: no limit.
ANTREAN_RATE_IP_PER_MINUTE = env_int("ANTREAN_RATE_IP_PER_MINUTE", 300)
ANTREAN_RATE_IDENTIFY_PER_MINUTE = env_int("ANTREAN_RATE_IDENTIFY_PER_MINUTE", 120)
ANTREAN_RATE_NIK_PER_15_MINUTES = env_int("ANTREAN_RATE_NIK_PER_15_MINUTES", 5)
# How often the board and the status page ask for news.
ANTREAN_BOARD_POLL_MS = env_int("ANTREAN_BOARD_POLL_MS", 2_000)
# Screens polling the same board share its answer this long (0: every poll asks the database).
ANTREAN_BOARD_CACHE_SECONDS = env_int("ANTREAN_BOARD_CACHE_SECONDS", 1)
ANTREAN_STATUS_POLL_MS = env_int("ANTREAN_STATUS_POLL_MS", 20_000)

# Invitations
# Straight-line km times this is the travel the planner minimises.
INVITATIONS_ROAD_FACTOR = float(os.environ.get("INVITATIONS_ROAD_FACTOR", "1.3"))
# Share of invitees observed not to come; invitations are over-booked by 1 / (1 - rate).
INVITATIONS_NO_SHOW_RATE = float(os.environ.get("INVITATIONS_NO_SHOW_RATE", "0"))
# Hours between planning (or sending an approved plan) and the first session it may invite to:
# time for letters to reach the villages and for messages to be read.
INVITATIONS_LEAD_HOURS = env_int("INVITATIONS_LEAD_HOURS", 24)
# The public address invitation messages and letters link to (the reschedule page and the
# calendar file): "https://rekam.example.go.id". Empty: no links in messages; letters printed
# from the planning page use the address the staff member is on.
INVITATIONS_PUBLIC_URL = env_str("INVITATIONS_PUBLIC_URL", ANTREAN_PUBLIC_URL)

# Dashboard
# When `rekam daily_report --loop` makes each day's PDF reports (HH:MM, Asia/Jakarta).
REPORT_DAILY_AT = env_str("REPORT_DAILY_AT", "06:00")
