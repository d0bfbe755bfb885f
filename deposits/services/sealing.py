"""Sealing a finalised deposit (« scellement »): its canonical manifest chained to the
consultation's previous seal, an RFC 3161 timestamp, and the signed receipt
(« accusé de réception ») mailed to the depositor.

What is read back. Every file's data key is still sealed under the platform's upload key
(``deposits/ingest.py``): the sealing reads each file back from storage, authenticates
every segment, computes the plaintext's SHA-256, hands it to clamd when one is configured,
records all three on the file and erases the data key (``files_read_back``).
``DepositFile.sha256`` is then what the manifest carries for the content. Then the sealing
checks that storage still holds what the database recorded:
every stored part is there with its recorded size, and the file's encrypted object
(header || parts) has the size the format gives for the plaintext's size. It then
computes the SHA-256 of each encrypted object and puts it in the manifest, so from then on
any change to the stored bytes shows, before and without the opening.

The manifest is JSON with sorted keys, no spaces, UTF-8 (``manifest_bytes``). The chain:
``seal_hash = SHA-256(previous_hash || manifest_sha256)`` over the 128 ASCII characters of
the two lowercase hexadecimal hashes, ``previous_hash`` being the consultation's previous
seal's ``seal_hash`` (64 zeros for the first), and ``sequence`` 1, 2, 3… Seals of one
consultation are made one at a time: on PostgreSQL under a transaction-level advisory lock
of that consultation (not its row, which the finalisations lock: a seal being rendered
must not hold up a deposit at the deadline); everywhere, the unique (consultation,
sequence) makes a concurrent writer start again from the new last seal.
"""

import hashlib
import json
import logging
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, timedelta

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.mail import EmailMessage
from django.db import IntegrityError, connection, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.translation import gettext as _

from audit.models import Event
from audit.services import event_record
from config import clock
from consultations.models import Consultation
from consultations.registers import moment_sentence
from deposits import crypto, ingest
from deposits.models import Deposit, DepositFile, DepositState, DepositStatus, Seal
from deposits.selectors import part_names
from signatures import platform

logger = logging.getLogger(__name__)

GENESIS = "0" * 64
MANIFEST_FORMAT = "sdmp-seal-manifest-1"
# A finalised deposit still without its seal this long after its receipt is late for
# sealing: the sweep seals it, and the chain check reports it.
SEAL_GRACE = timedelta(minutes=15)
# The sweep leaves a deposit this fresh to the task queued at its finalisation.
SWEEP_AFTER = timedelta(minutes=1)
# A receipt never mailed (the queue lost its task) is queued again by the sweep, for a day.
MAIL_REQUEUE_AFTER = timedelta(minutes=10)
MAIL_GIVE_UP_AFTER = timedelta(days=1)
_ATTEMPTS = 8
# The first key of PostgreSQL's two-key advisory locks: « the seal chain of a consultation ».
_LOCK_NAMESPACE = 5_351_001


