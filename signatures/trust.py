"""The trust store: which certificate authorities the platform trusts when it verifies a signature.

- ``trust_store() -> (roots, intermediates)``: what ``signatures.verify.signature_verify``
  is given. The *anchors* (``roots``) are the active certificates of category « racine »,
  « certificats qualifiés » and « horodatage »: an administrator who adds a root, and a
  trusted list that names a qualified service (its « ServiceDigitalIdentity »), both say
  « signatures chaining to this certificate are trusted », self-signed or not (an EU
  trusted list often names a subordinate CA, not its root). The « intermédiaire » ones
  only help to build a chain up to an anchor: they are never trusted alone. Deactivated
  certificates are left out; expired ones stay (a signature is judged at its signing time).
  The platform's own roots (``signatures.platform.trust_roots()``) are always added, so
  that the platform's seals and timestamps verify.
- ``certificate_add(data, *, name, category, …)``: one certificate, PEM or DER, read with
  ``cryptography``; subject, issuer, dates and SHA-256 fingerprint are filled from it;
  garbage, a bundle of several certificates, a duplicate, or a « CA » category given to an
  end-entity certificate are refused with a French ``TrustError``.
- ``trusted_list_import(xml)``: an EU trusted list (ETSI TS 119 612) read from a local file,
  offline: the granted « CA/QC » services become « qualified » anchors, the granted
  « TSA/QTST » services « timestamp » anchors; everything else is skipped.
- ``verification_options()``: the keyword arguments of ``signature_verify`` (trust store and
  revocation fetching, ``settings.SIGNATURE_REVOCATION_FETCH``, off by default).
"""

import base64
import binascii
import hashlib
import logging
from datetime import UTC

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _
from lxml import etree

from audit.services import event_record

from .models import CertificateCategory, CertificateSource, TrustedCertificate

logger = logging.getLogger(__name__)

__all__ = [
    "ANCHOR_CATEGORIES",
    "TrustError",
    "category_check",
    "certificate_add",
    "certificate_deactivate",
    "certificate_parse",
    "certificate_record",
    "certificate_save",
    "trust_store",
    "trusted_list_import",
    "verification_options",
]

ANCHOR_CATEGORIES = (CertificateCategory.ROOT, CertificateCategory.QUALIFIED, CertificateCategory.TIMESTAMP)
CA_CATEGORIES = (CertificateCategory.ROOT, CertificateCategory.INTERMEDIATE, CertificateCategory.QUALIFIED)

SERVICE_TYPES = {
    "http://uri.etsi.org/TrstSvc/Svctype/CA/QC": CertificateCategory.QUALIFIED,
    "http://uri.etsi.org/TrstSvc/Svctype/TSA/QTST": CertificateCategory.TIMESTAMP,
}
GRANTED_SUFFIX = "/Svcstatus/granted"
# A national trusted list is a few MiB; the list of lists much less.
TRUSTED_LIST_MAX_SIZE = 50 * 1024 * 1024


class TrustError(Exception):
    """A certificate or a trusted list refused; the message is French and shown as is."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


# --- The store ------------------------------------------------------------------------------


def _load_pem(pem: str) -> x509.Certificate | None:
    try:
        return x509.load_pem_x509_certificate(pem.encode("ascii"))
    except ValueError:
        logger.warning("Trusted certificate unreadable, left out of the trust store")
        return None


def _fingerprint(certificate: x509.Certificate) -> str:
    return hashlib.sha256(certificate.public_bytes(serialization.Encoding.DER)).hexdigest()


def trust_store() -> tuple[list[x509.Certificate], list[x509.Certificate]]:
    """(anchors, intermediates) for ``signature_verify``: the active certificates of the store
    and the platform's own roots."""
    from .platform import trust_roots

    roots, intermediates, seen = [], [], set()
    for record in TrustedCertificate.objects.filter(active=True).order_by("pk"):
        certificate = _load_pem(record.pem)
        if certificate is None:
            continue
        fingerprint = _fingerprint(certificate)
        if fingerprint in seen:
            continue
        seen.add(fingerprint)
        (roots if record.category in ANCHOR_CATEGORIES else intermediates).append(certificate)
    for certificate in trust_roots():
        if _fingerprint(certificate) not in seen:
            seen.add(_fingerprint(certificate))
            roots.append(certificate)
    return roots, intermediates


def verification_options() -> dict:
    """The trust arguments of ``signature_verify``, as the platform configures them."""
    roots, intermediates = trust_store()
    return {
        "trust_roots": roots,
        "intermediates": intermediates,
        "revocation_fetch": bool(getattr(settings, "SIGNATURE_REVOCATION_FETCH", False)),
    }


# --- Adding a certificate -------------------------------------------------------------------


