"""The contract signature in the system Chromium: the winner downloads the acte d'engagement,
signs it with « its own tool » (the test PKI, in test code), uploads it and sees « valide »;
the agent downloads the holder's file, counter-signs it the same way, sees the contract
signed and sends the notification."""

import concurrent.futures
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from awards.models import Decision, Outcome
from awards.services.decisions import decision_record
from awards.services.letters import letters_send
from consultations.models import Consultation, ProcedureType
from messaging.models import Kind, Message
from signatures.models import ContractParty, ContractSignature
from signatures.services import contract as contract_service
from tests.awards.conftest import consultation_opened_make, deposit_received
from tests.browser.test_accessibility import assert_no_violation
from tests.browser.test_consultation_flow import log_in, log_out
from tests.factories import AgentFactory, CompanyUserFactory, OrganisationFactory
from tests.signatures import pki as test_pki

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def downloaded(page, link_name) -> bytes:
    with page.expect_download() as info:
        page.get_by_role("link", name=re.compile(link_name)).first.click()
    with open(info.value.path(), "rb") as handle:
        return handle.read()


def sign(data: bytes, identity, pki, **kwargs) -> bytes:
    """« Its own tool »: pyHanko runs its own event loop, outside Playwright's."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(test_pki.pades, data, identity, pki, **kwargs).result()


def upload_signed(page, scope, name, data):
    scope.get_by_label(re.compile("^Acte d'engagement signé")).set_input_files(
        {"name": name, "mimeType": "application/pdf", "buffer": data}
    )


def test_the_winner_signs_the_acte_d_engagement_and_the_buyer_counter_signs_then_notifies(page, monkeypatch):
    pki = test_pki.make_pki()
    monkeypatch.setattr(
        contract_service, "_trust", lambda: {"trust_roots": pki.trust_roots, "crls": pki.crls}
    )
    organisation = OrganisationFactory(name="Commune de Signature")
    agent = AgentFactory(organisation=organisation, can_decide=True, user__email="marches@signature.fr")
    winner = CompanyUserFactory(company__name="Bâtiment Ouest", user__email="offres@batiment-ouest.fr")
    consultation = consultation_opened_make(agent)
    Consultation.objects.filter(pk=consultation.pk).update(procedure_type=ProcedureType.OPEN_TENDER)
    deposit = deposit_received(consultation, winner)
    decision = decision_record(
        user=agent.user,
        consultation=consultation,
        lot=None,
        outcome=Outcome.AWARDED,
        deposit=deposit,
        amount=Decimal("250000"),
        duration_months=24,
    )
    letters_send(user=agent.user, decision=decision, electronic=True)
    # The letters went twelve days ago: the standstill (11 days) is over.
    Decision.objects.filter(pk=decision.pk).update(
        letters_sent_at=Decision.objects.get(pk=decision.pk).letters_sent_at - timedelta(days=12)
    )

    # GIVEN the winner in its space, where the contract to sign is listed
    log_in(page, winner.user.email)
    page.goto("/entreprise/")
    page.get_by_role("link", name=re.compile(re.escape(consultation.reference))).click()
    expect(page.get_by_role("heading", name="Signature du marché", exact=True)).to_be_visible()
    assert_no_violation(page)

    # WHEN it downloads the acte d'engagement, signs it with its own tool and uploads it
    acte = downloaded(page, "Télécharger l'acte d'engagement à signer")
    assert acte.startswith(b"%PDF-")
    signed = sign(acte, pki.signer, pki)
    upload_signed(page, page, "acte-engagement-signe.pdf", signed)
    page.get_by_role("button", name="Déposer et vérifier la signature").click()

    # THEN the platform verified it: « valide », signed by Jeanne Dupont
    expect(page.get_by_text(re.compile("signature valide"))).not_to_have_count(0)
    expect(page.locator(".signature-verdict").first).to_have_text("valide")
    expect(page.get_by_text(re.compile("Jeanne Dupont")).first).to_be_visible()
    expect(
        page.get_by_text("Signé par le titulaire, en attente de la contresignature de l'acheteur")
    ).to_be_visible()
    assert_no_violation(page)
    log_out(page)

    # GIVEN the agent on the decisions page, which shows the holder's report
    log_in(page, agent.user.email)
    page.goto(f"/acheteur/consultations/{consultation.pk}/decisions/")
    block = page.locator(".contract-signature")
    expect(block.locator(".signature-verdict").first).to_have_text("valide")

    # WHEN it downloads the holder's file, counter-signs it with its own tool and uploads it
    holder_file = downloaded(page, "Télécharger le fichier signé par le titulaire")
    assert holder_file == signed
    countersigned = sign(holder_file, pki.agent, pki, field_name="Acheteur")
    upload_signed(page, block, "acte-engagement-contresigne.pdf", countersigned)
    block.get_by_role("button", name="Déposer la contresignature").click()

    # THEN the contract is signed, and the notification may go
    expect(
        page.get_by_text("Le marché est signé par le titulaire et par l'acheteur : il peut être notifié.")
    ).to_be_visible()
    assert_no_violation(page)
    decision.refresh_from_db()
    assert decision.signed_at is not None
    buyer_signature = ContractSignature.objects.get(
        decision=decision, party=ContractParty.BUYER, superseded=False
    )
    assert buyer_signature.verdict == "valid"
    page.get_by_role("button", name="Envoyer la notification").click()
    expect(page.get_by_text(re.compile("Notification envoyée le"))).to_be_visible()
    (notification,) = Message.objects.filter(kind=Kind.NOTIFICATION)
    assert notification.thread.company == winner.company
