"""The files of a deposit, received through tus uploads (the protocol is in ``deposits/tus.py``).

- ``deposit_file_create``: the file is declared (name, size, envelope); it gets its data
  key, wrapped at once for each opening key of the deposit, and kept for the upload under
  the platform's upload key (``deposits/ingest.py``).
- ``deposit_file_receive``: one PATCH body, encrypted into one stored part, whole segments
  only. The row is not locked while the body streams (a PATCH may last minutes): the part
  is written under a name of its own, then recorded in a short transaction that checks the
  offset has not moved. Of two PATCHes racing from the same offset, the first to record
  wins; the other's part is deleted and it answers « conflict ».
- ``deposit_file_remove``: the tus termination, while the deposit is a draft.
"""

import logging
import os
import secrets
import unicodedata
import uuid
from datetime import datetime, timedelta

from cryptography import x509
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.storage import default_storage
from django.db import transaction
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accounts.permissions import company_can_act_for
from config import clock
from config.filetypes import ACCEPTED_EXTENSIONS, MAGIC, extension_of, upload_check
from consultations.models import Consultation
from consultations.validators import validate_file_name
from deposits import crypto, ingest
from deposits.models import (
    Deposit,
    DepositFile,
    DepositState,
    Envelope,
    FilePart,
    OpeningKey,
    WrappedKey,
)
from deposits.selectors import opening_keys_for, part_names
from deposits.services.deposits import (
    FINALISING_STATES,
    accepting_require,
    company_user_require,
    draft_require,
)
from deposits.services.errors import DepositError

logger = logging.getLogger(__name__)

NAME_MAX_LENGTH = DepositFile._meta.get_field("name").max_length
LABEL_MAX_LENGTH = DepositFile._meta.get_field("document_label").max_length
_CHECK_REASONS = {
    "file_name": "invalid",
    "file_type": "unsupported",
    "file_empty": "invalid",
    "file_size": "too_large",
    "file_content": "unsupported",
}


# --- Checks ------------------------------------------------------------------------------


def consultation_extensions(consultation: Consultation) -> frozenset[str]:
    """The file types the consultation accepts, as « .pdf »: its modalities' list, or the
    platform's when it names none. Only types whose content can be checked count."""
    chosen = {
        f".{str(value).strip().lower().lstrip('.')}" for value in consultation.accepted_extensions or ()
    }
    chosen &= set(MAGIC)
    return frozenset(chosen) if chosen else ACCEPTED_EXTENSIONS


class _Declared:
    """What ``upload_check`` reads of a file, for one that is not here yet: its declared
    name and size, and its first bytes once they arrive."""

    def __init__(self, name: str, size: int, head: bytes):
        self.name = name
        self.size = size
        self._head = head

    def seek(self, position: int) -> None:
        pass

    def read(self, size: int = -1) -> bytes:
        return self._head if size < 0 else self._head[:size]


def _refused(error: ValidationError) -> DepositError:
    return DepositError(error.messages[0], reason=_CHECK_REASONS.get(error.code, "invalid"))


def _name_check(name: str, size: int, extensions: frozenset[str] = ACCEPTED_EXTENSIONS) -> str:
    """The name, extension and size rules of ``upload_check``, before any byte arrives.

    Its content rule waits for the first PATCH (``_content_check``): until then the check
    is given the signature of the announced format, which passes it by construction.
    """
    name = unicodedata.normalize("NFC", (name or "").strip())
    if not name:
        raise DepositError(_("Le nom du fichier manque (métadonnée « filename » de l'envoi)."))
    try:
        # Before upload_check, which keeps only the last component of a path: here a
        # name with a separator is refused, not shortened.
        validate_file_name(name)
    except ValidationError as error:
        raise DepositError(error.messages[0]) from error
    if len(name) > NAME_MAX_LENGTH:
        raise DepositError(
            _("Le nom du fichier est limité à %(max)d caractères : renommez-le.") % {"max": NAME_MAX_LENGTH}
        )
    signatures = MAGIC.get(extension_of(name))
    sample = signatures[0] if signatures else b""
    try:
        return upload_check(
            _Declared(name, size, sample), max_bytes=settings.DEPOSIT_MAX_FILE_BYTES, extensions=extensions
        )
    except ValidationError as error:
        raise _refused(error) from error