class SealRefused(Exception):
    """Storage does not hold what the database recorded for a file: never sealed as is."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


# --- The manifest ------------------------------------------------------------------------


def _utc_second(value) -> str:
    return value.astimezone(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def _encrypted_digest(deposit_file: DepositFile) -> str:
    """SHA-256 of the file's encrypted object, after checking each stored part's size."""
    digest = hashlib.sha256(deposit_file.encrypted_header())
    total = len(deposit_file.encrypted_header())
    parts = list(deposit_file.parts.order_by("number"))
    covered = 0
    for part in parts:
        if part.plaintext_offset != covered:
            raise SealRefused(_("Une partie du fichier « %(name)s » manque.") % {"name": deposit_file.name})
        covered += part.plaintext_size
    if covered != deposit_file.size:
        raise SealRefused(_("Une partie du fichier « %(name)s » manque.") % {"name": deposit_file.name})
    for part in parts:
        size = 0
        try:
            with default_storage.open(part.object_name, "rb") as stored:
                while chunk := stored.read(1024 * 1024):
                    digest.update(chunk)
                    size += len(chunk)
        except (OSError, ValueError):
            raise SealRefused(
                _("Une partie stockée du fichier « %(name)s » est introuvable.") % {"name": deposit_file.name}
            ) from None
        if size != part.stored_size:
            raise SealRefused(
                _("Une partie stockée du fichier « %(name)s » n'a pas la taille enregistrée.")
                % {"name": deposit_file.name}
            )
        total += size
    if total != deposit_file.encrypted_size():
        raise SealRefused(
            _("Le fichier chiffré « %(name)s » n'a pas la taille attendue.") % {"name": deposit_file.name}
        )
    return digest.hexdigest()


def files_read_back(deposit: Deposit) -> None:
    """Read back the files whose data key is still sealed for the upload (see above)."""
    pending = DepositFile.objects.filter(envelope__deposit=deposit, upload_key__isnull=False, sha256="")
    for deposit_file in pending:
        name = {"name": deposit_file.name}
        if not deposit_file.is_complete:
            raise SealRefused(_("Le fichier « %(name)s » n'a pas été entièrement reçu.") % name)
        try:
            data_key = ingest.upload_key_open(deposit_file.upload_key, upload_id=deposit_file.upload_id)
        except ingest.UploadKeyLost:
            raise SealRefused(
                _(
                    "Le fichier « %(name)s » ne peut plus être relu : la clé secrète de la "
                    "plateforme a changé."
                )
                % name
            ) from None
        try:
            verified = ingest.verify_stored(
                deposit_file.encrypted_header(), part_names(deposit_file), data_key
            )
        except crypto.DecryptionError:
            raise SealRefused(
                _("Le fichier stocké « %(name)s » ne se déchiffre pas : il a été altéré.") % name
            ) from None
        except (OSError, ValueError):
            raise SealRefused(
                _("Une partie stockée du fichier « %(name)s » est introuvable.") % name
            ) from None
        if verified.size != deposit_file.size:
            raise SealRefused(_("Le fichier chiffré « %(name)s » n'a pas la taille attendue.") % name)
        DepositFile.objects.filter(pk=deposit_file.pk, upload_key__isnull=False).update(
            sha256=verified.sha256, scan=verified.scan, scan_detail=verified.scan_detail, upload_key=None
        )


def deposit_manifest(deposit: Deposit) -> dict:
    """What the seal states about the deposit (raises ``SealRefused`` on a storage mismatch)."""
    consultation = deposit.consultation
    status = DepositStatus.ON_TIME if deposit.status == DepositStatus.SUPERSEDED else deposit.status
    envelopes = []
    for envelope in deposit.envelopes.select_related("lot").order_by("kind", "lot__number", "pk"):
        files = []
        for deposit_file in envelope.files.order_by("created_at", "pk"):
            if not deposit_file.is_complete or not deposit_file.sha256:
                raise SealRefused(
                    _("Le fichier « %(name)s » n'a pas été entièrement reçu.") % {"name": deposit_file.name}
                )
            files.append(
                {
                    "name": deposit_file.name,
                    "document": deposit_file.document_label,
                    "size": deposit_file.size,
                    "sha256": deposit_file.sha256,
                    "encrypted_sha256": _encrypted_digest(deposit_file),
                }
            )
        envelopes.append(
            {"kind": envelope.kind, "lot": envelope.lot.number if envelope.lot_id else None, "files": files}
        )
    return {
        "format": MANIFEST_FORMAT,
        "deposit": deposit.pk,
        "consultation": {"id": consultation.pk, "reference": consultation.reference},
        "company": {"siret": deposit.company.siret, "name": deposit.company.name},
        "received_at": _utc_second(deposit.received_at),
        # As judged at finalisation: a later deposit superseding this one changes nothing here.
        "status": status,
        "practice": bool(deposit.is_practice or consultation.is_practice),
        "envelopes": envelopes,
    }


def manifest_bytes(manifest: dict) -> bytes:
    """The canonical form: sorted keys, no spaces, UTF-8."""
    return json.dumps(manifest, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def chain_hash(previous_hash: str, manifest_sha256: str) -> str:
    return hashlib.sha256((previous_hash + manifest_sha256).encode("ascii")).hexdigest()


# --- Sealing -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Link:
    sequence: int
    previous_hash: str
    seal_hash: str


@contextmanager
def _chain_section(consultation_id: int):
    """PostgreSQL: the consultation's seal chain to this writer alone until the commit."""
    if connection.vendor != "postgresql":
        yield
        return
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [_LOCK_NAMESPACE, consultation_id])
        yield


def _next_link(consultation_id: int, manifest_sha256: str) -> _Link:
    previous = Seal.objects.filter(consultation_id=consultation_id).order_by("-sequence").first()
    previous_hash = previous.seal_hash if previous else GENESIS
    return _Link(
        sequence=(previous.sequence + 1) if previous else 1,
        previous_hash=previous_hash,
        seal_hash=chain_hash(previous_hash, manifest_sha256),
    )


