"""The page of a consultation: everything a bidder needs, and nothing before publication."""

from datetime import timedelta

import pytest

from consultations.models import Access, Amendment, DceVersion, State
from consultations.views.public import time_left
from tests.factories import T0, ConsultationFactory, LotFactory, consultation_online, dce_file_make


def page_of(client, consultation):
    response = client.get(f"/consultations/{consultation.pk}/")
    assert response.status_code == 200
    return response.content.decode()


@pytest.fixture
def consultation(organisation):
    consultation = consultation_online(
        organisation=organisation,
        reference="2026-TX-001",
        title="Réfection de la toiture de l'école Jules Ferry",
        object="Couverture en zinc et étanchéité du bâtiment principal.",
        variants_allowed=True,
    )
    LotFactory(consultation=consultation, number=1, title="Couverture", description="Zinc à joint debout")
    LotFactory(consultation=consultation, number=2, title="Étanchéité", cpv_code="45261420-4")
    return consultation


def test_the_page_shows_the_buyer_the_object_the_lots_and_the_modalities(client, consultation, clock):
    page = page_of(client, consultation)
    for expected in [
        "Commune de Testville",
        "2026-TX-001",
        "Réfection de la toiture de l&#x27;école Jules Ferry",
        "Couverture en zinc et étanchéité du bâtiment principal.",
        "Travaux",
        "Procédure adaptée ≥ 90 k EUR HT",
        "Marché",
        "Zinc à joint debout",
        "45261420-4",
        "Étanchéité",
        "Obligatoire",  # electronic response
        "Non requise",  # signature
        "Autorisées",  # variants
        "Acte d&#x27;engagement",  # a requested document
    ]:
        assert expected in page, expected


def test_the_deadline_is_shown_in_paris_time_to_the_second_with_the_time_left(client, consultation, clock):
    # The deadline is Wednesday 1 April 2026 at 12:00, Paris summer time: 30 days and
    # 2 hours after Monday 2 March 09:00 winter time, the night of 29 March being one hour short.
    page = page_of(client, consultation)
    assert "01/04/2026 12:00:00" in page
    assert "il reste 30 jours 2 heures" in page
    assert "Questions jusqu" in page

    clock.set(consultation.deadline - timedelta(hours=2, minutes=30))
    assert "il reste 2 heures 30 minutes" in page_of(client, consultation)

    clock.set(consultation.deadline)
    assert "Date limite dépassée" in page_of(client, consultation)


@pytest.mark.parametrize(
    "left,text",
    [
        (timedelta(days=3, hours=4, minutes=59), "il reste 3 jours 4 heures"),
        (timedelta(days=1), "il reste 1 jour"),
        (timedelta(hours=1, minutes=1), "il reste 1 heure 1 minute"),
        (timedelta(minutes=5, seconds=30), "il reste 5 minutes"),
        (timedelta(seconds=59), "il reste moins d'une minute"),
        (timedelta(0), "Date limite dépassée"),
        (-timedelta(days=2), "Date limite dépassée"),
    ],
)
def test_time_left_reads_as_a_bidder_says_it(left, text):
    assert time_left(T0 + left, T0) == text


def test_the_dce_versions_and_the_amendments_are_listed_with_their_dates(client, consultation, buyer, clock):
    version_2 = DceVersion.objects.create(
        consultation=consultation, number=2, created_by=buyer.user, published_at=T0 + timedelta(days=3)
    )
    dce_file_make(version_2, "RC.pdf", b"%PDF-1.4 RC v2", is_rules=True)
    dce_file_make(version_2, "BPU.xlsx", b"bordereau des prix")
    Amendment.objects.create(
        consultation=consultation,
        created_at=T0 + timedelta(days=3),
        created_by=buyer.user,
        reason="Ajout du bordereau des prix unitaires",
        dce_version=version_2,
    )
    page = page_of(client, consultation)
    assert "Version en vigueur : version 2, publiée le 05/03/2026 09:00." in page
    assert "BPU.xlsx" in page
    assert "CCTP.pdf" not in page  # a file of version 1 only: history, not a download
    assert "Versions publiées du DCE" in page
    assert "02/03/2026 09:00" in page  # version 1
    assert "Remplacée" in page
    assert "Ajout du bordereau des prix unitaires" in page


def test_the_page_offers_the_whole_dce_and_each_file(client, consultation, clock):
    page = page_of(client, consultation)
    assert f'href="/consultations/{consultation.pk}/dce/"' in page
    for dce_file in consultation.dce_versions.get().files.all():
        assert f'href="/consultations/{consultation.pk}/dce/{dce_file.pk}/"' in page
        assert dce_file.sha256 in page
    assert "règlement de consultation" in page


@pytest.mark.parametrize("state", [State.DRAFT, State.PENDING_VALIDATION, State.SCHEDULED])
def test_a_consultation_not_yet_published_has_no_public_page(client, organisation, state, clock):
    consultation = ConsultationFactory(organisation=organisation, state=state)
    assert client.get(f"/consultations/{consultation.pk}/").status_code == 404


def test_an_unknown_consultation_is_404(client, db):
    assert client.get("/consultations/999999/").status_code == 404


def test_the_agent_of_the_buyer_does_not_see_a_draft_on_the_public_side(client, organisation, buyer):
    consultation = ConsultationFactory(organisation=organisation)
    client.force_login(buyer.user)
    assert client.get(f"/consultations/{consultation.pk}/").status_code == 404


def test_a_closed_consultation_stays_visible(client, consultation, clock):
    consultation.state = State.CLOSED
    consultation.save(update_fields=["state"])
    clock.set(consultation.deadline + timedelta(days=1))
    page = page_of(client, consultation)
    assert "Clôturée" in page
    assert "Date limite dépassée" in page


def test_a_cancelled_consultation_says_so_with_its_reason_and_offers_no_download(client, consultation, clock):
    consultation.state = State.CANCELLED
    consultation.cancelled_at = T0 + timedelta(days=4)
    consultation.cancellation_reason = "Besoin redéfini par la collectivité."
    consultation.save(update_fields=["state", "cancelled_at", "cancellation_reason"])
    page = page_of(client, consultation)
    assert "Déclarée sans suite" in page
    assert "Besoin redéfini par la collectivité." in page
    assert f"/consultations/{consultation.pk}/dce/" not in page
    assert "CCTP.pdf" not in page


def test_a_consultation_cancelled_before_publication_stays_hidden(client, organisation, clock):
    consultation = ConsultationFactory(
        organisation=organisation, state=State.CANCELLED, cancellation_reason="Abandon"
    )
    assert client.get(f"/consultations/{consultation.pk}/").status_code == 404


def test_a_restricted_consultation_shows_no_document_and_asks_for_the_code(client, organisation, clock):
    consultation = consultation_online(
        organisation=organisation, access=Access.RESTRICTED, access_code="K7P-42QZ"
    )
    page = page_of(client, consultation)
    assert "Code d&#x27;accès" in page
    assert f'action="/consultations/{consultation.pk}/acces/"' in page
    assert "CCTP.pdf" not in page
    assert f"/consultations/{consultation.pk}/dce/" not in page
    assert "K7P-42QZ" not in page


def test_the_notices_link_to_the_page_it_serves(client, consultation, clock):
    assert f'href="/consultations/{consultation.pk}/"' in client.get("/annonces/").content.decode()
