"""Sealing a finalised deposit: the canonical manifest chained to the consultation's
previous seal, timestamped, the signed receipt stored and mailed; the chain check that
shows a removed or altered deposit; the sweep that seals what no task sealed."""

import hashlib
import io
import json
import re
from datetime import timedelta

import pytest
from django.core import mail
from django.core.files.storage import default_storage
from django.core.management import CommandError, call_command

from audit.models import Event
from deposits.models import Deposit, DepositFile, DepositStatus, Seal
from deposits.receipt_pdf import receipt_html
from deposits.services import sealing
from deposits.services.deposits import deposit_finalize, deposit_start
from deposits.tasks import deposits_seal_sweep
from signatures import platform
from tests.deposits.test_tus import encrypted_bytes, pdf_bytes, upload
from tests.factories import consultation_online
from tests.pdf import pdf_title

OFFER = pdf_bytes(150_000, seed=7)
CANDIDATURE = pdf_bytes(3_000, seed=8)


def text_of(html: str) -> str:
    import html as html_module

    return " ".join(html_module.unescape(re.sub(r"<[^>]+>", " ", html)).split())


def finalised(consultation, company_user, *, files=None) -> Deposit:
    """A deposit finalised through the real services; its sealing is queued, not yet run."""
    deposit = deposit_start(consultation=consultation, user=company_user.user)
    files = files or {"offer": [("offre.pdf", OFFER)]}
    for kind, named in files.items():
        envelope = deposit.envelopes.get(kind=kind, lot__isnull=True)
        for name, content in named:
            upload(deposit, company_user.user, name, content, envelope=envelope)
    return deposit_finalize(deposit=deposit, user=company_user.user)


def finalised_and_sealed(consultation, company_user, django_capture_on_commit_callbacks, **kwargs) -> Deposit:
    with django_capture_on_commit_callbacks(execute=True):
        deposit = finalised(consultation, company_user, **kwargs)
    return deposit


@pytest.fixture
def sealed(consultation, company_user, clock, django_capture_on_commit_callbacks):
    clock.advance(hours=1, seconds=5)
    return finalised_and_sealed(
        consultation,
        company_user,
        django_capture_on_commit_callbacks,
        files={"candidature": [("dc1.pdf", CANDIDATURE)], "offer": [("offre.pdf", OFFER)]},
    )


# --- Sealing after the commit ----------------------------------------------------------


def test_a_finalised_deposit_is_sealed_after_the_commit_and_its_receipt_mailed(sealed, company_user, clock):
    # GIVEN a deposit finalised at 10:00:05, its sealing run once the transaction committed
    seal = Seal.objects.get(deposit=sealed)
    # THEN it is the first seal of the consultation's chain
    assert seal.sequence == 1
    assert seal.previous_hash == "0" * 64
    assert seal.manifest_sha256 == hashlib.sha256(seal.manifest.encode()).hexdigest()
    assert seal.seal_hash == hashlib.sha256(("0" * 64 + seal.manifest_sha256).encode()).hexdigest()
    # AND timestamped by the platform's authority at the platform's time
    assert seal.timestamped_at == clock()
    assert platform.timestamp_covers(bytes(seal.timestamp_token), seal.manifest.encode())
    # AND the receipt is stored as sealed
    with default_storage.open(seal.receipt_object, "rb") as stored:
        receipt = stored.read()
    assert hashlib.sha256(receipt).hexdigest() == seal.receipt_sha256
    assert platform.pdf_check(receipt).valid
    # AND mailed to the depositor, with the PDF attached
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [company_user.user.email]
    assert sealed.consultation.reference in message.subject
    assert "02/03/2026 à 10:00:05" in message.body
    [(filename, content, mimetype)] = message.attachments
    assert mimetype == "application/pdf" and filename.endswith(f"pli-{sealed.pk}.pdf")
    assert content == receipt
    seal.refresh_from_db()
    assert seal.mailed_at == clock()
    # AND the audit log records the seal
    event = Event.objects.get(action="deposit.sealed")
    assert event.data["sequence"] == 1 and event.data["seal_hash"] == seal.seal_hash


