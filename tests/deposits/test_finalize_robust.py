"""Once a deposit is recorded, nothing that happens after the commit can turn the
depositor's answer into an error: a failure to queue the sealing is logged, and the sweep
seals the deposit later."""

import pytest

from deposits.models import DepositStatus
from deposits.services.deposits import deposit_finalize, deposit_start
from tests.deposits.test_tus import pdf_bytes, upload
from tests.factories import consultation_online


@pytest.mark.django_db(transaction=True)
def test_a_failure_to_queue_the_sealing_after_the_commit_does_not_fail_the_finalisation(
    buyer, company_user, clock, monkeypatch, caplog
):
    from deposits import tasks

    def broken(*args, **kwargs):
        raise RuntimeError("broker unreachable")

    monkeypatch.setattr(tasks.deposit_seal, "delay", broken)
    consultation = consultation_online(organisation=buyer.organisation, created_by=buyer.user)
    deposit = deposit_start(consultation=consultation, user=company_user.user)
    upload(deposit, company_user.user, "offre.pdf", pdf_bytes(2000))

    deposit = deposit_finalize(deposit=deposit, user=company_user.user)

    assert deposit.status == DepositStatus.ON_TIME
    assert "broker unreachable" in caplog.text