def _content_check(deposit_file: DepositFile):
    extensions = consultation_extensions(deposit_file.envelope.deposit.consultation)

    def check(head: bytes) -> None:
        try:
            upload_check(
                _Declared(deposit_file.name, deposit_file.size, head),
                # The size was accepted at creation: a lower limit since then does not
                # turn an upload in progress into an error.
                max_bytes=max(settings.DEPOSIT_MAX_FILE_BYTES, deposit_file.size),
                extensions=extensions,
            )
        except ValidationError as error:
            raise ingest.ContentRefused(error.messages[0]) from error

    return check


def _label_clean(label: str) -> str:
    label = " ".join((label or "").split())
    if any(unicodedata.category(character) == "Cc" for character in label):
        raise DepositError(_("Le libellé du document contient des caractères de contrôle."))
    if len(label) > LABEL_MAX_LENGTH:
        raise DepositError(
            _("Le libellé du document est limité à %(max)d caractères.") % {"max": LABEL_MAX_LENGTH}
        )
    return label


def _uploader_require(deposit_file: DepositFile, user) -> None:
    if deposit_file.created_by_id != user.pk or not company_can_act_for(
        user, deposit_file.envelope.deposit.company
    ):
        raise PermissionDenied


def _public_key(key: OpeningKey):
    certificate = x509.load_pem_x509_certificate(key.certificate_pem.encode("ascii"))
    if crypto.key_fingerprint(certificate) != key.fingerprint:
        # The row was altered outside the platform's services: encrypt to nothing rather than to it.
        raise DepositError(
            _("Une clé de chiffrement de la consultation est altérée : signalez-le à l'acheteur."),
            reason="forbidden",
        )
    return certificate.public_key()


def _keys_of(deposit: Deposit) -> list[OpeningKey]:
    """The keys the deposit's files are wrapped for, fixed when its first file starts."""
    keys = list(deposit.keys.order_by("pk"))
    if not keys:
        keys = opening_keys_for(deposit.consultation)
        deposit.keys.set(keys)
    return keys


def _file_delete(deposit_file: DepositFile) -> None:
    """Remove a file's rows now and its stored parts once the transaction commits."""
    names = part_names(deposit_file)
    DepositFile.objects.filter(pk=deposit_file.pk).delete()
    if names:
        transaction.on_commit(lambda: _objects_delete(names))


def _objects_delete(names: list[str]) -> None:
    for name in names:
        try:
            default_storage.delete(name)
        except Exception:
            # Ciphertext nobody can read without the file's row: left for a storage sweep.
            logger.exception("Partie chiffrée non supprimée du stockage : %s", name)


def _same_name_check(envelope: Envelope, name: str, user) -> None:
    for other in envelope.files.filter(name=name):
        if other.is_complete:
            raise DepositError(
                _(
                    "Le fichier « %(name)s » est déjà dans cette enveloppe : retirez-le d'abord "
                    "pour le remplacer, ou renommez le nouveau."
                )
                % {"name": name},
                reason="conflict",
            )
        if other.created_by_id != user.pk:
            raise DepositError(
                _("Un collègue est en train d'envoyer un fichier « %(name)s » dans cette enveloppe.")
                % {"name": name},
                reason="conflict",
            )
        # The same person sends the same file again: the unfinished upload gives way.
        _file_delete(other)


# --- Creation ----------------------------------------------------------------------------


