"""The « Détails » page: every data of the consultation, « Mes actions », the registers
and the history from the audit log."""

import html
from datetime import datetime

import pytest
from django.urls import reverse

from audit.services import event_record
from consultations.models import Access, State
from consultations.services.lifecycle import (
    consultation_approve,
    consultation_update,
    consultation_validation_request,
)
from consultations.services.lots import lot_save
from tests.factories import PARIS, ConsultationFactory, LotFactory, consultation_online


def text(response) -> str:
    return html.unescape(response.content.decode()).replace("\xa0", " ")


@pytest.fixture
def draft(buyer):
    return ConsultationFactory(
        organisation=buyer.organisation,
        created_by=buyer.user,
        reference="2026-DET-01",
        title="Réfection de la toiture",
        deadline=datetime(2026, 4, 10, 12, 0, 30, tzinfo=PARIS),
        access=Access.RESTRICTED,
        access_code="zLQJZV3H",
        cpv_additional=["45261000-4"],
    )


def detail_url(consultation):
    return reverse("consultations:buyer_detail", args=[consultation.pk])


def test_the_details_show_every_group_of_data(client, buyer, draft, clock):
    LotFactory(consultation=draft, number=1, title="Charpente")
    LotFactory(consultation=draft, number=2, title="Couverture")
    client.force_login(buyer.user)

    page = text(client.get(detail_url(draft)))

    for heading in (
        "Identification",
        "Pièces et modalités d'accès",
        "Lots",
        "Modalités",
        "Mes actions",
        "Registres",
        "Historique",
    ):
        assert f">{heading}</h2>" in page, heading
    assert "2026-DET-01" in page and "Réfection de la toiture" in page
    assert "Marché" in page and "Procédure adaptée ≥ 90 k EUR HT" in page
    assert "45261000-4" in page
    assert "zLQJZV3H" in page and "Phase d'accès restreint" in page
    assert "Charpente" in page and "Couverture" in page
    assert "RC.pdf" in page and "CCTP.pdf" in page and "DCE version 1" in page
    assert "Acte d'engagement" in page


def test_the_state_is_written_out_and_dates_are_in_paris_time(client, buyer, draft, clock):
    client.force_login(buyer.user)

    page = text(client.get(detail_url(draft)))

    assert 'class="state-badge state-draft">Brouillon</span>' in page
    assert "vendredi 10/04/2026 12:00:30" in page  # the deadline, to the second
    assert "mercredi 01/04/2026 12:00:30" in page  # questions: 6 business days before (Easter Monday)


def test_my_actions_follow_the_state_and_the_habilitations(client, buyer, validator, draft, clock):
    tab = reverse("consultations:buyer_tab", args=[draft.pk, "calendrier"])
    validation = reverse("consultations:buyer_validation", args=[draft.pk])

    client.force_login(buyer.user)
    page = text(client.get(detail_url(draft)))
    assert tab in page and "Demander la validation" in page

    client.force_login(validator.user)
    page = text(client.get(detail_url(draft)))
    assert tab not in page and "Demander la validation" not in page

    consultation_validation_request(consultation=draft, user=buyer.user)
    page = text(client.get(detail_url(draft)))
    assert "Valider ou renvoyer en brouillon" in page and validation in page

    client.force_login(buyer.user)
    page = text(client.get(detail_url(draft)))
    assert tab not in page
    assert "Voir la demande de validation" in page


def test_the_history_tells_every_event_with_who_and_when(client, buyer, validator, draft, clock):
    # GIVEN a draft changed, given a lot, sent for validation and approved
    consultation_update(consultation=draft, user=buyer.user, title="Réfection complète de la toiture")
    lot_save(consultation=draft, user=buyer.user, number=1, title="Charpente")
    consultation_validation_request(consultation=draft, user=buyer.user)
    consultation_approve(consultation=draft, user=validator.user, comment="Bon pour publication")
    client.force_login(buyer.user)

    # WHEN the agent reads the details
    response = client.get(detail_url(draft))

    # THEN the history lists them in order, in French, with who did what and the details
    labels = [row["label"] for row in response.context["history"]]
    assert [str(label) for label in labels] == [
        "Modification du brouillon",
        "Lot ajouté",
        "Demande de validation",
        "Validation",
    ]
    page = text(response)
    assert "Champs modifiés : intitulé" in page
    assert "Lot n° 1 — Charpente" in page
    assert "Commentaire : Bon pour publication" in page
    assert "État : En attente de validation → Mise en ligne programmée" in page
    assert validator.user.email in page and buyer.user.email in page


def test_an_unknown_action_is_shown_as_it_is(client, buyer, draft):
    event_record(action="consultation.something_new", actor=buyer.user, target=draft, data={"x": "y"})
    client.force_login(buyer.user)

    page = text(client.get(detail_url(draft)))

    assert "consultation.something_new" in page
    assert "x : y" in page


def test_history_of_other_consultations_is_not_shown(client, buyer, draft, clock):
    other = ConsultationFactory(organisation=buyer.organisation)
    consultation_update(consultation=other, user=buyer.user, title="Autre consultation modifiée")
    client.force_login(buyer.user)

    response = client.get(detail_url(draft))

    assert response.context["history"] == []


def test_an_online_consultation_shows_its_publication(client, buyer, clock):
    online = consultation_online(organisation=buyer.organisation)
    client.force_login(buyer.user)

    page = text(client.get(detail_url(online)))

    assert 'class="state-badge state-online">En ligne</span>' in page
    assert "en ligne depuis le 02/03/2026 09:00:00" in page
    assert "publiée le 02/03/2026 09:00:00" in page


def test_the_buyer_downloads_a_file_of_its_dce(client, buyer, draft):
    rules = draft.dce_versions.get(number=1).files.get(is_rules=True)
    client.force_login(buyer.user)

    response = client.get(reverse("consultations:buyer_dce_file", args=[draft.pk, rules.pk]))

    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"%PDF-1.4 reglement de consultation"
    assert 'filename="RC.pdf"' in response["Content-Disposition"]


def test_the_details_cost_a_fixed_number_of_queries(
    client, buyer, draft, clock, django_assert_max_num_queries
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.force_login(buyer.user)
    with CaptureQueriesContext(connection) as few:
        client.get(detail_url(draft))
    for number in range(1, 11):
        lot_save(consultation=draft, user=buyer.user, number=number, title=f"Lot {number}")

    with django_assert_max_num_queries(len(few)):
        assert client.get(detail_url(draft)).status_code == 200
    assert draft.state == State.DRAFT
