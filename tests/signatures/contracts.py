"""A decision awarded with its letters sent, for the contract signature tests."""

from decimal import Decimal as D

from awards.models import Outcome
from awards.services.decisions import decision_record
from awards.services.letters import letters_send
from consultations.models import Consultation, ProcedureType
from tests.awards.conftest import deposit_received


def awarded_with_letters(consultation, buyer, company_user, capture, *, members=()):
    Consultation.objects.filter(pk=consultation.pk).update(procedure_type=ProcedureType.OPEN_TENDER)
    consultation.refresh_from_db()
    deposit = deposit_received(consultation, company_user, members=members)
    decision = decision_record(
        user=buyer.user,
        consultation=consultation,
        lot=None,
        outcome=Outcome.AWARDED,
        deposit=deposit,
        amount=D("250000"),
        duration_months=24,
    )
    with capture(execute=True):
        letters_send(user=buyer.user, decision=decision, electronic=True)
    decision.refresh_from_db()
    return decision