def deposit_file_create(
    *, deposit: Deposit, envelope: Envelope, user, name: str, size: int, document_label: str = ""
) -> DepositFile:
    """Declare a file of ``size`` bytes in one of the deposit's envelopes (tus creation)."""
    company_user_require(user, deposit.company)
    if envelope.deposit_id != deposit.pk:
        raise DepositError(_("Cette enveloppe n'appartient pas à ce pli."), reason="not_found")
    name = _name_check(name, size, consultation_extensions(deposit.consultation))
    document_label = _label_clean(document_label)
    data_key = crypto.data_key_new()
    upload_id = uuid.uuid4()
    with transaction.atomic():
        # The deposit row only: the consultation is read, its row is for the finalisations to lock.
        deposit = (
            Deposit.objects.select_for_update(of=("self",)).select_related("consultation").get(pk=deposit.pk)
        )
        draft_require(deposit)
        accepting_require(deposit.consultation)
        keys = _keys_of(deposit)
        wrapped = [(key, crypto.wrap_key(data_key, _public_key(key))) for key in keys]
        _same_name_check(envelope, name, user)
        deposit_file = DepositFile.objects.create(
            envelope=envelope,
            upload_id=upload_id,
            name=name,
            document_label=document_label,
            size=size,
            segment_size=crypto.SEGMENT_SIZE,
            nonce_prefix=os.urandom(crypto.NONCE_PREFIX_SIZE),
            upload_key=ingest.upload_key_seal(data_key, upload_id=upload_id),
            created_by=user,
            created_at=clock.now(),
        )
        WrappedKey.objects.bulk_create(
            WrappedKey(deposit_file=deposit_file, opening_key=key, wrapped=blob) for key, blob in wrapped
        )
    return deposit_file


# --- Expiry ------------------------------------------------------------------------------

# An upload not complete this long after it started is abandoned (tus « expiration »): its
# stored parts and its sealed data key are removed by ``uploads_expired_remove``.
UPLOAD_EXPIRY = timedelta(days=7)


def upload_expires_at(deposit_file: DepositFile) -> datetime | None:
    """When an unfinished upload expires; None once the file is complete."""
    return None if deposit_file.is_complete else deposit_file.created_at + UPLOAD_EXPIRY


def _expired_refuse(deposit_file: DepositFile) -> None:
    expires = upload_expires_at(deposit_file)
    if expires is not None and clock.now() >= expires:
        raise DepositError(
            _(
                "Cet envoi a expiré : il avait commencé il y a plus de %(days)d jours. Retirez le "
                "fichier et envoyez-le de nouveau."
            )
            % {"days": UPLOAD_EXPIRY.days},
            reason="gone",
        )


def uploads_expired_remove() -> int:
    """Remove the unfinished uploads of draft deposits that have expired; returns how many."""
    expired = DepositFile.objects.filter(
        completed_at__isnull=True,
        created_at__lte=clock.now() - UPLOAD_EXPIRY,
        envelope__deposit__state=DepositState.DRAFT,
    ).select_related("envelope")
    removed = 0
    for deposit_file in expired:
        with transaction.atomic():
            deposit = Deposit.objects.select_for_update().get(pk=deposit_file.envelope.deposit_id)
            if not deposit.is_draft:
                continue
            _file_delete(deposit_file)
            removed += 1
    if removed:
        logger.info("%d expired uploads removed.", removed)
    return removed


# --- Receiving ---------------------------------------------------------------------------


def _offset_conflict(offset: int) -> DepositError:
    return DepositError(
        ngettext(
            "Le serveur a reçu %(offset)s octet de ce fichier : reprenez l'envoi à partir de là.",
            "Le serveur a reçu %(offset)s octets de ce fichier : reprenez l'envoi à partir de là.",
            offset,
        )
        % {"offset": offset},
        reason="conflict",
    )


def _receiving_require(deposit_file: DepositFile) -> None:
    deposit = deposit_file.envelope.deposit
    draft_require(deposit)
    if deposit.consultation.state not in FINALISING_STATES:
        raise DepositError(
            _("Cette consultation ne reçoit plus de plis : elle n'est plus en ligne."), reason="forbidden"
        )


def _part_record(
    deposit_file: DepositFile, *, offset: int, number: int, received: ingest.Received
) -> DepositFile:
    with transaction.atomic():
        deposit = Deposit.objects.select_for_update().get(pk=deposit_file.envelope.deposit_id)
        draft_require(deposit)
        try:
            current = DepositFile.objects.select_for_update().get(pk=deposit_file.pk)
        except DepositFile.DoesNotExist:
            raise DepositError(_("Cet envoi a été annulé."), reason="not_found") from None
        if current.offset != offset:
            raise _offset_conflict(current.offset)
        FilePart.objects.create(
            deposit_file=current,
            number=number,
            object_name=received.object_name,
            plaintext_offset=offset,
            plaintext_size=received.kept,
            stored_size=received.stored_size,
        )
        current.offset = offset + received.kept
        fields = ["offset"]
        if current.offset == current.size:
            current.completed_at = clock.now()
            fields.append("completed_at")
        current.save(update_fields=fields)
    current.envelope = deposit_file.envelope
    return current


