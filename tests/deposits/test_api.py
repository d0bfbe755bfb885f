"""The deposit API for companies' software: a personal token opens it and the tus endpoints,
without a session or a CSRF token; a company sees only its own deposits; the receipt is a
PDF once the deposit is sealed. One whole deposit goes through a live server with tuspy."""

import hashlib
import io
import json
from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.test import Client
from drf_spectacular.validation import validate_schema

from accounts.api_tokens import api_token_create, api_token_revoke
from consultations.models import Access, EnvelopeKind, State
from deposits.models import Deposit, DepositFile, DepositState, DepositStatus, Seal
from deposits.services.deposits import deposit_finalize
from deposits.services.sealing import files_read_back
from tests.deposits.test_tus import (
    ENDPOINT,
    TUS,
    create,
    decrypted,
    pdf_bytes,
    text_bytes,
    upload,
)
from tests.factories import LotFactory, consultation_online

LIST = "/api/depots/"


def start_url(consultation) -> str:
    return f"/api/consultations/{consultation.pk}/depots/"


def detail_url(deposit_id) -> str:
    return f"/api/depots/{deposit_id}/"


def bearer(raw: str) -> dict:
    return {"Authorization": f"Bearer {raw}"}


def token_client(user) -> tuple[Client, str]:
    """A client that carries only the token: no session, and CSRF enforced as a browser would."""
    _token, raw = api_token_create(user=user, label="Logiciel de réponse")
    return Client(enforce_csrf_checks=True, headers=bearer(raw)), raw


@pytest.fixture
def api(company_user):
    return token_client(company_user.user)[0]


def post_json(client, url, data=None):
    return client.post(url, data=json.dumps(data or {}), content_type="application/json")


def seal_make(deposit: Deposit, pdf: bytes) -> Seal:
    """The row the sealing writes, its receipt in the storage (the sealing is tested elsewhere)."""
    name = default_storage.save(f"receipts/test-{deposit.pk}.pdf", ContentFile(pdf))
    digest = hashlib.sha256(pdf).hexdigest()
    return Seal.objects.create(
        deposit=deposit,
        consultation=deposit.consultation,
        sequence=1,
        manifest="{}",
        manifest_sha256="0" * 64,
        previous_hash="0" * 64,
        seal_hash=digest,
        timestamp_token=b"token",
        timestamped_at=deposit.received_at,
        receipt_object=name,
        receipt_sha256=digest,
        sealed_at=deposit.received_at,
    )


# --- Starting, reading ---------------------------------------------------------------------


def test_starting_gives_the_envelopes_and_how_to_send_the_files(api, buyer, company_user, clock):
    # GIVEN an online consultation in two lots
    consultation = consultation_online(organisation=buyer.organisation, created_by=buyer.user)
    LotFactory(consultation=consultation, number=1, title="Couverture")
    LotFactory(consultation=consultation, number=2, title="Étanchéité")
    # WHEN the company's software starts a deposit
    response = post_json(api, start_url(consultation))
    # THEN a draft is created with its envelopes, and the tus endpoint with its metadata keys
    assert response.status_code == 201, response.content
    data = response.json()
    deposit = Deposit.objects.get()
    assert data["id"] == deposit.pk and data["state"] == DepositState.DRAFT
    assert data["consultation"] == {
        "id": consultation.pk,
        "reference": consultation.reference,
        "title": consultation.title,
    }
    kinds = [(e["kind"], e["lot"]["number"] if e["lot"] else None) for e in data["envelopes"]]
    assert kinds == [("candidature", None), ("offer", 1), ("offer", 2)]
    assert all(isinstance(e["id"], int) and e["files"] == [] for e in data["envelopes"])
    upload_info = data["upload"]
    assert upload_info["endpoint"] == "http://testserver/depots/tus/"
    assert upload_info["headers"]["Tus-Resumable"] == "1.0.0"
    assert set(upload_info["metadata"]) == {"filename", "deposit", "envelope", "document"}
    assert upload_info["metadata"]["deposit"] == str(deposit.pk)
    assert ".pdf" in upload_info["accepted_extensions"]
    assert {"envelope": "offer", "label": "Acte d'engagement"} in upload_info["requested_documents"]
    # AND starting again gives back the same draft
    again = post_json(api, start_url(consultation))
    assert again.status_code == 200 and again.json()["id"] == deposit.pk
    assert Deposit.objects.count() == 1


