"""Rectificatifs: a new DCE version and changed dates or texts, with a reason, told to the downloaders."""

from datetime import datetime, timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from audit.models import Event
from consultations.errors import ConsultationError
from consultations.models import Amendment, Consultation, Download, State
from consultations.services.amendments import (
    AmendmentAfterCutoff,
    amendment_publish,
    deadline_restoring_cutoff,
    modification_cutoff,
)
from consultations.services.dce import dce_current_version, dce_file_add
from tests.factories import PARIS, T0, AgentFactory, CompanyUserFactory, consultation_online

# consultation_online's deadline: Wednesday 1 April 2026 at 12:00; the DCE may change until
# six « jours ouvrés » before, Tuesday 24 March at 12:00.
DEADLINE = datetime(2026, 4, 1, 12, 0, tzinfo=PARIS)
MODIFICATION_CUTOFF = datetime(2026, 3, 24, 12, 0, tzinfo=PARIS)


@pytest.fixture
def consultation(buyer, clock):
    return consultation_online(organisation=buyer.organisation, created_by=buyer.user)


def download(consultation, company_user, *, at=T0):
    return Download.objects.create(
        consultation=consultation,
        dce_version=dce_current_version(consultation),
        company=company_user.company,
        user=company_user.user,
        downloaded_at=at,
    )


def upload(name: str, content: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="application/pdf")


def test_a_rectificatif_reaches_exactly_the_identified_downloaders(
    consultation,
    buyer,
    company_user,
    other_company_user,
    clock,
    django_capture_on_commit_callbacks,
    mailoutbox,
):
    # GIVEN two identified downloaders (one downloaded twice) and a company that only read the page
    download(consultation, company_user)
    download(consultation, company_user, at=T0 + timedelta(hours=2))
    download(consultation, other_company_user)
    onlooker = CompanyUserFactory()
    clock.advance(days=1)

    # WHEN the buyer publishes a rectificatif changing the title
    with django_capture_on_commit_callbacks(execute=True):
        amendment_publish(
            consultation=consultation,
            user=buyer.user,
            reason="Erreur matérielle dans l'intitulé.",
            changes={"title": "Réfection de la toiture et des gouttières de l'école"},
        )

    # THEN each downloader's company gets a message naming the change and the reason, no one else
    from messaging.models import Kind, Message

    messages = Message.objects.filter(thread__consultation=consultation)
    assert sorted(m.thread.company_id for m in messages) == sorted(
        [company_user.company_id, other_company_user.company_id]
    )
    message = messages.first()
    assert message.kind == Kind.AMENDMENT
    assert "Erreur matérielle dans l'intitulé." in message.body
    assert (
        "Intitulé" in message.body and "Réfection de la toiture et des gouttières de l'école" in message.body
    )
    # AND each downloader one mail that only links to the message (its content stays on the platform)
    assert sorted(address for mail in mailoutbox for address in mail.to) == sorted(
        [company_user.user.email, other_company_user.user.email]
    )
    assert onlooker.user.email not in [address for mail in mailoutbox for address in mail.to]
    body = mailoutbox[0].body
    assert "Accéder au contenu du message" in body and "/entreprise/messages/" in body
    assert "Erreur matérielle" not in body
    assert consultation.reference in mailoutbox[0].subject


def test_a_new_dce_version_is_published_and_the_first_one_stays_in_the_history(
    client, consultation, buyer, company_user, clock, django_capture_on_commit_callbacks, mailoutbox
):
    download(consultation, company_user)
    clock.advance(days=2)
    # GIVEN the buyer replaces the CCTP and adds a plan in the version being prepared
    dce_file_add(consultation=consultation, user=buyer.user, uploaded=upload("CCTP.pdf", b"%PDF-1.4 CCTP v2"))
    dce_file_add(consultation=consultation, user=buyer.user, uploaded=upload("Plan.pdf", b"%PDF-1.4 plan"))
    assert dce_current_version(consultation).number == 1  # nothing public yet

    # WHEN the rectificatif is published
    with django_capture_on_commit_callbacks(execute=True):
        amendment = amendment_publish(
            consultation=consultation, user=buyer.user, reason="Plan de situation ajouté.", changes={}
        )

    # THEN version 2 is the one companies get, version 1 is still listed with its files
    current = dce_current_version(consultation)
    assert current.number == 2 and current.published_at == T0 + timedelta(days=2)
    assert sorted(current.files.values_list("name", flat=True)) == ["CCTP.pdf", "Plan.pdf", "RC.pdf"]
    assert amendment.dce_version == current
    assert amendment.changes["Version du DCE"] == ["version 1", "version 2"]
    assert amendment.changes["Fichier « CCTP.pdf »"][1].startswith("remplacé")
    assert amendment.changes["Fichier « Plan.pdf »"][0] == "—"
    assert "PDF-1.4" not in mailoutbox[0].body  # the notice lists changes, never a file's content

    client.force_login(buyer.user)
    history = client.get(reverse("consultations:amendment_list", args=[consultation.pk])).content.decode()
    assert "Version 1, publiée le 02/03/2026 à 09:00:00" in history
    assert "Version 2, publiée le 04/03/2026 à 09:00:00" in history
    assert "Plan de situation ajouté." in history
    public = client.get(reverse("consultations:detail", args=[consultation.pk])).content.decode()
    assert "Plan de situation ajouté." in public


