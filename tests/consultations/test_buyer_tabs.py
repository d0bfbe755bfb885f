"""The five tabs of a draft, each saved with « Enregistrer et rester sur cette page » or
« Enregistrer et aller au tableau de bord »; every bad input gets its message on the field."""

import html
from datetime import datetime, timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from audit.models import Event
from consultations.models import (
    Access,
    Consultation,
    ContractType,
    ElectronicResponse,
    EnvelopeKind,
    ProcedureType,
    PublicationRule,
    State,
)
from consultations.services.access import ACCESS_CODE_ALPHABET
from tests.factories import PARIS, T0, ConsultationFactory, consultation_online

DASHBOARD = reverse("consultations:buyer_dashboard")
CREATE = reverse("consultations:buyer_create")


def text(response) -> str:
    """The page as a user reads it: entities decoded, non-breaking spaces as spaces."""
    return html.unescape(response.content.decode()).replace("\xa0", " ")


def tab_url(consultation, tab):
    return reverse("consultations:buyer_tab", args=[consultation.pk, tab])


@pytest.fixture
def logged_buyer(client, buyer):
    client.force_login(buyer.user)
    return buyer


@pytest.fixture
def draft(logged_buyer):
    return ConsultationFactory(
        organisation=logged_buyer.organisation, created_by=logged_buyer.user, reference="2026-T0100"
    )


