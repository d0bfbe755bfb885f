"""The opening of the deposits (« ouverture des plis »): only after the deadline, only by an
agent who may open with a session confirmed by a one-time code, with the consultation's
PKCS#12 and its password; every segment authenticated, a tampered file reported altered,
the opened files readable later without the key, and the minutes (« PV d'ouverture »)."""

import hashlib
import html
import re
from datetime import timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12
from django.core.exceptions import PermissionDenied
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from audit.models import Event
from config import clock
from consultations.models import OpeningMode, State
from deposits.models import (
    BackupCopy,
    ConsortiumMember,
    ConsortiumRole,
    DepositFile,
    Envelope,
    Opening,
    OpeningCheck,
    ResponseKind,
)
from deposits.opening_pdf import minutes_html
from deposits.selectors import part_names
from deposits.services.deposits import deposit_finalize, deposit_start
from deposits.services.opening import OpeningError, deposits_open
from tests.conftest import login_verified
from tests.deposits import rsa_key, self_signed
from tests.deposits.test_tus import pdf_bytes, upload
from tests.factories import AgentFactory, CompanyUserFactory, OrganisationFactory, opening_key_material

P12_PASSWORD = "Clé-du-maître-d'ouvrage-2026"


# --- Helpers ----------------------------------------------------------------------------------


def p12_of(private_key, certificate=None, password: str = P12_PASSWORD) -> bytes:
    return pkcs12.serialize_key_and_certificates(
        b"cle", private_key, certificate, None, serialization.BestAvailableEncryption(password.encode())
    )


def consultation_p12(password: str = P12_PASSWORD) -> bytes:
    """The PKCS#12 the agent was handed when the consultation's key pair was made."""
    private_key, certificate = opening_key_material()
    return p12_of(private_key, certificate, password)


def verified(user):
    """The request's user after a one-time code (django_otp's middleware sets this)."""
    user.is_verified = lambda: True
    return user


def deposited(consultation, company_user, files: dict[str, tuple[str, bytes]]):
    """A deposit finalised through the services: ``{envelope kind: (name, content)}``."""
    deposit = deposit_start(consultation=consultation, user=company_user.user)
    for kind, (name, content) in files.items():
        upload(deposit, company_user.user, name, content, envelope=deposit.envelopes.get(kind=kind))
    return deposit_finalize(deposit=deposit, user=company_user.user)


CANDIDATURE = ("dc1.pdf", pdf_bytes(3000, seed=11))
OFFER = ("offre.pdf", pdf_bytes(150_000, seed=12))  # several segments
OTHER_CANDIDATURE = ("candidature-est.pdf", pdf_bytes(2000, seed=21))
OTHER_OFFER = ("offre-est.pdf", pdf_bytes(4000, seed=22))


@pytest.fixture
def two_deposits(consultation, company_user, other_company_user, clock):
    ouest = deposited(consultation, company_user, {"candidature": CANDIDATURE, "offer": OFFER})
    clock.advance(minutes=5)
    est = deposited(
        consultation, other_company_user, {"candidature": OTHER_CANDIDATURE, "offer": OTHER_OFFER}
    )
    return ouest, est


@pytest.fixture
def after_deadline(consultation, clock):
    clock.set(consultation.deadline + timedelta(minutes=1))


def open_as(opener, consultation, scope, **options):
    options.setdefault("pkcs12_content", consultation_p12())
    options.setdefault("password", P12_PASSWORD)
    return deposits_open(consultation=consultation, user=verified(opener.user), scope=scope, **options)


def file_states(consultation) -> list[tuple[str, str, bool]]:
    return sorted(
        (f.name, f.opening_check, f.opened_key is not None)
        for f in DepositFile.objects.filter(envelope__deposit__consultation=consultation)
    )


def nothing_opened(consultation) -> bool:
    return (
        not Opening.objects.filter(consultation=consultation).exists()
        and not Envelope.objects.filter(deposit__consultation=consultation, opening__isnull=False).exists()
        and all(check == OpeningCheck.NOT_OPENED and not key for _n, check, key in file_states(consultation))
    )


def opener_client(client, opener):
    login_verified(client, opener.user)
    return client