def certificate_parse(data: bytes | str) -> x509.Certificate:
    """One X.509 certificate from PEM (text around it is allowed) or DER bytes."""
    if isinstance(data, str):
        data = data.encode("utf-8", "replace")
    data = bytes(data or b"")
    if not data.strip():
        raise TrustError(
            _("Aucun certificat n'a été fourni : collez un certificat PEM ou choisissez un fichier.")
        )
    if b"-----BEGIN" in data:
        try:
            certificates = x509.load_pem_x509_certificates(data)
        except ValueError:
            raise TrustError(
                _("Ce texte n'est pas un certificat X.509 lisible (bloc « BEGIN CERTIFICATE » endommagé).")
            ) from None
        if len(certificates) > 1:
            raise TrustError(
                _(
                    "Ce fichier contient %(count)s certificats : ajoutez-les un par un, chacun avec sa "
                    "catégorie."
                )
                % {"count": len(certificates)}
            )
        return certificates[0]
    try:
        return x509.load_der_x509_certificate(data)
    except ValueError:
        pass
    # A DER certificate saved as base64 without the PEM lines.
    try:
        return x509.load_der_x509_certificate(base64.b64decode(b"".join(data.split()), validate=True))
    except (ValueError, binascii.Error):
        raise TrustError(
            _("Ce fichier n'est pas un certificat X.509 lisible (formats acceptés : PEM, DER, .cer, .crt).")
        ) from None


def _name_text(name: x509.Name) -> str:
    try:
        return name.rfc4514_string()[:500]
    except ValueError:
        return str(name)[:500]


def _is_end_entity(certificate: x509.Certificate) -> bool:
    try:
        constraints = certificate.extensions.get_extension_for_class(x509.BasicConstraints).value
    except x509.ExtensionNotFound:
        return False
    except ValueError:
        return False
    return not constraints.ca


def category_check(certificate: x509.Certificate, category: str) -> None:
    """``TrustError`` when the category does not fit the certificate."""
    if category not in CertificateCategory.values:
        raise TrustError(_("Catégorie de certificat inconnue : %(category)s.") % {"category": category})
    if category in CA_CATEGORIES and _is_end_entity(certificate):
        raise TrustError(
            _(
                "Ce certificat n'est pas celui d'une autorité de certification (il ne peut rien signer "
                "d'autre que des documents) : il ne peut pas être de la catégorie « %(category)s »."
            )
            % {"category": CertificateCategory(category).label}
        )


def certificate_record(
    data: bytes | str,
    *,
    name: str,
    category: str,
    source: str = CertificateSource.MANUAL,
    trusted_list_service: str = "",
    country: str = "",
) -> TrustedCertificate:
    """The store's record of one certificate (unsaved), every fact read from the certificate;
    ``TrustError`` (French) for garbage, a bundle, a wrong category or a duplicate."""
    certificate = certificate_parse(data)
    category_check(certificate, category)
    fingerprint = _fingerprint(certificate)
    existing = TrustedCertificate.objects.filter(fingerprint_sha256=fingerprint).first()
    if existing is not None:
        raise TrustError(
            _("Ce certificat est déjà dans le magasin de confiance, sous le nom « %(name)s ».")
            % {"name": existing.name}
        )
    subject = _name_text(certificate.subject)
    return TrustedCertificate(
        name=(name or "").strip()[:255] or subject[:255],
        category=category,
        pem=certificate.public_bytes(serialization.Encoding.PEM).decode("ascii"),
        fingerprint_sha256=fingerprint,
        subject=subject,
        issuer=_name_text(certificate.issuer),
        not_before=certificate.not_valid_before_utc.astimezone(UTC),
        not_after=certificate.not_valid_after_utc.astimezone(UTC),
        source=source,
        trusted_list_service=(trusted_list_service or "")[:500],
        country=(country or "")[:2].upper(),
    )


def certificate_save(record: TrustedCertificate, *, actor=None, request=None, audit: bool = True):
    """Save a record made by ``certificate_record`` (and audit it)."""
    try:
        with transaction.atomic():
            record.save()
            if audit:
                event_record(
                    action="signatures.certificate_added",
                    actor=actor,
                    target=record,
                    request=request,
                    data={
                        "fingerprint": record.fingerprint_sha256,
                        "category": record.category,
                        "source": record.source,
                    },
                )
    except IntegrityError:
        # Added at the same moment by someone else.
        raise TrustError(_("Ce certificat est déjà dans le magasin de confiance.")) from None
    return record


def certificate_add(
    data: bytes | str,
    *,
    name: str,
    category: str,
    source: str = CertificateSource.MANUAL,
    trusted_list_service: str = "",
    country: str = "",
    actor=None,
    request=None,
    audit: bool = True,
) -> TrustedCertificate:
    """Add one certificate to the store; ``TrustError`` (French) for garbage or a duplicate."""
    record = certificate_record(
        data,
        name=name,
        category=category,
        source=source,
        trusted_list_service=trusted_list_service,
        country=country,
    )
    return certificate_save(record, actor=actor, request=request, audit=audit)


