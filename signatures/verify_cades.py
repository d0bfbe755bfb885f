"""CAdES: a CMS signature (``.p7s`` « jeton » beside the file, or ``.p7m`` enveloping it).

pyHanko checks the cryptography (the document's digest against the signed attributes, the
signature value) and the RFC 3161 signature timestamp; ``verify_chain.assess`` judges the
certificate. Each SignerInfo is one signature (co-signatures give several reports).
"""

import asyncio
import logging
import re
from base64 import b64decode

from asn1crypto import cms
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from django.utils.translation import gettext as _

from .report import SignatureFormat
from .verify_chain import (
    MAX_SIGNATURES,
    Evidence,
    Trust,
    assess,
    beyond_limit,
    from_asn1,
    to_asn1,
    within_validity,
)

logger = logging.getLogger(__name__)

_PEM = re.compile(rb"-----BEGIN [A-Z0-9 ]+-----(.+?)-----END [A-Z0-9 ]+-----", re.S)


def cms_load(data: bytes) -> cms.SignedData | None:
    """The SignedData of a CMS file (DER, PEM or bare base64), or None."""
    candidates = [data]
    match = _PEM.search(data)
    if match:
        candidates.append(match.group(1))
    elif data[:1] != b"\x30":
        candidates.append(data)
    for index, candidate in enumerate(candidates):
        try:
            raw = candidate if index == 0 else b64decode(b"".join(candidate.split()), validate=True)
            content = cms.ContentInfo.load(raw, strict=True)
            if content["content_type"].native != "signed_data":
                continue
            signed_data = content["content"]
            # Parse now: a malformed structure fails here rather than in pyHanko.
            signed_data.native  # noqa: B018
            return signed_data
        except Exception:  # noqa: BLE001 - not a CMS file
            logger.debug("Not a CMS signature", exc_info=True)
            continue
    return None


def validation_context(trust: Trust):
    """pyHanko's context for timestamps: the caller's roots only, no network, at the time
    of the check (``trust.at``, the platform's clock)."""
    from pyhanko_certvalidator import ValidationContext

    return ValidationContext(
        trust_roots=[to_asn1(root) for root in trust.roots],
        other_certs=[to_asn1(c) for c in trust.intermediates],
        allow_fetching=False,
        revocation_mode="soft-fail",
        moment=trust.at,
    )


def cryptographic_context(signer, trust: Trust):
    """pyHanko judges a signer's chain along with the signature; here the chain is judged
    apart (``verify_chain``, at the signing time, with its French reasons), so pyHanko gets
    the signer's own certificate as its only anchor and checks the cryptography alone."""
    from pyhanko_certvalidator import ValidationContext

    if signer is None:
        return validation_context(trust)
    return ValidationContext(
        trust_roots=[signer],
        moment=within_validity(from_asn1(signer), trust.at),
        allow_fetching=False,
        revocation_mode="soft-fail",
    )


def any_key_usage():
    """Key usage is judged by ``verify_chain`` (digital signature or non-repudiation)."""
    from pyhanko.sign.validation.settings import KeyUsageConstraints

    return KeyUsageConstraints(key_usage=set(), extd_key_usage=None)


def timing(evidence: Evidence, status) -> None:
    """The claimed time and the trusted timestamp of a pyHanko CMS status."""
    evidence.claimed_time = getattr(status, "signer_reported_dt", None)
    timestamp = getattr(status, "timestamp_validity", None)
    if timestamp is None:
        return
    if timestamp.intact and timestamp.valid and timestamp.trusted:
        evidence.timestamp_time = timestamp.timestamp
    else:
        # As for XAdES: a timestamp that does not verify leaves the signing time unproven and
        # may hide a forgery; the verdict cannot be « valide ».
        evidence.doubts.append(
            _(
                "L'horodatage de la signature est invalide ou émis par une autorité non reconnue : "
                "il n'est pas pris en compte."
            )
        )


def _one_signer(signed_data: cms.SignedData, signer_info) -> cms.SignedData:
    """The SignedData with one signer, and without the enveloped document (pyHanko checks a
    detached signature: the document of a « .p7m » is given to it beside)."""
    copy = signed_data.copy()
    copy["signer_infos"] = cms.SignerInfos([signer_info])
    encapsulated = signed_data["encap_content_info"]
    copy["encap_content_info"] = type(encapsulated)({"content_type": encapsulated["content_type"]})
    return copy