def post_opening(client, consultation, scope, *, p12=None, password=P12_PASSWORD, **fields):
    data = {
        f"{scope}-pkcs12": SimpleUploadedFile("cle.p12", p12 if p12 is not None else consultation_p12()),
        f"{scope}-password": password,
    }
    for name, value in fields.items():
        data[f"{scope}-{name}"] = value
    return client.post(reverse("deposits:buyer_deposits_open", args=[consultation.pk, scope]), data)


def download(client, consultation, deposit_file):
    return client.get(reverse("deposits:buyer_opened_file", args=[consultation.pk, deposit_file.pk]))


def text(response) -> str:
    return html.unescape(response.content.decode())


def streamed(response) -> bytes:
    return b"".join(response.streaming_content)


# --- Before the deadline: impossible, for anyone ------------------------------------------------


def test_opening_before_the_deadline_is_refused_and_changes_nothing(
    consultation, two_deposits, opener, clock
):
    clock.set(consultation.deadline - timedelta(seconds=1))
    with pytest.raises(OpeningError) as refused:
        open_as(opener, consultation, Opening.Scope.CANDIDATURES)
    assert "La date limite de remise des plis n'est pas passée" in refused.value.message
    assert nothing_opened(consultation)


def test_even_a_superuser_who_may_open_cannot_open_before_the_deadline(
    client, consultation, two_deposits, clock
):
    superuser = AgentFactory(organisation=consultation.organisation, can_open=True).user
    superuser.is_superuser = superuser.is_staff = True
    superuser.save()
    clock.set(consultation.deadline - timedelta(seconds=1))
    login_verified(client, superuser)
    response = post_opening(client, consultation, "candidatures")
    assert response.status_code == 302
    page = text(client.get(response["Location"]))
    assert "aucun pli ne peut être ouvert" in page
    assert nothing_opened(consultation)
    with pytest.raises(OpeningError):
        open_as(superuser.agent, consultation, Opening.Scope.CANDIDATURES)
    assert nothing_opened(consultation)


def test_a_superuser_who_is_no_agent_of_the_buyer_is_refused(consultation, two_deposits, after_deadline):
    superuser = AgentFactory(organisation=OrganisationFactory(), can_open=True).user
    superuser.is_superuser = True
    superuser.save()
    with pytest.raises(PermissionDenied):
        deposits_open(
            consultation=consultation,
            user=verified(superuser),
            scope=Opening.Scope.CANDIDATURES,
            pkcs12_content=consultation_p12(),
            password=P12_PASSWORD,
        )


def test_a_draft_is_never_opened(consultation, opener, after_deadline):
    consultation.state = State.DRAFT
    consultation.save()
    with pytest.raises(OpeningError) as refused:
        open_as(opener, consultation, Opening.Scope.CANDIDATURES)
    assert refused.value.message == "Les plis de cette consultation ne peuvent pas être ouverts."


def test_a_session_without_one_time_code_cannot_open(consultation, two_deposits, opener, after_deadline):
    with pytest.raises(OpeningError) as refused:
        deposits_open(
            consultation=consultation,
            user=opener.user,
            scope=Opening.Scope.CANDIDATURES,
            pkcs12_content=consultation_p12(),
            password=P12_PASSWORD,
        )
    assert "code à usage unique" in refused.value.message
    assert nothing_opened(consultation)


# --- Wrong key, wrong password --------------------------------------------------------------


def test_a_wrong_password_says_so_and_changes_nothing(
    client, consultation, two_deposits, opener, after_deadline
):
    opener_client(client, opener)
    response = post_opening(client, consultation, "candidatures", password="pas le bon")
    assert response.status_code == 400
    page = text(response)
    assert "le mot de passe est incorrect" in page
    assert "Aucun pli n'a été ouvert" in page
    assert "pas le bon" not in page
    assert nothing_opened(consultation)
    assert not Event.objects.filter(action="deposits.opened").exists()


def test_a_key_that_is_not_the_consultations_says_so_and_changes_nothing(
    client, consultation, two_deposits, opener, after_deadline
):
    stranger = rsa_key("étrangère")
    opener_client(client, opener)
    response = post_opening(client, consultation, "candidatures", p12=p12_of(stranger, self_signed(stranger)))
    assert response.status_code == 400
    assert "n'est ni une clé de chiffrement de cette consultation ni la clé de secours" in text(response)
    assert nothing_opened(consultation)


