"""The company's deposit page (« Répondre à la consultation »), « Mes dépôts », a deposit's
page, the backup copy and the accepted file types, through the views a company user uses."""

import html
import json
import re
from datetime import date, timedelta

import pytest
from django.urls import reverse

from audit.models import Event
from consultations.models import Access, ElectronicResponse, State
from deposits.models import BackupCopy, Deposit, DepositState, DepositStatus
from tests.deposits.test_tus import create, pdf_bytes, upload_http
from tests.factories import T0, consultation_online, siret_from


def text(response) -> str:
    """The page as a user reads it: entities decoded, non-breaking spaces as spaces."""
    return html.unescape(response.content.decode()).replace("\xa0", " ")


def page_url(consultation) -> str:
    return reverse("deposits:company_deposit", args=[consultation.pk])


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


# --- The consortium's members -------------------------------------------------------------


def members_data(rows, response_kind="consortium") -> dict:
    data = {
        "response_kind": response_kind,
        "consortium_kind": "joint" if response_kind == "consortium" else "",
        "candidature_form": "standard",
        "membres-TOTAL_FORMS": str(len(rows)),
        "membres-INITIAL_FORMS": "1",
        "membres-MIN_NUM_FORMS": "0",
        "membres-MAX_NUM_FORMS": "30",
    }
    for index, (siret, name, representative) in enumerate(rows):
        data[f"membres-{index}-siret"] = siret
        data[f"membres-{index}-name"] = name
        if representative:
            data[f"membres-{index}-is_representative"] = "on"
    return data


def input_tag(page: str, field_id: str) -> str:
    return re.search(rf'<input[^>]*id="{field_id}"[^>]*>', page).group(0)


def test_a_wrong_member_siret_is_shown_in_its_row_and_tied_to_its_field(company_client, started):
    good = siret_from(61000001)
    data = members_data(
        [(good, "Bâtiment Ouest", True), ("12345678901234", "Charpentes du Léon", False), ("", "", False)]
    )
    response = company_client.post(reverse("deposits:company_response", args=[started.pk]), data)
    assert response.status_code == 200
    page = text(response)
    # The second row's SIRET is marked invalid and described by its help text and its error
    field = input_tag(page, "id_membres-1-siret")
    assert 'aria-invalid="true"' in field
    described = re.search(r'aria-describedby="([^"]+)"', field).group(1).split()
    assert described == ["id_membres-1-siret_helptext", "id_membres-1-siret_error"]
    assert '<p class="helptext" id="id_membres-1-siret_helptext">14 chiffres.</p>' in page
    error = re.search(r'<ul class="errorlist" id="id_membres-1-siret_error">(.*?)</ul>', page, re.S).group(1)
    assert "Ce numéro SIRET n'existe pas" in error
    # The first row is untouched, and the summary links to the wrong field
    assert "aria-invalid" not in input_tag(page, "id_membres-0-siret")
    assert '<a href="#id_membres-1-siret">Membre n° 2 (SIRET 12345678901234) : Ce numéro SIRET' in page
    assert not started.consortium_members.exists()


def test_a_member_without_a_name_or_typed_twice_is_shown_in_its_row(company_client, started):
    first, second = siret_from(61000001), siret_from(61000002)
    data = members_data([(first, "Bâtiment Ouest", True), (second, "", False), (first, "Doublon", False)])
    page = text(company_client.post(reverse("deposits:company_response", args=[started.pk]), data))
    assert 'aria-invalid="true"' in input_tag(page, "id_membres-1-name")
    assert "Indiquez la raison sociale de ce membre." in page
    assert 'aria-invalid="true"' in input_tag(page, "id_membres-2-siret")
    assert "Ce SIRET est déjà celui du membre n° 1." in page
    assert not started.consortium_members.exists()


def test_answering_alone_ignores_the_member_rows(company_client, started):
    data = members_data([("123", "", False)], response_kind="single")
    response = company_client.post(reverse("deposits:company_response", args=[started.pk]), data, follow=True)
    assert "Votre réponse est enregistrée" in text(response)
    started.refresh_from_db()
    assert started.response_kind == "single" and not started.consortium_members.exists()


# --- Messages of the uploader --------------------------------------------------------------


def test_the_uploaders_messages_tell_to_click_reprendre_and_count_in_good_french(
    company_client, consultation, started
):
    page = company_client.get(page_url(consultation)).content.decode()
    raw = re.search(r'<script id="deposit-strings" type="application/json">(.*?)</script>', page, re.S)
    strings = json.loads(raw.group(1))
    assert "Réessayez" not in " ".join(strings.values())
    assert "Cliquez sur « Reprendre »" in strings["network"]
    assert strings["unavailable"] == (
        "La plateforme ne répond pas pour l'instant ; cliquez sur « Reprendre » dans quelques minutes."
    )
    assert strings["overall"].format(done=1, total=1) == "1 fichier sur 1 envoyé"
    assert strings["overallPlural"].format(done=2, total=3) == "2 fichiers sur 3 envoyés"
    assert "reprenez-le ou retirez-le" in strings["pausedUploads"]
    # The overall count is a live region; the speed is on a line of its own, not announced
    assert '<p id="overall-status" class="upload-status" aria-live="polite"></p>' in page
    assert re.search(r'<p id="overall-speed"(?![^>]*aria-live)[^>]*>', page)