# A signature counter-signing a counter-signature… is followed this deep at most, and no
# more than this many counter-signatures are verified in one file (each costs a full check).
_COUNTER_SIGNATURE_DEPTH = 3
_COUNTER_SIGNATURES_MAX = 20


def _certificate_of(signer_info, certificates: list[x509.Certificate]) -> x509.Certificate | None:
    sid = signer_info["sid"]
    for certificate in certificates:
        if sid.name == "issuer_and_serial_number":
            wanted = sid.chosen
            if (
                certificate.serial_number == wanted["serial_number"].native
                and to_asn1(certificate).issuer == wanted["issuer"]
            ):
                return certificate
        elif sid.name == "subject_key_identifier":
            try:
                key_id = certificate.extensions.get_extension_for_class(
                    x509.SubjectKeyIdentifier
                ).value.digest
            except x509.ExtensionNotFound:
                continue
            if key_id == sid.native:
                return certificate
    return None


def _counter_signature_intact(counter, parent_value: bytes, certificate: x509.Certificate) -> bool:
    """RFC 5652 § 11.4: the counter-signature's message digest is the hash of the parent's
    signature value, and its signature covers its signed attributes (DER, as a SET OF)."""
    from pyhanko_certvalidator.sig_validate import DefaultSignatureValidator, SignatureValidationContext

    attributes = counter["signed_attrs"]
    if not attributes:
        return False
    try:
        digests = [a["values"][0].native for a in attributes if a["type"].native == "message_digest"]
        algorithm = counter["digest_algorithm"]["algorithm"].native
        md = hashes.Hash(getattr(hashes, algorithm.upper())())
        md.update(parent_value)
        if digests != [md.finalize()]:
            return False
        signed = b"\x31" + attributes.dump()[1:]
        DefaultSignatureValidator().validate_signature(
            counter["signature"].native,
            signed,
            to_asn1(certificate).public_key,
            counter["signature_algorithm"],
            SignatureValidationContext(contextual_md_algorithm=algorithm),
        )
    except Exception:  # noqa: BLE001 - a wrong value, an unknown algorithm: not intact
        logger.info("CAdES counter-signature does not verify", exc_info=True)
        return False
    return True


def _counter_signatures(
    signer_info, certificates, name, signature_name, trust, depth: int = 1, budget=None
) -> list:
    """The reports of the counter-signatures of ``signer_info`` (unsigned attribute
    « countersignature »): each is a signature of its own, by its own signer."""
    budget = budget if budget is not None else [_COUNTER_SIGNATURES_MAX]
    reports = []
    for attribute in signer_info["unsigned_attrs"] or []:
        if attribute["type"].native != "counter_signature":
            continue
        for counter in attribute["values"]:
            if budget[0] <= 0:
                return reports
            budget[0] -= 1
            evidence = Evidence(
                format=SignatureFormat.CADES,
                file_name=name,
                signature_name=signature_name,
                certificates=certificates,
                notes=[_("Contre-signature de la signature précédente (CAdES).")],
            )
            certificate = _certificate_of(counter, certificates)
            if certificate is None:
                evidence.integrity_reasons.append(
                    _("Le certificat de la contre-signature est absent du fichier « %(name)s ».")
                    % {"name": signature_name}
                )
            else:
                evidence.signer = certificate
                evidence.intact = _counter_signature_intact(
                    counter, signer_info["signature"].native, certificate
                )
                if not evidence.intact:
                    evidence.integrity_reasons.append(
                        _(
                            "La contre-signature ne correspond pas à la signature qu'elle contresigne : "
                            "elle a été altérée."
                        )
                    )
                times = [
                    a["values"][0].native
                    for a in counter["signed_attrs"] or []
                    if a["type"].native == "signing_time"
                ]
                evidence.claimed_time = times[0] if times else None
            reports.append(assess(evidence, trust))
            if depth < _COUNTER_SIGNATURE_DEPTH:
                reports += _counter_signatures(
                    counter, certificates, name, signature_name, trust, depth + 1, budget
                )
    return reports


