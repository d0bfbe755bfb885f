"""The contract signature: the winner downloads the acte d'engagement, signs it with its own
tool (here: the test PKI), uploads it; the platform verifies it; the buyer counter-signs the
holder's file; the contract is then signed and the notification may go."""

from datetime import timedelta
from decimal import Decimal as D
from io import BytesIO

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from audit.models import Event
from awards.models import Outcome
from awards.services.decisions import contract_notify, decision_record, standstill_end
from signatures.models import ContractParty, ContractSignature
from signatures.report import Verdict
from signatures.services import contract as contract_service
from signatures.services.contract import ContractError, contract_document, contract_signature_upload
from tests.awards.conftest import deposit_received
from tests.awards.test_report import pdf_text
from tests.conftest import login_verified

from . import pki as test_pki
from .contracts import awarded_with_letters

pytestmark = pytest.mark.usefixtures("contract_trust")


def upload(data: bytes, name: str = "acte-engagement-signe.pdf") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type="application/pdf")


def holder_signs(decision, company_user, pki, identity=None, **kwargs):
    signed = test_pki.pades(contract_document(decision), identity or pki.signer, pki)
    return contract_signature_upload(
        user=company_user.user, decision=decision, party=ContractParty.HOLDER, file=upload(signed), **kwargs
    )


def file_of(signature) -> bytes:
    with signature.blob.open("rb") as handle:
        return handle.read()


# --- The acte d'engagement ----------------------------------------------------------------


def test_the_acte_d_engagement_names_the_buyer_the_holder_the_amount_and_the_duration(decision, company_user):
    document = contract_document(decision)

    text = pdf_text(document)
    assert "Acte d'engagement" in text
    assert decision.consultation.reference in text
    assert decision.consultation.organisation.name in text
    assert "Bâtiment Ouest" in text and company_user.company.siret in text
    assert "250 000,00 € HT" in text
    assert "24 mois" in text
    assert "Le titulaire s'engage" in text
    # The same bytes at every download: the signed file must start with them.
    assert contract_document(decision) == document


def test_the_acte_d_engagement_of_a_consortium_lists_its_members_with_their_siret(
    consultation_opened, buyer, company_user, clock, django_capture_on_commit_callbacks
):
    decision = awarded_with_letters(
        consultation_opened,
        buyer,
        company_user,
        django_capture_on_commit_callbacks,
        members=[("73282932000074", "Charpentes du Lac")],
    )
    text = pdf_text(contract_document(decision))
    assert "groupement" in text
    assert "Charpentes du Lac" in text and "73282932000074" in text
    assert "Mandataire" in text and "Cotraitant" in text


# --- The holder's signature ----------------------------------------------------------------


def test_the_holder_uploads_a_pades_signed_acte_and_gets_a_valid_report(decision, company_user, pki):
    signature = holder_signs(decision, company_user, pki)

    assert signature.verdict == Verdict.VALID, signature.reports
    assert signature.party == ContractParty.HOLDER
    (report,) = signature.reports
    assert report["verdict"] == "valid" and report["format"] == "PAdES"
    assert report["signer_name"] == "Jeanne Dupont"
    assert isinstance(report["timestamp_time"], str)  # JSON: ISO datetimes
    assert len(signature.sha256) == 64 and file_of(signature).startswith(contract_document(decision))
    event = Event.objects.get(action="signatures.contract_signature_uploaded")
    assert event.data["party"] == "holder" and event.data["verdict"] == "valid"


def test_a_holder_signature_with_a_detached_cades_is_valid(decision, company_user, pki):
    document = contract_document(decision)
    detached = test_pki.cades(document, pki.signer, pki)

    signature = contract_signature_upload(
        user=company_user.user,
        decision=decision,
        party=ContractParty.HOLDER,
        file=upload(document, "acte.pdf"),
        detached=SimpleUploadedFile("acte.pdf.p7s", detached),
    )

    assert signature.verdict == Verdict.VALID
    assert signature.detached_name == "acte.pdf.p7s"


