"""The platform's seal certificates over time: what it sealed with, so that what it sealed
still verifies after a rotation, and when a certificate was retired.

``history_record`` runs before the platform seals with a certificate (once per process and
certificate); ``history_roots`` gives the roots of every certificate ever used, which
``signatures.platform.trust_roots`` adds to the configured ones; ``history_retired_at``
says from when a certificate's seals are no longer recognised.
"""

from datetime import datetime

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.utils.translation import gettext as _

from config import clock

from .models import PlatformSealCertificate

# Fingerprints this process has recorded (and found not retired).
_recorded: set[str] = set()


def fingerprint(certificate: x509.Certificate) -> str:
    return certificate.fingerprint(hashes.SHA256()).hex()


def _pem(certificates) -> str:
    return "".join(c.public_bytes(serialization.Encoding.PEM).decode("ascii") for c in certificates)


def _certificates(pem: str) -> list[x509.Certificate]:
    return x509.load_pem_x509_certificates(pem.encode("ascii")) if pem.strip() else []


def history_record(certificate: x509.Certificate, roots) -> None:
    """Note that the platform seals with ``certificate`` (chaining to ``roots``).

    Raises ``ImproperlyConfigured`` when that certificate has been retired: the platform
    then refuses to seal rather than issue documents that would not verify."""
    key = fingerprint(certificate)
    if key in _recorded:
        return
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
    _recorded.add(key)


def history_roots() -> list[x509.Certificate]:
    """The roots of every certificate the platform has sealed with."""
    roots: dict[str, x509.Certificate] = {}
    for pem in PlatformSealCertificate.objects.values_list("roots_pem", flat=True):
        for certificate in _certificates(pem):
            roots.setdefault(fingerprint(certificate), certificate)
    return list(roots.values())


def history_retired_at(certificate: x509.Certificate) -> datetime | None:
    """From when seals of ``certificate`` are no longer recognised (None: not retired)."""
    return (
        PlatformSealCertificate.objects.filter(fingerprint_sha256=fingerprint(certificate))
        .values_list("retired_at", flat=True)
        .first()
    )


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
    _recorded.discard(row.fingerprint_sha256)
    return row
