"""PARS contacts settings, read from the environment (see .env.example)."""

from datetime import timedelta
from pathlib import Path

import environ
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DJANGO_DEBUG", default=False)

if DEBUG:
    SECRET_KEY = env("SECRET_KEY", default="django-insecure-development-only-key-never-in-production")
    ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
else:
    # Production refuses to start without these: no silent fallback.
    SECRET_KEY = env("SECRET_KEY")
    ALLOWED_HOSTS = env.list("ALLOWED_HOSTS")
    if not SECRET_KEY.strip() or not ALLOWED_HOSTS:
        raise ImproperlyConfigured("SECRET_KEY and ALLOWED_HOSTS must not be empty when DJANGO_DEBUG is off.")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "crispy_forms",
    "crispy_bootstrap5",
    "simple_history",
    "axes",
    "django_tasks",
    "django_tasks_db",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "csp",
    "accounts",
    "contacts",
    # The project itself: its demo-data command uses both apps, so it lives with neither.
    "pars",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "pars.middleware.RefuseNulInQueryMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    # Django's, reading the person with the session in one query (accounts.sessions).
    "accounts.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "accounts.middleware.SessionLimitsMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "accounts.middleware.TwoFactorRequiredMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    # After the others, as django-axes asks: it turns a lockout into the lockout page.
    "axes.middleware.AxesMiddleware",
    # Last: reads run without ATOMIC_REQUESTS' transaction, after every other process_view.
    "pars.middleware.ReadsOutsideTransactionMiddleware",
]

# `make loadtest` only: the reference pages (pars/bench.py) and a per-request SQL count header.
PARS_BENCH_VIEWS = env.bool("PARS_BENCH_VIEWS", default=False)
if PARS_BENCH_VIEWS:
    MIDDLEWARE.insert(0, "pars.bench.SqlCountMiddleware")

ROOT_URLCONF = "pars.urls"
WSGI_APPLICATION = "pars.wsgi.application"

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
                "pars.context_processors.site",
                "accounts.middleware.two_factor_context",
            ],
        },
    },
]

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db' / 'pars.sqlite3'}"),
}
# Writes only: pars.middleware.ReadsOutsideTransactionMiddleware runs reads in autocommit.
DATABASES["default"]["ATOMIC_REQUESTS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    (BASE_DIR / "db").mkdir(exist_ok=True)
    # Writers queue for the lock instead of failing with "database is locked"; only writes open
    # transactions (pars.middleware.ReadsOutsideTransactionMiddleware), so readers never queue.
    # WAL: the web server reads while the worker writes (make run shares one file between them).
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"transaction_mode": "IMMEDIATE", "timeout": 20, "init_command": "PRAGMA journal_mode=WAL;"}
    )
    # A file, not memory, so that threads in tests see one database.
    DATABASES["default"]["TEST"] = {"NAME": str(BASE_DIR / "db" / "test.sqlite3")}
else:
    # Django's PostgreSQL backend with a cheaper health check (pars/postgresql/base.py says what it trades).
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        DATABASES["default"]["ENGINE"] = "pars.postgresql"
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = env.bool("CONN_HEALTH_CHECKS", default=True)
    # A connection that served a request less than this long ago is trusted without SELECT 1 (0: check every time).
    DATABASES["default"]["CONN_HEALTH_CHECK_IDLE_SECONDS"] = env.int("CONN_HEALTH_CHECK_IDLE_SECONDS", default=10)
# Persistent connections, SQLite's too: opening one costs more than most pages' queries (on SQLite,
# Django registers its SQL functions and the WAL pragma runs on every connection it opens).
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)

# Local memory by default (each process its own); production shares one, e.g. redis://host:6379/0,
# so that every web process serves and invalidates the same cached pages (contacts/caching.py).
CACHES = {"default": env.cache_url("CACHE_URL", default="locmemcache://")}
# How long the public directory's pages for anonymous visitors are reused; 0 draws each afresh.
DIRECTORY_CACHE_SECONDS = env.int("DIRECTORY_CACHE_SECONDS", default=60)
# How long a drawn Profile tab roster is kept; its key is its data, so this bounds memory, not staleness. 0: never.
ROSTER_CACHE_SECONDS = env.int("ROSTER_CACHE_SECONDS", default=600)
SESSION_ENGINE = env("SESSION_ENGINE", default="accounts.sessions")

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "accounts.backends.EmailBackend",
]