def test_a_consultation_not_online_is_refused_and_a_draft_one_is_not_found(api, buyer, clock):
    closed = consultation_online(organisation=buyer.organisation, created_by=buyer.user)
    closed.state = State.OPENED
    closed.save()
    response = post_json(api, start_url(closed))
    assert response.status_code == 403
    assert "n'est pas en ligne" in response.json()["detail"]
    from tests.factories import ConsultationFactory

    draft = ConsultationFactory(organisation=buyer.organisation)
    assert post_json(api, start_url(draft)).status_code == 404
    assert post_json(api, "/api/consultations/999999/depots/").status_code == 404
    assert not Deposit.objects.exists()


def test_a_restricted_consultation_needs_its_access_code(api, buyer, clock):
    consultation = consultation_online(
        organisation=buyer.organisation,
        created_by=buyer.user,
        access=Access.RESTRICTED,
        access_code="ECOLE-2026",
    )
    response = post_json(api, start_url(consultation))
    assert response.status_code == 403 and "code d'accès" in response.json()["detail"]
    response = post_json(api, start_url(consultation), {"access_code": "FAUX"})
    assert response.status_code == 403 and "n'est pas celui" in response.json()["detail"]
    assert not Deposit.objects.exists()
    response = post_json(api, start_url(consultation), {"access_code": "ECOLE-2026"})
    assert response.status_code == 201
    # Once the company has a deposit there, the code is not asked again
    assert post_json(api, start_url(consultation)).status_code == 200


def test_the_detail_lists_the_files_with_offsets_hashes_and_scan(api, deposit, company_user):
    content = pdf_bytes(5000)
    upload(deposit, company_user.user, "offre.pdf", content)
    files_read_back(deposit)  # as the sealing does
    response = api.get(detail_url(deposit.pk))
    assert response.status_code == 200
    data = response.json()
    offer = next(e for e in data["envelopes"] if e["kind"] == "offer")
    (listed,) = offer["files"]
    assert listed["name"] == "offre.pdf" and listed["size"] == 5000 and listed["offset"] == 5000
    assert listed["complete"] is True
    assert listed["sha256"] == hashlib.sha256(content).hexdigest()
    assert listed["scan"] in {"not_scanned", "clean"} and listed["scan_label"]
    assert listed["upload_url"].startswith("http://testserver/depots/tus/")
    assert data["files_count"] == 1 and data["sealed"] is False and data["receipt_url"] is None


# --- Finalising ----------------------------------------------------------------------------


def test_validating_says_when_the_deposit_was_received(api, deposit, company_user, clock):
    upload(deposit, company_user.user, "offre.pdf", pdf_bytes(3000))
    # Without the conditions of use accepted, nothing happens
    response = post_json(api, f"/api/depots/{deposit.pk}/valider/")
    assert response.status_code == 400
    assert "conditions_accepted" in response.json()
    deposit.refresh_from_db()
    assert deposit.is_draft
    # WHEN they are accepted
    response = post_json(api, f"/api/depots/{deposit.pk}/valider/", {"conditions_accepted": True})
    # THEN the deposit is received now, on time, with the sentence the page shows
    assert response.status_code == 200, response.content
    data = response.json()
    assert data["status"] == DepositStatus.ON_TIME and data["state"] == DepositState.FINALISED
    assert data["message"].startswith("Votre dépôt a bien été reçu le 02/03/2026 à 09:00:00")
    deposit.refresh_from_db()
    assert deposit.received_at == clock() and deposit.conditions_accepted_at == clock()
    # AND validating again is refused: a new deposit is needed to change the answer
    again = post_json(api, f"/api/depots/{deposit.pk}/valider/", {"conditions_accepted": True})
    assert again.status_code == 403 and "déjà validé" in again.json()["detail"]


def test_a_deposit_validated_at_the_deadline_is_late_and_says_so(
    api, deposit, consultation, company_user, clock
):
    upload(deposit, company_user.user, "offre.pdf", pdf_bytes(3000))
    clock.set(consultation.deadline)
    response = post_json(api, f"/api/depots/{deposit.pk}/valider/", {"conditions_accepted": True})
    assert response.status_code == 200
    data = response.json()
    assert data["status"] == DepositStatus.LATE
    assert "après la date limite" in data["message"] and "hors délai" in data["message"]


def test_an_empty_or_unfinished_deposit_cannot_be_validated(api, deposit, company_user):
    response = post_json(api, f"/api/depots/{deposit.pk}/valider/", {"conditions_accepted": True})
    assert response.status_code == 400
    assert "Ajoutez au moins un fichier" in response.json()["detail"]
    create(
        Client(headers=bearer(api_token_create(user=company_user.user, label="x")[1])),
        deposit,
        "offre.pdf",
        5000,
    )
    response = post_json(api, f"/api/depots/{deposit.pk}/valider/", {"conditions_accepted": True})
    assert response.status_code == 409
    assert "n'est pas terminé" in response.json()["detail"]


