"""The essential data (DECP) of an awarded contract: the record, its validation against the
official schema, the publication and the modifications; the agent's screen."""

import json
from datetime import timedelta
from decimal import Decimal as D
from pathlib import Path

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse
from jsonschema import Draft7Validator

from audit.models import Event
from awards import decp
from awards.models import ContractModification, Decision, EssentialData, Outcome
from consultations.models import ContractType
from deposits.models import ConsortiumKind, Deposit, DepositStatus
from messaging.models import Kind
from messaging.services.sending import message_read, message_send
from tests.awards.conftest import consultation_opened_make, deposit_received
from tests.conftest import login_verified
from tests.factories import AgentFactory, CompanyUserFactory, siret_from

SCHEMA = json.loads((Path(decp.__file__).parent / "schemas" / "schema_decp_v2.0.3.json").read_text())
PARTNER_SIRET = siret_from(77000001)

# Everything the agent adds for a complete record.
COMPLEMENTS = {
    "ccag": "Travaux",
    "formePrix": "Forfaitaire",
    "typesPrix": ["Définitif révisable"],
    "techniques": ["Sans objet"],
    "modalitesExecution": ["Tranches"],
    "marcheInnovant": False,
    "attributionAvance": True,
    "tauxAvance": D("0.05"),
    "sousTraitanceDeclaree": False,
    "considerationsSociales": ["Clause sociale"],
    "considerationsEnvironnementales": ["Pas de considération environnementale"],
}


def awarded(consultation, buyer, winner_user, clock, *, deposit=None, lot=None, notified=True, members=True):
    """An awarded decision (created directly) whose notification the winner read, or not."""
    if deposit is None:
        deposit = deposit_received(
            consultation,
            winner_user,
            lots=[lot] if lot else (),
            members=[(PARTNER_SIRET, "Charpentes du Sud")] if members else (),
        )
        if members:
            Deposit.objects.filter(pk=deposit.pk).update(consortium_kind=ConsortiumKind.JOINT_AND_SEVERAL)
            deposit.refresh_from_db()
    decision = Decision.objects.create(
        consultation=consultation,
        lot=lot,
        outcome=Outcome.AWARDED,
        deposit=deposit,
        amount=D("250000.00"),
        duration_months=24,
        decided_at=clock(),
        decided_by=buyer.user,
    )
    [message] = message_send(
        user=buyer.user,
        consultation=consultation,
        companies=[deposit.company],
        kind=Kind.NOTIFICATION,
        subject="Notification du marché",
        body="Le marché vous est notifié ; l'acte d'engagement signé est joint.",
    )
    Decision.objects.filter(pk=decision.pk).update(notification=message)
    if notified:
        clock.advance(days=2)
        message_read(user=winner_user.user, message=message)
    decision.refresh_from_db()
    return decision


def published(decision, buyer, complements=COMPLEMENTS):
    decp.complements_save(user=buyer.user, decision=decision, values=complements)
    return decp.decp_publish(user=buyer.user, essential_data=EssentialData.objects.get(decision=decision))


@pytest.fixture
def consultation(buyer, clock):
    return consultation_opened_make(buyer, clock)


@pytest.fixture
def decision(consultation, buyer, company_user, other_company_user, clock):
    # Two offers on time (the winner is a consortium), one late that does not count.
    deposit_received(consultation, other_company_user)
    deposit_received(consultation, CompanyUserFactory(), status=DepositStatus.LATE)
    return awarded(consultation, buyer, company_user, clock)


def test_a_consortium_contract_with_a_modification_is_valid_against_the_official_schema(
    decision, consultation, buyer, company_user, clock
):
    # GIVEN the contract notified to a consortium, whose winner read the notification
    read_on = decision.notification.first_read_at.date()
    # WHEN the agent completes and publishes its essential data, then a modification
    data = published(decision, buyer)
    clock.advance(days=40)
    decp.modification_record(
        user=buyer.user,
        essential_data=data,
        notified_on=(clock() - timedelta(days=1)).date(),
        object="Avenant n° 1 : travaux supplémentaires de zinguerie",
        amount=D("262500.50"),
        duration_months=27,
    )
    # THEN the record, with its modification, is valid against the schema's Draft 7
    record = decp.published_record(EssentialData.objects.get(pk=data.pk))
    document = {"marches": {"marche": [record]}}
    assert list(Draft7Validator(SCHEMA).iter_errors(document)) == []
    # and says what the consultation, the decision and the buyer say
    organisation = consultation.organisation
    year_and_reference = consultation.reference.replace("-", "")
    assert record["id"] == year_and_reference
    assert record["acheteur"] == {"id": organisation.siret}
    assert record["titulaires"] == [
        {"titulaire": {"typeIdentifiant": "SIRET", "id": company_user.company.siret}},
        {"titulaire": {"typeIdentifiant": "SIRET", "id": PARTNER_SIRET}},
    ]
    assert record["typeGroupementOperateurs"] == "Solidaire"
    assert record["offresRecues"] == 2
    assert (record["montant"], record["dureeMois"]) == (250000, 24)
    assert record["dateNotification"] == read_on.isoformat()
    assert record["nature"] == "Marché"
    assert record["procedure"] == "Procédure adaptée"
    assert record["codeCPV"] == "45261000-4"
    assert record["lieuExecution"] == {"code": "35", "typeCode": "Code département"}
    assert record["tauxAvance"] == 0.05
    assert record["modifications"] == [
        {
            "modification": {
                "id": 1,
                "dateNotificationModification": (clock() - timedelta(days=1)).date().isoformat(),
                "datePublicationDonneesModification": clock().date().isoformat(),
                "dureeMois": 27,
                "montant": 262500.5,
            }
        }
    ]
    # the publication is audited, without the amount
    event = Event.objects.get(action="awards.decp_publish")
    assert event.data == {"decision": decision.pk, "decp_id": record["id"]}