def test_an_untrusted_signature_is_kept_shown_invalid_and_cannot_be_counter_signed(
    client, decision, company_user, buyer, pki
):
    signature = holder_signs(decision, company_user, pki, identity=pki.foreign_signer)

    assert signature.verdict == Verdict.INVALID
    assert ContractSignature.objects.filter(pk=signature.pk, superseded=False).exists()
    login_verified(client, company_user.user)
    page = client.get(reverse("contracts:contract_company", args=[decision.pk])).content.decode()
    assert "invalide" in page and "Inès Inconnue" in page
    assert "Cette signature ne compte pas" in page

    countersigned = test_pki.pades(file_of(signature), pki.agent, pki, field_name="Acheteur")
    with pytest.raises(ContractError, match="signé par le titulaire avec une signature valide"):
        contract_signature_upload(
            user=buyer.user, decision=decision, party=ContractParty.BUYER, file=upload(countersigned)
        )


def test_a_pdf_modified_after_the_holder_signed_it_is_kept_as_invalid(decision, company_user, pki):
    original = contract_document(decision)
    signed = test_pki.pades(original, pki.signer, pki)
    # A change inside the signed update (the catalog pyHanko rewrote), after the signature.
    index = signed.index(b"/Type /Catalog", len(original))
    tampered = signed[:index] + b"/Type  /Catalog" + signed[index + len(b"/Type /Catalog") :]

    signature = contract_signature_upload(
        user=company_user.user, decision=decision, party=ContractParty.HOLDER, file=upload(tampered)
    )

    assert signature.verdict == Verdict.INVALID
    assert "modifié" in " ".join(signature.reports[0]["reasons"])


def test_an_acte_changed_before_being_signed_is_refused(decision, company_user, pki):
    from pyhanko.pdf_utils.generic import pdf_string
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    writer = IncrementalPdfFileWriter(BytesIO(contract_document(decision)), strict=False)
    writer.root["/Lang"] = pdf_string("en")
    writer.update_root()
    changed = BytesIO()
    writer.write(changed)
    signed = test_pki.pades(changed.getvalue(), pki.signer, pki)

    with pytest.raises(ContractError, match="modifié avant d'être signé"):
        contract_signature_upload(
            user=company_user.user, decision=decision, party=ContractParty.HOLDER, file=upload(signed)
        )


def test_another_pdf_or_an_unsigned_acte_is_refused_with_a_clear_message(decision, company_user, pki):
    other = test_pki.pades(test_pki.a_pdf("Un autre contrat"), pki.signer, pki)
    with pytest.raises(ContractError, match="n'est pas l'acte d'engagement de ce marché") as refused:
        contract_signature_upload(
            user=company_user.user, decision=decision, party=ContractParty.HOLDER, file=upload(other)
        )
    assert refused.value.field == "file"
    with pytest.raises(ContractError, match="ne porte aucune signature"):
        contract_signature_upload(
            user=company_user.user,
            decision=decision,
            party=ContractParty.HOLDER,
            file=upload(contract_document(decision)),
        )
    assert not ContractSignature.objects.exists()


def test_a_new_upload_supersedes_the_previous_one(decision, company_user, pki):
    first = holder_signs(decision, company_user, pki, identity=pki.foreign_signer)
    second = holder_signs(decision, company_user, pki)

    first.refresh_from_db()
    assert first.superseded and not second.superseded
    assert contract_service.contract_signature_current(decision, ContractParty.HOLDER) == second


def test_the_holder_cannot_sign_before_the_standstill_ends(
    consultation_opened, buyer, company_user, clock, pki, django_capture_on_commit_callbacks
):
    decision = awarded_with_letters(
        consultation_opened, buyer, company_user, django_capture_on_commit_callbacks
    )
    clock.set(standstill_end(decision) - timedelta(minutes=1))

    with pytest.raises(ContractError, match="avant la fin du délai de suspension, le 13/04/2026 à 12:00"):
        holder_signs(decision, company_user, pki)
    assert not ContractSignature.objects.exists()