# Argon2 hashes new passwords; a PBKDF2 (or other) hash is rehashed with Argon2 at its next sign-in.
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.BCryptSHA256PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "contacts:dashboard"
LOGOUT_REDIRECT_URL = "accounts:login"
# Invitation and reset links expire after this many seconds (default 7 days).
PASSWORD_RESET_TIMEOUT = env.int("PASSWORD_RESET_TIMEOUT", default=7 * 24 * 3600)
# How long the link that confirms a new sign-in address works (Edit My Profile).
EMAIL_CHANGE_LINK_HOURS = env.int("EMAIL_CHANGE_LINK_HOURS", default=24)

# Failed sign-ins (and wrong two-factor codes) are throttled per (email, client address), and
# separately per email across every address with a higher limit (accounts.throttle.ThrottleHandler).
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_FAILURE_LIMIT_PER_EMAIL = env.int("AXES_FAILURE_LIMIT_PER_EMAIL", default=20)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=30))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_HANDLER = "accounts.throttle.ThrottleHandler"
# The sign-in forms (ours and the admin's) call the email field "username"; attempts
# count per address whatever its case, so "Jane@" and "jane@" share one allowance.
AXES_USERNAME_FORM_FIELD = "username"
AXES_USERNAME_CALLABLE = "accounts.backends.throttle_username"
AXES_RESET_ON_SUCCESS = True
# Reverse proxies in front of gunicorn that append the address they saw to X-Forwarded-For:
# the client is the address that many entries from the right; 0 trusts no header.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
AXES_CLIENT_IP_CALLABLE = "accounts.throttle.client_address"
AXES_LOCKOUT_TEMPLATE = "accounts/locked_out.html"
AXES_VERBOSE = False

# Two-factor sign-in (django-otp): CME staff must enrol; provider users may.
OTP_TOTP_ISSUER = env("OTP_TOTP_ISSUER", default="PARS contacts")
# After n wrong codes in a row a device waits 2**(n-1) seconds before it checks another.
OTP_TOTP_THROTTLE_FACTOR = 1
OTP_STATIC_THROTTLE_FACTOR = 1

# Sessions end after this long without a request (idle) and this long after sign-in
# (absolute), whichever comes first; shorter for CME staff (accounts.middleware).
SESSION_IDLE_MINUTES_STAFF = env.int("SESSION_IDLE_MINUTES_STAFF", default=30)
SESSION_ABSOLUTE_HOURS_STAFF = env.int("SESSION_ABSOLUTE_HOURS_STAFF", default=12)
SESSION_IDLE_MINUTES = env.int("SESSION_IDLE_MINUTES", default=8 * 60)
SESSION_ABSOLUTE_HOURS = env.int("SESSION_ABSOLUTE_HOURS", default=14 * 24)
SESSION_COOKIE_AGE = max(SESSION_IDLE_MINUTES, SESSION_IDLE_MINUTES_STAFF) * 60

LANGUAGE_CODE = "en-us"
TIME_ZONE = "America/Los_Angeles"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage" if DEBUG else "pars.storage.StaticFilesStorage"
        ),
    },
}

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

MESSAGE_TAGS = {40: "danger"}  # Bootstrap calls messages.ERROR "danger".

vars().update(env.email_url("EMAIL_URL", default="consolemail://"))
# Only the worker talks to the mail server; this bounds each of its socket operations.
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=30)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="PARS contacts <no-reply@cmadocs.org>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# Bounce reports: Postmark's tracking webhook at /anymail/postmark/tracking/, authenticated by basic auth
# with this "user:password" (set the same in Postmark's webhook URL). Unset: the webhook is not served.
ANYMAIL = {"WEBHOOK_SECRET": env("ANYMAIL_WEBHOOK_SECRET", default="")}
SUPPORT_EMAIL = env("SUPPORT_EMAIL", default="cme@cmadocs.org")
# The accreditor whose site this is: its name in the header, page titles and emails.
ACCREDITOR_NAME = env("ACCREDITOR_NAME", default="California Medical Association")
ACCREDITOR_SHORT_NAME = env("ACCREDITOR_SHORT_NAME", default="CMA")
# A logo image under static/ (e.g. "img/logo.svg"); empty shows the short name as a text logo.
ACCREDITOR_LOGO = env("ACCREDITOR_LOGO", default="")
# Phone numbers without a country code are read as numbers of this region (ISO 3166 code).
PHONE_DEFAULT_REGION = env("PHONE_DEFAULT_REGION", default="US")
# Absolute links in emails sent outside a request (the reminder command).
SITE_URL = env("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")