# --- Receipts ------------------------------------------------------------------------------


def test_the_receipt_is_a_pdf_once_sealed_and_a_409_before(
    api, deposit, company_user, other_company_user, clock
):
    upload(deposit, company_user.user, "offre.pdf", pdf_bytes(3000))
    deposit = deposit_finalize(deposit=deposit, user=company_user.user)
    url = f"/api/depots/{deposit.pk}/accuse-de-reception/"
    # Not sealed yet: a clear answer to come back later
    response = api.get(url)
    assert response.status_code == 409
    assert "pas encore prêt" in response.json()["detail"]
    # Sealed: the signed PDF, as an attachment
    pdf = b"%PDF-1.7\naccuse de reception signe\n%%EOF\n"
    seal_make(deposit, pdf)
    response = api.get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert "attachment" in response["Content-Disposition"]
    assert b"".join(response.streaming_content) == pdf
    listed = api.get(LIST).json()["results"][0]
    assert listed["sealed"] is True and listed["receipt_url"] == f"http://testserver{url}"
    # Another company's software gets « not found »
    other, _raw = token_client(other_company_user.user)
    assert other.get(url).status_code == 404


# --- Who may call --------------------------------------------------------------------------


def test_another_companys_token_finds_nothing(deposit, company_user, other_company_user, clock):
    upload(deposit, company_user.user, "offre.pdf", pdf_bytes(3000))
    other, raw = token_client(other_company_user.user)
    assert other.get(LIST).json()["results"] == []
    assert other.get(detail_url(deposit.pk)).status_code == 404
    response = post_json(other, f"/api/depots/{deposit.pk}/valider/", {"conditions_accepted": True})
    assert response.status_code == 404
    assert other.get(f"/api/depots/{deposit.pk}/accuse-de-reception/").status_code == 404
    # nor through tus: the upload is « not found », the deposit too
    upload_url = f"/depots/tus/{DepositFile.objects.get().upload_id}/"
    assert other.head(upload_url, headers=TUS).status_code == 404
    assert create(other, deposit, "autre.pdf", 1000).status_code == 404
    deposit.refresh_from_db()
    assert deposit.is_draft


def test_without_a_token_the_api_answers_401_and_a_session_only_reads(client, deposit, company_user, buyer):
    # No credentials at all
    response = client.get(LIST)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert post_json(client, start_url(deposit.consultation)).status_code == 401
    # The web session reads, but does not write
    client.force_login(company_user.user)
    assert client.get(LIST).json()["count"] == 1
    assert client.get(detail_url(deposit.pk)).status_code == 200
    assert post_json(client, start_url(deposit.consultation)).status_code == 401
    assert (
        post_json(client, f"/api/depots/{deposit.pk}/valider/", {"conditions_accepted": True}).status_code
        == 401
    )
    # An agent's session is not a company's
    client.force_login(buyer.user)
    response = client.get(LIST)
    assert response.status_code == 403
    assert "compte entreprise" in response.json()["detail"]


def test_a_bad_or_revoked_token_is_401_and_never_falls_back_to_the_session(deposit, company_user, clock):
    token, raw = api_token_create(user=company_user.user, label="ERP")
    api_token_revoke(token=token, user=company_user.user)
    browser = Client()
    browser.force_login(company_user.user)
    for value in (raw, "sdm_inconnu", "n'importe quoi"):
        response = browser.get(LIST, headers=bearer(value))
        assert response.status_code == 401
        assert "Jeton d'accès invalide" in response.json()["detail"]
        response = create(browser, deposit, "offre.pdf", 1000, headers=bearer(value))
        assert response.status_code == 401
        assert "Jeton d'accès invalide" in response.content.decode()
        assert response["WWW-Authenticate"].startswith("Bearer")
    assert not DepositFile.objects.exists()


def test_tus_with_a_token_needs_no_csrf_token_but_a_session_still_does(deposit, company_user, clock):
    # GIVEN a browser that enforces CSRF, logged in, with the CSRF cookie but not the header
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(company_user.user)
    browser.cookies["csrftoken"] = "x" * 32
    # THEN its write is refused
    response = create(browser, deposit, "offre.pdf", 1000)
    assert response.status_code == 403 and "jeton de sécurité" in response.content.decode()
    # WHEN the software sends the token and no cookie at all, it goes through
    software, _raw = token_client(company_user.user)
    response = create(software, deposit, "offre.pdf", 1000)
    assert response.status_code == 201
    assert DepositFile.objects.get().created_by == company_user.user