def certificate_change(record: TrustedCertificate, *, changed: dict, actor=None, request=None) -> None:
    """Save an administrator's change of a certificate's name, category or « actif », with
    an audit event giving each changed field's value before and after."""
    with transaction.atomic():
        record.save()
        if changed:
            event_record(
                action="signatures.certificate_changed",
                actor=actor,
                target=record,
                request=request,
                data={"fingerprint": record.fingerprint_sha256, "changed": changed},
            )


def certificate_deactivate(records, *, actor=None, request=None) -> int:
    """Take certificates out of the store (kept, for the history); the number changed."""
    count = 0
    with transaction.atomic():
        for record in records:
            if not record.active:
                continue
            record.active = False
            record.save(update_fields=["active"])
            event_record(
                action="signatures.certificate_deactivated",
                actor=actor,
                target=record,
                request=request,
                data={"fingerprint": record.fingerprint_sha256},
            )
            count += 1
    return count


# --- EU trusted lists (ETSI TS 119 612) -----------------------------------------------------


def _parser() -> etree.XMLParser:
    # No entity expansion, no DTD, no network: a trusted list needs none of them.
    return etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False, huge_tree=False
    )


def _text(element) -> str:
    return (element.text or "").strip() if element is not None else ""


def _first_name(element) -> str:
    """The English name of a multilingual « Name » list, else the first one."""
    if element is None:
        return ""
    names = element.findall("{*}Name")
    for item in names:
        if item.get("{http://www.w3.org/XML/1998/namespace}lang", "").lower() == "en" and _text(item):
            return _text(item)
    return next((_text(item) for item in names if _text(item)), "")


def trusted_list_import(xml: bytes, *, actor=None, request=None) -> tuple[int, int]:
    """Import the granted qualified services of an EU trusted list; (added, skipped).

    ``skipped`` counts the certificates of the list that were not added: already in the
    store, unreadable, or of a service that is not granted or of another type. The list's
    own signature is not checked: the administrator imports a file he chose.
    """
    xml = bytes(xml or b"")
    if not xml.strip():
        raise TrustError(_("Le fichier de la liste de confiance est vide."))
    if len(xml) > TRUSTED_LIST_MAX_SIZE:
        raise TrustError(_("Le fichier de la liste de confiance est trop volumineux (50 Mio au plus)."))
    if b"<!DOCTYPE" in xml.upper():
        raise TrustError(_("Une liste de confiance ne contient pas de DTD : ce fichier est refusé."))
    try:
        root = etree.fromstring(xml, parser=_parser())
    except etree.XMLSyntaxError:
        raise TrustError(_("Ce fichier n'est pas un XML lisible.")) from None
    if etree.QName(root).localname != "TrustServiceStatusList":
        raise TrustError(
            _(
                "Ce fichier n'est pas une liste de confiance européenne (élément « TrustServiceStatusList » "
                "attendu)."
            )
        )
    country = _text(root.find("{*}SchemeInformation/{*}SchemeTerritory"))[:2]
    added = skipped = 0
    with transaction.atomic():
        for provider in root.iterfind("{*}TrustServiceProviderList/{*}TrustServiceProvider"):
            provider_name = _first_name(provider.find("{*}TSPInformation/{*}TSPName"))
            for service in provider.iterfind("{*}TSPServices/{*}TSPService"):
                information = service.find("{*}ServiceInformation")
                if information is None:
                    continue
                values = [
                    _text(element)
                    for element in information.iterfind(
                        "{*}ServiceDigitalIdentity/{*}DigitalId/{*}X509Certificate"
                    )
                ]
                category = SERVICE_TYPES.get(_text(information.find("{*}ServiceTypeIdentifier")))
                status = _text(information.find("{*}ServiceStatus"))
                if category is None or not status.endswith(GRANTED_SUFFIX):
                    skipped += len(values)
                    continue
                service_name = _first_name(information.find("{*}ServiceName"))
                label = " / ".join(part for part in (provider_name, service_name) if part)
                for value in values:
                    try:
                        der = base64.b64decode("".join(value.split()), validate=True)
                        certificate_add(
                            der,
                            name=service_name or provider_name,
                            category=category,
                            source=CertificateSource.TRUSTED_LIST,
                            trusted_list_service=label,
                            country=country,
                            audit=False,
                        )
                    except (TrustError, ValueError, binascii.Error):
                        skipped += 1
                        continue
                    added += 1
        event_record(
            action="signatures.trusted_list_imported",
            actor=actor,
            request=request,
            data={"country": country, "added": added, "skipped": skipped},
        )
    return added, skipped
