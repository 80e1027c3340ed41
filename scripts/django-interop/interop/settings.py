"""The smallest Django + DRF + simplejwt service that looks like a real one: users in
django.contrib.auth, simplejwt's views, and its blacklist app, with rotation on. Its database
and signing key come from the environment, so the interop check runs it against SQLite and
PostgreSQL with the key our server is given."""

import os
from datetime import timedelta

SECRET_KEY = os.environ["DJANGO_SECRET_KEY"]
DEBUG = False
ALLOWED_HOSTS = ["testserver", "127.0.0.1", "localhost"]
USE_TZ = True
ROOT_URLCONF = "interop.urls"
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "rest_framework",
    "rest_framework_simplejwt.token_blacklist",
]
MIDDLEWARE = ["django.middleware.common.CommonMiddleware"]

# The first hasher makes new hashes (Django's default, PBKDF2-SHA256 at a million rounds); the
# others still check the hashes they made.
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.BCryptSHA256PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
]

_url = os.environ["DJANGO_DATABASE_URL"]
if _url.startswith("sqlite:///"):
    DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": _url[len("sqlite://"):]}}
else:
    from urllib.parse import urlparse

    _u = urlparse(_url)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": _u.path.lstrip("/"),
            "USER": _u.username,
            "PASSWORD": _u.password,
            "HOST": _u.hostname,
            "PORT": _u.port or 5432,
        }
    }

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework_simplejwt.authentication.JWTAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
}

# simplejwt's defaults, but for the shared key and rotation with blacklisting (the setting a
# service that logs users out has on).
SIMPLE_JWT = {
    "SIGNING_KEY": os.environ["JWT_SIGNING_KEY"],
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=5),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=1),
}
# The check of our tokens against a simplejwt left at its defaults: only the key.
if os.environ.get("INTEROP_SIMPLEJWT_DEFAULTS"):
    SIMPLE_JWT = {"SIGNING_KEY": os.environ["JWT_SIGNING_KEY"]}