def identification_data(**overrides):
    data = {
        "contract_type": ContractType.CONTRACT,
        "procedure_type": ProcedureType.OPEN_TENDER,
        "category": "works",
        "reference": "2026-AO-01",
        "title": "Réfection des trottoirs",
        "object": "Travaux de voirie du centre-bourg.",
        "estimated_value": "250000",
        "cpv_code": "45000000-7",
        "cpv_additional": "45233140-2",
        "place_of_execution": "Rennes (35)",
        "next": "stay",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def calendar_data(**overrides):
    data = {
        "publication_rule": PublicationRule.ON_VALIDATION,
        "publication_day": "",
        "publication_time": "",
        "deadline_day": "2026-04-10",
        "deadline_time": "12:00:00",
        "question_cutoff_days": "6",
        "modification_cutoff_days": "6",
        "offer_validity_days": "120",
        "next": "stay",
    }
    data.update(overrides)
    return data


def modalities_data(**overrides):
    data = {
        "electronic_response": ElectronicResponse.MANDATORY,
        "signature_rule": "required",
        "opening_mode": "by_envelope",
        "encrypted": "1",
        "candidature_documents": ["DC1 – Lettre de candidature", "DUME"],
        "candidature_extra": "",
        "offer_documents": ["Acte d'engagement", "Mémoire technique"],
        "offer_extra": "Planning prévisionnel\n\n  Note méthodologique  ",
        "next": "stay",
    }
    data.update(overrides)
    return data


# --- Identification -----------------------------------------------------------------------


@pytest.mark.parametrize(("button", "expected"), [("stay", "identification"), ("dashboard", "dashboard")])
def test_creating_a_consultation_saves_the_identification_and_goes_where_asked(
    client, logged_buyer, clock, button, expected
):
    # WHEN the agent fills in the identification tab of a new consultation
    response = client.post(CREATE, identification_data(next=button))

    # THEN the consultation exists, locked, with its CPV codes, and the agent goes where the button said
    consultation = Consultation.objects.get(reference="2026-AO-01")
    assert consultation.organisation == logged_buyer.organisation
    assert consultation.state == State.DRAFT
    assert consultation.identification_locked
    assert consultation.cpv_code == "45000000-7"
    assert consultation.cpv_additional == ["45233140-2"]
    target = DASHBOARD if expected == "dashboard" else tab_url(consultation, "identification")
    assert response.status_code == 302 and response["Location"] == target
    assert Event.objects.filter(action="consultation.created", target_id=str(consultation.pk)).exists()


def test_the_new_consultation_page_has_the_tab_navigation_and_both_buttons(client, logged_buyer):
    page = client.get(CREATE).content.decode()

    assert 'aria-current="page"' in page
    assert "Enregistrer et rester sur cette page" in page
    assert "Enregistrer et aller au tableau de bord" in page
    assert "ne pourront plus être modifiés" in page


def test_contract_and_procedure_types_are_locked_once_saved(client, draft, clock):
    # GIVEN a saved identification; WHEN a forged POST tries to change the locked types
    response = client.post(
        tab_url(draft, "identification"),
        identification_data(
            reference=draft.reference,
            title="Nouveau titre",
            contract_type=ContractType.CONCESSION,
            procedure_type=ProcedureType.NEGOTIATED,
        ),
    )

    # THEN the rest is saved, the types are not
    assert response.status_code == 302
    draft.refresh_from_db()
    assert draft.title == "Nouveau titre"
    assert draft.contract_type == ContractType.CONTRACT
    assert draft.procedure_type == ProcedureType.ADAPTED_OVER_90K
    # AND the tab shows them as text, with the reason
    page = client.get(tab_url(draft, "identification")).content.decode()
    assert "ne peuvent plus être modifiés" in page
    assert 'name="contract_type"' not in page and 'name="procedure_type"' not in page
    assert "Procédure adaptée ≥ 90 k EUR HT" in page


def test_a_duplicate_reference_is_refused_on_the_field(client, logged_buyer, draft, clock):
    # WHEN creating a consultation with the reference of an existing one (other case)
    response = client.post(CREATE, identification_data(reference="2026-t0100"))

    # THEN nothing is created and the reference field says why
    assert response.status_code == 200
    assert "reference" in response.context["form"].errors
    assert "déjà utilisée" in response.context["form"].errors["reference"][0]
    assert Consultation.objects.filter(organisation=logged_buyer.organisation).count() == 1


def test_a_reference_used_by_another_organisation_is_free(client, logged_buyer, other_organisation, clock):
    ConsultationFactory(organisation=other_organisation, reference="2026-AO-01")

    response = client.post(CREATE, identification_data())

    assert response.status_code == 302


def test_editing_keeps_its_own_reference_but_not_a_colleagues(client, logged_buyer, draft, clock):
    ConsultationFactory(organisation=logged_buyer.organisation, reference="2026-OTHER")

    kept = client.post(tab_url(draft, "identification"), identification_data(reference=draft.reference))
    taken = client.post(tab_url(draft, "identification"), identification_data(reference="2026-OTHER"))

    assert kept.status_code == 302
    assert "reference" in taken.context["form"].errors
    draft.refresh_from_db()
    assert draft.reference == "2026-T0100"


def test_a_negative_estimated_value_is_refused(client, logged_buyer, clock):
    response = client.post(CREATE, identification_data(estimated_value="-5"))

    assert "estimated_value" in response.context["form"].errors


def test_the_service_is_chosen_among_the_organisations_services(
    client, logged_buyer, other_organisation, clock
):
    from tests.factories import ServiceFactory

    mine = ServiceFactory(organisation=logged_buyer.organisation, name="Direction des bâtiments")
    theirs = ServiceFactory(organisation=other_organisation, name="Voirie voisine")

    refused = client.post(CREATE, identification_data(service=str(theirs.pk)))
    accepted = client.post(CREATE, identification_data(service=str(mine.pk)))

    assert "service" in refused.context["form"].errors
    assert accepted.status_code == 302
    assert Consultation.objects.get(reference="2026-AO-01").service == mine


# --- Every tab: both buttons ----------------------------------------------------------------


TAB_DATA = {
    "identification": lambda c: identification_data(reference=c.reference),
    "pieces": lambda c: {"access": Access.PUBLIC, "access_code": ""},
    "lots": lambda c: {"number": "1", "title": "Gros œuvre", "cpv_code": "45000000-7"},
    "calendrier": lambda c: calendar_data(),
    "modalites": lambda c: modalities_data(),
}


@pytest.mark.parametrize("tab", list(TAB_DATA))
@pytest.mark.parametrize("button", ["stay", "dashboard"])
def test_every_tab_saves_with_both_buttons(client, draft, clock, tab, button):
    response = client.post(tab_url(draft, tab), {**TAB_DATA[tab](draft), "next": button})

    assert response.status_code == 302
    assert response["Location"] == (DASHBOARD if button == "dashboard" else tab_url(draft, tab))
    followed = client.get(response["Location"])
    assert any("enregistré" in str(message) for message in followed.context["messages"])


def test_the_tab_navigation_marks_the_current_tab(client, draft):
    page = client.get(tab_url(draft, "calendrier")).content.decode()

    assert f'<a href="{tab_url(draft, "calendrier")}" aria-current="page">Calendrier</a>' in page
    assert f'<a href="{tab_url(draft, "lots")}">Lots</a>' in page


def test_an_unknown_tab_is_not_found(client, draft):
    assert client.get(tab_url(draft, "inconnu")).status_code == 404


# --- Pièces et modalités d'accès -------------------------------------------------------------


def test_restricted_access_without_a_code_is_refused_on_the_code_field(client, draft, clock):
    response = client.post(tab_url(draft, "pieces"), {"access": Access.RESTRICTED, "access_code": ""})

    assert response.status_code == 200
    assert "code d'accès" in response.context["form"].errors["access_code"][0]
    draft.refresh_from_db()
    assert draft.access == Access.PUBLIC


def test_restricted_access_with_a_typed_code(client, draft, clock):
    response = client.post(
        tab_url(draft, "pieces"), {"access": Access.RESTRICTED, "access_code": "Bretagne35"}
    )

    assert response.status_code == 302
    draft.refresh_from_db()
    assert (draft.access, draft.access_code) == (Access.RESTRICTED, "Bretagne35")


def test_generate_a_code_fills_saves_and_shows_a_readable_code(client, draft, clock):
    # WHEN the agent clicks « Générer un code » on a public consultation
    response = client.post(
        tab_url(draft, "pieces"),
        {"access": Access.PUBLIC, "access_code": "", "generate_code": "1"},
        follow=True,
    )

    # THEN the consultation becomes restricted with a random readable code, shown to the agent
    draft.refresh_from_db()
    assert draft.access == Access.RESTRICTED
    assert len(draft.access_code) == 8
    assert set(draft.access_code) <= set(ACCESS_CODE_ALPHABET)
    assert not set(draft.access_code) & set("0O1lI")
    page = text(response)
    assert draft.access_code in page
    assert "Code d'accès généré" in page


def test_going_back_to_public_access_drops_the_code(client, draft, clock):
    draft.access, draft.access_code = Access.RESTRICTED, "Ancien-code"
    draft.save()

    client.post(tab_url(draft, "pieces"), {"access": Access.PUBLIC, "access_code": "Ancien-code"})

    draft.refresh_from_db()
    assert (draft.access, draft.access_code) == (Access.PUBLIC, "")


def test_uploads_the_rules_document_and_other_files(client, draft, clock):
    # WHEN the agent uploads a new RC and two other files
    response = client.post(
        tab_url(draft, "pieces"),
        {
            "access": Access.PUBLIC,
            "rules_file": SimpleUploadedFile("RC-v2.pdf", b"%PDF-1.4 nouveau RC"),
            "files": [
                SimpleUploadedFile("BPU.xlsx", b"tableur"),
                SimpleUploadedFile("Plans.dwg", b"plans"),
            ],
        },
    )

    # THEN the RC is replaced, the others are added, each listed with its size
    assert response.status_code == 302
    files = {f.name: f for f in draft.dce_versions.get(number=1).files.all()}
    assert set(files) == {"RC-v2.pdf", "CCTP.pdf", "BPU.xlsx", "Plans.dwg"}
    assert files["RC-v2.pdf"].is_rules
    page = text(client.get(tab_url(draft, "pieces")))
    assert "BPU.xlsx" in page and "7 octets" in page
    assert Event.objects.filter(action="dce.file_added", target_id=str(draft.pk)).count() == 3


def test_removes_a_file_from_the_working_version(client, draft, clock):
    cctp = draft.dce_versions.get(number=1).files.get(name="CCTP.pdf")

    response = client.post(
        reverse("consultations:buyer_dce_file_remove", args=[draft.pk, cctp.pk]), follow=True
    )

    assert not draft.dce_versions.get(number=1).files.filter(name="CCTP.pdf").exists()
    assert "CCTP.pdf" in response.content.decode()  # the message says which file went
    assert Event.objects.filter(action="dce.file_removed", target_id=str(draft.pk)).exists()


@pytest.mark.parametrize(
    ("uploaded", "message"),
    [
        (lambda: SimpleUploadedFile("gros.pdf", b"x" * 11), "dépasse la taille maximale"),
        (lambda: SimpleUploadedFile("vide.pdf", b""), "est vide"),
        (lambda: SimpleUploadedFile("outil.exe", b"MZ..."), "n'est pas accepté"),
    ],
    ids=["oversized", "empty", "forbidden-type"],
)
@pytest.mark.parametrize("field", ["files", "rules_file"])
def test_a_bad_upload_is_refused_on_its_field_and_nothing_saved_is_lost(
    client, draft, clock, settings, uploaded, message, field
):
    # GIVEN a draft with its DCE, a small size limit, and an agent switching to restricted access
    settings.DCE_MAX_FILE_BYTES = 10
    before = sorted(draft.dce_versions.get(number=1).files.values_list("name", flat=True))

    # WHEN one of the uploads is bad
    response = client.post(
        tab_url(draft, "pieces"),
        {"access": Access.RESTRICTED, "access_code": "Code-2026", field: uploaded()},
    )

    # THEN its field carries the message, the typed values are kept on screen, and nothing changed
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert list(errors) == [field]
    assert message in errors[field][0]
    page = text(response)
    assert message in page and 'value="Code-2026"' in page
    draft.refresh_from_db()
    assert draft.access == Access.PUBLIC
    assert sorted(draft.dce_versions.get(number=1).files.values_list("name", flat=True)) == before


def test_a_good_and_a_bad_file_together_save_nothing(client, draft, clock):
    response = client.post(
        tab_url(draft, "pieces"),
        {
            "access": Access.PUBLIC,
            "files": [SimpleUploadedFile("ok.pdf", b"%PDF"), SimpleUploadedFile("virus.bat", b"echo")],
        },
    )

    assert "« .bat »" in response.context["form"].errors["files"][0]
    assert not draft.dce_versions.get(number=1).files.filter(name="ok.pdf").exists()


# --- Calendrier ---------------------------------------------------------------------------------


def test_the_calendar_saves_the_deadline_to_the_second_in_paris_time_and_shows_the_cut_offs(
    client, draft, clock
):
    # WHEN the agent sets a deadline on Friday 10 April 2026 at 12:00:30 (after Easter Monday)
    response = client.post(tab_url(draft, "calendrier"), calendar_data(deadline_time="12:00:30"), follow=True)

    # THEN it is stored as that Paris moment, and the cut-offs in business days are shown
    draft.refresh_from_db()
    assert draft.deadline == datetime(2026, 4, 10, 12, 0, 30, tzinfo=PARIS)
    page = response.content.decode()
    assert "vendredi 10/04/2026 12:00:30" in page
    # 6 « jours ouvrés » before, Easter Monday (6 April) not counted: Wednesday 1 April
    assert "mercredi 01/04/2026 12:00:30" in page
    assert 'type="time"' in page and 'step="1"' in page and 'type="date"' in page


def test_a_deadline_in_the_past_is_refused_on_the_field(client, draft, clock):
    before = draft.deadline
    clock.set(datetime(2026, 4, 10, 12, 0, 1, tzinfo=PARIS))

    response = client.post(tab_url(draft, "calendrier"), calendar_data())

    assert response.status_code == 200
    assert "déjà passée" in response.context["form"].errors["deadline_day"][0]
    draft.refresh_from_db()
    assert draft.deadline == before


def test_a_deadline_before_the_chosen_publication_date_is_refused(client, draft, clock):
    response = client.post(
        tab_url(draft, "calendrier"),
        calendar_data(
            publication_rule=PublicationRule.CHOSEN_DATE,
            publication_day="2026-04-15",
            publication_time="09:00:00",
        ),
    )

    assert "doit suivre la date de mise en ligne" in response.context["form"].errors["deadline_day"][0]


def test_a_chosen_publication_date_is_required_and_saved(client, draft, clock):
    missing = client.post(
        tab_url(draft, "calendrier"), calendar_data(publication_rule=PublicationRule.CHOSEN_DATE)
    )
    assert "publication_day" in missing.context["form"].errors

    saved = client.post(
        tab_url(draft, "calendrier"),
        calendar_data(
            publication_rule=PublicationRule.CHOSEN_DATE,
            publication_day="2026-03-05",
            publication_time="10:00",
        ),
    )
    assert saved.status_code == 302
    draft.refresh_from_db()
    assert draft.publication_date == datetime(2026, 3, 5, 10, 0, tzinfo=PARIS)


def test_a_date_without_its_time_is_refused(client, draft, clock):
    response = client.post(tab_url(draft, "calendrier"), calendar_data(deadline_time=""))

    assert "heure" in response.context["form"].errors["deadline_time"][0]


def test_an_hour_skipped_by_summer_time_is_refused(client, draft, clock):
    response = client.post(
        tab_url(draft, "calendrier"), calendar_data(deadline_day="2026-03-29", deadline_time="02:30:00")
    )

    assert "heure d'été" in response.context["form"].errors["deadline_time"][0]


# --- Modalités -------------------------------------------------------------------------------------


def test_modalities_and_requested_documents_per_envelope(client, draft, clock):
    response = client.post(tab_url(draft, "modalites"), modalities_data(encrypted="0"))

    assert response.status_code == 302
    draft.refresh_from_db()
    assert draft.signature_rule == "required"
    assert draft.encrypted is False
    documents = {
        envelope: list(
            draft.requested_documents.filter(envelope=envelope)
            .order_by("position")
            .values_list("label", flat=True)
        )
        for envelope in EnvelopeKind
    }
    assert documents[EnvelopeKind.CANDIDATURE] == ["DC1 – Lettre de candidature", "DUME"]
    assert documents[EnvelopeKind.OFFER] == [
        "Acte d'engagement",
        "Mémoire technique",
        "Planning prévisionnel",
        "Note méthodologique",
    ]
    # The tab shows them back: standard ones checked, extra ones in the text area
    page = client.get(tab_url(draft, "modalites")).content.decode()
    assert "Planning prévisionnel\nNote méthodologique" in page
    assert Event.objects.filter(action="consultation.requested_documents_set").exists()


# --- Read-only once no longer a draft ------------------------------------------------------------


@pytest.mark.parametrize("tab", list(TAB_DATA))
def test_a_consultation_online_shows_its_tabs_read_only(client, logged_buyer, clock, tab):
    online = consultation_online(organisation=logged_buyer.organisation, created_by=logged_buyer.user)

    page = client.get(tab_url(online, tab)).content.decode()

    assert "lecture seule" in page and "rectificatif" in page
    assert "Enregistrer et rester sur cette page" not in page


def test_a_post_on_a_consultation_online_changes_nothing(client, logged_buyer, clock):
    online = consultation_online(organisation=logged_buyer.organisation, title="Titre publié")

    response = client.post(tab_url(online, "identification"), identification_data(reference=online.reference))

    assert response.status_code == 200
    assert "rectificatif" in " ".join(response.context["form"].non_field_errors())
    online.refresh_from_db()
    assert online.title == "Titre publié"


def test_the_tabs_default_to_the_deadline_of_the_draft(client, draft):
    deadline = (T0 + timedelta(days=30, hours=3)).astimezone(PARIS)

    form = client.get(tab_url(draft, "calendrier")).context["form"]

    assert form.initial["deadline_day"] == deadline.date()
    assert form.initial["deadline_time"] == deadline.time()
