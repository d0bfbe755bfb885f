"""« Déclarer sans suite »: a confirmation page with a mandatory reason, told to the downloaders."""

import pytest
from django.urls import reverse

from audit.models import Event
from consultations.models import Download, State
from messaging.models import Kind, Message
from tests.factories import T0, AgentFactory, CompanyUserFactory, ConsultationFactory, consultation_online


@pytest.fixture
def consultation(buyer, clock):
    return consultation_online(organisation=buyer.organisation, created_by=buyer.user)


def download(consultation, company_user):
    Download.objects.create(
        consultation=consultation,
        dce_version=consultation.dce_versions.get(number=1),
        company=company_user.company,
        user=company_user.user,
        downloaded_at=T0,
    )


def test_cancelling_with_a_reason_tells_the_downloaders_and_the_public_page_says_sans_suite(
    client,
    consultation,
    buyer,
    company_user,
    other_company_user,
    clock,
    django_capture_on_commit_callbacks,
    mailoutbox,
):
    # GIVEN two identified downloaders and a company that did not download
    download(consultation, company_user)
    download(consultation, company_user)
    download(consultation, other_company_user)
    bystander = CompanyUserFactory()
    client.force_login(buyer.user)
    url = reverse("consultations:cancel", args=[consultation.pk])
    assert "Confirmer la déclaration sans suite" in client.get(url).content.decode()

    # WHEN the buyer confirms with a reason
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {"reason": "Besoin abandonné après le vote du budget."})

    # THEN the consultation is cancelled, each downloader told once with the reason
    assert response.status_code == 302
    consultation.refresh_from_db()
    assert consultation.state == State.CANCELLED
    assert consultation.cancellation_reason == "Besoin abandonné après le vote du budget."
    recipients = sorted(address for message in mailoutbox for address in message.to)
    assert recipients == sorted([company_user.user.email, other_company_user.user.email])
    assert bystander.user.email not in recipients
    assert "Besoin abandonné après le vote du budget." not in mailoutbox[0].body
    assert "Accéder au contenu du message" in mailoutbox[0].body
    # AND the reason is in the message each downloader's company reads on the platform
    notices = Message.objects.filter(thread__consultation=consultation, kind=Kind.CANCELLATION)
    assert sorted(m.thread.company_id for m in notices) == sorted(
        [company_user.company_id, other_company_user.company_id]
    )
    assert all("Besoin abandonné après le vote du budget." in m.body for m in notices)
    assert Event.objects.filter(action="consultation.cancelled", target_id=str(consultation.pk)).exists()

    # AND the public page still shows the consultation, « sans suite »
    client.logout()
    public = client.get(reverse("consultations:detail", args=[consultation.pk]))
    assert public.status_code == 200
    assert "sans suite" in public.content.decode().lower()


def test_a_cancellation_without_reason_is_refused_on_its_field(
    client, consultation, buyer, clock, mailoutbox
):
    client.force_login(buyer.user)

    response = client.post(reverse("consultations:cancel", args=[consultation.pk]), {"reason": "   "})

    assert response.status_code == 200
    assert response.context["form"].errors["reason"] == [
        "Le motif de la déclaration sans suite est obligatoire."
    ]
    consultation.refresh_from_db()
    assert consultation.state == State.ONLINE
    assert mailoutbox == []


def test_a_decided_consultation_can_no_longer_be_cancelled(client, buyer, clock):
    decided = ConsultationFactory(organisation=buyer.organisation, created_by=buyer.user, state=State.DECIDED)
    client.force_login(buyer.user)

    response = client.post(reverse("consultations:cancel", args=[decided.pk]), {"reason": "Trop tard."})

    assert response.status_code == 200
    assert "ne peut plus être déclarée sans suite" in response.content.decode()
    decided.refresh_from_db()
    assert decided.state == State.DECIDED


def test_cancelling_needs_the_decide_habilitation(client, consultation, organisation, clock):
    writer = AgentFactory(organisation=organisation, can_create=True)
    client.force_login(writer.user)

    assert client.get(reverse("consultations:cancel", args=[consultation.pk])).status_code == 403
    assert (
        client.post(reverse("consultations:cancel", args=[consultation.pk]), {"reason": "Non."}).status_code
        == 403
    )
    consultation.refresh_from_db()
    assert consultation.state == State.ONLINE


def test_the_actions_offer_sans_suite_only_to_who_may_decide(
    client, consultation, organisation, buyer, clock
):
    writer = AgentFactory(organisation=organisation, can_create=True)
    detail = reverse("consultations:buyer_detail", args=[consultation.pk])
    cancel = reverse("consultations:cancel", args=[consultation.pk])

    client.force_login(buyer.user)
    page = client.get(detail).content.decode()
    assert cancel in page and "Déclarer sans suite" in page
    assert reverse("consultations:amendment_create", args=[consultation.pk]) in page
    assert "Questions des entreprises (0 sans réponse)" in page

    client.force_login(writer.user)
    assert cancel not in client.get(detail).content.decode()