def test_the_rectificatif_is_recorded_with_its_changes_and_audited(consultation, buyer, clock):
    clock.advance(days=1)
    new_deadline = DEADLINE + timedelta(days=7, hours=5, seconds=30)

    amendment = amendment_publish(
        consultation=consultation,
        user=buyer.user,
        reason="Report demandé par plusieurs candidats.",
        changes={"deadline": new_deadline, "title": consultation.title, "object": "Nouvel objet détaillé."},
    )

    consultation.refresh_from_db()
    assert consultation.deadline == new_deadline
    assert consultation.object == "Nouvel objet détaillé."
    assert amendment.created_at == T0 + timedelta(days=1)
    assert amendment.changes == {
        "Date limite de remise des plis": ["01/04/2026 à 12:00:00", "08/04/2026 à 17:00:30"],
        "Objet": ["Travaux de couverture et d'étanchéité de l'école élémentaire.", "Nouvel objet détaillé."],
    }
    assert not amendment.after_cutoff
    event = Event.objects.get(action="amendment.published")
    assert event.actor == buyer.user
    assert event.data["fields"] == ["deadline", "object"]
    assert "nouvel" in Consultation.objects.get(pk=consultation.pk).search_text


def test_a_pushed_deadline_reschedules_the_closing(
    consultation, buyer, clock, monkeypatch, django_capture_on_commit_callbacks
):
    from consultations import tasks

    queued = []
    monkeypatch.setattr(
        tasks.consultation_timed_events_run, "apply_async", lambda args, eta: queued.append((args, eta))
    )
    new_deadline = DEADLINE + timedelta(days=14)

    with django_capture_on_commit_callbacks(execute=True):
        amendment_publish(
            consultation=consultation, user=buyer.user, reason="Report.", changes={"deadline": new_deadline}
        )

    assert queued == [([consultation.pk], new_deadline)]
    clock.set(DEADLINE + timedelta(hours=1))
    tasks.consultations_sweep()
    consultation.refresh_from_db()
    assert consultation.state == State.ONLINE  # the old deadline no longer closes it


def test_a_deadline_pushed_into_the_past_is_refused(client, consultation, buyer, clock):
    clock.set(T0 + timedelta(days=3))

    with pytest.raises(ValidationError) as refused:
        amendment_publish(
            consultation=consultation,
            user=buyer.user,
            reason="Erreur.",
            changes={"deadline": T0 + timedelta(days=2)},
        )
    assert "deadline" in refused.value.message_dict

    client.force_login(buyer.user)
    response = client.post(
        reverse("consultations:amendment_create", args=[consultation.pk]),
        {
            "deadline_date": "2026-03-04",
            "deadline_time": "12:00:00",
            "title": consultation.title,
            "object": consultation.object,
            "reason": "Erreur de saisie.",
        },
    )
    assert response.status_code == 200
    errors = response.context["form"].errors["deadline_date"]
    assert errors and "doit être dans le futur" in errors[0]
    consultation.refresh_from_db()
    assert consultation.deadline == DEADLINE
    assert not Amendment.objects.exists()


def test_a_rectificatif_needs_a_reason_and_a_change(consultation, buyer, clock):
    with pytest.raises(ValidationError) as no_reason:
        amendment_publish(consultation=consultation, user=buyer.user, reason="  ", changes={"title": "Autre"})
    assert "reason" in no_reason.value.message_dict

    with pytest.raises(ConsultationError, match="Aucune modification à publier"):
        amendment_publish(
            consultation=consultation, user=buyer.user, reason="Rien.", changes={"title": consultation.title}
        )


def test_only_an_online_consultation_takes_a_rectificatif(consultation, buyer, clock):
    consultation.state = State.CLOSED
    consultation.save()

    with pytest.raises(ConsultationError, match="en ligne"):
        amendment_publish(
            consultation=consultation, user=buyer.user, reason="Report.", changes={"title": "X"}
        )


# --- After the modification cut-off --------------------------------------------------------------


