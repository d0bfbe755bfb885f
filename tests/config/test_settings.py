"""The settings start only with sound values; production refuses to start half-configured."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SECRET = "k3y-" + "x7Qp9Lm2Vr8Tz4Wn6Yb1Hc5Jd0Fg3Sa" * 2
PRODUCTION = {
    "DJANGO_ENV": "production",
    "DJANGO_SECRET_KEY": SECRET,
    "DJANGO_ALLOWED_HOSTS": "marches.example.fr",
    "DATABASE_URL": "postgres://marches:secret@db:5432/marches",
    "REDIS_URL": "redis://redis:6379/0",
    "EMAIL_HOST": "smtp.example.fr",
    "PLATFORM_URL": "https://marches.example.fr",
}

SHOW = """
import json, django
from django.conf import settings
django.setup()
print(json.dumps({
    "engine": settings.DATABASES["default"]["ENGINE"],
    "db_name": str(settings.DATABASES["default"]["NAME"]),
    "eager": settings.CELERY_TASK_ALWAYS_EAGER,
    "email": settings.EMAIL_BACKEND,
    "email_dir": str(settings.EMAIL_FILE_PATH),
    "media": str(settings.MEDIA_ROOT),
    "hashers": settings.PASSWORD_HASHERS,
    "storage": settings.STORAGES["default"]["BACKEND"],
    "debug": settings.DEBUG,
}))
"""


def run(code_or_args, env: dict, tmp_path: Path) -> subprocess.CompletedProcess:
    """Start Python with exactly ``env`` (plus PATH), as a fresh process would."""
    clean = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "DATA_DIR": str(tmp_path / "var"),
        "DJANGO_SETTINGS_MODULE": "config.settings",
        **env,
    }
    args = (
        [sys.executable, "-c", code_or_args]
        if isinstance(code_or_args, str)
        else [sys.executable, *code_or_args]
    )
    return subprocess.run(args, cwd=ROOT, env=clean, capture_output=True, text=True, timeout=120)


def show(env, tmp_path) -> dict:
    result = run(SHOW, env, tmp_path)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_with_no_environment_the_embedded_default_runs_everything_in_var(tmp_path):
    values = show({}, tmp_path)
    assert values["engine"] == "django.db.backends.sqlite3"
    assert values["db_name"] == str(tmp_path / "var" / "db.sqlite3")
    assert values["eager"] is True
    # Mail is written as files under var/mail, where a newcomer reads the links it holds.
    assert values["email"] == "django.core.mail.backends.filebased.EmailBackend"
    assert values["email_dir"] == str(tmp_path / "var" / "mail")
    assert values["media"] == str(tmp_path / "var" / "media")
    assert values["storage"] == "django.core.files.storage.FileSystemStorage"
    assert values["debug"] is True


def test_the_production_stack_is_chosen_by_its_variables(tmp_path):
    values = show(
        {
            **PRODUCTION,
            "DATABASE_URL": "postgres://marches:secret@db:5432/marches",
            "REDIS_URL": "redis://redis:6379/0",
            "EMAIL_HOST": "smtp.example.fr",
            "S3_BUCKET": "plis",
            "S3_ENDPOINT_URL": "https://s3.example.fr",
        },
        tmp_path,
    )
    assert values["engine"] == "django.db.backends.postgresql"
    assert values["eager"] is False
    assert values["email"] == "django.core.mail.backends.smtp.EmailBackend"
    assert values["storage"] == "storages.backends.s3.S3Storage"
    assert values["hashers"][0] == "django.contrib.auth.hashers.Argon2PasswordHasher"
    assert values["debug"] is False


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("DJANGO_DEBUG", "peut-être", "attendu true/false"),
        ("EMAIL_PORT", "vingt-cinq", "attendu un nombre entier"),
        ("SESSION_COOKIE_AGE", "10", "supérieur ou égal à 300"),
        ("DATABASE_URL", "mysql://db/marches", "attendu une URL commençant par postgres://"),
        ("DJANGO_ENV", "prod", "valeurs possibles : development, production"),
        ("EMAIL_DELIVERY", "pigeon", "valeurs possibles : smtp, console, file"),
    ],
)
def test_a_bad_value_stops_the_start_with_the_variable_named(tmp_path, name, value, expected):
    result = run(SHOW, {name: value}, tmp_path)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert f"{name}={value!r} invalide" in result.stderr
    assert expected in result.stderr


def test_production_without_a_secret_key_refuses_to_start(tmp_path):
    env = {k: v for k, v in PRODUCTION.items() if k != "DJANGO_SECRET_KEY"}
    result = run(SHOW, env, tmp_path)
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY doit être défini en production" in result.stderr


def test_production_refuses_the_development_key_and_short_keys(tmp_path):
    for key in ("django-insecure-" + "a1b2c3d4e5" * 6, "trop-courte-mais-variée"):
        result = run(SHOW, {**PRODUCTION, "DJANGO_SECRET_KEY": key}, tmp_path)
        assert result.returncode != 0, key
        assert "DJANGO_SECRET_KEY" in result.stderr


def test_production_without_allowed_hosts_refuses_to_start(tmp_path):
    env = {k: v for k, v in PRODUCTION.items() if k != "DJANGO_ALLOWED_HOSTS"}
    result = run(SHOW, env, tmp_path)
    assert result.returncode != 0
    assert "DJANGO_ALLOWED_HOSTS" in result.stderr


@pytest.mark.parametrize(
    ("missing", "message"),
    [("DATABASE_URL", "base PostgreSQL"), ("REDIS_URL", "broker Redis"), ("EMAIL_HOST", "SMTP")],
)
def test_production_refuses_the_embedded_parts(tmp_path, missing, message):
    env = {k: v for k, v in PRODUCTION.items() if k != missing}
    result = run(SHOW, env, tmp_path)
    assert result.returncode != 0
    assert message in result.stderr


def test_production_refuses_debug(tmp_path):
    result = run(SHOW, {**PRODUCTION, "DJANGO_DEBUG": "true"}, tmp_path)
    assert result.returncode != 0
    assert "DJANGO_DEBUG" in result.stderr


def test_check_deploy_is_clean_in_production(tmp_path):
    result = run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], PRODUCTION, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_check_deploy_is_not_clean_in_development(tmp_path):
    # The check above could not fail if --deploy found nothing anywhere.
    result = run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], {}, tmp_path)
    assert result.returncode != 0
    assert "security.W018" in result.stdout + result.stderr
