"""Settings of the platform, read from the environment.

With no environment at all this is the embedded default a newcomer runs with
`make run`: SQLite, files and e-mail under ``var/``, Celery tasks executed in
process. ``DATABASE_URL``, ``REDIS_URL``, the ``S3_*`` and ``EMAIL_*`` variables
switch each part to the production stack, and ``DJANGO_ENV=production`` turns
on the checks and protections that a public deployment needs. README.md lists
every variable.
"""

from datetime import timedelta
from pathlib import Path

import dj_database_url
from celery.schedules import crontab
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

from config.env import env_bool, env_choice, env_int, env_list, env_str, env_url

BASE_DIR = Path(__file__).resolve().parent.parent

DJANGO_ENV = env_choice("DJANGO_ENV", ("development", "production"), "development")
PRODUCTION = DJANGO_ENV == "production"
DEBUG = env_bool("DJANGO_DEBUG", not PRODUCTION)
if PRODUCTION and DEBUG:
    raise ImproperlyConfigured("DJANGO_DEBUG ne peut pas être activé en production.")

PLATFORM_NAME = env_str("PLATFORM_NAME", "Salle des marchés publics")
# The address people reach the platform at, for links in mail sent outside a request.
PLATFORM_BASE_URL = (env_url("PLATFORM_URL", ("http", "https")) or "http://127.0.0.1:8000").rstrip("/")
DATA_DIR = Path(env_str("DATA_DIR", str(BASE_DIR / "var")))

# --- Secrets and hosts -------------------------------------------------------

_DEVELOPMENT_SECRET_KEY = "django-insecure-development-only-key-never-used-in-production-0000"
SECRET_KEY = env_str("DJANGO_SECRET_KEY")
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS")

if PRODUCTION:
    if not SECRET_KEY or SECRET_KEY.startswith("django-insecure") or len(set(SECRET_KEY)) < 5:
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY doit être défini en production avec une valeur secrète "
            "et aléatoire (au moins 50 caractères), par exemple : "
            'python -c "import secrets; print(secrets.token_urlsafe(64))".'
        )
    if len(SECRET_KEY) < 50:
        raise ImproperlyConfigured("DJANGO_SECRET_KEY doit comporter au moins 50 caractères.")
    if not ALLOWED_HOSTS:
        raise ImproperlyConfigured(
            "DJANGO_ALLOWED_HOSTS doit lister en production les noms de domaine servis "
            "(séparés par des virgules)."
        )
else:
    SECRET_KEY = SECRET_KEY or _DEVELOPMENT_SECRET_KEY
    ALLOWED_HOSTS = ALLOWED_HOSTS or ["127.0.0.1", "localhost", "[::1]", "testserver"]

# --- Applications ------------------------------------------------------------

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "csp",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "accounts",
    "audit",
    "consultations",
    "deposits",
    "messaging",
    "signatures",
    "awards",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "accounts.middleware.FrenchFirstLocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "accounts.middleware.RequireTwoFactorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "axes.middleware.AxesMiddleware",
]

if PRODUCTION:
    # Gunicorn serves the static files through WhiteNoise; runserver serves them itself.
    MIDDLEWARE.insert(1, "whitenoise.middleware.WhiteNoiseMiddleware")

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
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "accounts.context_processors.platform",
                "messaging.context_processors.messaging",
            ],
        },
    },
]

# --- Database ----------------------------------------------------------------

