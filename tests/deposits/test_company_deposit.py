"""The company's deposit page (« Répondre à la consultation »), « Mes dépôts », a deposit's
page, the backup copy and the accepted file types, through the views a company user uses."""

import html
from datetime import date, timedelta

import pytest
from django.urls import reverse

from audit.models import Event
from consultations.models import Access, ElectronicResponse, State
from deposits.models import BackupCopy, Deposit, DepositState, DepositStatus
from tests.deposits.test_tus import create, pdf_bytes, upload_http
from tests.factories import T0, consultation_online


def text(response) -> str:
    """The page as a user reads it: entities decoded, non-breaking spaces as spaces."""
    return html.unescape(response.content.decode()).replace("\xa0", " ")


def page_url(consultation) -> str:
    return reverse("deposits:company_deposit", args=[consultation.pk])


@pytest.fixture
def company_client(client, company_user):
    client.force_login(company_user.user)
    return client


@pytest.fixture
def started(company_client, consultation):
    """The company pressed « Répondre à la consultation »: its draft deposit."""
    response = company_client.post(page_url(consultation))
    assert response.status_code == 302
    return Deposit.objects.get(consultation=consultation, state=DepositState.DRAFT)


# --- Who may see what ------------------------------------------------------------------------


def test_a_visitor_is_sent_to_the_login_page(client, consultation):
    response = client.get(page_url(consultation))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


def test_an_agent_may_not_deposit(client, buyer, consultation):
    client.force_login(buyer.user)
    assert client.get(page_url(consultation)).status_code == 403
    assert client.post(page_url(consultation)).status_code == 403
    assert not Deposit.objects.exists()


def test_another_companys_deposit_is_not_found(client, other_company_user, started):
    client.force_login(other_company_user.user)
    for name in ("company_deposit_detail",):
        assert client.get(reverse(f"deposits:{name}", args=[started.pk])).status_code == 404
    for name in ("company_response", "company_validate"):
        response = client.post(reverse(f"deposits:{name}", args=[started.pk]), {"conditions": "on"})
        assert response.status_code == 404
    assert (
        client.get(reverse("deposits:company_deposits")).content.decode().count(f"Pli n° {started.pk}") == 0
    )
    started.refresh_from_db()
    assert started.is_draft


def test_a_restricted_consultation_is_answered_only_after_its_access_code(company_client, consultation):
    consultation.access = Access.RESTRICTED
    consultation.access_code = "zLQJZV3H"
    consultation.save()
    # WHEN the company tries to answer without the code
    response = company_client.post(page_url(consultation))
    # THEN it is sent back to the consultation's page to type it, and nothing starts
    assert response.status_code == 302 and response["Location"] == reverse(
        "consultations:detail", args=[consultation.pk]
    )
    assert not Deposit.objects.exists()
    # WHEN it gives the code
    company_client.post(reverse("consultations:access", args=[consultation.pk]), {"code": "zLQJZV3H"})
    # THEN it may answer
    assert company_client.post(page_url(consultation)).status_code == 302
    assert Deposit.objects.filter(consultation=consultation).exists()


def test_a_draft_consultation_is_not_found(company_client, buyer, clock):
    from tests.factories import ConsultationFactory

    draft = ConsultationFactory(organisation=buyer.organisation, created_by=buyer.user)
    assert company_client.get(page_url(draft)).status_code == 404


# --- The public page's button --------------------------------------------------------------


def test_the_consultation_page_offers_to_answer_to_company_users_only_while_open(
    client, company_user, consultation, clock
):
    detail = reverse("consultations:detail", args=[consultation.pk])
    # A visitor is told to log in
    assert "connectez-vous avec le compte de votre entreprise" in text(client.get(detail))
    client.force_login(company_user.user)
    page = text(client.get(detail))
    assert f'action="{page_url(consultation)}"' in page and "Répondre à la consultation" in page
    # Not when the responses are on paper only
    consultation.electronic_response = ElectronicResponse.FORBIDDEN
    consultation.save()
    assert "Répondre à la consultation" not in text(client.get(detail))
    # Not once the deadline passed
    consultation.electronic_response = ElectronicResponse.MANDATORY
    consultation.save()
    clock.set(consultation.deadline)
    assert "Répondre à la consultation" not in text(client.get(detail))


def test_the_company_space_links_to_my_deposits_and_the_practice(company_client):
    page = text(company_client.get(reverse("accounts:company_space")))
    assert reverse("deposits:company_deposits") in page and "Mes dépôts" in page
    assert reverse("deposits:company_practice") in page and "S'entraîner au dépôt" in page


# --- The deposit page ----------------------------------------------------------------------