def test_only_the_winners_users_sign_for_the_holder(decision, other_company_user, pki):
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        holder_signs(decision, other_company_user, pki)


def test_a_file_over_the_size_limit_is_refused(decision, company_user, monkeypatch):
    monkeypatch.setattr(contract_service, "CONTRACT_MAX_SIZE", 1024)
    with pytest.raises(ContractError, match="taille maximale") as refused:
        contract_signature_upload(
            user=company_user.user, decision=decision, party=ContractParty.HOLDER, file=upload(b"%PDF-" * 400)
        )
    assert refused.value.field == "file"


# --- The buyer's counter-signature ------------------------------------------------------------


def test_the_buyer_counter_signs_the_holders_file_then_the_contract_is_signed_and_notified(
    decision, company_user, buyer, pki, clock, django_capture_on_commit_callbacks
):
    holder = holder_signs(decision, company_user, pki)
    countersigned = test_pki.pades(file_of(holder), pki.agent, pki, field_name="Acheteur")

    signature = contract_signature_upload(
        user=buyer.user, decision=decision, party=ContractParty.BUYER, file=upload(countersigned)
    )

    assert signature.verdict == Verdict.VALID
    # both signatures are in the buyer's file, both valid
    assert [r["verdict"] for r in signature.reports] == ["valid", "valid"]
    decision.refresh_from_db()
    assert decision.signed_at == clock()
    with django_capture_on_commit_callbacks(execute=True):
        message = contract_notify(user=buyer.user, decision=decision, body="Nous vous notifions le marché.")
    assert message.thread.company == company_user.company
    # Once signed, nothing is replaced.
    with pytest.raises(ContractError, match="notifié"):
        holder_signs(decision, company_user, pki)


def test_the_buyer_must_sign_the_holders_file_not_the_blank_acte(decision, company_user, buyer, pki):
    holder_signs(decision, company_user, pki)
    blank_signed = test_pki.pades(contract_document(decision), pki.agent, pki, field_name="Acheteur")

    with pytest.raises(ContractError, match="ne contient pas la contresignature"):
        contract_signature_upload(
            user=buyer.user, decision=decision, party=ContractParty.BUYER, file=upload(blank_signed)
        )
    decision.refresh_from_db()
    assert decision.signed_at is None


def test_an_invalid_counter_signature_is_kept_but_the_contract_is_not_signed(
    decision, company_user, buyer, pki
):
    holder = holder_signs(decision, company_user, pki)
    countersigned = test_pki.pades(file_of(holder), pki.foreign_signer, pki, field_name="Acheteur")

    signature = contract_signature_upload(
        user=buyer.user, decision=decision, party=ContractParty.BUYER, file=upload(countersigned)
    )

    assert signature.verdict == Verdict.INVALID
    decision.refresh_from_db()
    assert decision.signed_at is None


def test_an_agent_who_may_not_decide_cannot_counter_sign(decision, company_user, validator, pki):
    from django.core.exceptions import PermissionDenied

    holder = holder_signs(decision, company_user, pki)
    countersigned = test_pki.pades(file_of(holder), pki.agent, pki, field_name="Acheteur")
    with pytest.raises(PermissionDenied):
        contract_signature_upload(
            user=validator.user, decision=decision, party=ContractParty.BUYER, file=upload(countersigned)
        )


# --- The pages -------------------------------------------------------------------------------


