"""The part of a signature's verification that does not depend on its format.

Each format (``verify_pades``, ``verify_cades``, ``verify_xades``) reads its signature into
``Evidence`` (signer's certificate, claimed time, trusted timestamp, integrity); ``assess``
then judges the certificate at the signing time and writes the ``SignatureReport``:

- signing time: the trusted timestamp's, else the time the signer's software claims, else
  the time of the check (``at``);
- validity: the signer's certificate was neither expired nor not yet valid at that time;
- chain: a path to one of the given ``trust_roots`` (pyhanko-certvalidator, at that time);
- revocation: from the given CRLs (and, when ``revocation_fetch``, the CRLs named in the
  certificates, then their OCSP responders when no CRL answered), for the signer and every
  intermediate; no usable CRL nor OCSP response means « unknown », never « good »;
- verdict: invalid when something is proven wrong, unknown when something could not be
  checked, valid only when everything was.
"""

import asyncio
import logging
import urllib.request
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, padding, rsa
from cryptography.x509 import ocsp
from cryptography.x509.oid import (
    AuthorityInformationAccessOID,
    ExtendedKeyUsageOID,
    ExtensionOID,
    NameOID,
    SignatureAlgorithmOID,
)
from django.utils.translation import gettext as _

from .report import Revocation, SignatureReport, Verdict, moment

logger = logging.getLogger(__name__)

_FETCH_TIMEOUT = 10
# Clocks of signers' computers drift: a signing time this far after the check is accepted.
_CLOCK_TOLERANCE = timedelta(minutes=10)
_FETCH_MAX_BYTES = 20 * 1024 * 1024
# An OCSP response is a few kilobytes, even with its responder's certificates.
_OCSP_MAX_BYTES = 1024 * 1024

# Certificate policies worth a name (ETSI EN 319 411-1 and -2); others are shown as OIDs.
_POLICY_LABELS = {
    "0.4.0.194112.1.0": "QCP-n",
    "0.4.0.194112.1.1": "QCP-l",
    "0.4.0.194112.1.2": "QCP-n-qscd",
    "0.4.0.194112.1.3": "QCP-l-qscd",
    "0.4.0.2042.1.1": "NCP",
    "0.4.0.2042.1.2": "NCP+",
    "0.4.0.2042.1.3": "LCP",
}


# A file may carry countless signatures (or one repeated in many places): past this many,
# the others are not verified (each costs a full verification) and one report says so.
MAX_SIGNATURES = 20


def beyond_limit(name: str, signature_format: str, count: int) -> list[SignatureReport]:
    """[] when ``count`` signatures were left out, else the one report that says so."""
    if count <= 0:
        return []
    return [
        SignatureReport(
            file_name=name,
            verdict=Verdict.UNKNOWN,
            format=signature_format,
            reasons=[
                _(
                    "Ce fichier porte %(count)s autres signatures : au-delà de %(max)s, elles ne sont pas "
                    "vérifiées par la plateforme."
                )
                % {"count": count, "max": MAX_SIGNATURES}
            ],
        )
    ]


@dataclass
class Trust:
    """What the caller trusts, and when the check happens."""

    roots: list[x509.Certificate]
    intermediates: list[x509.Certificate]
    crls: list[x509.CertificateRevocationList]
    revocation_fetch: bool
    at: datetime


@dataclass
class Evidence:
    """What a format-specific reader found in one signature."""

    format: str
    file_name: str
    signature_name: str = ""
    signer: x509.Certificate | None = None
    certificates: list[x509.Certificate] = field(default_factory=list)
    claimed_time: datetime | None = None
    # Only a valid timestamp, by an authority that chains to the trust roots.
    timestamp_time: datetime | None = None
    intact: bool = False
    # French sentences: why the integrity failed (verdict invalid), what could not be
    # checked (verdict unknown at best), and facts to show.
    integrity_reasons: list[str] = field(default_factory=list)
    doubts: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


# --- Helpers on certificates --------------------------------------------------------------