def test_publication_is_refused_in_french_with_what_is_missing(consultation, buyer, company_user, clock):
    # GIVEN a contract whose notification the winner has not read yet, without complements
    decision = awarded(consultation, buyer, company_user, clock, notified=False, members=False)
    data = decp.essential_data_for(decision)
    # WHEN the agent publishes
    with pytest.raises(decp.DecpError) as refused:
        decp.decp_publish(user=buyer.user, essential_data=data)
    # THEN the refusal names what is missing, and nothing is published
    message = refused.value.message
    assert message.startswith("Les données essentielles ne peuvent pas être publiées : il manque ")
    assert "la date de notification" in message
    assert "le CCAG" in message
    assert "la forme du prix" in message
    assert "Il manque le CCAG." in refused.value.problems
    assert not EssentialData.objects.filter(published_at__isnull=False).exists()
    # a single company needs no grouping type: the platform knows it
    assert "le type de groupement des titulaires" not in message


def test_a_complement_outside_the_schema_is_refused(decision, buyer):
    with pytest.raises(decp.DecpError) as refused:
        decp.complements_save(
            user=buyer.user,
            decision=decision,
            values={
                **COMPLEMENTS,
                "ccag": "CCAG imaginaire",
                "origineUE": D("0.2"),
                "origineFrance": D("0.5"),
            },
        )
    assert refused.value.problems == [
        "Valeur inconnue pour le CCAG : « CCAG imaginaire ».",
        "La part des produits français ne peut pas dépasser la part des produits de l'Union européenne, "
        "qui les comprend.",
    ]
    assert not EssentialData.objects.exclude(complements={}).exists()


def test_the_published_record_is_frozen(decision, buyer):
    data = published(decision, buyer)
    # a second publication and new complements are refused
    with pytest.raises(decp.DecpError, match="déjà publiées"):
        decp.decp_publish(user=buyer.user, essential_data=data)
    with pytest.raises(decp.DecpError, match="elles ne changent plus"):
        decp.complements_save(
            user=buyer.user, decision=decision, values={**COMPLEMENTS, "ccag": "Pas de CCAG"}
        )
    assert EssentialData.objects.get(pk=data.pk).record["ccag"] == "Travaux"


def test_an_agent_without_the_permission_to_decide_cannot_publish(decision, buyer, organisation):
    reader = AgentFactory(organisation=organisation, can_create=True)
    decp.complements_save(user=buyer.user, decision=decision, values=COMPLEMENTS)
    with pytest.raises(PermissionDenied):
        decp.decp_publish(user=reader.user, essential_data=EssentialData.objects.get(decision=decision))
    with pytest.raises(PermissionDenied):
        decp.complements_save(user=reader.user, decision=decision, values=COMPLEMENTS)


def test_a_modification_must_change_something_and_follow_the_publication(decision, buyer, clock):
    decp.complements_save(user=buyer.user, decision=decision, values=COMPLEMENTS)
    data = EssentialData.objects.get(decision=decision)
    with pytest.raises(decp.DecpError, match="Publiez d'abord les données essentielles"):
        decp.modification_record(
            user=buyer.user, essential_data=data, notified_on=clock().date(), amount=D("1000")
        )
    data = decp.decp_publish(user=buyer.user, essential_data=data)
    with pytest.raises(decp.DecpError) as refused:
        decp.modification_record(
            user=buyer.user,
            essential_data=data,
            notified_on=clock().date() + timedelta(days=3),
            holders=["123"],
        )
    assert refused.value.problems == [
        "SIRET invalide : 123.",
        "La date de notification de la modification ne peut pas être dans le futur.",
    ]
    with pytest.raises(decp.DecpError) as refused:
        decp.modification_record(user=buyer.user, essential_data=data, notified_on=clock().date())
    assert refused.value.problems == [
        "Indiquez le nouveau montant, la nouvelle durée ou les nouveaux titulaires."
    ]
    assert not ContractModification.objects.exists()