# Emails are delivered by workers (manage.py db_worker) from the database queue (contacts.emails).
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}
# Seconds to wait before each new attempt after a transient failure; the email fails for good after the last.
EMAIL_RETRY_DELAYS = env.list("EMAIL_RETRY_DELAYS", cast=int, default=[60, 300, 1800, 7200, 43200])
# A worker holds an email it is sending this long; after that another worker takes it over.
EMAIL_LEASE_SECONDS = env.int("EMAIL_LEASE_SECONDS", default=300)
# At most N emails of a kind to one address per window: "kind=N/seconds", comma-separated.
EMAIL_LIMITS = {
    kind: tuple(int(part) for part in limit.split("/"))
    for kind, limit in env.dict(
        "EMAIL_LIMITS",
        default={
            "invitation": "3/86400",
            "password_reset": "3/3600",
            "primary_handover": "10/86400",
            "email_confirm": "3/3600",
        },
    ).items()
}
# /healthz answers 503 when the oldest queued email is older than this (workers down or stuck).
HEALTHZ_EMAIL_MAX_AGE_SECONDS = env.int("HEALTHZ_EMAIL_MAX_AGE_SECONDS", default=900)

CONTACTS_CONFIRM_PERIOD_DAYS = env.int("CONTACTS_CONFIRM_PERIOD_DAYS", default=365)
CONTACTS_REMINDER_INTERVAL_DAYS = env.int("CONTACTS_REMINDER_INTERVAL_DAYS", default=30)
# Roles every organization must fill besides the Primary Contact; "complete" needs them and a current confirmation.
CONTACTS_REQUIRED_ROLES = env.list("CONTACTS_REQUIRED_ROLES", default=["billing", "ceo"])
# The bulk import refuses a larger file (5,000 rows of CSV are about 0.6 MB) and more rows than this.
CONTACTS_IMPORT_MAX_BYTES = env.int("CONTACTS_IMPORT_MAX_BYTES", default=10 * 1024 * 1024)
CONTACTS_IMPORT_MAX_ROWS = env.int("CONTACTS_IMPORT_MAX_ROWS", default=20_000)

SIMPLE_HISTORY_HISTORY_CHANGE_REASON_USE_TEXT_FIELD = True

# HTTPS: on in production behind TLS; check --deploy expects all of these.
if env.bool("DJANGO_HTTPS", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"

# Content-Security-Policy on every response, the admin's included: scripts and styles only
# from our own static files (no inline script, no inline style, no eval). Images may also be
# data: URIs, which Bootstrap's stylesheet uses for its icons. CSP_REPORT_ONLY=1 sends the
# same policy as Content-Security-Policy-Report-Only, for rolling out a change.
CSP_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        # One style attribute in django-simple-history's history list ("border-top: 0"), by its hash.
        "style-src-attr": ["'unsafe-hashes'", "'sha256-XMXSevYjgSjXgRafBFDvtjwX+yyWLrxfso9DcNZ9UXM='"],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
        "base-uri": [NONE],
        "object-src": [NONE],
    },
}
if env("CSP_REPORT_URI", default=""):
    CSP_POLICY["DIRECTIVES"]["report-uri"] = [env("CSP_REPORT_URI")]
if env.bool("CSP_REPORT_ONLY", default=False):
    CONTENT_SECURITY_POLICY_REPORT_ONLY = CSP_POLICY
    CONTENT_SECURITY_POLICY = None
else:
    CONTENT_SECURITY_POLICY = CSP_POLICY

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}