def to_asn1(certificate: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(certificate.public_bytes(serialization.Encoding.DER))


def from_asn1(certificate: asn1_x509.Certificate) -> x509.Certificate:
    return x509.load_der_x509_certificate(certificate.dump())


def _attribute(name: x509.Name, oid) -> str:
    values = name.get_attributes_for_oid(oid)
    return str(values[0].value) if values else ""


def common_name(name: x509.Name) -> str:
    return _attribute(name, NameOID.COMMON_NAME) or name.rfc4514_string()


def _extension(certificate: x509.Certificate, oid):
    try:
        return certificate.extensions.get_extension_for_oid(oid).value
    except (x509.ExtensionNotFound, ValueError):
        return None


def _is_ca(certificate: x509.Certificate) -> bool:
    constraints = _extension(certificate, ExtensionOID.BASIC_CONSTRAINTS)
    return bool(constraints and constraints.ca)


def _policies(certificate: x509.Certificate) -> list[str]:
    policies = _extension(certificate, ExtensionOID.CERTIFICATE_POLICIES) or []
    result = []
    for policy in policies:
        oid = policy.policy_identifier.dotted_string
        label = _POLICY_LABELS.get(oid)
        result.append(f"{label} ({oid})" if label else oid)
    return result


def _qualification(certificate: x509.Certificate) -> str:
    """What the certificate's QcStatements (eIDAS) declare, in French ("" when none)."""
    from pyhanko.sign.ades import qualified_asn1

    try:
        statements = qualified_asn1.get_qc_statements(to_asn1(certificate))
        kinds = {statement["statement_id"].native for statement in statements}
        qc_types = set()
        for statement in statements:
            if statement["statement_id"].native == "qc_type":
                qc_types |= {value.native for value in statement["statement_info"]}
    except Exception:  # noqa: BLE001 - an unreadable extension is reported as absent
        logger.info("Unreadable QcStatements", exc_info=True)
        return ""
    parts = []
    if "qc_compliance" in kinds:
        parts.append(_("certificat qualifié eIDAS"))
    if "qct_eseal" in qc_types:
        parts.append(_("de cachet"))
    elif "qct_esign" in qc_types:
        parts.append(_("de signature"))
    if "qc_sscd" in kinds:
        parts.append(_("clé sur dispositif qualifié (QSCD)"))
    return ", ".join(parts)


def within_validity(certificate: x509.Certificate, when: datetime) -> datetime:
    """``when``, moved inside the certificate's validity if outside (for checks whose own
    dates are judged apart)."""
    return min(
        max(when, certificate.not_valid_before_utc), certificate.not_valid_after_utc - timedelta(seconds=1)
    )


# Extended key usages that make a certificate something else than a signer's: a web
# server's, a timestamping authority's, a revocation responder's. A certificate whose
# extended usages are all among these does not sign documents.
_NOT_SIGNING_USAGES = frozenset(
    {
        ExtendedKeyUsageOID.SERVER_AUTH,
        ExtendedKeyUsageOID.TIME_STAMPING,
        ExtendedKeyUsageOID.OCSP_SIGNING,
    }
)


def _signing_usage(certificate: x509.Certificate) -> bool:
    usage = _extension(certificate, ExtensionOID.KEY_USAGE)
    if usage is not None and not (usage.digital_signature or usage.content_commitment):
        return False
    extended = _extension(certificate, ExtensionOID.EXTENDED_KEY_USAGE)
    return extended is None or not set(extended) <= _NOT_SIGNING_USAGES


# --- The chain ----------------------------------------------------------------------------


def _chain(signer: x509.Certificate, others: list[x509.Certificate], trust: Trust, when: datetime):
    """(path root→signer or None, French reason). ``when`` lies inside the signer's validity:
    its own dates are judged apart, the chain is judged at that moment."""
    from pyhanko_certvalidator import CertificateValidator, ValidationContext
    from pyhanko_certvalidator.errors import (
        ExpiredError,
        NotYetValidError,
        PathBuildingError,
        PathValidationError,
    )

    if not trust.roots:
        return None, _(
            "Aucune autorité de confiance n'est configurée : la chaîne de certification n'a pas pu être "
            "vérifiée."
        )
    intermediates = [to_asn1(c) for c in [*others, *trust.intermediates]]
    context = ValidationContext(
        trust_roots=[to_asn1(root) for root in trust.roots],
        other_certs=intermediates,
        moment=when,
        allow_fetching=False,
        revocation_mode="soft-fail",
    )
    validator = CertificateValidator(
        to_asn1(signer), intermediate_certs=intermediates, validation_context=context
    )
    try:
        path = asyncio.run(validator.async_validate_path())
    except PathBuildingError:
        return None, _(
            "Le certificat du signataire ne se rattache à aucune autorité de confiance de la plateforme "
            "(émetteur : %(issuer)s)."
        ) % {"issuer": common_name(signer.issuer)}
    except (ExpiredError, NotYetValidError):
        logger.info("Certificate path out of its validity", exc_info=True)
        return None, _(
            "Un certificat de l'autorité de certification du signataire n'était pas valide à la date de "
            "signature."
        )
    except (PathValidationError, Exception):  # noqa: BLE001 - a malformed certificate is an invalid chain
        logger.info("Certificate path validation failed", exc_info=True)
        return None, _(
            "La chaîne de certification du signataire est invalide (certificat d'autorité mal formé, "
            "algorithme refusé ou contrainte non respectée)."
        )
    return [from_asn1(c) for c in path.iter_certs(include_root=True)], ""


# --- Revocation ---------------------------------------------------------------------------


def _fetched_crls(certificate: x509.Certificate) -> list[x509.CertificateRevocationList]:
    """The CRLs named in the certificate's distribution points, over HTTP(S)."""
    points = _extension(certificate, ExtensionOID.CRL_DISTRIBUTION_POINTS) or []
    result = []
    for point in points:
        for name in point.full_name or []:
            url = getattr(name, "value", "")
            if not isinstance(name, x509.UniformResourceIdentifier) or not url.startswith(
                ("http://", "https://")
            ):
                continue
            try:
                with urllib.request.urlopen(url, timeout=_FETCH_TIMEOUT) as response:  # noqa: S310 - http(s) only
                    result += load_crls([response.read(_FETCH_MAX_BYTES)])
            except Exception:  # noqa: BLE001 - an unreachable CRL leaves the status unknown
                logger.info("CRL %s could not be fetched", url, exc_info=True)
    return result


def load_crls(crls) -> list[x509.CertificateRevocationList]:
    """CRLs given as ``cryptography`` objects, DER or PEM bytes; unreadable ones are skipped."""
    result = []
    for item in crls:
        if isinstance(item, x509.CertificateRevocationList):
            result.append(item)
            continue
        try:
            data = bytes(item)
            if data.lstrip().startswith(b"-----BEGIN"):
                result.append(x509.load_pem_x509_crl(data))
            else:
                result.append(x509.load_der_x509_crl(data))
        except (TypeError, ValueError):
            logger.info("Unreadable CRL skipped")
    return result


@dataclass
class _Status:
    revocation: str
    date: datetime | None = None
    subject: str = ""
    doubt: str = ""
    # A fact to show (where the status comes from), whatever the verdict.
    note: str = ""
    # The only CRLs found were out of date at the signing time.
    stale: bool = False


def _crl_status(certificate, issuer, crls, when: datetime) -> _Status:
    """The status of ``certificate`` at ``when`` from CRLs signed by ``issuer``."""
    subject = common_name(certificate.subject)
    usable, stale = [], False
    for crl in crls:
        if crl.issuer != issuer.subject:
            continue
        try:
            if not crl.is_signature_valid(issuer.public_key()):
                continue
        except Exception:  # noqa: BLE001 - an unsupported key type: the CRL is not usable
            logger.info("CRL signature not checkable", exc_info=True)
            continue
        entry = crl.get_revoked_certificate_by_serial_number(certificate.serial_number)
        if entry is not None:
            return _Status(Revocation.REVOKED, entry.revocation_date_utc, subject)
        next_update = crl.next_update_utc
        # A CRL tells the status at the signing time when it was published after it, or
        # was the current one then.
        if crl.last_update_utc >= when or next_update is None or next_update >= when:
            usable.append(crl)
        else:
            stale = True
    if usable:
        return _Status(Revocation.GOOD, subject=subject)
    if stale:
        doubt = _(
            "La liste de révocation fournie pour « %(subject)s » était périmée à la date de signature : "
            "la révocation n'a pas pu être vérifiée."
        )
    else:
        doubt = _(
            "Aucune liste de révocation (CRL) ni réponse OCSP n'est disponible pour « %(subject)s » : "
            "la révocation n'a pas pu être vérifiée."
        )
    return _Status(Revocation.UNKNOWN, subject=subject, doubt=doubt % {"subject": subject}, stale=stale)


def _revocation(path: list[x509.Certificate], trust: Trust, when: datetime) -> list[_Status]:
    """One status per certificate of the path but its root (signer last)."""
    crls = list(trust.crls)
    statuses = []
    for issuer, certificate in zip(path, path[1:], strict=False):
        own = crls + (_fetched_crls(certificate) if trust.revocation_fetch else [])
        status = _crl_status(certificate, issuer, own, when)
        if status.revocation == Revocation.UNKNOWN and trust.revocation_fetch:
            status = _ocsp_status(certificate, issuer, trust, when, status)
        statuses.append(status)
    return statuses


# --- OCSP (RFC 6960) ------------------------------------------------------------------------

# Why an OCSP answer was not definite; a retry with a SHA-1 certID is worth it only when the
# responder may not have understood a SHA-256 one.
_UNREACHABLE, _REFUSED, _UNTRUSTED, _MISMATCH, _STALE, _UNKNOWN = (
    "unreachable",
    "refused",
    "untrusted",
    "mismatch",
    "stale",
    "unknown",
)
_RETRY_WITH_SHA1 = {_REFUSED, _MISMATCH, _UNKNOWN}


def _ocsp_urls(certificate: x509.Certificate) -> list[str]:
    """The OCSP responders named in the certificate's AuthorityInformationAccess (HTTP(S))."""
    access = _extension(certificate, ExtensionOID.AUTHORITY_INFORMATION_ACCESS) or []
    return [
        description.access_location.value
        for description in access
        if description.access_method == AuthorityInformationAccessOID.OCSP
        and isinstance(description.access_location, x509.UniformResourceIdentifier)
        and description.access_location.value.lower().startswith(("http://", "https://"))
    ]


def _ocsp_doubt(reason: str) -> str:
    return {
        _UNREACHABLE: _(
            "Le répondeur OCSP (%(url)s) n'a pas pu être interrogé pour « %(subject)s » : la révocation "
            "n'a pas pu être vérifiée."
        ),
        _REFUSED: _(
            "Le répondeur OCSP (%(url)s) n'a pas donné de réponse exploitable pour « %(subject)s » : la "
            "révocation n'a pas pu être vérifiée."
        ),
        _UNTRUSTED: _(
            "La réponse du répondeur OCSP (%(url)s) pour « %(subject)s » n'est pas signée par son autorité "
            "de certification ni par un répondeur qu'elle a désigné : elle est ignorée et la révocation "
            "n'a pas pu être vérifiée."
        ),
        _MISMATCH: _(
            "La réponse du répondeur OCSP (%(url)s) ne porte pas sur le certificat « %(subject)s » : la "
            "révocation n'a pas pu être vérifiée."
        ),
        _STALE: _(
            "La réponse du répondeur OCSP (%(url)s) pour « %(subject)s » est périmée ou mal datée : la "
            "révocation n'a pas pu être vérifiée."
        ),
        _UNKNOWN: _(
            "Le répondeur OCSP (%(url)s) ne connaît pas le certificat « %(subject)s » (statut « inconnu ») : "
            "la révocation n'a pas pu être vérifiée."
        ),
    }[reason]


def _ocsp_status(certificate, issuer, trust: Trust, when: datetime, crl_status: _Status) -> _Status:
    """The status of ``certificate`` from its OCSP responders, asked when the CRLs gave no
    answer; ``crl_status`` (unknown) is kept when the certificate names no responder."""
    urls = _ocsp_urls(certificate)
    if not urls:
        return crl_status
    subject = common_name(certificate.subject)
    doubts = []
    for url in urls:
        reason = _UNREACHABLE
        for algorithm in (hashes.SHA256(), hashes.SHA1()):  # noqa: S303 - SHA-1 only names the certificate
            outcome = _ocsp_ask(url, certificate, issuer, algorithm, trust, when)
            if isinstance(outcome, _Status):
                return outcome
            reason = outcome
            if reason not in _RETRY_WITH_SHA1:
                break
        doubts.append(_ocsp_doubt(reason) % {"url": url, "subject": subject})
    # A stale CRL is worth saying beside the responders' failure; « no CRL nor OCSP » is not.
    if crl_status.stale:
        doubts.insert(0, crl_status.doubt)
    return _Status(Revocation.UNKNOWN, subject=subject, doubt=" ".join(doubts))


def _ocsp_ask(url: str, certificate, issuer, algorithm, trust: Trust, when: datetime):
    """A definite ``_Status`` from the responder at ``url``, or why there is none."""
    request = ocsp.OCSPRequestBuilder().add_certificate(certificate, issuer, algorithm).build()
    http_request = urllib.request.Request(  # noqa: S310 - http(s) only, see _ocsp_urls
        url,
        data=request.public_bytes(serialization.Encoding.DER),
        headers={"Content-Type": "application/ocsp-request", "Accept": "application/ocsp-response"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(http_request, timeout=_FETCH_TIMEOUT) as answer:  # noqa: S310
            body = answer.read(_OCSP_MAX_BYTES + 1)
    except Exception:  # noqa: BLE001 - an unreachable responder leaves the status unknown
        logger.info("OCSP responder %s could not be reached", url, exc_info=True)
        return _UNREACHABLE
    if len(body) > _OCSP_MAX_BYTES:
        logger.info("OCSP response of %s too large", url)
        return _REFUSED
    try:
        response = ocsp.load_der_ocsp_response(body)
    except ValueError:
        logger.info("OCSP response of %s unreadable", url)
        return _REFUSED
    if response.response_status != ocsp.OCSPResponseStatus.SUCCESSFUL:
        logger.info("OCSP responder %s answered %s", url, response.response_status.name)
        return _REFUSED
    try:
        return _ocsp_judge(response, url, certificate, issuer, trust, when)
    except Exception:  # noqa: BLE001 - a malformed response proves nothing
        logger.info("OCSP response of %s malformed", url, exc_info=True)
        return _REFUSED


def _ocsp_judge(response: ocsp.OCSPResponse, url: str, certificate, issuer, trust: Trust, when: datetime):
    if not _ocsp_signed(response, issuer, trust.at):
        logger.info("OCSP response of %s not signed by the issuer or its delegated responder", url)
        return _UNTRUSTED
    single = _single_response(response, certificate, issuer)
    if single is None:
        return _MISMATCH
    this_update, next_update = single.this_update_utc, single.next_update_utc
    if (
        this_update > trust.at + _CLOCK_TOLERANCE
        or (
            next_update is not None
            and (next_update < this_update or next_update < trust.at - _CLOCK_TOLERANCE)
        )
        # As for a CRL: the answer tells the status at the signing time when it was given
        # after it, or was the current one then.
        or (this_update < when and next_update is not None and next_update < when)
    ):
        return _STALE
    subject = common_name(certificate.subject)
    if single.certificate_status == ocsp.OCSPCertStatus.GOOD:
        note = _(
            "D'après le répondeur OCSP de l'autorité (%(url)s), le certificat « %(subject)s » n'est pas "
            "révoqué (réponse du %(date)s)."
        ) % {"url": url, "subject": subject, "date": moment(this_update)}
        return _Status(Revocation.GOOD, subject=subject, note=note)
    if single.certificate_status == ocsp.OCSPCertStatus.REVOKED:
        revoked_on = single.revocation_time_utc
        note = _(
            "D'après le répondeur OCSP de l'autorité (%(url)s), le certificat « %(subject)s » est révoqué "
            "depuis le %(date)s."
        ) % {"url": url, "subject": subject, "date": moment(revoked_on)}
        return _Status(Revocation.REVOKED, revoked_on, subject, note=note)
    return _UNKNOWN


def _responder_named(response: ocsp.OCSPResponse, candidate: x509.Certificate) -> bool:
    if response.responder_name is not None:
        return response.responder_name == candidate.subject
    key_hash = x509.SubjectKeyIdentifier.from_public_key(candidate.public_key()).digest
    return response.responder_key_hash == key_hash


def _ocsp_signed(response: ocsp.OCSPResponse, issuer, at: datetime) -> bool:
    """Whether the response is signed by the issuer itself, or by a responder certificate the
    issuer delegated OCSP signing to (RFC 6960 § 4.2.2.2: issued by it, OCSPSigning usage)."""
    candidates = [issuer] if _responder_named(response, issuer) else []
    for candidate in response.certificates:
        if not _responder_named(response, candidate):
            continue
        usage = _extension(candidate, ExtensionOID.EXTENDED_KEY_USAGE) or []
        if ExtendedKeyUsageOID.OCSP_SIGNING not in usage:
            continue
        if not candidate.not_valid_before_utc <= at <= candidate.not_valid_after_utc:
            continue
        try:
            candidate.verify_directly_issued_by(issuer)
        except Exception:  # noqa: BLE001, S112 - another authority's certificate
            continue
        candidates.append(candidate)
    return any(_signed_by(response, candidate.public_key()) for candidate in candidates)


def _signed_by(response: ocsp.OCSPResponse, public_key) -> bool:
    data, signature = response.tbs_response_bytes, response.signature
    try:
        if isinstance(public_key, rsa.RSAPublicKey):
            algorithm = response.signature_hash_algorithm
            if response.signature_algorithm_oid == SignatureAlgorithmOID.RSASSA_PSS:
                scheme = padding.PSS(mgf=padding.MGF1(algorithm), salt_length=padding.PSS.AUTO)
            else:
                scheme = padding.PKCS1v15()
            public_key.verify(signature, data, scheme, algorithm)
        elif isinstance(public_key, ec.EllipticCurvePublicKey):
            public_key.verify(signature, data, ec.ECDSA(response.signature_hash_algorithm))
        elif isinstance(public_key, ed25519.Ed25519PublicKey | ed448.Ed448PublicKey):
            public_key.verify(signature, data)
        else:
            return False
    except Exception:  # noqa: BLE001 - a bad or unsupported signature is no signature
        logger.info("OCSP response signature invalid", exc_info=True)
        return False
    return True


def _single_response(response: ocsp.OCSPResponse, certificate, issuer):
    """The response's answer about ``certificate`` (its certID: serial number, issuer's name
    and key hashed with the response's own algorithm), or None."""
    for single in response.responses:
        if single.serial_number != certificate.serial_number:
            continue
        expected = (
            ocsp.OCSPRequestBuilder().add_certificate(certificate, issuer, single.hash_algorithm).build()
        )
        if (
            single.issuer_name_hash == expected.issuer_name_hash
            and single.issuer_key_hash == expected.issuer_key_hash
        ):
            return single
    return None


# --- The report ---------------------------------------------------------------------------


def _identity(report: SignatureReport, signer: x509.Certificate) -> None:
    report.signer_name = common_name(signer.subject)
    report.signer_organisation = _attribute(signer.subject, NameOID.ORGANIZATION_NAME)
    report.signer_email = _attribute(signer.subject, NameOID.EMAIL_ADDRESS)
    report.issuer = common_name(signer.issuer)
    report.serial_number = format(signer.serial_number, "X")
    report.certificate_not_before = signer.not_valid_before_utc
    report.certificate_not_after = signer.not_valid_after_utc
    report.policies = _policies(signer)
    report.qualification = _qualification(signer)


def _validity(
    report: SignatureReport, signer, when: datetime, proven: bool, at: datetime, problems, doubts
) -> None:
    start, end = signer.not_valid_before_utc, signer.not_valid_after_utc
    if when > end:
        report.certificate_valid_at_signing = False
        problems.append(
            _("Le certificat du signataire avait expiré le %(end)s, avant la signature du %(when)s.")
            % {"end": moment(end), "when": moment(when)}
        )
    elif when < start:
        report.certificate_valid_at_signing = False
        problems.append(
            _(
                "Le certificat du signataire n'était pas encore valide le %(when)s (valide à partir du "
                "%(start)s)."
            )
            % {"when": moment(when), "start": moment(start)}
        )
    else:
        report.certificate_valid_at_signing = True
        if not proven and end < at:
            # The signer's software may write any date: without a timestamp, a date inside
            # the validity of an expired certificate proves nothing.
            doubts.append(
                _(
                    "Le certificat a expiré le %(end)s et la date de signature n'est que déclarée "
                    "par le signataire (aucun horodatage) : sa validité à la date de signature n'est pas "
                    "prouvée."
                )
                % {"end": moment(end)}
            )


def assess(evidence: Evidence, trust: Trust) -> SignatureReport:
    """The report of one signature, from what its reader found."""
    report = SignatureReport(
        file_name=evidence.file_name,
        verdict=Verdict.INVALID,
        format=str(evidence.format),
        signature_name=evidence.signature_name,
        signing_time=evidence.claimed_time,
        timestamp_time=evidence.timestamp_time,
        intact=evidence.intact,
        notes=list(evidence.notes),
    )
    problems = list(evidence.integrity_reasons)
    doubts = list(evidence.doubts)
    if not evidence.intact and not problems:
        problems.append(_("Le document n'est pas intègre : il ne correspond pas à sa signature."))
    signer = evidence.signer
    if signer is None:
        if not problems:
            problems.append(_("Le certificat du signataire est absent de la signature."))
        return _verdict(report, problems, doubts)
    _identity(report, signer)

    when = evidence.timestamp_time or evidence.claimed_time
    proven = evidence.timestamp_time is not None
    if when is None:
        when = trust.at
        doubts.append(
            _(
                "La signature n'indique pas sa date : le certificat est vérifié à la date du contrôle "
                "(%(at)s)."
            )
            % {"at": moment(trust.at)}
        )
    elif when > trust.at + _CLOCK_TOLERANCE:
        doubts.append(
            _(
                "La date de signature (%(when)s) est postérieure à la date du contrôle (%(at)s) : elle est "
                "douteuse."
            )
            % {"when": moment(when), "at": moment(trust.at)}
        )
    if evidence.claimed_time is not None and not proven:
        report.notes.append(
            _(
                "La date de signature est celle déclarée par le logiciel du signataire : aucun horodatage "
                "ne la prouve."
            )
        )
    _validity(report, signer, when, proven, trust.at, problems, doubts)
    if not _signing_usage(signer):
        problems.append(_("Le certificat du signataire n'est pas destiné à la signature (usage de la clé)."))

    # The chain is judged at the signing time, kept inside the signer's own validity (which
    # was judged above, with its own reason).
    path, chain_reason = _chain(signer, evidence.certificates, trust, within_validity(signer, when))
    report.trusted_chain = path is not None
    if path is None:
        problems.append(chain_reason)
        report.revocation = Revocation.UNKNOWN
        return _verdict(report, problems, doubts)
    report.chain = [common_name(c.subject) for c in path]

    # Without a trusted timestamp the signing time is only claimed (and could be backdated):
    # the revocation information must then be current at the time of the check.
    statuses = _revocation(path, trust, when if proven else max(when, trust.at))
    report.notes += [s.note for s in statuses if s.note]
    revoked = [s for s in statuses if s.revocation == Revocation.REVOKED]
    if revoked:
        first = min(revoked, key=lambda s: s.date)
        report.revocation, report.revocation_date = Revocation.REVOKED, first.date
        if first.date <= when:
            problems.append(
                _("Le certificat « %(subject)s » a été révoqué le %(date)s, avant la signature du %(when)s.")
                % {"subject": first.subject, "date": moment(first.date), "when": moment(when)}
            )
        elif not proven:
            problems.append(
                _(
                    "Le certificat « %(subject)s » a été révoqué le %(date)s et aucun horodatage ne prouve "
                    "que la signature est antérieure à cette révocation."
                )
                % {"subject": first.subject, "date": moment(first.date)}
            )
        else:
            report.notes.append(
                _(
                    "Le certificat « %(subject)s » a été révoqué le %(date)s, après la signature horodatée "
                    "du %(when)s : la signature reste valable."
                )
                % {"subject": first.subject, "date": moment(first.date), "when": moment(when)}
            )
    elif all(s.revocation == Revocation.GOOD for s in statuses):
        report.revocation = Revocation.GOOD
    else:
        report.revocation = Revocation.UNKNOWN
        doubts += [s.doubt for s in statuses if s.doubt]
    return _verdict(report, problems, doubts)


def _verdict(report: SignatureReport, problems: list[str], doubts: list[str]) -> SignatureReport:
    if problems:
        report.verdict = Verdict.INVALID
        report.reasons = problems + doubts
    elif doubts:
        report.verdict = Verdict.UNKNOWN
        report.reasons = doubts
    else:
        report.verdict = Verdict.VALID
        signer = report.signer_name
        report.reasons = [
            _(
                "Signature valide de %(signer)s : document intègre, certificat de confiance, valide et non "
                "révoqué à la date de signature."
            )
            % {"signer": signer}
        ]
    return report