def test_the_identifier_stays_within_16_characters_and_unique(buyer, clock, company_user):
    consultation = consultation_opened_make(buyer, clock, lots=1)
    consultation.reference = "MARCHE-DE-TRAVAUX-ECOLE-2026"
    consultation.save(update_fields=["reference"])
    lot = consultation.lots.get()
    decision = awarded(consultation, buyer, company_user, clock, lot=lot, members=False)
    identifier = decp.decp_id(decision)
    assert identifier == f"{decision.decided_at.year}C{consultation.pk}L1"
    assert len(identifier) <= 16


# --- The agent's screen ------------------------------------------------------------------------


def screen_url(decision):
    return reverse("awards:essential_data", args=[decision.consultation_id, decision.pk])


FORM_DATA = {
    "action": "complements",
    "ccag": "Travaux",
    "formePrix": "Forfaitaire",
    "typesPrix": ["Définitif révisable"],
    "techniques": ["Sans objet"],
    "modalitesExecution": ["Tranches"],
    "marcheInnovant": "false",
    "attributionAvance": "true",
    "tauxAvance": "5",
    "sousTraitanceDeclaree": "false",
    "typeGroupementOperateurs": "Solidaire",
    "considerationsSociales": ["Clause sociale"],
    "considerationsEnvironnementales": ["Pas de considération environnementale"],
    "lieu_code": "35238",
    "lieu_type": "Code commune",
}


def test_the_agent_completes_previews_publishes_and_modifies_on_the_screen(client, decision, buyer, clock):
    login_verified(client, buyer.user)
    url = screen_url(decision)
    # GIVEN the screen: the choices come from the schema, the preview says what is missing
    page = client.get(url).content.decode()
    assert "Maitrise d&#x27;œuvre" in page
    assert "Avant de publier, il manque" in page and "le CCAG" in page
    # WHEN the agent publishes too early, the refusal is shown in French, nothing is published
    response = client.post(url, {"action": "publish"})
    assert response.status_code == 400
    assert "Les données essentielles ne peuvent pas être publiées" in response.content.decode()
    assert "<li>Il manque le CCAG.</li>" in response.content.decode()
    assert not EssentialData.objects.filter(published_at__isnull=False).exists()
    # WHEN the agent saves the complements (rate in percent) and publishes
    response = client.post(url, FORM_DATA)
    assert response.status_code == 302
    data = EssentialData.objects.get(decision=decision)
    assert data.complements["tauxAvance"] == 0.05
    assert data.complements["lieuExecution"] == {"code": "35238", "typeCode": "Code commune"}
    assert client.post(url, {"action": "publish"}).status_code == 302
    data.refresh_from_db()
    assert data.published_at is not None and data.record["ccag"] == "Travaux"
    page = client.get(url).content.decode()
    assert "Données publiées" in page and "Publier la modification" in page
    # WHEN a modification without any change is posted, the form keeps what was typed
    response = client.post(
        url, {"action": "modification", "notified_on": clock().date().isoformat(), "object": "Avenant 1"}
    )
    assert response.status_code == 400
    assert "Indiquez le nouveau montant" in response.content.decode()
    assert "Avenant 1" in response.content.decode()
    response = client.post(
        url,
        {"action": "modification", "notified_on": clock().date().isoformat(), "duration_months": "30"},
    )
    assert response.status_code == 302
    assert data.modifications.get().duration_months == 30


def test_the_screen_is_the_organisations_own(client, decision, other_organisation):
    stranger = AgentFactory(organisation=other_organisation, can_decide=True)
    login_verified(client, stranger.user)
    assert client.get(screen_url(decision)).status_code == 404


def test_an_agent_without_the_permission_reads_but_cannot_publish(client, decision, organisation):
    reader = AgentFactory(organisation=organisation, can_create=True)
    login_verified(client, reader.user)
    page = client.get(screen_url(decision)).content.decode()
    assert "Seul un agent habilité à décider" in page
    assert client.post(screen_url(decision), {"action": "publish"}).status_code == 403


def test_the_preview_is_dated_today_and_a_concession_is_not_a_marche(decision, buyer, clock):
    draft = decp.decp_build(decp.essential_data_for(decision))
    assert draft.record["datePublicationDonnees"] == clock().astimezone(decp.PARIS).date().isoformat()
    consultation = decision.consultation
    consultation.contract_type = ContractType.CONCESSION
    consultation.save(update_fields=["contract_type"])
    decp.complements_save(user=buyer.user, decision=decision, values=COMPLEMENTS)
    with pytest.raises(decp.DecpError) as refused:
        decp.decp_publish(user=buyer.user, essential_data=EssentialData.objects.get(decision=decision))
    assert refused.value.problems == [
        "Un contrat de concession publie ses données essentielles au format « contrat-concession », "
        "que la plateforme ne produit pas."
    ]