DATABASE_URL = env_url(
    "DATABASE_URL",
    ("postgres", "postgresql", "sqlite"),
    default=f"sqlite:///{DATA_DIR / 'db.sqlite3'}",
)
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60, conn_health_checks=True)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    Path(DATABASES["default"]["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache, broker and tasks -------------------------------------------------

REDIS_URL = env_url("REDIS_URL", ("redis", "rediss"))
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = REDIS_URL
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_RESULT_EXPIRES = timedelta(days=1)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = "Europe/Paris"
if CELERY_TASK_ALWAYS_EAGER:
    # No beat without a broker: requests run the publication/closing sweep instead.
    MIDDLEWARE.append("consultations.middleware.EmbeddedSweepMiddleware")
# Every periodic task of the platform, in one place; each one expires so that a
# beat running while the workers are down does not pile up stale runs.
CELERY_BEAT_SCHEDULE = {
    "audit-verify-chain": {
        "task": "audit.tasks.audit_verify_chain",
        "schedule": crontab(hour=3, minute=17),
        "options": {"expires": 6 * 3600},
    },
    # Consultations go online and close on time by ETA tasks; this sweep catches
    # whatever a lost task or a stopped worker missed.
    "consultations-sweep": {
        "task": "consultations.tasks.consultations_sweep",
        "schedule": 60.0,
        "options": {"expires": 55},
    },
    # Finalised deposits left without a seal (no worker, or sealing failed) are sealed.
    "deposits-seal-sweep": {
        "task": "deposits.tasks.deposits_seal_sweep",
        "schedule": 300.0,
        "options": {"expires": 290},
    },
    # Unfinished uploads of draft deposits expire after 7 days (tus « expiration »).
    "deposits-uploads-expired-sweep": {
        "task": "deposits.tasks.uploads_expired_sweep",
        "schedule": crontab(hour=4, minute=41),
        "options": {"expires": 6 * 3600},
    },
    # Message e-mails lost on their way to the queue are queued again; hopeless ones flagged.
    "messaging-deliveries-sweep": {
        "task": "messaging.tasks.deliveries_sweep",
        "schedule": 600.0,
        "options": {"expires": 540},
    },
}

# --- Files -------------------------------------------------------------------

MEDIA_ROOT = DATA_DIR / "media"
MEDIA_URL = "/media/"
# Collected at image build time, beside the code: not in DATA_DIR, whose volume
# would keep an older image's files.
STATIC_ROOT = BASE_DIR / "var" / "static"
STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]

S3_BUCKET = env_str("S3_BUCKET")
S3_ENDPOINT_URL = env_url("S3_ENDPOINT_URL", ("http", "https"))
S3_REGION = env_str("S3_REGION")
S3_ACCESS_KEY_ID = env_str("S3_ACCESS_KEY_ID")
S3_SECRET_ACCESS_KEY = env_str("S3_SECRET_ACCESS_KEY")
if S3_BUCKET:
    _default_storage = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": S3_BUCKET,
            "endpoint_url": S3_ENDPOINT_URL,
            "region_name": S3_REGION,
            "access_key": S3_ACCESS_KEY_ID,
            "secret_key": S3_SECRET_ACCESS_KEY,
            "default_acl": None,
            "file_overwrite": False,
            "querystring_auth": True,
            # Downloads are streamed: an object larger than this spools to a temporary
            # file instead of memory, so a 500 MB DCE file never sits in RAM.
            "max_memory_size": 8 * 1024 * 1024,
        },
    }
else:
    _default_storage = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": MEDIA_ROOT, "base_url": MEDIA_URL},
    }
STORAGES = {
    "default": _default_storage,
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}

# Largest file an agent may put in a DCE.
DCE_MAX_FILE_BYTES = env_int("DCE_MAX_FILE_MB", 500, minimum=1) * 1024 * 1024
MESSAGE_ATTACHMENT_MAX_BYTES = env_int("MESSAGE_ATTACHMENT_MAX_MB", 100, minimum=1) * 1024 * 1024
MESSAGE_ATTACHMENTS_MAX = 20
# Largest file of a deposit (« pli »), announced to tus clients as Tus-Max-Size.
DEPOSIT_MAX_FILE_BYTES = env_int("DEPOSIT_MAX_FILE_MB", 2048, minimum=1) * 1024 * 1024

# --- Antivirus -----------------------------------------------------------------
# clamd's socket: unix:///run/clamav/clamd.ctl or tcp://clamav:3310; empty: no scan,
# which the pages that take files say.
CLAMD_URL = env_url("CLAMD_URL", ("unix", "tcp")) or ""
CLAMD_TIMEOUT = env_int("CLAMD_TIMEOUT", 120, minimum=1)

# --- Platform seal and timestamps ------------------------------------------------
# The platform seals its receipts and minutes (signatures/platform.py). Production gives
# its seal (PKCS#12 and password), the roots that seal and the timestamps chain to, and
# an RFC 3161 authority; without them the platform uses its own small PKI, generated on
# first use in PLATFORM_PKI_DIR, and timestamps with its own authority.
PLATFORM_PKI_DIR = DATA_DIR / "platform-pki"
PLATFORM_SEAL_PKCS12 = env_str("PLATFORM_SEAL_PKCS12")
PLATFORM_SEAL_PASSWORD = env_str("PLATFORM_SEAL_PASSWORD")
PLATFORM_SEAL_TRUST_ROOTS = env_str("PLATFORM_SEAL_TRUST_ROOTS")
TIMESTAMP_URL = env_url("TIMESTAMP_URL", ("http", "https"))
TIMESTAMP_TIMEOUT = 20
# Deposited and contract signatures (signatures/verify.py) are checked against the trust
# store (signatures/trust.py); revocation lists named in the certificates are downloaded
# only when this is on. Off, a signature whose revocation cannot be checked is
# « indéterminée », never « valide ».
SIGNATURE_REVOCATION_FETCH = env_bool("SIGNATURE_REVOCATION_FETCH", False)
# Deposited files above this size are not read again for their signatures at the opening.
SIGNATURE_CHECK_MAX_BYTES = env_int("SIGNATURE_CHECK_MAX_BYTES", 64 * 1024 * 1024, minimum=1)
for _path_setting in ("PLATFORM_SEAL_PKCS12", "PLATFORM_SEAL_TRUST_ROOTS"):
    if globals()[_path_setting] and not Path(globals()[_path_setting]).is_file():
        raise ImproperlyConfigured(f"{_path_setting} désigne un fichier absent : {globals()[_path_setting]}.")