def test_a_file_that_is_not_a_pkcs12_is_refused_in_french(
    client, consultation, two_deposits, opener, after_deadline
):
    opener_client(client, opener)
    response = post_opening(client, consultation, "candidatures", p12=b"%PDF-1.4 pas une cle")
    assert response.status_code == 400
    assert "n'est pas un fichier PKCS#12 (.p12) valide" in text(response)
    assert nothing_opened(consultation)


def test_the_password_never_reaches_the_database_or_the_audit_log(
    consultation, two_deposits, opener, after_deadline
):
    open_as(opener, consultation, Opening.Scope.CANDIDATURES)
    for event in Event.objects.all():
        assert P12_PASSWORD not in str(event.data)
    assert not Opening.objects.filter(reason__contains=P12_PASSWORD).exists()


# --- By envelope: candidatures first, then the offers of the admitted ---------------------------


def test_candidatures_open_first_and_offers_stay_sealed(consultation, two_deposits, opener, after_deadline):
    opening, results = open_as(opener, consultation, Opening.Scope.CANDIDATURES)
    assert {r.deposit_file.name for r in results} == {"dc1.pdf", "candidature-est.pdf"}
    assert all(r.check == OpeningCheck.INTACT for r in results)
    assert file_states(consultation) == [
        ("candidature-est.pdf", OpeningCheck.INTACT, True),
        ("dc1.pdf", OpeningCheck.INTACT, True),
        ("offre-est.pdf", OpeningCheck.NOT_OPENED, False),
        ("offre.pdf", OpeningCheck.NOT_OPENED, False),
    ]
    assert opening.key.consultation == consultation
    consultation.refresh_from_db()
    assert consultation.state == State.OPENED


def test_offers_cannot_be_opened_before_the_candidatures(consultation, two_deposits, opener, after_deadline):
    ouest, _est = two_deposits
    with pytest.raises(OpeningError) as refused:
        open_as(opener, consultation, Opening.Scope.OFFERS, deposit_ids=[ouest.pk])
    assert "Ouvrez d'abord les candidatures" in refused.value.message
    assert nothing_opened(consultation)


def test_only_the_admitted_candidates_offers_are_opened_and_audited(
    consultation, two_deposits, opener, after_deadline
):
    ouest, est = two_deposits
    open_as(opener, consultation, Opening.Scope.CANDIDATURES)
    opening, results = open_as(opener, consultation, Opening.Scope.OFFERS, deposit_ids=[str(ouest.pk)])
    assert [r.deposit_file.name for r in results] == ["offre.pdf"]
    assert dict((n, c) for n, c, _k in file_states(consultation))["offre-est.pdf"] == OpeningCheck.NOT_OPENED
    event = Event.objects.get(action="deposits.opened", target_id=str(opening.pk))
    assert event.data["admitted"] == [ouest.pk]
    assert event.actor == opener.user
    assert "offre.pdf" not in str(event.data)
    # The non-admitted candidate is named in the minutes as such.
    assert "Candidats non admis" in minutes_html(opening) and "Travaux Est" in minutes_html(opening)
    # An offer is opened once.
    with pytest.raises(OpeningError) as refused:
        open_as(opener, consultation, Opening.Scope.OFFERS, deposit_ids=[ouest.pk])
    assert "déjà ouvert" in refused.value.message


def review(deposit, admitted: bool, by):
    from awards.models import CandidatureReview

    CandidatureReview.objects.create(
        deposit=deposit,
        admitted=admitted,
        financial_ok=admitted,
        reason="" if admitted else "Capacités financières insuffisantes.",
        reviewed_at=clock.now(),
        reviewed_by=by,
    )


def test_the_offer_of_a_candidature_refused_in_the_analysis_stays_sealed(
    consultation, two_deposits, opener, after_deadline
):
    ouest, est = two_deposits
    open_as(opener, consultation, Opening.Scope.CANDIDATURES)
    review(ouest, True, opener.user)
    review(est, False, opener.user)
    with pytest.raises(OpeningError) as refused:
        open_as(opener, consultation, Opening.Scope.OFFERS, deposit_ids=[ouest.pk, est.pk])
    assert refused.value.message == (
        f"La candidature du pli n° {est.pk} n'a pas été admise : son offre ne s'ouvre pas."
    )
    assert dict((n, c) for n, c, _k in file_states(consultation))["offre.pdf"] == OpeningCheck.NOT_OPENED


