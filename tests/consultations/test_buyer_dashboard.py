"""The buyer's « Tableau de bord »: the organisation's consultations, by state, reference and keyword."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from consultations.models import State
from consultations.search import search_refresh
from tests.factories import ConsultationFactory, consultation_online

DASHBOARD = reverse("consultations:buyer_dashboard")


@pytest.fixture
def logged_buyer(client, buyer):
    client.force_login(buyer.user)
    return buyer


def _draft(buyer, **kwargs):
    consultation = ConsultationFactory(organisation=buyer.organisation, created_by=buyer.user, **kwargs)
    # What the services do on every save: keep the consultation findable.
    search_refresh(consultation)
    return consultation


def test_the_dashboard_lists_the_organisations_consultations_and_not_the_others(
    client, logged_buyer, other_organisation, clock
):
    # GIVEN a draft of mine and a consultation of another organisation
    mine = _draft(logged_buyer, reference="2026-MINE", title="Réfection de la toiture")
    ConsultationFactory(organisation=other_organisation, reference="2026-OTHER")

    # WHEN I open the dashboard
    response = client.get(DASHBOARD)

    # THEN I see mine, with its state written out and a link to its details, and not the other
    page = response.content.decode()
    assert response.status_code == 200
    assert "2026-MINE" in page and "Réfection de la toiture" in page
    assert "2026-OTHER" not in page
    assert "Brouillon" in page
    assert reverse("consultations:buyer_detail", args=[mine.pk]) in page
    assert "Détails" in page


def test_the_deadline_is_shown_in_paris_time_to_the_second(client, logged_buyer, clock):
    from datetime import datetime
    from zoneinfo import ZoneInfo

    deadline = datetime(2026, 4, 10, 10, 0, 5, tzinfo=ZoneInfo("UTC"))  # 12:00:05 in Paris (CEST)
    _draft(logged_buyer, deadline=deadline)

    page = client.get(DASHBOARD).content.decode()

    assert "10/04/2026 12:00:05" in page


def test_filters_by_state_reference_and_keyword(client, logged_buyer, clock):
    # GIVEN two drafts and one online consultation
    _draft(logged_buyer, reference="2026-VOIRIE-01", title="Réfection de voirie")
    _draft(logged_buyer, reference="2026-ECOLE-02", title="Élagage des arbres de l'école")
    consultation_online(organisation=logged_buyer.organisation, reference="2026-ECOLE-03", title="Cantine")

    # WHEN filtering by state
    by_state = client.get(DASHBOARD, {"state": State.ONLINE}).content.decode()
    # THEN only the online one
    assert "2026-ECOLE-03" in by_state
    assert "2026-VOIRIE-01" not in by_state and "2026-ECOLE-02" not in by_state

    # WHEN filtering by a part of the reference
    by_reference = client.get(DASHBOARD, {"reference": "ecole"}).content.decode()
    assert "2026-ECOLE-02" in by_reference and "2026-ECOLE-03" in by_reference
    assert "2026-VOIRIE-01" not in by_reference

    # WHEN filtering by a keyword typed without its accent
    by_keyword = client.get(DASHBOARD, {"keyword": "elagage"}).content.decode()
    assert "2026-ECOLE-02" in by_keyword
    assert "2026-VOIRIE-01" not in by_keyword and "2026-ECOLE-03" not in by_keyword


def test_counts_per_state_cover_every_state(client, logged_buyer, clock):
    # GIVEN two drafts, one pending validation and one online
    _draft(logged_buyer)
    _draft(logged_buyer)
    _draft(logged_buyer, state=State.PENDING_VALIDATION)
    consultation_online(organisation=logged_buyer.organisation)

    response = client.get(DASHBOARD)

    states = {item["value"]: item["count"] for item in response.context["states"]}
    assert set(states) == set(State.values)
    assert states[State.DRAFT] == 2
    assert states[State.PENDING_VALIDATION] == 1
    assert states[State.ONLINE] == 1
    assert states[State.CANCELLED] == 0
    page = response.content.decode()
    assert 'Brouillon <span class="count">(2)</span>' in page
    assert 'Tous les états <span class="count">(4)</span>' in page


def test_an_unknown_state_in_the_address_is_a_form_error_not_a_crash(client, logged_buyer, clock):
    _draft(logged_buyer, reference="2026-X")

    response = client.get(DASHBOARD, {"state": "n-importe-quoi"})

    assert response.status_code == 200
    assert "state" in response.context["form"].errors


def _queries_for(client) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(DASHBOARD).status_code == 200
    return len(queries)


def test_the_number_of_queries_does_not_grow_with_the_number_of_consultations(
    client, logged_buyer, clock, django_assert_max_num_queries
):
    # GIVEN 3 consultations: measure
    for _ in range(3):
        _draft(logged_buyer, dce=False, requested=False)
    with_three = _queries_for(client)

    # WHEN there are 30
    for _ in range(27):
        _draft(logged_buyer, dce=False, requested=False)

    # THEN the dashboard costs the same
    with django_assert_max_num_queries(with_three):
        response = client.get(DASHBOARD)
    assert len(response.context["page"].object_list) == 30


def test_the_create_button_is_for_agents_who_may_create(client, buyer, validator, clock):
    client.force_login(buyer.user)
    assert "Créer une consultation" in client.get(DASHBOARD).content.decode()

    client.force_login(validator.user)
    assert "Créer une consultation" not in client.get(DASHBOARD).content.decode()


def test_the_buyer_space_leads_to_the_dashboard(client, logged_buyer):
    page = client.get(reverse("accounts:buyer_space")).content.decode()

    assert DASHBOARD in page
    assert reverse("consultations:buyer_create") in page