# --- « Valider » ---------------------------------------------------------------------------


def test_the_conditions_label_does_not_end_with_a_colon(company_client, consultation, started):
    page = text(company_client.get(page_url(consultation)))
    label = re.search(r'<label for="id_conditions"[^>]*>(.*?)</label>', page, re.S).group(1)
    assert label.strip().endswith("pour le dépôt de ce pli")


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


def test_a_consultation_whose_bids_are_opened_takes_no_new_deposit_and_says_why(
    company_client, consultation, clock
):
    consultation.state = State.OPENED
    consultation.save()
    response = company_client.post(page_url(consultation), follow=True)
    assert "Cette consultation ne reçoit pas de plis : elle n'est pas en ligne." in text(response)
    assert not Deposit.objects.exists()


# --- « Mes dépôts » and a deposit's page ---------------------------------------------------


def test_my_deposits_and_the_deposits_page_show_files_sizes_hashes_status_and_antivirus(
    company_client, consultation, started, clock, django_capture_on_commit_callbacks
):
    deposit_file = upload_http(company_client, started, "Mémoire technique.pdf", pdf_bytes(5000))
    # The validation's commit queues the sealing (run in process here), which reads the file back.
    with django_capture_on_commit_callbacks(execute=True):
        company_client.post(reverse("deposits:company_validate", args=[started.pk]), {"conditions": "on"})
    deposit_file.refresh_from_db()
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


# --- Accessible PDFs -------------------------------------------------------------------------


def pdf_catalog(pdf: bytes):
    from io import BytesIO

    from pyhanko.pdf_utils.reader import PdfFileReader

    return PdfFileReader(BytesIO(pdf)).root


def assert_tagged(pdf: bytes) -> None:
    """A tagged PDF (PDF/UA): a structure tree, marked content, and its language."""
    catalog = pdf_catalog(pdf)
    assert "/StructTreeRoot" in catalog
    assert bool(catalog["/MarkInfo"]["/Marked"])
    assert str(catalog["/Lang"]) == "fr"


def test_the_receipt_is_a_tagged_pdf_whose_seal_still_checks(
    company_client, consultation, started, clock, django_capture_on_commit_callbacks
):
    from signatures.platform import pdf_check

    upload_http(company_client, started, "offre.pdf", pdf_bytes(600_000))
    with django_capture_on_commit_callbacks(execute=True):
        company_client.post(reverse("deposits:company_validate", args=[started.pk]), {"conditions": "on"})
    response = company_client.get(reverse("deposits:company_receipt", args=[started.pk]))
    pdf = b"".join(response.streaming_content) if response.streaming else response.content
    assert_tagged(pdf)
    check = pdf_check(pdf)
    assert check.valid, check.message


def test_the_opening_minutes_are_a_tagged_pdf(consultation, company_user, opener, clock):
    from django.core.files.storage import default_storage

    from deposits.models import Opening
    from tests.deposits.test_opening import CANDIDATURE, OFFER, deposited, open_as

    deposited(consultation, company_user, {"candidature": CANDIDATURE, "offer": OFFER})
    clock.set(consultation.deadline + timedelta(minutes=1))
    opening, _results = open_as(opener, consultation, Opening.Scope.CANDIDATURES)
    opening.refresh_from_db()
    with default_storage.open(opening.minutes_object, "rb") as stored:
        assert_tagged(stored.read())


def test_the_receipt_groups_the_sizes_and_says_sceau_only(
    company_client, consultation, started, clock, django_capture_on_commit_callbacks
):
    from deposits.receipt_pdf import receipt_html

    upload_http(company_client, started, "offre.pdf", pdf_bytes(600_000))
    with django_capture_on_commit_callbacks(execute=True):
        company_client.post(reverse("deposits:company_validate", args=[started.pk]), {"conditions": "on"})
    started.refresh_from_db()
    receipt = html.unescape(receipt_html(started.seal))
    assert "600\xa0000" in receipt
    assert re.search(r"<h2>Détails techniques</h2>\s*<p[^>]*>Le manifeste est un document JSON", receipt)
    body = receipt[receipt.index("<body>") :].lower()
    assert "cachet" not in body and "scellé" not in body and "scellement" not in body
    check_page = text(company_client.get(reverse("deposits:receipt_check")))
    assert "cachet" not in check_page.lower() and "sceau électronique de la plateforme" in check_page