def _refusal_record(deposit: Deposit, message: str) -> None:
    logger.error("Deposit %s cannot be sealed: %s", deposit.pk, message)
    already = Event.objects.filter(
        action="deposit.seal_refused", target_type="deposits.deposit", target_id=str(deposit.pk)
    ).exists()
    if not already:
        event_record(
            action="deposit.seal_refused",
            target=deposit,
            data={"consultation": deposit.consultation_id, "problem": message},
        )


def deposit_seal(deposit_id: int) -> Seal | None:
    """Seal a finalised deposit; nothing happens for a draft or one already sealed (the
    existing seal is returned). Raises ``SealRefused`` when storage does not match, and
    ``OSError`` when the timestamping authority does not answer (the task retries)."""
    deposit = (
        Deposit.objects.select_related("consultation__organisation", "company", "finalised_by")
        .filter(pk=deposit_id)
        .first()
    )
    if deposit is None or deposit.state != DepositState.FINALISED:
        return None
    existing = Seal.objects.filter(deposit_id=deposit.pk).first()
    if existing is not None:
        return existing
    try:
        files_read_back(deposit)
        manifest = manifest_bytes(deposit_manifest(deposit))
    except SealRefused as refused:
        _refusal_record(deposit, refused.message)
        raise
    manifest_sha256 = hashlib.sha256(manifest).hexdigest()
    token = platform.timestamp_token(manifest)
    for _attempt in range(_ATTEMPTS):
        with _chain_section(deposit.consultation_id):
            existing = Seal.objects.filter(deposit_id=deposit.pk).first()
            if existing is not None:
                return existing
            link = _next_link(deposit.consultation_id, manifest_sha256)
            seal = _seal_create(deposit, manifest, manifest_sha256, token, link)
            if seal is not None:
                return seal
    raise RuntimeError(f"the seal chain of consultation {deposit.consultation_id} stayed busy")


def _seal_create(deposit: Deposit, manifest: bytes, manifest_sha256: str, token: bytes, link: _Link):
    from deposits.receipt_pdf import receipt_pdf

    sealed_at = clock.now()
    seal = Seal(
        deposit=deposit,
        consultation_id=deposit.consultation_id,
        sequence=link.sequence,
        manifest=manifest.decode("utf-8"),
        manifest_sha256=manifest_sha256,
        previous_hash=link.previous_hash,
        seal_hash=link.seal_hash,
        timestamp_token=token,
        timestamped_at=platform.timestamp_time(token),
        sealed_at=sealed_at,
    )
    pdf = platform.pdf_seal(
        receipt_pdf(seal),
        reason=_("Accusé de réception du pli n° %(pk)s") % {"pk": deposit.pk},
        field_name="Sceau",
    )
    seal.receipt_sha256 = hashlib.sha256(pdf).hexdigest()
    name = f"deposits/receipts/{deposit.consultation_id}/pli-{deposit.pk}-{link.seal_hash[:16]}.pdf"
    seal.receipt_object = default_storage.save(name, ContentFile(pdf))
    try:
        with transaction.atomic():
            seal.save(force_insert=True)
            event_record(
                action="deposit.sealed",
                target=deposit,
                data={
                    "consultation": deposit.consultation_id,
                    "sequence": seal.sequence,
                    "seal_hash": seal.seal_hash,
                    "manifest_sha256": manifest_sha256,
                    "receipt_sha256": seal.receipt_sha256,
                },
            )
            transaction.on_commit(lambda: _mail_queue(seal.pk), robust=True)
    except IntegrityError:
        # Another writer took this place in the chain (or sealed this deposit): start again.
        default_storage.delete(seal.receipt_object)
        return None
    return seal


def _mail_queue(seal_id: int) -> None:
    from deposits.tasks import receipt_mail

    receipt_mail.delay(seal_id)