def test_the_schema_describes_the_deposit_api_with_its_bearer_token(client, db):
    response = client.get("/api/schema/", {"format": "json"})
    schema = json.loads(response.content)
    validate_schema(schema)
    assert {
        "/api/depots/",
        "/api/depots/{id}/",
        "/api/consultations/{id}/depots/",
        "/api/depots/{id}/valider/",
        "/api/depots/{id}/accuse-de-reception/",
    } <= set(schema["paths"])
    assert schema["components"]["securitySchemes"]["jetonPersonnel"]["scheme"] == "bearer"
    assert {"jetonPersonnel": []} in schema["paths"]["/api/depots/{id}/valider/"]["post"]["security"]


# --- A whole deposit through a live server -------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_whole_deposit_through_the_api_and_tuspy_with_only_the_token(
    live_server, buyer, company_user, other_company_user, clock
):
    from tusclient.client import TusClient

    # GIVEN a consultation, and a company's software holding only a personal token
    consultation = consultation_online(organisation=buyer.organisation, created_by=buyer.user)
    _token, raw = api_token_create(user=company_user.user, label="Logiciel de réponse")
    software = Client(enforce_csrf_checks=True, headers=bearer(raw))

    # WHEN it starts a deposit
    started = post_json(software, start_url(consultation))
    assert started.status_code == 201, started.content
    data = started.json()
    envelopes = {e["kind"]: e["id"] for e in data["envelopes"]}

    # AND sends two files with tuspy to the endpoint it was given, with the token as only credential
    endpoint = data["upload"]["endpoint"].replace("http://testserver", live_server.url)
    assert endpoint == live_server.url + ENDPOINT
    tus = TusClient(endpoint, headers=bearer(raw))
    files = {
        "candidature.pdf": (envelopes[EnvelopeKind.CANDIDATURE], pdf_bytes(200_000, seed=3)),
        "memoire-technique.txt": (envelopes[EnvelopeKind.OFFER], text_bytes(300_000)),
    }
    for name, (envelope_id, content) in files.items():
        uploader = tus.uploader(
            file_stream=io.BytesIO(content),
            chunk_size=128 * 1024,
            metadata={"filename": name, "deposit": str(data["id"]), "envelope": str(envelope_id)},
            upload_checksum=True,
        )
        uploader.upload()

    # THEN the detail shows both files complete, with the hashes of what was sent (read back
    # as the sealing does for a file that came in several requests)
    files_read_back(Deposit.objects.get(pk=data["id"]))
    detail = software.get(detail_url(data["id"])).json()
    sent = {f["name"]: f for e in detail["envelopes"] for f in e["files"]}
    assert set(sent) == set(files)
    for name, (_envelope, content) in files.items():
        assert sent[name]["complete"] and sent[name]["sha256"] == hashlib.sha256(content).hexdigest()
        assert decrypted(DepositFile.objects.get(name=name)) == content

    # WHEN it validates, a minute before the deadline
    clock.set(consultation.deadline - timedelta(minutes=1))
    validated = post_json(software, f"/api/depots/{data['id']}/valider/", {"conditions_accepted": True})
    assert validated.status_code == 200, validated.content
    assert validated.json()["status"] == DepositStatus.ON_TIME
    assert validated.json()["message"].startswith("Votre dépôt a bien été reçu le")

    # THEN its list shows the deposit received, with two files
    (listed,) = software.get(LIST).json()["results"]
    assert listed["id"] == data["id"] and listed["state"] == DepositState.FINALISED
    assert listed["files_count"] == 2 and listed["received_at"]
    assert listed["consultation"]["reference"] == consultation.reference
    # AND, sealed after the commit (in process here, as in the embedded default), its receipt downloads
    assert listed["sealed"] is True
    receipt = software.get(listed["receipt_url"].replace("http://testserver", ""))
    assert receipt.status_code == 200 and receipt["Content-Type"] == "application/pdf"
    pdf = b"".join(receipt.streaming_content)
    assert pdf.startswith(b"%PDF") and hashlib.sha256(pdf).hexdigest() == Seal.objects.get().receipt_sha256
    # AND another company's token sees none of it
    other, _raw = token_client(other_company_user.user)
    assert other.get(LIST).json()["count"] == 0
    assert other.get(detail_url(data["id"])).status_code == 404