def test_the_modification_cutoff_and_the_smallest_deadline_restoring_it(consultation, clock):
    now = MODIFICATION_CUTOFF + timedelta(hours=1)  # Tuesday 24 March, 13:00

    suggested = deadline_restoring_cutoff(consultation, now=now)

    assert consultation.modification_deadline() == MODIFICATION_CUTOFF
    # One minute past the time of day of now, six business days later: the cut-off is back ahead.
    assert suggested == datetime(2026, 4, 1, 13, 1, tzinfo=PARIS)
    assert modification_cutoff(consultation, suggested) > now
    assert modification_cutoff(consultation, suggested - timedelta(minutes=1)) <= now


def test_the_deadline_restoring_the_cutoff_falls_on_a_business_day(consultation, clock):
    # Easter Monday 6 April 2026 is a holiday and 4-5 April a weekend: from Thursday 26 March
    # at 17:30, the cut-off day is that Thursday when the deadline is Friday 3 April.
    now = datetime(2026, 3, 26, 17, 30, 20, tzinfo=PARIS)

    suggested = deadline_restoring_cutoff(consultation, now=now)

    assert suggested == datetime(2026, 4, 3, 17, 31, tzinfo=PARIS)
    now = datetime(2026, 3, 27, 9, 0, tzinfo=PARIS)  # Friday: the next business days skip Easter Monday
    assert deadline_restoring_cutoff(consultation, now=now) == datetime(2026, 4, 7, 9, 1, tzinfo=PARIS)


def test_after_the_cutoff_the_agent_must_confirm_or_push_the_deadline(consultation, buyer, clock):
    clock.set(MODIFICATION_CUTOFF + timedelta(hours=1))

    # Refused without confirmation, saying when the cut-off was and what deadline would restore it
    with pytest.raises(AmendmentAfterCutoff) as refused:
        amendment_publish(
            consultation=consultation, user=buyer.user, reason="Précision.", changes={"title": "T2"}
        )
    assert "24/03/2026 à 12:00:00" in refused.value.message
    assert refused.value.suggested_deadline == datetime(2026, 4, 1, 13, 1, tzinfo=PARIS)
    assert not Amendment.objects.exists()

    # A deadline pushed one minute short of the proposal does not restore the cut-off either
    with pytest.raises(AmendmentAfterCutoff):
        amendment_publish(
            consultation=consultation,
            user=buyer.user,
            reason="Précision.",
            changes={"deadline": refused.value.suggested_deadline - timedelta(minutes=1)},
        )

    # Pushed far enough: published, and not marked late
    pushed = amendment_publish(
        consultation=consultation,
        user=buyer.user,
        reason="Précision et report.",
        changes={"deadline": refused.value.suggested_deadline},
    )
    assert not pushed.after_cutoff

    # Confirmed without a new deadline: published, and marked late
    clock.set(datetime(2026, 3, 31, 9, 0, tzinfo=PARIS))  # the new cut-off (24 March 13:01) has passed
    confirmed = amendment_publish(
        consultation=consultation,
        user=buyer.user,
        reason="Correction mineure.",
        changes={"title": "T3"},
        confirm_after_cutoff=True,
    )
    assert confirmed.after_cutoff


def test_the_rectificatif_page_asks_for_confirmation_after_the_cutoff(client, consultation, buyer, clock):
    clock.set(MODIFICATION_CUTOFF + timedelta(hours=1))
    client.force_login(buyer.user)
    url = reverse("consultations:amendment_create", args=[consultation.pk])
    data = {
        "deadline_date": "2026-04-01",
        "deadline_time": "12:00:00",
        "title": "Intitulé corrigé",
        "object": consultation.object,
        "reason": "Correction de l'intitulé.",
    }

    page = client.get(url).content.decode()
    assert "La date limite de modification du DCE est dépassée." in page
    assert "Reporter la date limite au 01/04/2026 à 13:01:00 et publier" in page

    # Unconfirmed: refused, with the cut-off and the proposal
    refused = client.post(url, data).content.decode()
    assert "24/03/2026 à 12:00:00" in refused
    assert "Je confirme la publication après la date limite de modification du DCE" in refused
    assert not Amendment.objects.exists()

    # The agent takes the proposed deadline
    response = client.post(url, {**data, "push_deadline": "2026-04-01T13:01:00+02:00"})
    assert response.status_code == 302
    consultation.refresh_from_db()
    assert consultation.deadline == datetime(2026, 4, 1, 13, 1, tzinfo=PARIS)
    assert consultation.title == "Intitulé corrigé"
    assert not Amendment.objects.get().after_cutoff


def test_the_rectificatif_page_publishes_a_confirmed_late_change(client, consultation, buyer, clock):
    clock.set(MODIFICATION_CUTOFF + timedelta(hours=1))
    client.force_login(buyer.user)

    response = client.post(
        reverse("consultations:amendment_create", args=[consultation.pk]),
        {
            "deadline_date": "2026-04-01",
            "deadline_time": "12:00:00",
            "title": "Intitulé corrigé",
            "object": consultation.object,
            "reason": "Correction de l'intitulé.",
            "confirm_after_cutoff": "on",
        },
    )

    assert response.status_code == 302
    assert Amendment.objects.get().after_cutoff
    consultation.refresh_from_db()
    assert consultation.deadline == DEADLINE


