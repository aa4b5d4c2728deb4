"""Settings for the test suite: production settings with test-only secrets."""

import os

os.environ.setdefault("SECRET_KEY", "test-only-secret-key-not-used-anywhere-else-0123456789")
os.environ.setdefault("ALLOWED_HOSTS", "testserver,localhost,127.0.0.1")
os.environ.setdefault("EMAIL_URL", "consolemail://")
os.environ.setdefault("ANYMAIL_WEBHOOK_SECRET", "bounce-user:bounce-test-secret")

from pars.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Tests render templates without running collectstatic.
STORAGES["staticfiles"]["BACKEND"] = "django.contrib.staticfiles.storage.StaticFilesStorage"  # noqa: F405
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"

# One test database per run, so that parallel runs in one checkout never share it.
_db = DATABASES["default"]  # noqa: F405
if _db["ENGINE"] == "django.db.backends.sqlite3":
    _db["TEST"] = {"NAME": str(BASE_DIR / "db" / f"test-{os.getpid()}.sqlite3")}  # noqa: F405
else:
    _db["TEST"] = {"NAME": f"test_{_db['NAME']}_{os.getpid()}"}