def deposits_seal_sweep() -> dict[str, int]:
    """Seal the finalised deposits left without a seal (no worker ran, or sealing failed)."""
    waiting = list(
        Deposit.objects.filter(
            state=DepositState.FINALISED, seal__isnull=True, received_at__lte=clock.now() - SWEEP_AFTER
        )
        .order_by("received_at", "pk")
        .values_list("pk", flat=True)
    )
    sealed = failed = 0
    now = clock.now()
    unmailed = list(
        Seal.objects.filter(
            mailed_at__isnull=True,
            sealed_at__lte=now - MAIL_REQUEUE_AFTER,
            sealed_at__gte=now - MAIL_GIVE_UP_AFTER,
        ).values_list("pk", flat=True)
    )
    for pk in unmailed:
        _mail_queue(pk)
    for pk in waiting:
        try:
            if deposit_seal(pk) is not None:
                sealed += 1
        except (SealRefused, OSError):
            failed += 1
        except Exception:
            logger.exception("Sealing deposit %s failed", pk)
            failed += 1
    return {"sealed": sealed, "failed": failed, "mails_requeued": len(unmailed)}


# --- The receipt's mail ------------------------------------------------------------------


def receipt_mail_send(*, seal_id: int) -> bool:
    """Mail the receipt to the user who finalised the deposit; False when already sent or
    nobody to write to. Raises ``OSError`` (SMTP) for the task to retry."""
    seal = (
        Seal.objects.select_related("deposit__company", "deposit__finalised_by", "consultation__organisation")
        .filter(pk=seal_id)
        .first()
    )
    if seal is None or seal.mailed_at is not None:
        return False
    user = seal.deposit.finalised_by
    if user is None or not user.email:
        return False
    context = {
        "platform_name": settings.PLATFORM_NAME,
        "seal": seal,
        "deposit": seal.deposit,
        "consultation": seal.consultation,
        "received_at": moment_sentence(seal.deposit.received_at),
        "practice": seal_is_practice(seal),
        "receipt_url": settings.PLATFORM_BASE_URL
        + reverse("deposits:company_receipt", args=[seal.deposit_id]),
        "check_url": settings.PLATFORM_BASE_URL + reverse("deposits:receipt_check"),
    }
    subject = " ".join(render_to_string("deposits/receipt/mail_subject.txt", context).split())
    body = render_to_string("deposits/receipt/mail_body.txt", context)
    message = EmailMessage(subject=subject, body=body, to=[user.email])
    with default_storage.open(seal.receipt_object, "rb") as stored:
        message.attach(receipt_filename(seal), stored.read(), "application/pdf")
    message.send()
    Seal.objects.filter(pk=seal.pk, mailed_at__isnull=True).update(mailed_at=clock.now())
    return True


def seal_is_practice(seal: Seal) -> bool:
    return bool(json.loads(seal.manifest).get("practice"))


def receipt_filename(seal: Seal) -> str:
    reference = "".join(c if c.isalnum() or c in "-_" else "-" for c in seal.consultation.reference)
    return f"accuse-de-reception-{reference}-pli-{seal.deposit_id}.pdf"


# --- Checking the chain ------------------------------------------------------------------


def _file_key(kind: str, lot, name: str) -> tuple:
    return (kind, lot, name)


def sealed_files(seal: Seal) -> dict[tuple, dict]:
    """What the seal's manifest states of each file: {(envelope kind, lot number, name): entry}."""
    try:
        manifest = json.loads(seal.manifest)
        return {
            _file_key(envelope["kind"], envelope["lot"], entry["name"]): entry
            for envelope in manifest["envelopes"]
            for entry in envelope["files"]
        }
    except (ValueError, KeyError, TypeError):
        return {}


def file_key_of(deposit_file: DepositFile) -> tuple:
    envelope = deposit_file.envelope
    return _file_key(envelope.kind, envelope.lot.number if envelope.lot_id else None, deposit_file.name)


def deposit_against_seal(deposit: Deposit, seal: Seal) -> list[str]:
    """Where the deposit's files, as the database now holds them, differ from what its seal
    states (a file removed, added, or changed); in French, empty when they agree."""
    sealed = sealed_files(seal)
    current = {
        file_key_of(f): f
        for f in DepositFile.objects.filter(envelope__deposit=deposit).select_related("envelope__lot")
    }
    problems = []
    for key in sorted(set(sealed) - set(current), key=str):
        problems.append(
            _("Le fichier « %(name)s », scellé dans le pli n° %(deposit)s, a disparu.")
            % {"name": key[2], "deposit": deposit.pk}
        )
    for key in sorted(set(current) - set(sealed), key=str):
        problems.append(
            _("Le fichier « %(name)s » du pli n° %(deposit)s n'est pas dans son sceau : il a été ajouté.")
            % {"name": key[2], "deposit": deposit.pk}
        )
    for key in sorted(set(sealed) & set(current), key=str):
        entry, deposit_file = sealed[key], current[key]
        if entry.get("size") != deposit_file.size or entry.get("sha256") != deposit_file.sha256:
            problems.append(
                _("Le fichier « %(name)s » du pli n° %(deposit)s ne correspond plus à son sceau.")
                % {"name": key[2], "deposit": deposit.pk}
            )
    return problems