# --- E-mail --------------------------------------------------------------------

EMAIL_HOST = env_str("EMAIL_HOST")
EMAIL_PORT = env_int("EMAIL_PORT", 587, minimum=1)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", not EMAIL_USE_SSL)
if EMAIL_USE_TLS and EMAIL_USE_SSL:
    raise ImproperlyConfigured("EMAIL_USE_TLS et EMAIL_USE_SSL ne peuvent pas être activés ensemble.")
EMAIL_TIMEOUT = 30
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Salle des marchés publics <ne-pas-repondre@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
_email_default = "smtp" if EMAIL_HOST else "file"
EMAIL_DELIVERY = env_choice("EMAIL_DELIVERY", ("smtp", "console", "file"), _email_default)
EMAIL_BACKEND = {
    "smtp": "django.core.mail.backends.smtp.EmailBackend",
    "console": "django.core.mail.backends.console.EmailBackend",
    "file": "django.core.mail.backends.filebased.EmailBackend",
}[EMAIL_DELIVERY]
EMAIL_FILE_PATH = DATA_DIR / "mail"
if EMAIL_DELIVERY == "smtp" and not EMAIL_HOST:
    raise ImproperlyConfigured("EMAIL_DELIVERY=smtp demande EMAIL_HOST.")

if PRODUCTION:
    # The embedded parts would lose deposits' mails to the console, run tasks inside
    # requests and never close a consultation on time: production has the real ones.
    if DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        raise ImproperlyConfigured("En production, DATABASE_URL doit désigner une base PostgreSQL.")
    if not REDIS_URL:
        raise ImproperlyConfigured("En production, REDIS_URL doit désigner le broker Redis des tâches.")
    if EMAIL_DELIVERY != "smtp":
        raise ImproperlyConfigured("En production, les courriels partent par SMTP : définissez EMAIL_HOST.")
    if not env_str("PLATFORM_URL"):
        raise ImproperlyConfigured(
            "En production, PLATFORM_URL doit donner l'adresse publique de la plateforme "
            "(liens des courriels)."
        )

# --- Authentication -------------------------------------------------------------

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "accounts.backends.EmailBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "accounts:home"
PASSWORD_RESET_TIMEOUT = 24 * 3600
SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 8 * 3600, minimum=300)

# Brute force: lock a username tried from one address, so that nobody can lock
# a competitor out of its account on the eve of a deadline from elsewhere.
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("AXES_COOLOFF_MINUTES", 15, minimum=1))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
# The login form posts the e-mail address in a field named "username".
AXES_USERNAME_FORM_FIELD = "username"
AXES_USERNAME_CALLABLE = "accounts.client_ip.axes_username"
AXES_CLIENT_IP_CALLABLE = "accounts.client_ip.axes_client_ip"
# Reverse proxies in front of the platform (their X-Forwarded-For is believed, no more).
TRUSTED_PROXY_COUNT = env_int("DJANGO_TRUSTED_PROXY_COUNT", 0, minimum=0)
AXES_LOCKOUT_TEMPLATE = "accounts/lockout.html"
AXES_VERBOSE = False

OTP_TOTP_ISSUER = PLATFORM_NAME

# --- Internationalisation --------------------------------------------------------

LANGUAGE_CODE = "fr"
LANGUAGES = [("fr", "Français"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Europe/Paris"
USE_I18N = True
USE_TZ = True

# --- Security ------------------------------------------------------------------------

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
        "base-uri": [SELF],
        "object-src": [NONE],
    },
}
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True
if PRODUCTION:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = env_int("DJANGO_HSTS_SECONDS", 31536000, minimum=0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True

# --- Public API ----------------------------------------------------------------------

REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "UNAUTHENTICATED_USER": None,
    # Per user, on the deposit API's writes (deposits/api.py); tus uploads are not throttled.
    "DEFAULT_THROTTLE_RATES": {"deposits_write": "120/minute"},
}
SPECTACULAR_SETTINGS = {
    "TITLE": f"API publique — {PLATFORM_NAME}",
    "DESCRIPTION": (
        "Consultations en ligne, lots et versions du DCE, en lecture seule et sans compte ; "
        "dépôt des plis pour les logiciels des entreprises, avec un jeton d'accès personnel "
        "(Authorization: Bearer), les fichiers étant envoyés par le protocole tus sur /depots/tus/."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI from the files of drf-spectacular-sidecar, served by us: no CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # A deposit's state beside a consultation's: two enums named « state ».
    "ENUM_NAME_OVERRIDES": {
        "StateEnum": "consultations.models.State",
        "DepositStateEnum": "deposits.models.DepositState",
    },
}

# --- Logging ---------------------------------------------------------------------------

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {
        "handlers": ["console"],
        "level": env_choice("LOG_LEVEL", ("DEBUG", "INFO", "WARNING", "ERROR"), "INFO"),
    },
    "loggers": {"axes": {"level": "WARNING"}},
}