def test_the_offers_form_ticks_the_candidates_admitted_in_the_analysis(
    client, consultation, two_deposits, opener, after_deadline
):
    ouest, est = two_deposits
    open_as(opener, consultation, Opening.Scope.CANDIDATURES)
    review(ouest, True, opener.user)
    review(est, False, opener.user)
    opener_client(client, opener)
    page = client.get(reverse("deposits:buyer_deposits", args=[consultation.pk])).content.decode()
    ticked = html.unescape(page)

    def box(pk):
        return re.search(rf'<input type="checkbox" name="offres-deposits" value="{pk}"[^>]*>', ticked).group(
            0
        )

    assert "checked" in box(ouest.pk)
    assert "checked" not in box(est.pk)
    assert "(candidature admise)" in ticked
    assert "(candidature non admise : son offre ne s'ouvre pas)" in ticked


def test_candidatures_are_opened_once(consultation, two_deposits, opener, after_deadline):
    open_as(opener, consultation, Opening.Scope.CANDIDATURES)
    with pytest.raises(OpeningError) as refused:
        open_as(opener, consultation, Opening.Scope.CANDIDATURES)
    assert refused.value.message == "Les candidatures de cette consultation sont déjà ouvertes."


def test_a_consultation_opened_by_whole_response_opens_every_envelope_at_once(
    consultation, two_deposits, opener, after_deadline
):
    consultation.opening_mode = OpeningMode.BY_RESPONSE
    consultation.save()
    with pytest.raises(OpeningError):
        open_as(opener, consultation, Opening.Scope.CANDIDATURES)
    _opening, results = open_as(opener, consultation, Opening.Scope.RESPONSES)
    assert len(results) == 4 and all(r.check == OpeningCheck.INTACT for r in results)


def test_superseded_deposits_are_never_opened(consultation, company_user, opener, clock):
    first = deposited(consultation, company_user, {"candidature": ("ancienne.pdf", pdf_bytes(1000, seed=3))})
    clock.advance(minutes=1)
    deposited(consultation, company_user, {"candidature": ("nouvelle.pdf", pdf_bytes(1000, seed=4))})
    clock.set(consultation.deadline)
    _opening, results = open_as(opener, consultation, Opening.Scope.CANDIDATURES)
    assert [r.deposit_file.name for r in results] == ["nouvelle.pdf"]
    assert not first.envelopes.filter(opening__isnull=False).exists()


def test_the_backup_key_opens_too(consultation, two_deposits, opener, after_deadline):
    from tests.deposits.test_tus import backup_key_make

    # A backup key added now is not the one the deposits were encrypted to: refused.
    backup_key_make(consultation.organisation, opener.user)
    secours = rsa_key("secours")
    with pytest.raises(OpeningError) as refused:
        open_as(opener, consultation, Opening.Scope.CANDIDATURES, pkcs12_content=p12_of(secours))
    assert "ne permet pas d'ouvrir 2 fichiers" in refused.value.message
    assert nothing_opened(consultation)


# --- Late deposits -------------------------------------------------------------------------------


def test_late_deposits_open_apart_and_only_with_a_reason(
    consultation, two_deposits, company_user, opener, clock
):
    clock.set(consultation.deadline + timedelta(seconds=10))
    late = deposited(consultation, company_user, {"offer": ("tardive.pdf", pdf_bytes(1000, seed=9))})
    _opening, results = open_as(opener, consultation, Opening.Scope.CANDIDATURES)
    assert "tardive.pdf" not in {r.deposit_file.name for r in results}
    with pytest.raises(OpeningError) as refused:
        open_as(opener, consultation, Opening.Scope.LATE, deposit_ids=[late.pk], reason="  ")
    assert refused.value.field == "reason"
    # An on-time deposit is not opened through the late scope.
    with pytest.raises(OpeningError):
        open_as(
            opener, consultation, Opening.Scope.LATE, deposit_ids=[two_deposits[0].pk], reason="Copie reçue"
        )
    reason = "Copie de sauvegarde reçue par voie postale avant la date limite."
    opening, results = open_as(opener, consultation, Opening.Scope.LATE, deposit_ids=[late.pk], reason=reason)
    assert [r.deposit_file.name for r in results] == ["tardive.pdf"]
    assert opening.reason == reason
    assert Event.objects.get(action="deposits.opened", target_id=str(opening.pk)).data["reason"] == reason
    assert reason in minutes_html(opening)