# --- Through the pages -----------------------------------------------------------------------------


def test_the_agent_prepares_the_dce_and_publishes_through_the_pages(client, consultation, buyer, clock):
    client.force_login(buyer.user)
    base = reverse("consultations:amendment_create", args=[consultation.pk])

    added = client.post(
        reverse("consultations:amendment_file_add", args=[consultation.pk]),
        {"file": upload("Annexe.pdf", b"%PDF-1.4 annexe")},
    )
    assert added.status_code == 302
    cctp = consultation.dce_versions.get(number=2).files.get(name="CCTP.pdf")
    removed = client.post(reverse("consultations:amendment_file_remove", args=[consultation.pk, cctp.pk]))
    assert removed.status_code == 302
    page = client.get(base).content.decode()
    assert "Fichier « Annexe.pdf »" in page and "Fichier « CCTP.pdf »" in page

    response = client.post(
        base,
        {
            "deadline_date": "2026-04-01",
            "deadline_time": "12:00:00",
            "title": consultation.title,
            "object": consultation.object,
            "reason": "CCTP remplacé par une annexe.",
        },
    )

    assert response.status_code == 302
    assert sorted(dce_current_version(consultation).files.values_list("name", flat=True)) == [
        "Annexe.pdf",
        "RC.pdf",
    ]
    assert sorted(consultation.dce_versions.get(number=1).files.values_list("name", flat=True)) == [
        "CCTP.pdf",
        "RC.pdf",
    ]


def test_a_forbidden_file_is_refused_on_its_field(client, consultation, buyer, clock):
    client.force_login(buyer.user)

    response = client.post(
        reverse("consultations:amendment_file_add", args=[consultation.pk]),
        {"file": SimpleUploadedFile("virus.exe", b"MZ...")},
    )

    assert response.status_code == 200
    assert "n'est pas accepté" in response.context["file_form"].errors["file"][0]
    assert consultation.dce_versions.count() == 1


def test_removing_the_rules_document_blocks_the_rectificatif(consultation, buyer, clock):
    from consultations.services.dce import dce_file_remove, dce_working_version

    working = dce_working_version(consultation=consultation, user=buyer.user)
    dce_file_remove(dce_file=working.files.get(is_rules=True), user=buyer.user)

    with pytest.raises(ConsultationError, match="règlement de consultation"):
        amendment_publish(consultation=consultation, user=buyer.user, reason="Sans RC.", changes={})


# --- Permissions ------------------------------------------------------------------------------------

BUYER_URLS = [
    ("amendment_create", "get"),
    ("amendment_create", "post"),
    ("amendment_file_add", "post"),
    ("amendment_dce_reset", "post"),
    ("amendment_list", "get"),
    ("buyer_questions", "get"),
    ("cancel", "get"),
    ("cancel", "post"),
]


@pytest.mark.parametrize(("name", "method"), BUYER_URLS)
def test_another_organisation_agent_gets_404_and_a_company_user_403(
    client, consultation, other_organisation, company_user, clock, name, method
):
    url = reverse(f"consultations:{name}", args=[consultation.pk])
    stranger = AgentFactory(organisation=other_organisation, can_create=True, can_decide=True)

    client.force_login(stranger.user)
    assert getattr(client, method)(url).status_code == 404
    client.force_login(company_user.user)
    assert getattr(client, method)(url).status_code == 403


def test_an_agent_without_the_create_habilitation_cannot_publish_a_rectificatif(
    client, consultation, validator, clock
):
    client.force_login(validator.user)

    assert client.get(reverse("consultations:amendment_create", args=[consultation.pk])).status_code == 403
    with pytest.raises(PermissionDenied):
        amendment_publish(
            consultation=consultation, user=validator.user, reason="Non.", changes={"title": "X"}
        )
    # …but sees the history, like every agent of the organisation
    assert client.get(reverse("consultations:amendment_list", args=[consultation.pk])).status_code == 200


def test_another_organisation_agent_cannot_remove_a_dce_file(
    client, consultation, other_organisation, company_user, clock
):
    dce_file = consultation.dce_versions.get(number=1).files.get(name="CCTP.pdf")
    url = reverse("consultations:amendment_file_remove", args=[consultation.pk, dce_file.pk])

    client.force_login(AgentFactory(organisation=other_organisation, can_create=True).user)
    assert client.post(url).status_code == 404
    client.force_login(company_user.user)
    assert client.post(url).status_code == 403
    assert consultation.dce_versions.count() == 1