def test_the_page_lists_the_envelopes_with_the_requested_documents_and_the_accepted_types(
    company_client, consultation, started
):
    page = text(company_client.get(page_url(consultation)))
    assert "Enveloppe de candidature" in page and "Enveloppe d'offre" in page
    # The buyer's label for the requested document, with its file input
    assert "Acte d'engagement" in page
    assert f'data-deposit="{started.pk}"' in page and 'data-endpoint="/depots/tus/"' in page
    # The platform's list of formats, shown and given to the file inputs
    assert ".odt" in page and ".dwg" in page
    assert 'accept=".doc,.docx,.dwg,.dxf,' in page
    assert "vendor/tus-js-client-4.3.1/tus.min.js" in page and "js/deposit.js" in page


def test_a_consultation_accepting_only_pdf_refuses_another_type_with_its_list(
    company_client, consultation, started
):
    # GIVEN a consultation whose modalities accept PDF only
    consultation.accepted_extensions = ["pdf"]
    consultation.save()
    # THEN the page says so and the inputs accept only PDF
    page = text(company_client.get(page_url(consultation)))
    assert 'accept=".pdf"' in page and ".docx" not in page
    # AND a text file is refused at creation with the consultation's list
    response = create(company_client, started, "note.txt", 100)
    assert response.status_code == 415
    assert (
        "Le type de fichier « .txt » n'est pas accepté (formats acceptés : .pdf)" in response.content.decode()
    )
    # while a PDF passes
    assert create(company_client, started, "offre.pdf", 100).status_code == 201


def test_the_platform_list_accepts_a_text_file(company_client, started):
    assert create(company_client, started, "note.txt", 100).status_code == 201


def test_a_file_is_removed_from_the_draft_with_the_remove_button(company_client, consultation, started):
    deposit_file = upload_http(company_client, started, "offre.pdf", pdf_bytes(3000))
    url = reverse("deposits:company_file_remove", args=[started.pk, deposit_file.pk])
    response = company_client.post(url, follow=True)
    assert "Le fichier « offre.pdf » est retiré du pli." in text(response)
    assert not started.envelopes.filter(files__isnull=False).exists()


# --- « Valider » ---------------------------------------------------------------------------


def test_validating_requires_the_conditions_of_use(company_client, consultation, started):
    upload_http(company_client, started, "offre.pdf", pdf_bytes(3000))
    response = company_client.post(reverse("deposits:company_validate", args=[started.pk]), {})
    assert response.status_code == 200
    assert "Cochez la case d'acceptation des conditions d'utilisation" in text(response)
    started.refresh_from_db()
    assert started.is_draft and started.conditions_accepted_at is None


def test_validated_on_time_the_page_says_at_once_when_it_was_received(
    company_client, consultation, started, clock
):
    upload_http(company_client, started, "offre.pdf", pdf_bytes(3000))
    clock.set(T0 + timedelta(hours=5, minutes=5, seconds=9))
    response = company_client.post(
        reverse("deposits:company_validate", args=[started.pk]), {"conditions": "on"}, follow=True
    )
    assert response.redirect_chain[-1][0] == reverse("deposits:company_deposit_detail", args=[started.pk])
    assert "Votre dépôt a bien été reçu le 02/03/2026 à 14:05:09" in text(response)
    started.refresh_from_db()
    assert started.status == DepositStatus.ON_TIME
    assert started.conditions_accepted_at == started.received_at


def test_validated_late_the_page_says_it_is_kept_marked_late_and_not_opened(
    company_client, consultation, started, clock
):
    upload_http(company_client, started, "offre.pdf", pdf_bytes(3000))
    clock.set(consultation.deadline + timedelta(seconds=1))
    response = company_client.post(
        reverse("deposits:company_validate", args=[started.pk]), {"conditions": "on"}, follow=True
    )
    page = text(response)
    assert "après la date limite de remise des plis" in page
    assert "conservé et marqué hors délai" in page and "ne sera pas ouvert" in page
    assert "Votre dépôt a bien été reçu" not in page
    started.refresh_from_db()
    assert started.status == DepositStatus.LATE


def test_the_page_warns_once_the_deadline_passed_that_a_deposit_will_be_late(
    company_client, consultation, started, clock
):
    clock.set(consultation.deadline + timedelta(minutes=1))
    assert "un pli validé maintenant sera conservé mais marqué hors délai" in text(
        company_client.get(page_url(consultation))
    )


def test_a_closed_consultation_takes_no_new_deposit_and_says_why(company_client, consultation, clock):
    consultation.state = State.CLOSED
    consultation.save()
    response = company_client.post(page_url(consultation), follow=True)
    assert "Cette consultation ne reçoit pas de plis : elle n'est pas en ligne." in text(response)
    assert not Deposit.objects.exists()


# --- « Mes dépôts » and a deposit's page ---------------------------------------------------


