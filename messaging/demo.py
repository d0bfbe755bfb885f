"""A demo exchange for `seed_demo`: Armor Bâtiment downloaded the DCE of the first demo
consultation and the buyer asks it for documents, with an answer date. Created through
the same services as a real exchange, once."""

from datetime import timedelta

from accounts.models import Company
from config import clock
from consultations.models import Consultation, Download
from consultations.services.dce import dce_current_version
from messaging.models import Kind, Thread
from messaging.services.sending import message_send
from messaging.templating import template_for


def demo_exchange_create(*, consultation: Consultation, company: Company, buyer) -> bool:
    if Thread.objects.filter(consultation=consultation, company=company).exists():
        return False
    company_user = company.users.select_related("user").first()
    Download.objects.create(
        consultation=consultation,
        dce_version=dce_current_version(consultation),
        company=company,
        user=company_user.user,
        downloaded_at=clock.now(),
    )
    subject, body = template_for(Kind.DOCUMENTS_REQUEST, consultation, company)
    message_send(
        user=buyer,
        consultation=consultation,
        companies=[company],
        kind=Kind.DOCUMENTS_REQUEST,
        subject=subject,
        body=body.replace(
            "- \n", "- l'attestation d'assurance de responsabilité civile décennale en cours\n", 1
        ),
        answer_due_at=clock.now() + timedelta(days=10),
    )
    return True