def seal_chain_verify(consultation: Consultation) -> list[str]:
    """The problems of the consultation's seal chain, in French; an empty list when whole.

    Checks each seal's manifest against its hash, its deposit, its timestamp, its link to
    the previous seal; that no sequence number is missing, not even after the last one (the
    audit log keeps every seal made); and that no finalised deposit is left without a seal
    after the sweep's grace.
    """
    problems: list[str] = []
    seals = list(
        Seal.objects.filter(consultation=consultation).select_related("deposit").order_by("sequence")
    )
    by_sequence = {seal.sequence: seal for seal in seals}
    recorded = {}
    events = Event.objects.filter(
        action="deposit.sealed", target_type="deposits.deposit", data__consultation=consultation.pk
    )
    for event in events.only("data"):
        data = event.data or {}
        if data.get("consultation") == consultation.pk and isinstance(data.get("sequence"), int):
            recorded[data["sequence"]] = data.get("seal_hash")
    last = max([*by_sequence, *recorded], default=0)
    for sequence in range(1, last + 1):
        if sequence not in by_sequence:
            problems.append(
                _("Le sceau n° %(n)s manque dans la chaîne : un pli scellé a disparu.") % {"n": sequence}
            )
    previous_hash = None
    previous_sequence = 0
    for seal in seals:
        n = seal.sequence
        manifest = seal.manifest.encode("utf-8")
        if hashlib.sha256(manifest).hexdigest() != seal.manifest_sha256:
            problems.append(
                _("Le manifeste du sceau n° %(n)s a été modifié : son empreinte ne correspond plus.")
                % {"n": n}
            )
        try:
            manifest_deposit = json.loads(manifest).get("deposit")
        except (ValueError, AttributeError):
            manifest_deposit = None
        if manifest_deposit != seal.deposit_id:
            problems.append(_("Le manifeste du sceau n° %(n)s ne désigne pas son pli.") % {"n": n})
        expected_previous = GENESIS if n == 1 else (previous_hash if previous_sequence == n - 1 else None)
        if expected_previous is not None and seal.previous_hash != expected_previous:
            problems.append(_("Le lien du sceau n° %(n)s vers le sceau précédent est rompu.") % {"n": n})
        if seal.seal_hash != chain_hash(seal.previous_hash, hashlib.sha256(manifest).hexdigest()):
            problems.append(_("L'empreinte du sceau n° %(n)s ne correspond pas à son contenu.") % {"n": n})
        if n in recorded and recorded[n] != seal.seal_hash:
            problems.append(
                _("Le sceau n° %(n)s n'est plus celui que le journal d'audit a enregistré.") % {"n": n}
            )
        problems.extend(deposit_against_seal(seal.deposit, seal))
        if not platform.timestamp_covers(bytes(seal.timestamp_token), manifest):
            problems.append(
                _("Le jeton d'horodatage du sceau n° %(n)s ne correspond pas à son manifeste.") % {"n": n}
            )
        previous_hash, previous_sequence = seal.seal_hash, n
    late = clock.now() - SEAL_GRACE
    unsealed = Deposit.objects.filter(
        consultation=consultation, state=DepositState.FINALISED, seal__isnull=True, received_at__lte=late
    ).select_related("company")
    for deposit in unsealed.order_by("received_at", "pk"):
        problems.append(
            _("Le pli n° %(pk)s de %(company)s, reçu le %(moment)s, n'a pas de sceau.")
            % {
                "pk": deposit.pk,
                "company": deposit.company.name,
                "moment": moment_sentence(deposit.received_at),
            }
        )
    return problems


# --- Reads -------------------------------------------------------------------------------


def seal_of_deposit(deposit: Deposit) -> Seal | None:
    return Seal.objects.filter(deposit=deposit).select_related("consultation").first()


def seal_by_receipt(receipt_sha256: str) -> Seal | None:
    """The seal whose receipt has exactly this SHA-256: a receipt the platform issued."""
    return (
        Seal.objects.select_related("deposit__company", "consultation__organisation")
        .filter(receipt_sha256=receipt_sha256)
        .first()
    )