def test_my_deposits_and_the_deposits_page_show_files_sizes_hashes_status_and_antivirus(
    company_client, consultation, started, clock
):
    deposit_file = upload_http(company_client, started, "Mémoire technique.pdf", pdf_bytes(5000))
    company_client.post(reverse("deposits:company_validate", args=[started.pk]), {"conditions": "on"})
    listing = text(company_client.get(reverse("deposits:company_deposits")))
    assert f"Pli n° {started.pk}" in listing and consultation.reference in listing
    assert "Reçu dans les délais" in listing and "02/03/2026 09:00:00" in listing
    detail = text(company_client.get(reverse("deposits:company_deposit_detail", args=[started.pk])))
    assert "Mémoire technique.pdf" in detail and "4,9 Kio" in detail
    assert deposit_file.sha256 in detail
    assert "Non analysé (antivirus non configuré)" in detail or "Aucun virus détecté" in detail
    assert "Reçu dans les délais" in detail


def test_a_draft_is_listed_as_in_preparation(company_client, started):
    listing = text(company_client.get(reverse("deposits:company_deposits")))
    assert "En préparation (non validé)" in listing


def test_a_superseded_deposit_says_so(company_client, consultation, started, clock):
    upload_http(company_client, started, "offre.pdf", pdf_bytes(3000))
    company_client.post(reverse("deposits:company_validate", args=[started.pk]), {"conditions": "on"})
    company_client.post(page_url(consultation))
    second = Deposit.objects.get(consultation=consultation, state=DepositState.DRAFT)
    upload_http(company_client, second, "offre.pdf", pdf_bytes(4000))
    clock.advance(minutes=10)
    company_client.post(reverse("deposits:company_validate", args=[second.pk]), {"conditions": "on"})
    page = text(company_client.get(reverse("deposits:company_deposit_detail", args=[started.pk])))
    assert "Remplacé par un dépôt ultérieur" in page


# --- Backup copy ---------------------------------------------------------------------------


def test_a_backup_copy_is_declared_and_shown_on_the_page(company_client, company_user, consultation, clock):
    url = reverse("deposits:company_backup_copy", args=[consultation.pk])
    response = company_client.post(
        url,
        {"sent_on": "2026-03-02", "medium": "Clé USB", "carrier": "Lettre recommandée", "comment": ""},
        follow=True,
    )
    page = text(response)
    assert "Votre copie de sauvegarde est déclarée" in page
    assert "Copie envoyée le 02/03/2026 sur Clé USB (Lettre recommandée)" in page
    backup = BackupCopy.objects.get()
    assert (backup.company, backup.consultation, backup.sent_on) == (
        company_user.company,
        consultation,
        date(2026, 3, 2),
    )
    assert Event.objects.filter(action="deposit.backup_copy_declared").exists()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"sent_on": "2026-03-09", "medium": "DVD"}, "La date d'envoi ne peut pas être dans le futur."),
        ({"sent_on": "2026-03-02", "medium": ""}, "Ce champ est obligatoire."),
        ({"sent_on": "", "medium": "DVD"}, "Ce champ est obligatoire."),
    ],
)
def test_a_backup_copy_declaration_with_a_mistake_says_what_to_fix(
    company_client, consultation, clock, data, message
):
    response = company_client.post(reverse("deposits:company_backup_copy", args=[consultation.pk]), data)
    assert response.status_code == 200
    assert message in text(response)
    assert not BackupCopy.objects.exists()


# --- The buyer's modalities ----------------------------------------------------------------


def test_the_buyer_chooses_the_accepted_file_types_in_the_modalities_tab(client, buyer, clock):
    from tests.consultations.test_buyer_tabs import modalities_data, tab_url
    from tests.factories import ConsultationFactory

    draft = ConsultationFactory(organisation=buyer.organisation, created_by=buyer.user)
    client.force_login(buyer.user)
    page = text(client.get(tab_url(draft, "modalites")))
    assert "Formats de fichiers acceptés dans les plis" in page
    client.post(tab_url(draft, "modalites"), modalities_data(accepted_extensions=["pdf", "zip"]))
    draft.refresh_from_db()
    assert draft.accepted_extensions == ["pdf", "zip"]
    # Not choosing any keeps the platform's list
    client.post(tab_url(draft, "modalites"), modalities_data())
    draft.refresh_from_db()
    assert draft.accepted_extensions == []


def test_a_second_consultation_is_answered_separately(
    company_client, buyer, company_user, consultation, started, clock
):
    other = consultation_online(organisation=buyer.organisation, created_by=buyer.user)
    company_client.post(page_url(other))
    assert Deposit.objects.filter(company=company_user.company, state=DepositState.DRAFT).count() == 2


def test_once_sealed_the_deposits_page_offers_the_receipt(
    company_client, consultation, started, clock, django_capture_on_commit_callbacks
):
    upload_http(company_client, started, "offre.pdf", pdf_bytes(3000))
    detail = reverse("deposits:company_deposit_detail", args=[started.pk])
    receipt = reverse("deposits:company_receipt", args=[started.pk])
    # The sealing runs after the commit (in the worker; here, at once)
    with django_capture_on_commit_callbacks(execute=True):
        company_client.post(reverse("deposits:company_validate", args=[started.pk]), {"conditions": "on"})
    page = text(company_client.get(detail))
    assert "Télécharger l'accusé de réception" in page and f'href="{receipt}"' in page
