"""The platform's seal certificates over time: what it sealed with, so that what it sealed
still verifies after a rotation, and when a certificate was retired.

``history_record`` runs before the platform seals with a certificate;
``history_document_record`` notes each document it sealed (its SHA-256 as issued);
``history_roots`` gives the roots of every certificate ever used, which
``signatures.platform.trust_roots`` adds to the configured ones; ``history_status`` says
whether a certificate is one the platform sealed with, and from when it is retired.
"""

import hashlib
from datetime import datetime

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.utils.translation import gettext as _

from config import clock

from .models import PlatformSealCertificate, PlatformSealedDocument


def fingerprint(certificate: x509.Certificate) -> str:
    return certificate.fingerprint(hashes.SHA256()).hex()


def _pem(certificates) -> str:
    return "".join(c.public_bytes(serialization.Encoding.PEM).decode("ascii") for c in certificates)


def _certificates(pem: str) -> list[x509.Certificate]:
    return x509.load_pem_x509_certificates(pem.encode("ascii")) if pem.strip() else []


def history_record(certificate: x509.Certificate, roots) -> PlatformSealCertificate:
    """Note that the platform seals with ``certificate`` (chaining to ``roots``), at each
    seal (one indexed query): a retirement by another process is seen at once, and a row
    rolled back with its caller's transaction is written again next time.

    Raises ``ImproperlyConfigured`` when that certificate has been retired: the platform
    then refuses to seal rather than issue documents that would not verify."""
    key = fingerprint(certificate)
    with transaction.atomic():
        row, created = PlatformSealCertificate.objects.get_or_create(
            fingerprint_sha256=key,
            defaults={
                "subject": certificate.subject.rfc4514_string()[:500],
                "certificate_pem": _pem([certificate]),
                "roots_pem": _pem(roots),
                "not_after": certificate.not_valid_after_utc,
                "first_used_at": clock.now(),
            },
        )
        if not created:
            if row.retired_at is not None:
                raise ImproperlyConfigured(
                    _(
                        "Le certificat de cachet configuré (%(subject)s) a été retiré le %(moment)s : "
                        "configurez un nouveau certificat avant de sceller."
                    )
                    % {"subject": row.subject, "moment": row.retired_at.isoformat()}
                )
            known = {fingerprint(c) for c in _certificates(row.roots_pem)}
            added = [c for c in roots if fingerprint(c) not in known]
            if added:
                row.roots_pem += _pem(added)
                row.save(update_fields=["roots_pem"])
    return row


def history_document_record(row: PlatformSealCertificate, sealed: bytes, reason: str) -> None:
    """Note the SHA-256 of a document as the platform issued it, sealed with ``row``."""
    with transaction.atomic():
        PlatformSealedDocument.objects.get_or_create(
            sha256=hashlib.sha256(sealed).hexdigest(),
            defaults={"certificate": row, "reason": reason[:255], "sealed_at": clock.now()},
        )


def history_document_known(sha256: str) -> bool:
    return PlatformSealedDocument.objects.filter(sha256=sha256).exists()


def history_status(certificate: x509.Certificate) -> tuple[bool, datetime | None]:
    """(whether the platform has sealed with ``certificate``, from when it is retired)."""
    rows = list(
        PlatformSealCertificate.objects.filter(fingerprint_sha256=fingerprint(certificate)).values_list(
            "retired_at", flat=True
        )[:1]
    )
    return bool(rows), rows[0] if rows else None


def history_roots() -> list[x509.Certificate]:
    """The roots of every certificate the platform has sealed with."""
    roots: dict[str, x509.Certificate] = {}
    for pem in PlatformSealCertificate.objects.values_list("roots_pem", flat=True):
        for certificate in _certificates(pem):
            roots.setdefault(fingerprint(certificate), certificate)
    return list(roots.values())


def history_retire(fingerprint_prefix: str, at: datetime) -> PlatformSealCertificate:
    """Retire the certificate whose fingerprint starts with ``fingerprint_prefix`` (at least
    16 hexadecimal characters) from ``at``. Raises ``LookupError`` with a French message."""
    prefix = fingerprint_prefix.strip().lower().replace(":", "")
    if len(prefix) < 16:
        raise LookupError(_("Donnez au moins les 16 premiers caractères de l'empreinte SHA-256."))
    rows = list(PlatformSealCertificate.objects.filter(fingerprint_sha256__startswith=prefix)[:2])
    if len(rows) != 1:
        raise LookupError(_("Aucun certificat de cachet de la plateforme n'a cette empreinte."))
    [row] = rows
    if row.retired_at is None or at < row.retired_at:
        row.retired_at = at
        row.save(update_fields=["retired_at"])
    return row