def test_the_company_page_downloads_uploads_and_shows_the_report(client, decision, company_user, pki):
    login_verified(client, company_user.user)
    space = client.get(reverse("accounts:company_space")).content.decode()
    assert "Marchés à signer" in space
    assert reverse("contracts:contract_company", args=[decision.pk]) in space

    document = client.get(reverse("contracts:contract_document", args=[decision.pk]))
    assert document["Content-Type"] == "application/pdf"
    pdf = b"".join(document.streaming_content) if document.streaming else document.content
    signed = test_pki.pades(pdf, pki.signer, pki)

    response = client.post(
        reverse("contracts:contract_company", args=[decision.pk]),
        {"contract-file": SimpleUploadedFile("signe.pdf", signed, content_type="application/pdf")},
        follow=True,
    )

    page = response.content.decode()
    assert "signature valide" in page
    assert "Jeanne Dupont" in page


def test_a_refused_upload_is_shown_next_to_the_field(client, decision, company_user):
    login_verified(client, company_user.user)
    response = client.post(
        reverse("contracts:contract_company", args=[decision.pk]),
        {"contract-file": SimpleUploadedFile("blanc.pdf", contract_document(decision))},
    )
    assert response.status_code == 400
    assert "ne porte aucune signature électronique" in response.content.decode()


def test_another_company_gets_not_found(client, decision, other_company_user):
    login_verified(client, other_company_user.user)
    for url in (
        reverse("contracts:contract_company", args=[decision.pk]),
        reverse("contracts:contract_document", args=[decision.pk]),
    ):
        assert client.get(url).status_code == 404
    assert "Marchés à signer" not in client.get(reverse("accounts:company_space")).content.decode()


def test_before_the_letters_the_winner_has_no_contract_page(
    client, consultation_opened, buyer, company_user, clock
):
    deposit = deposit_received(consultation_opened, company_user)
    decision = decision_record(
        user=buyer.user,
        consultation=consultation_opened,
        lot=None,
        outcome=Outcome.AWARDED,
        deposit=deposit,
        amount=D("1000"),
        duration_months=1,
    )
    login_verified(client, company_user.user)
    assert client.get(reverse("contracts:contract_company", args=[decision.pk])).status_code == 404


def test_the_decisions_page_shows_the_holders_report_and_takes_the_counter_signature(
    client, decision, company_user, buyer, pki
):
    holder = holder_signs(decision, company_user, pki)
    login_verified(client, buyer.user)
    url = reverse("awards:decisions", args=[decision.consultation.pk])

    page = client.get(url).content.decode()
    assert "Signature électronique de l'acte d'engagement" in page
    assert "Jeanne Dupont" in page
    file_url = reverse(
        "contracts:contract_buyer_file", args=[decision.consultation.pk, decision.pk, holder.pk]
    )
    assert file_url in page
    holder_file = client.get(file_url).content
    assert holder_file == file_of(holder)

    countersigned = test_pki.pades(holder_file, pki.agent, pki, field_name="Acheteur")
    response = client.post(
        reverse("contracts:contract_buyer", args=[decision.consultation.pk, decision.pk]),
        {f"contract-{decision.pk}-file": SimpleUploadedFile("contresigne.pdf", countersigned)},
        follow=True,
    )
    page = response.content.decode()
    assert "le marché est signé" in page
    assert "Envoyer la notification" in page
    decision.refresh_from_db()
    assert decision.signed_at is not None


def test_a_refused_counter_signature_is_shown_on_its_page(client, decision, company_user, buyer, pki):
    holder_signs(decision, company_user, pki)
    login_verified(client, buyer.user)
    response = client.post(
        reverse("contracts:contract_buyer", args=[decision.consultation.pk, decision.pk]),
        {f"contract-{decision.pk}-file": SimpleUploadedFile("x.pdf", BytesIO(b"%PDF-1.7 rien").read())},
    )
    assert response.status_code == 400
    assert "ne contient pas la contresignature" in response.content.decode()


def test_another_organisation_does_not_see_the_files(client, decision, company_user, pki):
    from tests.factories import AgentFactory

    holder = holder_signs(decision, company_user, pki)
    stranger = AgentFactory(can_decide=True)
    login_verified(client, stranger.user)
    url = reverse("contracts:contract_buyer_file", args=[decision.consultation.pk, decision.pk, holder.pk])
    assert client.get(url).status_code == 404
