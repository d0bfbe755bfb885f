"""Nobody but its depositor sees a deposit before the deadline: not even platform staff in
the admin, whose lists show deposits once their consultation's deadline has passed."""

from datetime import timedelta

from audit.models import Event
from deposits.models import Deposit, DepositFile, Seal
from tests.deposits.test_finalize import finalised
from tests.test_admin import admin_url, superuser_client  # noqa: F401


def test_the_admin_shows_deposits_only_after_the_deadline(
    superuser_client,  # noqa: F811
    consultation,
    company_user,
    clock,
):
    deposit = finalised(consultation, company_user, name="offre-secrete.pdf")

    before = superuser_client.get(admin_url(Deposit, "changelist")).content.decode()
    files_before = superuser_client.get(admin_url(DepositFile, "changelist")).content.decode()
    change_before = superuser_client.get(admin_url(Deposit, "change", deposit.pk))
    assert "Bâtiment Ouest" not in before
    assert "offre-secrete.pdf" not in files_before
    assert change_before.status_code == 302  # « does not exist »: back to the list
    # Nor does the audit log tell, though it records the finalisation
    assert Event.objects.filter(action="deposit.finalised").exists()
    events_before = superuser_client.get(admin_url(Event, "changelist")).content.decode()
    assert "Bâtiment Ouest" not in events_before and company_user.user.email not in events_before

    clock.set(consultation.deadline + timedelta(seconds=1))
    after = superuser_client.get(admin_url(Deposit, "changelist")).content.decode()
    assert "Bâtiment Ouest" in after
    assert "Bâtiment Ouest" in superuser_client.get(admin_url(Event, "changelist")).content.decode()
    assert "offre-secrete.pdf" in superuser_client.get(admin_url(DepositFile, "changelist")).content.decode()
    assert superuser_client.get(admin_url(Seal, "changelist")).status_code == 200