def verify_cades(
    document: bytes | None, name: str, signature: bytes, signature_name: str, trust: Trust
) -> list:
    from pyhanko.sign.general import extract_certificate_info
    from pyhanko.sign.validation.generic_cms import async_validate_detached_cms

    signed_data = cms_load(signature)
    if signed_data is None:
        evidence = Evidence(
            format=SignatureFormat.CADES,
            file_name=name,
            signature_name=signature_name,
            integrity_reasons=[
                _("Le fichier de signature « %(name)s » est illisible : ce n'est pas une signature CAdES.")
                % {"name": signature_name}
            ],
        )
        return [assess(evidence, trust)]

    content = signed_data["encap_content_info"]["content"]
    data, notes = document, []
    if content.native is not None:
        # A « .p7m »: the signed document travels inside the signature.
        data = bytes(content.native) if not isinstance(content.native, bytes) else content.native
        notes.append(_("La signature enveloppe le document signé (fichier .p7m)."))
        if document is not None and data != document:
            # Beside a file, it signs that file only if it envelops that very file.
            evidence = Evidence(
                format=SignatureFormat.CADES,
                file_name=name,
                signature_name=signature_name,
                certificates=[
                    from_asn1(c.chosen) for c in signed_data["certificates"] or [] if c.name == "certificate"
                ],
                integrity_reasons=[
                    _(
                        "La signature « %(signature)s » enveloppe un autre document que « %(file)s » : "
                        "elle ne signe pas ce fichier."
                    )
                    % {"signature": signature_name, "file": name}
                ],
            )
            return [assess(evidence, trust)]
    certificates = [from_asn1(c.chosen) for c in signed_data["certificates"] or [] if c.name == "certificate"]

    timestamps = validation_context(trust)
    reports = []
    budget = [_COUNTER_SIGNATURES_MAX]
    signer_infos = list(signed_data["signer_infos"])
    for signer_info in signer_infos[:MAX_SIGNATURES]:
        evidence = Evidence(
            format=SignatureFormat.CADES,
            file_name=name,
            signature_name=signature_name,
            certificates=certificates,
            notes=list(notes),
        )
        try:
            one = _one_signer(signed_data, signer_info)
            status = asyncio.run(
                async_validate_detached_cms(
                    data,
                    one,
                    signer_validation_context=cryptographic_context(
                        extract_certificate_info(one).signer_cert, trust
                    ),
                    ts_validation_context=timestamps,
                    key_usage_settings=any_key_usage(),
                )
            )
        except Exception:  # noqa: BLE001 - garbage in, a French « invalid » out
            logger.info("CAdES signature could not be validated", exc_info=True)
            evidence.integrity_reasons.append(
                _("La signature « %(name)s » est illisible ou endommagée.") % {"name": signature_name}
            )
            reports.append(assess(evidence, trust))
            continue
        evidence.signer = from_asn1(status.signing_cert)
        evidence.intact = bool(status.intact and status.valid)
        if not status.intact:
            evidence.integrity_reasons.append(
                _(
                    "Le fichier « %(file)s » ne correspond pas à la signature « %(signature)s » : il a été "
                    "modifié depuis sa signature, ou la signature porte sur un autre fichier."
                )
                % {"file": name, "signature": signature_name}
            )
        elif not status.valid:
            evidence.integrity_reasons.append(
                _("La valeur de la signature « %(signature)s » est fausse : la signature a été altérée.")
                % {"signature": signature_name}
            )
        timing(evidence, status)
        reports.append(assess(evidence, trust))
        reports += _counter_signatures(signer_info, certificates, name, signature_name, trust, budget=budget)
    reports += beyond_limit(name, SignatureFormat.CADES, len(signer_infos) - MAX_SIGNATURES)
    if not reports:
        evidence = Evidence(
            format=SignatureFormat.CADES,
            file_name=name,
            signature_name=signature_name,
            integrity_reasons=[
                _("Le fichier « %(name)s » ne contient aucune signature.") % {"name": signature_name}
            ],
        )
        reports.append(assess(evidence, trust))
    return reports
