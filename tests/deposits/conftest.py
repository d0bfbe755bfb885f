"""What the deposit tests share: an online consultation and the company's draft deposit."""

import pytest

from deposits.services.deposits import deposit_start
from tests.factories import consultation_online


@pytest.fixture
def consultation(buyer, clock):
    return consultation_online(organisation=buyer.organisation, created_by=buyer.user)


@pytest.fixture
def company_client(client, company_user):
    """The company user's browser, logged in."""
    client.force_login(company_user.user)
    return client


@pytest.fixture
def deposit(consultation, company_user):
    return deposit_start(consultation=consultation, user=company_user.user)
