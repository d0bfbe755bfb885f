"""A decision awarded with its letters sent, for the contract signature tests."""

from decimal import Decimal as D

from django.core.files.uploadedfile import SimpleUploadedFile

from awards.models import Outcome
from awards.services.decisions import decision_record
from awards.services.letters import letters_send
from consultations.models import Consultation, ProcedureType
from signatures.models import ContractParty
from signatures.services.contract import contract_signature_upload
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


def signature_upload(
    user, decision, party, name: str, data: bytes, jeton_name: str = "", jeton: bytes | None = None
):
    """``party``'s upload of the signed file ``name`` (and of its detached jeton, if any)."""
    return contract_signature_upload(
        user=user,
        decision=decision,
        party=party,
        file=SimpleUploadedFile(name, data),
        detached=SimpleUploadedFile(jeton_name, jeton) if jeton is not None else None,
    )


def holder_signed_cades(decision, company_user, pki, document: bytes):
    """The holder's upload of ``document`` with a detached CAdES by the test PKI's signer."""
    from . import pki as test_pki

    jeton = test_pki.cades(document, pki.signer, pki)
    return signature_upload(
        company_user.user, decision, ContractParty.HOLDER, "acte.pdf", document, "acte.pdf.p7s", jeton
    )