# --- Integrity -----------------------------------------------------------------------------------


def flip_a_byte(deposit_file: DepositFile, position: int = 100) -> None:
    path = Path(default_storage.path(part_names(deposit_file)[0]))
    data = bytearray(path.read_bytes())
    data[position] ^= 0x01
    path.write_bytes(bytes(data))


def test_a_tampered_stored_object_is_reported_altered_and_never_served(
    client, consultation, two_deposits, opener, after_deadline
):
    ouest, _est = two_deposits
    tampered = DepositFile.objects.get(envelope__deposit=ouest, name="dc1.pdf")
    flip_a_byte(tampered)
    opener_client(client, opener)
    response = post_opening(client, consultation, "candidatures")
    assert response.status_code == 302
    page = text(client.get(response["Location"]))
    assert "Fichier altéré : « dc1.pdf »" in page
    tampered.refresh_from_db()
    assert tampered.opening_check == OpeningCheck.ALTERED and tampered.opened_key is None
    assert download(client, consultation, tampered).status_code == 404
    # The other candidature is intact and served.
    intact = DepositFile.objects.get(name="candidature-est.pdf")
    assert intact.opening_check == OpeningCheck.INTACT
    assert streamed(download(client, consultation, intact)) == OTHER_CANDIDATURE[1]
    event = Event.objects.get(action="deposit_file.altered")
    assert event.data["file"] == tampered.pk and "segment" in event.data["problem"]
    opening = Opening.objects.get()
    html = minutes_html(opening, problems={tampered.pk: event.data["problem"]})
    assert "Altéré" in html and "1 fichier altéré" in html


def test_a_missing_stored_part_is_reported_altered(consultation, two_deposits, opener, after_deadline):
    ouest, _est = two_deposits
    missing = DepositFile.objects.get(envelope__deposit=ouest, name="dc1.pdf")
    default_storage.delete(part_names(missing)[0])
    _opening, results = open_as(opener, consultation, Opening.Scope.CANDIDATURES)
    result = next(r for r in results if r.deposit_file.pk == missing.pk)
    assert result.check == OpeningCheck.ALTERED and "introuvable" in result.problem


# --- After the opening: the buying team reads without the key ------------------------------------


def test_opened_files_download_without_the_pkcs12_with_the_exact_plaintext(
    client, consultation, two_deposits, opener, buyer, after_deadline
):
    opener_client(client, opener)
    assert post_opening(client, consultation, "candidatures").status_code == 302
    client.logout()
    # Any agent of the organisation, without the key: the buyer here.
    client.force_login(buyer.user)
    candidature = DepositFile.objects.get(name="dc1.pdf")
    response = download(client, consultation, candidature)
    assert response.status_code == 200
    assert streamed(response) == CANDIDATURE[1]
    assert 'filename="dc1.pdf"' in response["Content-Disposition"]
    assert response["Content-Disposition"].startswith("attachment")
    # The offer is not opened yet: not found.
    assert download(client, consultation, DepositFile.objects.get(name="offre.pdf")).status_code == 404
    assert Event.objects.filter(action="deposit_file.downloaded", actor=buyer.user).count() == 1


def test_a_multi_segment_offer_reads_back_exactly(consultation, two_deposits, opener, after_deadline):
    from deposits.services.opening import opened_file_plaintext

    ouest, _est = two_deposits
    open_as(opener, consultation, Opening.Scope.CANDIDATURES)
    open_as(opener, consultation, Opening.Scope.OFFERS, deposit_ids=[ouest.pk])
    offer = DepositFile.objects.get(name="offre.pdf")
    assert b"".join(opened_file_plaintext(offer)) == OFFER[1]


def test_the_opened_key_is_bound_to_its_file(consultation, two_deposits, opener, after_deadline):
    from deposits.opened_keys import OpenedKeyLost, opened_key_open

    open_as(opener, consultation, Opening.Scope.CANDIDATURES)
    one, other = DepositFile.objects.filter(opening_check=OpeningCheck.INTACT).order_by("pk")
    assert len(opened_key_open(one.opened_key, upload_id=one.upload_id)) == 32
    with pytest.raises(OpenedKeyLost):
        opened_key_open(one.opened_key, upload_id=other.upload_id)


