"""What the signature tests share: the test PKI, and an awarded decision whose contract is
to sign, with the platform trusting the test PKI (``contract_trust``)."""

from datetime import timedelta

import pytest
from django.core.cache import cache

from awards.services.decisions import standstill_end
from signatures.services import contract as contract_service

from . import pki as test_pki
from .contracts import awarded_with_letters
from .pki import NOW


@pytest.fixture(scope="module")
def pki():
    return test_pki.make_pki()


@pytest.fixture
def consultation_opened(buyer, clock):
    from tests.awards.conftest import consultation_opened_make

    return consultation_opened_make(buyer, clock)


@pytest.fixture
def contract_trust(monkeypatch, pki):
    """The contract signatures are checked against the test PKI."""
    monkeypatch.setattr(
        contract_service, "_trust", lambda: {"trust_roots": pki.trust_roots, "crls": pki.crls}
    )


@pytest.fixture
def fresh_throttle():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def decision(consultation_opened, buyer, company_user, clock, django_capture_on_commit_callbacks):
    decision = awarded_with_letters(
        consultation_opened, buyer, company_user, django_capture_on_commit_callbacks
    )
    # The test PKI signs at the real time: the platform's clock is put just after it, long
    # after the standstill.
    assert standstill_end(decision) < NOW
    clock.set(NOW + timedelta(minutes=5))
    return decision
