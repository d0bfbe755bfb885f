import re

import pytest

from config.celery import app as celery_app
from tests.factories import PASSWORD, AgentFactory, CompanyUserFactory, OrganisationFactory


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix, tmp_path_factory):
    """On SQLite, the test database is a file, not Django's shared in-memory one.

    With an in-memory database, the live server of the browser tests borrows the test
    thread's own connection: a request served (and its on-commit work: mail, sealing)
    while the test reads the database raced on one connection. A file gives the server
    its own connection, as in production.
    """
    from django.conf import settings

    database = settings.DATABASES["default"]
    if database["ENGINE"] == "django.db.backends.sqlite3":
        database.setdefault("TEST", {})["NAME"] = str(tmp_path_factory.mktemp("database") / "test.sqlite3")


@pytest.fixture(autouse=True)
def _fast_tests(settings):
    # Argon2 is what production hashes with (tested in tests/config); here speed matters.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _eager_celery():
    """Tasks run in-process during tests, whatever REDIS_URL says; the worker test opts out."""
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = previous


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    """Uploaded files of a test go to its own directory, never to var/."""
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": tmp_path / "media", "base_url": "/media/"},
        },
    }
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture(autouse=True)
def _platform_pki_in_tmp(settings, tmp_path_factory):
    """The platform's own PKI (signatures/platform.py) is made once per run, never in var/."""
    settings.PLATFORM_PKI_DIR = tmp_path_factory.getbasetemp() / "platform-pki"


class FakeClock:
    """The platform's clock, held by the test: ``clock.set(...)``, ``clock.advance(...)``."""

    def __init__(self, start):
        self.current = start

    def __call__(self):
        return self.current

    def set(self, moment):
        self.current = moment

    def advance(self, **delta):
        from datetime import timedelta

        self.current += timedelta(**delta)


@pytest.fixture
def clock(monkeypatch):
    from config import clock as platform_clock
    from tests.factories import T0

    fake = FakeClock(T0)
    monkeypatch.setattr(platform_clock, "now", fake)
    return fake


@pytest.fixture
def password():
    return PASSWORD


@pytest.fixture
def organisation(db):
    return OrganisationFactory(name="Commune de Testville")


@pytest.fixture
def other_organisation(db):
    return OrganisationFactory(name="Département voisin")


@pytest.fixture
def buyer(organisation):
    """An agent who creates consultations, decides and administers the organisation."""
    return AgentFactory(organisation=organisation, can_create=True, can_decide=True, can_administer=True)


@pytest.fixture
def validator(organisation):
    return AgentFactory(organisation=organisation, can_validate=True)


@pytest.fixture
def opener(organisation):
    return AgentFactory(organisation=organisation, can_open=True)


@pytest.fixture
def company_user(db):
    return CompanyUserFactory(company__name="Bâtiment Ouest")


@pytest.fixture
def other_company_user(db):
    return CompanyUserFactory(company__name="Travaux Est")


def links_in(message) -> list[str]:
    return re.findall(r"https?://\S+", message.body)


def can_log_in(email: str, password: str) -> bool:
    """Whether these credentials open a session (through every backend, axes included)."""
    from django.contrib.auth import authenticate
    from django.test import RequestFactory

    request = RequestFactory().post("/compte/connexion/")
    return authenticate(request, username=email, password=password) is not None


def login_verified(client, user) -> None:
    """Log in as if the password and a TOTP code had both been typed."""
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.create(user=user, name="test", confirmed=True)
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()


def pytest_collection_modifyitems(config, items):
    """The browser tests last: they share the process with a live server thread and a
    Playwright event loop, and nothing they leave behind reaches the other tests."""
    items.sort(key=lambda item: "/tests/browser/" in str(item.path))