def test_the_page_shows_antivirus_results_and_consortium_members(
    client, consultation, two_deposits, opener, after_deadline
):
    ouest, _est = two_deposits
    from deposits.services.sealing import files_read_back

    for deposit in two_deposits:
        files_read_back(deposit)  # as the sealing does: the antivirus's verdict is recorded then
    DepositFile.objects.filter(name="dc1.pdf").update(scan="infected", scan_detail="Eicar-Signature")
    ouest.response_kind = ResponseKind.CONSORTIUM
    ouest.save()
    ConsortiumMember.objects.create(
        deposit=ouest, siret=ouest.company.siret, name="Bâtiment Ouest", role=ConsortiumRole.REPRESENTATIVE
    )
    ConsortiumMember.objects.create(
        deposit=ouest,
        siret="73282932000074",
        name="Charpentes du Nord",
        role=ConsortiumRole.MEMBER,
        position=1,
    )
    opener_client(client, opener)
    post_opening(client, consultation, "candidatures")
    page = text(client.get(reverse("deposits:buyer_deposits", args=[consultation.pk])))
    assert "Virus détecté (Eicar-Signature)" in page
    assert "Charpentes du Nord (73282932000074) — Cotraitant" in page
    assert "Mandataire" in page


# --- The minutes -----------------------------------------------------------------------------------


def test_the_minutes_are_stored_and_downloadable_by_the_organisations_agents(
    client, consultation, two_deposits, opener, buyer, after_deadline
):
    opening, _results = open_as(opener, consultation, Opening.Scope.CANDIDATURES)
    opening.refresh_from_db()
    with default_storage.open(opening.minutes_object, "rb") as stored:
        pdf = stored.read()
    assert pdf.startswith(b"%PDF")
    assert hashlib.sha256(pdf).hexdigest() == opening.minutes_sha256
    # Sealed by the platform (PAdES), and the seal checks.
    from signatures.platform import pdf_check

    check = pdf_check(pdf)
    assert check.valid, check.message
    assert Event.objects.get(action="deposits.minutes_written").data["sealed"] is True
    html = minutes_html(opening)
    for expected in (
        consultation.reference,
        "Candidatures",
        opening.key.label,
        opening.key.fingerprint_display,
        "Bâtiment Ouest",
        "Travaux Est",
        "dc1.pdf",
        hashlib.sha256(CANDIDATURE[1]).hexdigest(),
        "Intègre",
        "Non analysé (antivirus non configuré)",
        "01/04/2026 12:00:00",  # the deadline, Paris time
    ):
        assert expected in html, expected
    assert "offre.pdf" not in html
    client.force_login(buyer.user)
    response = client.get(reverse("deposits:buyer_opening_minutes", args=[consultation.pk, opening.pk]))
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == pdf
    assert response["Content-Type"] == "application/pdf"


# --- Who may do what -------------------------------------------------------------------------------


def test_permission_matrix_for_opening(
    client, consultation, two_deposits, buyer, company_user, after_deadline
):
    url = reverse("deposits:buyer_deposits_open", args=[consultation.pk, "candidatures"])
    page = reverse("deposits:buyer_deposits", args=[consultation.pk])
    # A visitor goes to the login page.
    response = client.post(url)
    assert response.status_code == 302 and "/connexion/" in response["Location"]
    assert client.get(page).status_code == 302
    # A company user is refused.
    client.force_login(company_user.user)
    assert client.post(url).status_code == 403
    assert client.get(page).status_code == 403
    # An agent of another organisation does not learn the consultation exists.
    stranger = AgentFactory(organisation=OrganisationFactory(), can_open=True)
    login_verified(client, stranger.user)
    assert post_opening(client, consultation, "candidatures").status_code == 404
    assert client.get(page).status_code == 404
    # An agent of the organisation without the permission to open sees the page, cannot open.
    client.force_login(buyer.user)
    assert client.get(page).status_code == 200
    assert post_opening(client, consultation, "candidatures").status_code == 403
    assert nothing_opened(consultation)