def deposit_file_receive(
    *,
    deposit_file: DepositFile,
    user,
    offset: int,
    read,
    content_length: int | None,
    checksum: tuple | None = None,
) -> DepositFile:
    """Encrypt and store one PATCH body sent from ``offset``; returns the file with its new offset.

    ``read(n)`` reads the body; ``checksum`` is (hash constructor, expected digest) from
    Upload-Checksum. The offset moves by the whole segments kept, which may be less than
    the body: the client continues from the offset it is answered.
    """
    _uploader_require(deposit_file, user)
    _receiving_require(deposit_file)
    _expired_refuse(deposit_file)
    if offset != deposit_file.offset:
        raise _offset_conflict(deposit_file.offset)
    if deposit_file.is_complete:
        if content_length:
            raise DepositError(_("Ce fichier est déjà entièrement reçu."), reason="conflict")
        return deposit_file
    if content_length is None:
        raise DepositError(_("La taille de l'envoi (Content-Length) manque."), reason="length_required")
    end = offset + content_length
    if end > deposit_file.size:
        raise DepositError(
            ngettext(
                "Cet envoi dépasse la taille annoncée du fichier (%(size)s octet).",
                "Cet envoi dépasse la taille annoncée du fichier (%(size)s octets).",
                deposit_file.size,
            )
            % {"size": deposit_file.size}
        )
    if content_length == 0:
        return deposit_file
    if end < deposit_file.size and content_length < deposit_file.segment_size:
        # Nothing of it could be kept: answered before reading, or the client would send it for ever.
        raise DepositError(
            _("Envoyez le fichier par morceaux d'au moins %(size)s, sauf le dernier.")
            % {"size": filesizeformat(deposit_file.segment_size)}
        )
    try:
        data_key = ingest.upload_key_open(deposit_file.upload_key, upload_id=deposit_file.upload_id)
    except ingest.UploadKeyLost as error:
        raise DepositError(
            _("L'envoi de ce fichier ne peut plus reprendre : retirez-le et envoyez-le de nouveau."),
            reason="gone",
        ) from error
    previous = part_names(deposit_file)
    number = len(previous) + 1
    object_name = (
        f"deposits/{deposit_file.envelope.deposit_id}/{deposit_file.upload_id.hex}/{number:06d}-"
        + (secrets.token_hex(4))
    )
    try:
        received = ingest.receive(
            read,
            content_length=content_length,
            data_key=data_key,
            nonce_prefix=bytes(deposit_file.nonce_prefix),
            segment_size=deposit_file.segment_size,
            offset=offset,
            size=deposit_file.size,
            object_name=object_name,
            content_check=_content_check(deposit_file) if offset == 0 else None,
            checksum=checksum,
        )
    except ingest.ContentRefused as refused:
        # Nothing was stored: the declared file goes, so that it does not hold up the deposit.
        with transaction.atomic():
            Deposit.objects.select_for_update().get(pk=deposit_file.envelope.deposit_id)
            _file_delete(deposit_file)
        raise DepositError(refused.message, reason="unsupported") from refused
    try:
        if checksum is not None and not received.checksum_matches:
            raise DepositError(
                _("La somme de contrôle ne correspond pas au contenu reçu : ce morceau doit être renvoyé."),
                reason="checksum",
            )
        if not received.kept:
            # The body ended before a whole segment (the client went away): nothing changes.
            return deposit_file
        # A complete file is not read back here: its data key stays sealed under the upload
        # key until the sealing reads it back (deposits/services/sealing.py).
        return _part_record(deposit_file, offset=offset, number=number, received=received)
    except BaseException:
        if received.object_name:
            default_storage.delete(received.object_name)
        raise


# --- Termination -------------------------------------------------------------------------


def deposit_file_remove(*, deposit_file: DepositFile, user) -> None:
    """Withdraw a file from a draft deposit, with what was stored of it."""
    company_user_require(user, deposit_file.envelope.deposit.company)
    with transaction.atomic():
        deposit = Deposit.objects.select_for_update().get(pk=deposit_file.envelope.deposit_id)
        draft_require(deposit)
        _file_delete(deposit_file)
