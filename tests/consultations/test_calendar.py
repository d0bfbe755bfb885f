"""« Jours ouvrés » before the bid deadline: Monday to Friday, without the public holidays of
the organisation's place (Alsace-Moselle and overseas have their own)."""

from datetime import datetime

import pytest
from django.urls import reverse

from consultations.calendar import business_days_before, is_business_day
from tests.factories import PARIS, ConsultationFactory, OrganisationFactory


def paris(*args) -> datetime:
    return datetime(*args, tzinfo=PARIS)


@pytest.mark.parametrize(
    ("deadline", "days", "expected", "why"),
    [
        (paris(2026, 3, 20, 12), 6, paris(2026, 3, 12, 12), "a plain fortnight: the weekend is skipped"),
        (paris(2026, 4, 10, 12), 6, paris(2026, 4, 1, 12), "Easter Monday 6 April is not counted"),
        (paris(2026, 5, 11, 12), 6, paris(2026, 4, 29, 12), "1 May and 8 May (Fridays) are not counted"),
        (paris(2026, 5, 19, 12), 6, paris(2026, 5, 7, 12), "Ascension Thursday 14 May and 8 May"),
        (paris(2026, 5, 26, 17, 30), 2, paris(2026, 5, 21, 17, 30), "Whit Monday 25 May"),
        (paris(2026, 7, 16, 9), 3, paris(2026, 7, 10, 9), "14 July"),
        (paris(2025, 12, 30, 10), 3, paris(2025, 12, 24, 10), "Christmas; 26 December is worked in Rennes"),
    ],
)
def test_business_days_before_a_deadline_in_ille_et_vilaine(deadline, days, expected, why):
    assert business_days_before(deadline, days, "35") == expected, why


@pytest.mark.parametrize("department", ["67", "68", "57"])
def test_alsace_moselle_does_not_count_good_friday(department):
    # Deadline Friday 10 April 2026: Easter Monday everywhere, Good Friday (3 April) in Alsace-Moselle
    deadline = paris(2026, 4, 10, 12)

    assert business_days_before(deadline, 6, "35") == paris(2026, 4, 1, 12)
    assert business_days_before(deadline, 6, department) == paris(2026, 3, 31, 12)


@pytest.mark.parametrize("department", ["67", "57"])
def test_alsace_moselle_does_not_count_26_december(department):
    deadline = paris(2025, 12, 30, 10)

    assert business_days_before(deadline, 3, department) == paris(2025, 12, 23, 10)


def test_is_business_day_by_department():
    good_friday, st_stephen = datetime(2026, 4, 3).date(), datetime(2025, 12, 26).date()

    assert is_business_day(good_friday, "35") and not is_business_day(good_friday, "67")
    assert is_business_day(st_stephen, "35") and not is_business_day(st_stephen, "57")
    assert not is_business_day(datetime(2026, 3, 7).date(), "35")  # a Saturday


def test_overseas_departments_have_their_own_holidays():
    # 22 May 2026, abolition of slavery in Martinique (a Friday); Whit Monday 25 May everywhere
    deadline = paris(2026, 5, 26, 12)

    assert business_days_before(deadline, 2, "35") == paris(2026, 5, 21, 12)
    assert business_days_before(deadline, 2, "972") == paris(2026, 5, 20, 12)


def test_the_time_of_day_is_kept_across_the_change_to_summer_time():
    # Thursday 2 April 2026 12:00 (summer time) → Wednesday 25 March 12:00 (winter time)
    result = business_days_before(paris(2026, 4, 2, 12), 6, "35")

    assert result == paris(2026, 3, 25, 12)
    assert result.astimezone(PARIS).hour == 12


def test_a_deadline_given_in_utc_is_counted_in_paris_days():
    from datetime import UTC

    # 23:30 UTC on Thursday 9 April is 01:30 on Friday 10 April in Paris
    deadline = datetime(2026, 4, 9, 23, 30, tzinfo=UTC)

    assert business_days_before(deadline, 6, "35") == paris(2026, 4, 1, 1, 30)


def test_the_consultation_uses_its_organisations_calendar(db):
    alsace = OrganisationFactory(department_code="67", postal_code="67000", city="Strasbourg")
    bretagne = OrganisationFactory(department_code="35")
    deadline = paris(2026, 4, 10, 12)

    in_alsace = ConsultationFactory(organisation=alsace, deadline=deadline, question_cutoff_days=6)
    in_bretagne = ConsultationFactory(
        organisation=bretagne, deadline=deadline, question_cutoff_days=6, modification_cutoff_days=4
    )

    assert in_alsace.question_deadline() == paris(2026, 3, 31, 12)
    assert in_bretagne.question_deadline() == paris(2026, 4, 1, 12)
    # 4 days: 9, 8, 7 April, then Friday 3 April (the 6th is Easter Monday)
    assert in_bretagne.modification_deadline() == paris(2026, 4, 3, 12)


def test_the_calendar_tab_shows_the_cut_offs_of_an_alsatian_buyer(db, client, clock):
    from tests.factories import AgentFactory

    alsace = OrganisationFactory(department_code="67", postal_code="67000", city="Strasbourg")
    agent = AgentFactory(organisation=alsace, can_create=True)
    draft = ConsultationFactory(organisation=alsace, created_by=agent.user, deadline=paris(2026, 4, 10, 12))
    client.force_login(agent.user)

    page = client.get(reverse("consultations:buyer_tab", args=[draft.pk, "calendrier"])).content.decode()

    assert "mardi 31/03/2026 12:00:00" in page  # questions and modifications: 6 business days before
    assert "département 67" in page