def test_file_and_minutes_downloads_are_for_the_organisations_agents_only(
    client, consultation, two_deposits, opener, company_user, after_deadline
):
    opening, _results = open_as(opener, consultation, Opening.Scope.CANDIDATURES)
    deposit_file = DepositFile.objects.get(name="dc1.pdf")
    urls = [
        reverse("deposits:buyer_opened_file", args=[consultation.pk, deposit_file.pk]),
        reverse("deposits:buyer_opening_minutes", args=[consultation.pk, opening.pk]),
    ]
    for url in urls:
        assert client.get(url).status_code == 302
    client.force_login(company_user.user)  # even the depositor: the buyer's space is not its
    for url in urls:
        assert client.get(url).status_code == 403
    client.force_login(AgentFactory(organisation=OrganisationFactory()).user)
    for url in urls:
        assert client.get(url).status_code == 404


def test_a_backup_copy_declaration_shows_on_the_page(
    client, consultation, two_deposits, buyer, after_deadline
):
    ouest, _est = two_deposits
    BackupCopy.objects.create(
        consultation=consultation,
        company=ouest.company,
        sent_on=consultation.deadline.date() - timedelta(days=1),
        medium="Clé USB",
        declared_by=ouest.created_by,
        declared_at=consultation.deadline - timedelta(days=1),
    )
    client.force_login(buyer.user)
    page = text(client.get(reverse("deposits:buyer_deposits", args=[consultation.pk])))
    assert "Déclarée : envoyée le 31/03/2026 (Clé USB)" in page


def test_the_opening_closes_a_consultation_whose_closing_task_has_not_run(
    consultation, two_deposits, opener, after_deadline
):
    assert consultation.state == State.ONLINE
    open_as(opener, consultation, Opening.Scope.CANDIDATURES)
    consultation.refresh_from_db()
    assert consultation.state == State.OPENED
    actions = list(
        Event.objects.filter(
            target_type="consultations.consultation", target_id=str(consultation.pk)
        ).values_list("action", flat=True)
    )
    assert actions[-2:] == ["consultation.closed", "consultation.opened"]


def test_the_depositor_of_another_company_is_not_the_opener(consultation, opener, after_deadline):
    # A company's user never opens anything, even with the key.
    company = CompanyUserFactory()
    with pytest.raises(PermissionDenied):
        deposits_open(
            consultation=consultation,
            user=verified(company.user),
            scope=Opening.Scope.CANDIDATURES,
            pkcs12_content=consultation_p12(),
            password=P12_PASSWORD,
        )


def test_a_file_removed_from_a_sealed_deposit_stops_the_opening_loudly(
    consultation, two_deposits, opener, after_deadline
):
    from deposits.services.sealing import deposit_seal

    ouest, est = two_deposits
    for deposit in two_deposits:
        deposit_seal(deposit.pk)
    # WHEN someone with access to the database removes a candidature after its receipt
    DepositFile.objects.filter(envelope__deposit=est, name="candidature-est.pdf").delete()
    # THEN the opening says the deposits no longer match their receipts, and opens nothing
    with pytest.raises(OpeningError) as refused:
        open_as(opener, consultation, "candidatures")
    assert "« candidature-est.pdf », scellé dans le pli" in refused.value.message
    assert nothing_opened(consultation)
    assert Event.objects.filter(action="deposits.seal_mismatch").exists()


def test_an_on_time_deposit_committed_while_the_files_are_checked_stops_the_opening(
    consultation, two_deposits, opener, after_deadline, monkeypatch
):
    # GIVEN a third company's deposit judged on time just before the deadline, whose commit
    # lands while the opening checks the other files
    from deposits.models import Deposit, DepositStatus
    from deposits.services import opening as opening_service
    from tests.factories import CompanyUserFactory

    third = deposit_start(consultation=consultation, user=CompanyUserFactory(company__name="Tardive").user)
    check = opening_service._file_check

    def check_then_commit(*args, **kwargs):
        Deposit.objects.filter(pk=third.pk).update(
            state="finalised", status=DepositStatus.ON_TIME, received_at=consultation.deadline
        )
        return check(*args, **kwargs)

    monkeypatch.setattr(opening_service, "_file_check", check_then_commit)
    # THEN nothing is opened, and the agent is told to start again to include it
    with pytest.raises(OpeningError) as refused:
        open_as(opener, consultation, "candidatures")
    assert "Recommencez l'ouverture" in refused.value.message
    assert nothing_opened(consultation)
