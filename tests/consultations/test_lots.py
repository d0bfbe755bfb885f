"""Lots of a draft: « Sans lots » or several lots, each with number, title, description,
estimated value and CPV; two lots never share a number."""

from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from audit.models import Event
from consultations.errors import ConsultationError
from consultations.models import Lot, State
from consultations.services.lots import lot_delete, lot_save
from tests.factories import ConsultationFactory, LotFactory


@pytest.fixture
def draft(buyer):
    return ConsultationFactory(organisation=buyer.organisation, created_by=buyer.user)


@pytest.fixture
def lots_url(client, buyer, draft):
    client.force_login(buyer.user)
    return reverse("consultations:buyer_tab", args=[draft.pk, "lots"])


# --- Services -------------------------------------------------------------------------------------


def test_lot_save_creates_a_lot_keeps_it_findable_and_audits_it(draft, buyer):
    lot = lot_save(
        consultation=draft,
        user=buyer.user,
        number=1,
        title="Charpente",
        description="Charpente bois",
        estimated_value=Decimal("120000"),
        cpv_code="45261000-4",
    )

    assert Lot.objects.get(pk=lot.pk).title == "Charpente"
    draft.refresh_from_db()
    assert "charpente" in draft.search_text
    event = Event.objects.get(action="lot.created", target_id=str(draft.pk))
    assert event.data["number"] == 1


def test_lot_save_refuses_a_number_already_used_with_a_precise_message(draft, buyer):
    LotFactory(consultation=draft, number=2, title="Couverture")

    with pytest.raises(ValidationError) as raised:
        lot_save(consultation=draft, user=buyer.user, number=2, title="Zinguerie")

    assert raised.value.message_dict["number"] == [
        "Le lot n° 2 existe déjà dans cette consultation : choisissez un autre numéro."
    ]
    assert draft.lots.count() == 1


def test_lot_save_changes_a_lot_and_records_what_changed(draft, buyer):
    lot = LotFactory(consultation=draft, number=1, title="Ancien intitulé")

    lot_save(consultation=draft, user=buyer.user, lot=lot, number=1, title="Nouvel intitulé")

    lot.refresh_from_db()
    assert lot.title == "Nouvel intitulé"
    assert Event.objects.get(action="lot.updated").data["fields"] == ["title"]


def test_lot_save_checks_the_cpv_code(draft, buyer):
    with pytest.raises(ValidationError) as raised:
        lot_save(consultation=draft, user=buyer.user, number=1, title="Lot", cpv_code="45000000-8")

    assert "cpv_code" in raised.value.message_dict


def test_lots_of_a_consultation_no_longer_draft_cannot_change(draft, buyer):
    lot = LotFactory(consultation=draft, number=1)
    draft.state = State.PENDING_VALIDATION
    draft.save()

    with pytest.raises(ConsultationError):
        lot_save(consultation=draft, user=buyer.user, number=2, title="Nouveau")
    with pytest.raises(ConsultationError):
        lot_delete(lot=lot, user=buyer.user)
    assert draft.lots.count() == 1


def test_an_agent_without_the_habilitation_cannot_add_a_lot(draft, validator):
    with pytest.raises(PermissionDenied):
        lot_save(consultation=draft, user=validator.user, number=1, title="Lot")


def test_lot_delete_removes_it_and_audits_it(draft, buyer):
    lot = LotFactory(consultation=draft, number=3, title="Peinture")

    lot_delete(lot=lot, user=buyer.user)

    assert not draft.lots.exists()
    assert Event.objects.get(action="lot.deleted").data == {"number": 3, "title": "Peinture"}


# --- The « Lots » tab -------------------------------------------------------------------------------


def test_without_lots_the_tab_says_so(client, lots_url):
    page = client.get(lots_url).content.decode()

    assert "Sans lots" in page
    assert 'value="1"' in page  # the next number is proposed


def test_adding_two_lots_through_the_tab(client, draft, lots_url):
    client.post(lots_url, {"number": "1", "title": "Gros œuvre", "estimated_value": "150000", "next": "stay"})
    response = client.post(
        lots_url,
        {"number": "2", "title": "Couverture", "cpv_code": "45261000-4", "next": "stay"},
        follow=True,
    )

    assert list(draft.lots.values_list("number", "title")) == [(1, "Gros œuvre"), (2, "Couverture")]
    page = response.content.decode()
    assert "Gros œuvre" in page and "Couverture" in page
    assert "Sans lots" not in page


def test_a_duplicate_lot_number_is_refused_on_the_number_field(client, draft, lots_url):
    LotFactory(consultation=draft, number=1, title="Gros œuvre")

    response = client.post(lots_url, {"number": "1", "title": "Doublon", "next": "stay"})

    assert response.status_code == 200
    assert response.context["form"].errors["number"] == [
        "Le lot n° 1 existe déjà dans cette consultation : choisissez un autre numéro."
    ]
    assert list(draft.lots.values_list("title", flat=True)) == ["Gros œuvre"]


def test_a_lot_with_an_invalid_cpv_is_refused_on_the_field(client, draft, lots_url):
    response = client.post(lots_url, {"number": "1", "title": "Lot", "cpv_code": "4500", "next": "stay"})

    assert "huit chiffres" in response.context["form"].errors["cpv_code"][0]
    assert not draft.lots.exists()


def test_lot_number_zero_is_refused(client, draft, lots_url):
    response = client.post(lots_url, {"number": "0", "title": "Lot", "next": "stay"})

    assert "number" in response.context["form"].errors


def test_editing_a_lot_keeps_its_number_and_refuses_anothers(client, draft, lots_url):
    first = LotFactory(consultation=draft, number=1, title="Gros œuvre")
    LotFactory(consultation=draft, number=2, title="Couverture")
    edit_url = reverse("consultations:buyer_lot_edit", args=[draft.pk, first.pk])

    kept = client.post(edit_url, {"number": "1", "title": "Gros œuvre et maçonnerie", "next": "stay"})
    taken = client.post(edit_url, {"number": "2", "title": "Gros œuvre", "next": "stay"})

    assert kept.status_code == 302 and kept["Location"] == lots_url
    assert "number" in taken.context["form"].errors
    first.refresh_from_db()
    assert (first.number, first.title) == (1, "Gros œuvre et maçonnerie")


def test_deleting_a_lot_through_the_tab(client, draft, lots_url):
    lot = LotFactory(consultation=draft, number=1)

    response = client.post(reverse("consultations:buyer_lot_delete", args=[draft.pk, lot.pk]))

    assert response.status_code == 302 and response["Location"] == lots_url
    assert not draft.lots.exists()


def test_deleting_needs_a_post(client, draft, lots_url):
    lot = LotFactory(consultation=draft, number=1)

    response = client.get(reverse("consultations:buyer_lot_delete", args=[draft.pk, lot.pk]))

    assert response.status_code == 405
    assert draft.lots.exists()


def test_a_lot_of_another_consultation_is_not_found(client, buyer, draft, lots_url):
    other = LotFactory(consultation=ConsultationFactory(organisation=buyer.organisation), number=1)

    response = client.post(reverse("consultations:buyer_lot_delete", args=[draft.pk, other.pk]))

    assert response.status_code == 404
    assert Lot.objects.filter(pk=other.pk).exists()