def test_the_manifest_is_canonical_and_states_each_file_plaintext_and_encrypted(sealed, company_user):
    seal = Seal.objects.get(deposit=sealed)
    manifest = json.loads(seal.manifest)
    # Sorted keys, no spaces, UTF-8 (not \u escapes)
    assert seal.manifest == json.dumps(manifest, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert "Bâtiment Ouest" in seal.manifest
    assert manifest["deposit"] == sealed.pk
    assert manifest["consultation"] == {
        "id": sealed.consultation_id,
        "reference": sealed.consultation.reference,
    }
    assert manifest["company"] == {"siret": company_user.company.siret, "name": "Bâtiment Ouest"}
    assert manifest["received_at"] == "2026-03-02T09:00:05Z"
    assert manifest["status"] == DepositStatus.ON_TIME and manifest["practice"] is False
    files = {f["name"]: f for envelope in manifest["envelopes"] for f in envelope["files"]}
    offer = sealed.envelopes.get(kind="offer").files.get()
    assert files["offre.pdf"]["size"] == len(OFFER)
    assert files["offre.pdf"]["sha256"] == hashlib.sha256(OFFER).hexdigest()
    assert files["offre.pdf"]["encrypted_sha256"] == hashlib.sha256(encrypted_bytes(offer)).hexdigest()
    assert files["dc1.pdf"]["sha256"] == hashlib.sha256(CANDIDATURE).hexdigest()


def test_the_receipt_states_the_deposit_the_parties_and_each_document(sealed, company_user):
    seal = Seal.objects.get(deposit=sealed)
    consultation = sealed.consultation
    text = text_of(receipt_html(seal))
    assert "Votre pli a bien été reçu le 02/03/2026 à 10:00:05 (heure de Paris)" in text
    assert f"{consultation.reference} — {consultation.title}" in text
    assert consultation.organisation.name in text
    assert f"Bâtiment Ouest (SIRET {company_user.company.siret})" in text
    assert company_user.user.email in text
    assert "Reçu dans les délais" in text
    # The exact size in bytes, grouped by three as French writes it: « 150 000 »
    assert f"offre.pdf {len(OFFER):,}".replace(",", " ") in text and hashlib.sha256(OFFER).hexdigest() in text
    assert "Enveloppe de candidature dc1.pdf" in text
    assert f"Numéro dans la chaîne {seal.sequence}" in text and seal.seal_hash in text
    assert "02/03/2026 à 10:00:05 (heure de Paris) — UTC 2026-03-02T09:00:05Z — autorité d'horodatage" in text
    assert "DÉPÔT DE TEST" not in text
    with default_storage.open(seal.receipt_object, "rb") as stored:
        title = pdf_title(stored.read())
    assert title == f"Accusé de réception — {consultation.reference} — pli n° {sealed.pk}"


def test_the_receipt_signature_validates_with_pyhanko_and_the_platform_trust_root(sealed):
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko.sign.validation.status import SignatureCoverageLevel
    from pyhanko_certvalidator import ValidationContext

    from signatures.platform import _asn1

    seal = Seal.objects.get(deposit=sealed)
    with default_storage.open(seal.receipt_object, "rb") as stored:
        receipt = stored.read()
    [signature] = PdfFileReader(io.BytesIO(receipt)).embedded_signatures
    context = ValidationContext(trust_roots=[_asn1(root) for root in platform.trust_roots()])
    status = validate_pdf_signature(signature, signer_validation_context=context)
    assert status.bottom_line
    assert status.coverage == SignatureCoverageLevel.ENTIRE_FILE
    # PAdES B-T: a signature timestamp, trusted too
    assert status.timestamp_validity is not None and status.timestamp_validity.trusted
    # AND the same file does not validate against another root
    stranger = ValidationContext(trust_roots=[])
    assert not validate_pdf_signature(signature, signer_validation_context=stranger).trusted


def test_sealing_twice_does_nothing_the_second_time(sealed):
    seal = Seal.objects.get(deposit=sealed)
    again = sealing.deposit_seal(sealed.pk)
    assert again == seal
    assert Seal.objects.count() == 1 and len(mail.outbox) == 1
    assert Event.objects.filter(action="deposit.sealed").count() == 1


def test_a_draft_is_not_sealed(deposit):
    assert sealing.deposit_seal(deposit.pk) is None
    assert not Seal.objects.exists()


def test_seals_of_one_consultation_form_a_chain(
    consultation, company_user, other_company_user, clock, django_capture_on_commit_callbacks
):
    first = finalised_and_sealed(consultation, company_user, django_capture_on_commit_callbacks)
    clock.advance(minutes=3)
    second = finalised_and_sealed(consultation, other_company_user, django_capture_on_commit_callbacks)
    # Another consultation has its own chain
    elsewhere = consultation_online(
        organisation=consultation.organisation, created_by=consultation.created_by
    )
    third = finalised_and_sealed(elsewhere, company_user, django_capture_on_commit_callbacks)

    one, two = first.seal, second.seal
    assert (one.sequence, two.sequence) == (1, 2)
    assert two.previous_hash == one.seal_hash
    assert two.seal_hash == hashlib.sha256((one.seal_hash + two.manifest_sha256).encode()).hexdigest()
    assert third.seal.sequence == 1 and third.seal.previous_hash == "0" * 64
    assert sealing.seal_chain_verify(consultation) == []
    call_command("deposits_seal_verify")


def test_a_late_deposit_receipt_says_it_is_late(
    consultation, company_user, clock, django_capture_on_commit_callbacks
):
    clock.set(consultation.deadline)
    deposit = finalised_and_sealed(consultation, company_user, django_capture_on_commit_callbacks)
    seal = Seal.objects.get(deposit=deposit)
    assert json.loads(seal.manifest)["status"] == DepositStatus.LATE
    text = text_of(receipt_html(seal))
    assert "Reçu hors délai" in text and "il est conservé, mais hors délai" in text


def test_a_practice_deposit_receipt_says_test(buyer, company_user, clock, django_capture_on_commit_callbacks):
    practice = consultation_online(organisation=buyer.organisation, created_by=buyer.user, is_practice=True)
    deposit = finalised_and_sealed(practice, company_user, django_capture_on_commit_callbacks)
    seal = Seal.objects.get(deposit=deposit)
    assert json.loads(seal.manifest)["practice"] is True
    text = text_of(receipt_html(seal))
    assert "DÉPÔT DE TEST : ce pli a été déposé sur une consultation de test" in text
    with default_storage.open(seal.receipt_object, "rb") as stored:
        assert pdf_title(stored.read()).startswith("DÉPÔT DE TEST — Accusé de réception")
    assert mail.outbox[0].subject.startswith("[TEST]")
    assert "DÉPÔT DE TEST" in mail.outbox[0].body


# --- The chain check --------------------------------------------------------------------


@pytest.fixture
def chain(consultation, company_user, other_company_user, clock, django_capture_on_commit_callbacks):
    third_user = type(company_user).objects.exclude(pk__in=[company_user.pk, other_company_user.pk]).first()
    from tests.factories import CompanyUserFactory

    third_user = third_user or CompanyUserFactory(company__name="Charpentes du Nord")
    deposits = []
    for user in (company_user, other_company_user, third_user):
        clock.advance(minutes=1)
        deposits.append(finalised_and_sealed(consultation, user, django_capture_on_commit_callbacks))
    assert sealing.seal_chain_verify(consultation) == []
    return deposits


def test_removing_a_deposit_seal_breaks_the_seal_chain_check(consultation, chain, clock):
    # WHEN someone deletes the seal of the second deposit
    Seal.objects.filter(deposit=chain[1]).delete()
    clock.advance(hours=1)
    # THEN the chain has a hole, the third seal's link is unchecked but the deposit shows unsealed
    problems = sealing.seal_chain_verify(consultation)
    assert any("Le sceau n° 2 manque" in p for p in problems)
    assert any(f"Le pli n° {chain[1].pk} de Travaux Est" in p and "n'a pas de sceau" in p for p in problems)
    with pytest.raises(CommandError):
        call_command("deposits_seal_verify", consultation.reference)


def test_removing_the_last_deposit_breaks_the_seal_chain_check(consultation, chain):
    # WHEN the last deposit and its seal disappear from the database altogether
    last = chain[2]
    Seal.objects.filter(deposit=last).delete()
    Deposit.objects.filter(pk=last.pk).delete()
    # THEN the audit log still knows seal n° 3
    assert sealing.seal_chain_verify(consultation) == [
        "Le sceau n° 3 manque dans la chaîne : un pli scellé a disparu."
    ]


def test_editing_a_manifest_breaks_the_seal_chain_check(consultation, chain):
    seal = chain[0].seal
    altered = seal.manifest.replace('"offre.pdf"', '"offre-modifiee.pdf"')
    Seal.objects.filter(pk=seal.pk).update(manifest=altered)
    problems = sealing.seal_chain_verify(consultation)
    assert "Le manifeste du sceau n° 1 a été modifié : son empreinte ne correspond plus." in problems
    assert "Le jeton d'horodatage du sceau n° 1 ne correspond pas à son manifeste." in problems


def test_rewriting_a_manifest_and_its_hashes_still_breaks_the_chain(consultation, chain):
    # WHEN someone recomputes the altered seal's hashes as well
    seal = chain[1].seal
    altered = seal.manifest.replace('"offre.pdf"', '"autre.pdf"')
    manifest_sha256 = hashlib.sha256(altered.encode()).hexdigest()
    Seal.objects.filter(pk=seal.pk).update(
        manifest=altered,
        manifest_sha256=manifest_sha256,
        seal_hash=sealing.chain_hash(seal.previous_hash, manifest_sha256),
    )
    # THEN the next seal's link, the timestamp and the audit log all disagree
    problems = sealing.seal_chain_verify(consultation)
    assert "Le lien du sceau n° 3 vers le sceau précédent est rompu." in problems
    assert "Le jeton d'horodatage du sceau n° 2 ne correspond pas à son manifeste." in problems
    assert "Le sceau n° 2 n'est plus celui que le journal d'audit a enregistré." in problems


# --- Without a worker: the sweep ----------------------------------------------------------


def test_the_sweep_seals_a_deposit_finalised_while_no_task_ran(
    consultation, company_user, clock, django_capture_on_commit_callbacks
):
    # GIVEN a deposit finalised while its sealing task never ran (no worker, lost message)
    deposit = finalised(consultation, company_user)
    assert not Seal.objects.filter(deposit=deposit).exists()
    # (a sweep right then leaves it to its task)
    assert deposits_seal_sweep.delay().get() == {"sealed": 0, "failed": 0, "mails_requeued": 0}
    # THEN after the grace the chain check reports it
    clock.advance(minutes=20)
    [problem] = sealing.seal_chain_verify(consultation)
    assert f"Le pli n° {deposit.pk} de Bâtiment Ouest" in problem and "n'a pas de sceau" in problem
    # WHEN the periodic sweep runs
    with django_capture_on_commit_callbacks(execute=True):
        assert deposits_seal_sweep.delay().get() == {"sealed": 1, "failed": 0, "mails_requeued": 0}
    # THEN the deposit is sealed, its receipt mailed, and the chain whole
    assert Seal.objects.get(deposit=deposit).sequence == 1
    assert len(mail.outbox) == 1
    assert sealing.seal_chain_verify(consultation) == []
    assert deposits_seal_sweep.delay().get() == {"sealed": 0, "failed": 0, "mails_requeued": 0}


def test_the_sweep_is_in_the_beat_schedule(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["deposits-seal-sweep"]
    assert entry["task"] == "deposits.tasks.deposits_seal_sweep" and entry["options"]["expires"]


def test_storage_that_lost_a_part_is_never_sealed(consultation, company_user, clock):
    # GIVEN a finalised deposit one of whose stored objects disappeared before sealing
    deposit = finalised(consultation, company_user)
    part = deposit.envelopes.get(kind="offer").files.get().parts.first()
    default_storage.delete(part.object_name)
    # WHEN it is sealed
    with pytest.raises(sealing.SealRefused) as refused:
        sealing.deposit_seal(deposit.pk)
    # THEN no seal, and the audit log says why (once, however often the sweep tries)
    assert "offre.pdf" in refused.value.message
    assert not Seal.objects.exists()
    clock.advance(minutes=2)
    assert deposits_seal_sweep.delay().get() == {"sealed": 0, "failed": 1, "mails_requeued": 0}
    event = Event.objects.get(action="deposit.seal_refused")
    assert event.target_id == str(deposit.pk) and "offre.pdf" in event.data["problem"]


def test_a_truncated_stored_part_is_never_sealed(consultation, company_user, clock):
    deposit = finalised(consultation, company_user)
    part = deposit.envelopes.get(kind="offer").files.get().parts.first()
    with default_storage.open(part.object_name, "rb") as stored:
        content = stored.read()
    default_storage.delete(part.object_name)
    default_storage.save(part.object_name, io.BytesIO(content[:-1]))
    with pytest.raises(sealing.SealRefused, match="ne se déchiffre pas : il a été altéré"):
        sealing.deposit_seal(deposit.pk)


def test_a_superseded_deposit_keeps_the_status_of_its_receipt(
    consultation, company_user, clock, django_capture_on_commit_callbacks
):
    # GIVEN an on-time deposit that no task sealed, superseded by a later one
    first = finalised(consultation, company_user)
    clock.advance(minutes=5)
    finalised(consultation, company_user)
    assert Deposit.objects.get(pk=first.pk).status == DepositStatus.SUPERSEDED
    # WHEN the sweep seals it
    deposits_seal_sweep.delay().get()
    # THEN its receipt says it was received on time
    assert json.loads(Seal.objects.get(deposit=first).manifest)["status"] == DepositStatus.ON_TIME


def test_a_receipt_whose_mail_was_lost_is_mailed_by_the_sweep(
    consultation, company_user, clock, django_capture_on_commit_callbacks
):
    # GIVEN a deposit sealed while the mail task was lost on its way to the queue
    deposit = finalised(consultation, company_user)
    seal = sealing.deposit_seal(deposit.pk)
    assert mail.outbox == [] and seal.mailed_at is None
    # WHEN the sweep runs ten minutes later
    clock.advance(minutes=11)
    with django_capture_on_commit_callbacks(execute=True):
        assert deposits_seal_sweep.delay().get()["mails_requeued"] == 1
    # THEN the receipt is mailed, once
    assert len(mail.outbox) == 1
    assert deposits_seal_sweep.delay().get()["mails_requeued"] == 0


def test_the_receipt_is_mailed_once(sealed):
    seal = Seal.objects.get(deposit=sealed)
    assert sealing.receipt_mail_send(seal_id=seal.pk) is False
    assert len(mail.outbox) == 1


def test_the_seal_verify_command_says_the_chain_is_whole(sealed, capsys):
    call_command("deposits_seal_verify")
    assert "Chaîne des sceaux intègre : 1 consultation(s) vérifiée(s)." in capsys.readouterr().out


def test_sealing_a_deposit_that_does_not_exist_does_nothing(db):
    assert sealing.deposit_seal(123456) is None


def test_the_seal_hash_covers_the_timestamp_window(sealed, clock):
    # The timestamp is taken on the manifest before the receipt is rendered: never after sealing.
    seal = Seal.objects.get(deposit=sealed)
    assert seal.timestamped_at <= seal.sealed_at <= seal.timestamped_at + timedelta(seconds=1)


def test_a_writer_that_lost_its_place_in_the_chain_starts_again(
    consultation, company_user, other_company_user, clock, monkeypatch
):
    # GIVEN two deposits, the second sealed by another writer while the first one's
    # receipt is being rendered
    first = finalised(consultation, company_user)
    second = finalised(consultation, other_company_user)
    real_seal = platform.pdf_seal
    calls = []

    def seal_meanwhile(pdf, **kwargs):
        calls.append(kwargs["reason"])
        if len(calls) == 1:
            sealing.deposit_seal(second.pk)
        return real_seal(pdf, **kwargs)

    monkeypatch.setattr(platform, "pdf_seal", seal_meanwhile)
    # WHEN the first deposit's seal is written
    seal = sealing.deposit_seal(first.pk)
    # THEN it took the next place, linked to the other writer's seal, its first receipt dropped
    other = Seal.objects.get(deposit=second)
    assert (other.sequence, seal.sequence) == (1, 2)
    assert seal.previous_hash == other.seal_hash
    assert len(calls) == 3
    stored = default_storage.listdir(f"deposits/receipts/{consultation.pk}")[1]
    assert sorted(stored) == sorted(s.receipt_object.rsplit("/", 1)[1] for s in (seal, other))
    assert sealing.seal_chain_verify(consultation) == []


@pytest.mark.django_db(transaction=True)
def test_concurrent_seals_of_one_consultation_stay_one_chain(buyer, clock, monkeypatch):
    import threading

    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("concurrence réelle : PostgreSQL seulement")

    from deposits.services import deposits as deposit_services
    from tests.factories import CompanyUserFactory

    # GIVEN four deposits of four companies finalised while no task ran
    monkeypatch.setattr(deposit_services, "_seal_queue", lambda deposit_id: None)
    consultation = consultation_online(organisation=buyer.organisation, created_by=buyer.user)
    deposits = []
    for index in range(4):
        clock.advance(seconds=1)
        deposits.append(finalised(consultation, CompanyUserFactory(company__name=f"Entreprise {index}")))
    assert not Seal.objects.exists()
    # WHEN four workers seal them at the same moment
    errors = []
    start = threading.Barrier(len(deposits))

    def seal(pk):
        try:
            start.wait()
            sealing.deposit_seal(pk)
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=seal, args=(deposit.pk,)) for deposit in deposits]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    # THEN each deposit has one seal, numbered 1 to 4, each linked to the one before
    assert errors == []
    seals = list(Seal.objects.filter(consultation=consultation).order_by("sequence"))
    assert [seal.sequence for seal in seals] == [1, 2, 3, 4]
    assert sorted(seal.deposit_id for seal in seals) == sorted(d.pk for d in deposits)
    assert sealing.seal_chain_verify(consultation) == []
    # AND no receipt object was left behind by a writer that lost its place
    receipts = list(default_storage.listdir(f"deposits/receipts/{consultation.pk}")[1])
    assert sorted(receipts) == sorted(seal.receipt_object.rsplit("/", 1)[1] for seal in seals)


def test_removing_or_changing_a_sealed_file_in_the_database_breaks_the_seal_chain_check(consultation, chain):
    first, second, _third = chain
    removed = DepositFile.objects.filter(envelope__deposit=first).first()
    removed_name = removed.name
    removed.delete()
    DepositFile.objects.filter(envelope__deposit=second).update(sha256="0" * 64)
    problems = sealing.seal_chain_verify(consultation)
    assert any(f"« {removed_name} », scellé dans le pli n° {first.pk}, a disparu" in p for p in problems)
    assert any(f"du pli n° {second.pk} ne correspond plus à son sceau" in p for p in problems)
