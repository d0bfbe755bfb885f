"""Attachments: checked by name and content, scanned when clamd is configured, hashed,
and stored once even when the same file goes to many companies."""

import hashlib
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.utils.translation import gettext as _

from config import antivirus
from config.filetypes import upload_check
from messaging.errors import MessagingError
from messaging.models import Attachment, Message, ScanResult, attachment_upload_to

CHUNK = 1024 * 1024


@dataclass(frozen=True)
class StoredFile:
    name: str
    blob: str
    size: int
    sha256: str
    scan: str


def _sha256(uploaded) -> str:
    digest = hashlib.sha256()
    uploaded.seek(0)
    for chunk in uploaded.chunks(CHUNK):
        digest.update(chunk)
    uploaded.seek(0)
    return digest.hexdigest()


def attachment_check(uploaded) -> tuple[str, str]:
    """Check and scan one uploaded file; refuse it with the reason. Returns (name, scan)."""
    try:
        name = upload_check(uploaded, max_bytes=settings.MESSAGE_ATTACHMENT_MAX_BYTES)
    except ValidationError as error:
        raise MessagingError(error.messages[0], field="files") from error
    scan = ScanResult.NOT_SCANNED
    if antivirus.antivirus_enabled():
        uploaded.seek(0)
        try:
            virus = antivirus.scan(uploaded)
        except antivirus.AntivirusUnavailable as error:
            raise MessagingError(
                _(
                    "L'antivirus n'a pas pu analyser le fichier « %(name)s » : rien n'a été envoyé. "
                    "Réessayez dans quelques minutes."
                )
                % {"name": name},
                field="files",
            ) from error
        if virus:
            raise MessagingError(
                _(
                    "Le fichier « %(name)s » contient un virus (%(virus)s) : il n'a pas été envoyé. "
                    "Nettoyez votre poste, puis joignez un fichier sain."
                )
                % {"name": name, "virus": virus},
                field="files",
            )
        scan = ScanResult.CLEAN
    return name, scan


def attachment_save(uploaded, name: str, scan: str) -> StoredFile:
    """Hash and store one checked file, in chunks."""
    sha256 = _sha256(uploaded)
    blob = default_storage.save(attachment_upload_to(None, name), uploaded)
    return StoredFile(name=name, blob=blob, size=uploaded.size, sha256=sha256, scan=scan)


def attachments_store(files) -> list[StoredFile]:
    files = list(files or [])
    if len(files) > settings.MESSAGE_ATTACHMENTS_MAX:
        raise MessagingError(
            _("Vous pouvez joindre au plus %(max)d fichiers à un message ; regroupez-les dans un ZIP.")
            % {"max": settings.MESSAGE_ATTACHMENTS_MAX},
            field="files",
        )
    names = [f.name for f in files]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise MessagingError(
            _("Le fichier « %(name)s » est joint deux fois.") % {"name": duplicates[0]}, field="files"
        )
    # Every file is checked before any is stored: a refused file leaves nothing behind.
    checked = [attachment_check(f) for f in files]
    stored: list[StoredFile] = []
    try:
        for f, (name, scan) in zip(files, checked, strict=True):
            stored.append(attachment_save(f, name, scan))
    except Exception:
        blobs_discard(stored)
        raise
    return stored


def blobs_discard(stored: list[StoredFile]) -> None:
    """Remove files stored for a message that was not sent after all."""
    for item in stored:
        default_storage.delete(item.blob)


def attachments_attach(message: Message, stored: list[StoredFile]) -> None:
    Attachment.objects.bulk_create(
        Attachment(message=message, name=s.name, blob=s.blob, size=s.size, sha256=s.sha256, scan=s.scan)
        for s in stored
    )
