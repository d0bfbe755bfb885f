"""XAdES: an XML signature, detached (an ``.xml`` « jeton » of a file beside it) or enveloped
(inside the signed XML document itself).

signxml (``XAdESVerifier``) checks the references (the file's digest, the signed properties,
the signing certificate's digest) and the signature value, with the certificate carried in
the signature; ``verify_chain.assess`` judges that certificate against the trust roots.
The reference to a detached signature's file is resolved to ``document`` whatever its URI
(the file name at signing time rarely matches the name of the deposited file); the URI is
reported. An enveloped signature must sign the whole document (``URI=""`` with the
enveloped-signature transform, or the XPath Filter 2.0 « subtract /descendant::ds:Signature »
that DSS-based tools write).

A signature timestamp (``xades:SignatureTimeStamp``, ETSI EN 319 132-1 § 5.3) is an RFC 3161
token over the canonicalized ``ds:SignatureValue`` element: pyHanko checks the token and its
authority against the trust roots, as for CAdES; a valid one gives the proven signing time,
an invalid one is a doubt (the verdict cannot be « valide »).
"""

import asyncio
import hashlib
import logging
import re
from base64 import b64decode
from datetime import datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from django.utils.translation import gettext as _
from lxml import etree

from .report import SignatureFormat, SignatureReport, Verdict, moment
from .verify_cades import cms_load, validation_context
from .verify_chain import (
    MAX_SIGNATURES,
    Evidence,
    Trust,
    assess,
    beyond_limit,
    common_name,
    from_asn1,
    within_validity,
)

logger = logging.getLogger(__name__)

_DS = "http://www.w3.org/2000/09/xmldsig#"
_NS = {"ds": _DS, "xades": "http://uri.etsi.org/01903/v1.3.2#"}
_XADES_141 = "http://uri.etsi.org/01903/v1.4.1#"
_SIGNATURE_TAG = f"{{{_DS}}}Signature"
_ENVELOPED = f"{_DS}enveloped-signature"
# XPath Filter 2.0: how DSS-based tools write an enveloped signature's reference
# (« subtract /descendant::ds:Signature »: the document less all its signatures).
_FILTER2 = "http://www.w3.org/2002/06/xmldsig-filter2"
_SUBTRACT_SIGNATURES = re.compile(r"^/(?:descendant::|/)(\w[\w.-]*):Signature$")
_SIGNED_PROPERTIES_TYPE = "http://uri.etsi.org/01903#SignedProperties"
_TOP_SIGNATURES = "//ds:Signature[not(ancestor::ds:Signature)]"
_QUALIFYING = "ds:Object/xades:QualifyingProperties"
_UNSIGNED = f"{_QUALIFYING}/xades:UnsignedProperties/xades:UnsignedSignatureProperties"
_DIGESTS = {
    "http://www.w3.org/2000/09/xmldsig#sha1": hashes.SHA1,
    "http://www.w3.org/2001/04/xmlenc#sha256": hashes.SHA256,
    "http://www.w3.org/2001/04/xmldsig-more#sha384": hashes.SHA384,
    "http://www.w3.org/2001/04/xmlenc#sha512": hashes.SHA512,
}
# Canonicalization methods: (exclusive, with comments). C14N 1.1 differs from 1.0 only on
# xml:id / xml:base, which a ds:SignatureValue does not carry (signxml does the same).
_C14N_DEFAULT = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315"
_C14N = {
    _C14N_DEFAULT: (False, False),
    f"{_C14N_DEFAULT}#WithComments": (False, True),
    "http://www.w3.org/2006/12/xml-c14n11": (False, False),
    "http://www.w3.org/2006/12/xml-c14n11#WithComments": (False, True),
    "http://www.w3.org/2001/10/xml-exc-c14n#": (True, False),
    "http://www.w3.org/2001/10/xml-exc-c14n#WithComments": (True, True),
}
# A timestamp proves the signature existed at its time: a claimed signing time later than
# that (beyond clocks' drift) is wrong.
_CLOCK_TOLERANCE = timedelta(minutes=10)


def _parser():
    return etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)


def is_xml_signature(data: bytes) -> bool:
    return b"<" in data[:512] and b"http://www.w3.org/2000/09/xmldsig#" in data


def is_enveloped_xml_signature(data: bytes) -> bool:
    """Whether ``data`` is an XML document signed by a signature inside it (not a jeton)."""
    if not is_xml_signature(data):
        return False
    root = _parse(data)
    return (
        root is not None
        and root.tag != _SIGNATURE_TAG
        and any(_signs_whole_document(signature) for signature in _top_signatures(root))
    )


def _top_signatures(root) -> list:
    """The signatures of the document, without the counter-signatures nested in them."""
    if root.tag == _SIGNATURE_TAG:
        return [root]
    return root.xpath(_TOP_SIGNATURES, namespaces=_NS)


def _subtracts_signatures(transform) -> bool:
    """Whether an XPath Filter 2.0 transform is exactly « subtract every ds:Signature »."""
    filters = [child for child in transform if isinstance(child.tag, str)]
    if (
        len(filters) != 1
        or filters[0].tag != f"{{{_FILTER2}}}XPath"
        or filters[0].get("Filter") != "subtract"
    ):
        return False
    match = _SUBTRACT_SIGNATURES.match((filters[0].text or "").strip())
    return bool(match) and filters[0].nsmap.get(match.group(1)) == _DS


def _verifier(index: int):
    """signxml's XAdES verifier, for the ``index``-th signature of the document (signxml
    takes the first one; the enveloped-signature transform removes that same one), which
    also knows the XPath Filter 2.0 that removes every signature (any other XPath filter is
    refused: signxml would ignore it)."""
    from signxml.exceptions import InvalidInput
    from signxml.util import _remove_sig
    from signxml.xades import XAdESVerifier

    class OneSignatureVerifier(XAdESVerifier):
        def _get_signature(self, root):
            found = _top_signatures(root)
            if index >= len(found):
                raise InvalidInput("Signature not found")
            return found[index]

        def _apply_transforms(self, payload, *, transforms_node, signature):
            filters = [
                transform
                for transform in (transforms_node if transforms_node is not None else [])
                if isinstance(transform.tag, str) and transform.get("Algorithm") == _FILTER2
            ]
            if filters:
                if not isinstance(payload, etree._Element) or not all(map(_subtracts_signatures, filters)):
                    raise InvalidInput("Unsupported XPath filter")
                for other in payload.xpath(_TOP_SIGNATURES, namespaces=_NS):
                    if other is not payload:
                        _remove_sig(other, idempotent=True)
            return super()._apply_transforms(payload, transforms_node=transforms_node, signature=signature)

    return OneSignatureVerifier()


def _certificates(signature) -> list[x509.Certificate]:
    result = []
    for node in signature.iterfind("ds:KeyInfo/ds:X509Data/ds:X509Certificate", _NS):
        try:
            result.append(x509.load_der_x509_certificate(b64decode("".join((node.text or "").split()))))
        except ValueError:
            continue
    return result


def _signed_properties(signature):
    """The xades:SignedProperties a reference of the signature points to (signxml checks its
    digest), or None."""
    targets = {
        reference.get("URI")[1:]
        for reference in signature.iterfind("ds:SignedInfo/ds:Reference", _NS)
        if (reference.get("URI") or "").startswith("#")
    }
    for properties in signature.iterfind(f"{_QUALIFYING}/xades:SignedProperties", _NS):
        if (properties.get("Id") or properties.get("ID")) in targets:
            return properties
    return None


def _signing_certificate(signature, certificates: list[x509.Certificate]) -> x509.Certificate | None:
    """The certificate the signed property SigningCertificate(V2) names, else the first end entity."""
    properties = _signed_properties(signature)
    digests = (
        properties.iterfind("xades:SignedSignatureProperties/*/xades:Cert/xades:CertDigest", _NS)
        if properties is not None
        else []
    )
    for digest in digests:
        method = digest.find("ds:DigestMethod", _NS)
        value = digest.find("ds:DigestValue", _NS)
        algorithm = _DIGESTS.get(method.get("Algorithm") if method is not None else "")
        if algorithm is None or value is None:
            continue
        try:
            expected = b64decode(value.text or "")
        except ValueError:
            continue
        for certificate in certificates:
            if certificate.fingerprint(algorithm()) == expected:
                return certificate
    for certificate in certificates:
        try:
            if not certificate.extensions.get_extension_for_class(x509.BasicConstraints).value.ca:
                return certificate
        except x509.ExtensionNotFound:
            return certificate
    return certificates[0] if certificates else None


def _claimed_time(signature) -> datetime | None:
    properties = _signed_properties(signature)
    node = (
        properties.find("xades:SignedSignatureProperties/xades:SigningTime", _NS)
        if properties is not None
        else None
    )
    if node is None or not (node.text or "").strip():
        return None
    try:
        value = datetime.fromisoformat(node.text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return value if value.tzinfo else None


def _external_uris(signature) -> list[str]:
    return [
        reference.get("URI")
        for reference in signature.iterfind("ds:SignedInfo/ds:Reference", _NS)
        if reference.get("URI") and not reference.get("URI").startswith("#")
    ]


def _signs_whole_document(signature) -> bool:
    """Whether a reference is the whole enclosing document, less this signature (or less all
    its signatures)."""
    return any(
        reference.get("URI") == ""
        and any(
            transform.get("Algorithm") == _ENVELOPED
            or (transform.get("Algorithm") == _FILTER2 and _subtracts_signatures(transform))
            for transform in reference.iterfind("ds:Transforms/ds:Transform", _NS)
        )
        for reference in signature.iterfind("ds:SignedInfo/ds:Reference", _NS)
    )


def _invalid(name, signature_name, reason, trust, **facts) -> object:
    evidence = Evidence(format=SignatureFormat.XADES, file_name=name, signature_name=signature_name, **facts)
    evidence.integrity_reasons.append(reason)
    return assess(evidence, trust)


def _unknown(name: str, reason: str) -> SignatureReport:
    return SignatureReport(
        file_name=name, verdict=Verdict.UNKNOWN, format=SignatureFormat.XADES, reasons=[reason]
    )


def _parse(data: bytes):
    try:
        return etree.fromstring(data, parser=_parser())
    except Exception:  # noqa: BLE001 - not XML
        return None


# --- The signature timestamp ------------------------------------------------------------------


def _c14n_signature_value(signature, timestamp) -> bytes | None:
    """The ds:SignatureValue element, canonicalized in its document with the timestamp's
    ds:CanonicalizationMethod (inclusive C14N 1.0 when absent); None for an unknown method."""
    value = signature.find("ds:SignatureValue", _NS)
    method = timestamp.find("ds:CanonicalizationMethod", _NS)
    algorithm = method.get("Algorithm", "") if method is not None else _C14N_DEFAULT
    if value is None or algorithm not in _C14N:
        return None
    exclusive, with_comments = _C14N[algorithm]
    prefixes = None
    if exclusive and method is not None:
        inclusive = method.find("{http://www.w3.org/2001/10/xml-exc-c14n#}InclusiveNamespaces")
        if inclusive is not None:
            prefixes = (inclusive.get("PrefixList") or "").split() or None
    return etree.tostring(
        value, method="c14n", exclusive=exclusive, with_comments=with_comments, inclusive_ns_prefixes=prefixes
    )


def _imprint(tst_signed_data) -> tuple[str, bytes]:
    """The hash algorithm and value a token's TSTInfo says it timestamps."""
    imprint = tst_signed_data["encap_content_info"]["content"].parsed["message_imprint"]
    return imprint["hash_algorithm"]["algorithm"].native, imprint["hashed_message"].native


def _digest(algorithm: str, data: bytes) -> bytes:
    try:
        return hashlib.new(algorithm, data).digest()
    except (TypeError, ValueError):
        return b""


def _check_token(token, c14n: bytes, trust: Trust, label: str) -> tuple[datetime | None, str]:
    """(the token's time when it is a valid timestamp of ``c14n`` by a trusted authority,
    else None with the French reason)."""
    from pyhanko.sign.validation.generic_cms import validate_tst_signed_data
    from pyhanko.sign.validation.status import TimestampSignatureStatus

    unreadable = _(
        "L'horodatage de la signature « %(signature)s » est illisible : il n'est pas pris en compte."
    )
    try:
        signed_data = cms_load(b64decode("".join((token.text or "").split()), validate=True))
    except ValueError:
        signed_data = None
    if signed_data is None:
        return None, unreadable % {"signature": label}
    try:
        algorithm, hashed = _imprint(signed_data)
        expected = _digest(algorithm, c14n)
        status = TimestampSignatureStatus(
            **asyncio.run(
                validate_tst_signed_data(
                    signed_data, validation_context(trust), expected_tst_imprint=lambda _algorithm: expected
                )
            )
        )
    except Exception:  # noqa: BLE001 - a malformed token proves nothing
        logger.info("XAdES timestamp token unreadable", exc_info=True)
        return None, unreadable % {"signature": label}
    if not expected or hashed != expected:
        return None, _(
            "L'horodatage de la signature « %(signature)s » ne porte pas sur cette signature (son empreinte "
            "ne correspond pas à la valeur de la signature) : il n'est pas pris en compte et la date de "
            "signature n'est pas prouvée."
        ) % {"signature": label}
    if not (status.intact and status.valid):
        return None, _(
            "L'horodatage de la signature « %(signature)s » a été altéré (sa propre signature est "
            "invalide) : il n'est pas pris en compte et la date de signature n'est pas prouvée."
        ) % {"signature": label}
    if not status.trusted:
        authority = common_name(from_asn1(status.signing_cert).subject) if status.signing_cert else "?"
        return None, _(
            "L'horodatage de la signature « %(signature)s » est émis par « %(authority)s », qui n'est "
            "pas une autorité d'horodatage reconnue par la plateforme : il n'est pas pris en compte et la "
            "date de signature n'est pas prouvée."
        ) % {"signature": label, "authority": authority}
    return status.timestamp, ""


def _timestamps(evidence: Evidence, signature, trust: Trust, label: str) -> None:
    """The signature timestamps: the earliest valid one gives ``timestamp_time``; an invalid
    one is a doubt when none is valid, a note otherwise (never ignored)."""
    times, reasons = [], []
    stamps = signature.findall(f"{_UNSIGNED}/xades:SignatureTimeStamp", _NS)[:MAX_SIGNATURES]
    for timestamp in stamps:
        c14n = _c14n_signature_value(signature, timestamp)
        tokens = timestamp.findall("xades:EncapsulatedTimeStamp", _NS)[:MAX_SIGNATURES]
        if c14n is None or not tokens:
            reasons.append(
                _(
                    "L'horodatage de la signature « %(signature)s » est d'un type que la plateforme ne "
                    "sait pas vérifier : il n'est pas pris en compte et la date de signature n'est pas "
                    "prouvée."
                )
                % {"signature": label}
            )
            continue
        for token in tokens:
            when, reason = _check_token(token, c14n, trust, label)
            if when is not None:
                times.append(when)
            else:
                reasons.append(reason)
    if times:
        evidence.timestamp_time = min(times)
        evidence.notes += reasons
        claimed = evidence.claimed_time
        if claimed is not None and claimed > evidence.timestamp_time + _CLOCK_TOLERANCE:
            evidence.notes.append(
                _(
                    "La date de signature déclarée (%(claimed)s) est postérieure à l'horodatage (%(time)s) : "
                    "c'est la date de l'horodatage qui est retenue."
                )
                % {"claimed": moment(claimed), "time": moment(evidence.timestamp_time)}
            )
    else:
        evidence.doubts += reasons


def _notes(evidence: Evidence, signature, raw: bytes) -> None:
    unsigned = signature.find(_UNSIGNED, _NS)
    if unsigned is not None:
        others = [
            child
            for child in unsigned
            if isinstance(child.tag, str)
            and etree.QName(child).localname
            in ("ArchiveTimeStamp", "SigAndRefsTimeStamp", "RefsOnlyTimeStamp")
        ]
        if others:
            evidence.notes.append(
                _(
                    "La signature porte des horodatages d'archivage ou de références, qui ne sont pas "
                    "vérifiés."
                )
            )
        if unsigned.find("xades:CounterSignature", _NS) is not None:
            evidence.notes.append(_("La signature porte une contre-signature, qui n'est pas vérifiée."))
    if _XADES_141 in raw.decode("utf-8", "replace"):
        evidence.notes.append(_("La signature contient des éléments XAdES 1.4.1 qui ne sont pas vérifiés."))


# --- The signature itself -----------------------------------------------------------------------


def _check_signature(
    evidence: Evidence, signature, data: bytes, index: int, resolver, label: str, trust: Trust
) -> None:
    """signxml's check of the signature (references, value), into ``evidence``. ``data``
    holds the signature (alone, or in its enveloping document), ``index`` its rank there."""
    from signxml import InvalidDigest, InvalidSignature
    from signxml.xades import XAdESSignatureConfiguration

    references = signature.findall("ds:SignedInfo/ds:Reference", _NS)
    signer = evidence.signer
    try:
        _verifier(index).verify(
            data,
            x509_cert=signer,
            uri_resolver=resolver,
            parser=_parser(),
            expect_config=XAdESSignatureConfiguration(
                expect_references=len(references),
                # The certificate's dates are judged by ``assess``, at the signing time.
                verification_time=within_validity(signer, evidence.claimed_time or trust.at),
            ),
        )
    except InvalidDigest as error:
        match = re.search(r"reference (\d+)", str(error))
        # signxml's message names the reference's URI: the company's file name, kept out of the log.
        logger.info("XAdES digest mismatch for reference %s", match.group(1) if match else "?")
        failed = references[int(match.group(1))] if match and int(match.group(1)) < len(references) else None
        uri = failed.get("URI", "") if failed is not None else ""
        # A reference to a part of the signature itself: its signed properties, its KeyInfo.
        inside = uri.startswith("#") and bool(signature.xpath(".//*[@Id=$id or @ID=$id]", id=uri[1:]))
        if failed is None or failed.get("Type") == _SIGNED_PROPERTIES_TYPE or inside:
            reason = _("Les propriétés signées de « %(signature)s » ont été altérées.") % {"signature": label}
        elif resolver is None:
            reason = _(
                "Le document « %(file)s » a été modifié après sa signature : il ne correspond plus à sa "
                "signature."
            ) % {"file": evidence.file_name}
        else:
            reason = _(
                "Le fichier « %(file)s » ne correspond pas à la signature « %(signature)s » : il a été "
                "modifié depuis sa signature, ou la signature porte sur un autre fichier."
            ) % {"file": evidence.file_name, "signature": label}
        evidence.integrity_reasons.append(reason)
    except InvalidSignature:
        logger.info("XAdES signature invalid")
        evidence.integrity_reasons.append(
            _(
                "La signature « %(signature)s » est invalide : elle a été altérée ou ne correspond pas "
                "à son certificat."
            )
            % {"signature": label}
        )
    except Exception as error:  # noqa: BLE001 - any other failure is a broken signature
        # The type only: signxml's messages may quote the references' URIs (file names).
        logger.info("XAdES signature unreadable (%s)", type(error).__name__)
        evidence.integrity_reasons.append(
            _("La signature « %(signature)s » est illisible ou endommagée.") % {"signature": label}
        )
    else:
        evidence.intact = True


def _evidence(signature, name: str, signature_name: str) -> Evidence:
    certificates = _certificates(signature)
    return Evidence(
        format=SignatureFormat.XADES,
        file_name=name,
        signature_name=signature_name,
        signer=_signing_certificate(signature, certificates),
        certificates=certificates,
        claimed_time=_claimed_time(signature),
    )


def _facts(evidence: Evidence) -> dict:
    return {
        "signer": evidence.signer,
        "certificates": evidence.certificates,
        "claimed_time": evidence.claimed_time,
    }


def _no_signer(evidence: Evidence, label: str, trust: Trust):
    reason = _("Le certificat du signataire est absent de la signature « %(name)s ».") % {"name": label}
    return _invalid(evidence.file_name, evidence.signature_name, reason, trust, **_facts(evidence))


# --- Entry points -------------------------------------------------------------------------------


def verify_xades(document: bytes, name: str, signature_xml: bytes, signature_name: str, trust: Trust) -> list:
    """The reports of the detached signatures in ``signature_xml`` of ``document``."""
    root = _parse(signature_xml)
    signatures = [] if root is None else _top_signatures(root)
    if not signatures:
        reason = _(
            "Le fichier de signature « %(name)s » est illisible : ce n'est pas une signature XAdES."
        ) % {"name": signature_name}
        return [_invalid(name, signature_name, reason, trust)]

    reports = beyond_limit(name, SignatureFormat.XADES, len(signatures) - MAX_SIGNATURES)
    for signature in signatures[:MAX_SIGNATURES]:
        evidence = _evidence(signature, name, signature_name)
        uris = _external_uris(signature)
        if evidence.signer is None:
            reports.append(_no_signer(evidence, signature_name, trust))
            continue
        if not uris:
            reason = _(
                "La signature « %(name)s » ne porte sur aucun fichier extérieur : ce n'est pas une "
                "signature détachée."
            ) % {"name": signature_name}
            reports.append(_invalid(name, signature_name, reason, trust, **_facts(evidence)))
            continue
        if uris[0] != name:
            evidence.notes.append(
                _("La signature désigne le fichier « %(uri)s » ; elle est vérifiée sur « %(name)s ».")
                % {"uri": uris[0], "name": name}
            )
        _notes(evidence, signature, signature_xml)
        # signxml is given the signature alone, as its own document.
        _check_signature(
            evidence, signature, etree.tostring(signature), 0, lambda uri: document, signature_name, trust
        )
        _timestamps(evidence, signature, trust, signature_name)
        reports.append(assess(evidence, trust))
    return reports


def verify_xades_enveloped(document: bytes, name: str, trust: Trust) -> list:
    """The reports of the signatures an XML ``document`` carries (deposited alone): the
    enveloped ones are verified; a detached jeton, or an enveloping signature, is not."""
    root = _parse(document)
    if root is None:
        return [_unknown(name, _("Ce fichier XML est illisible : sa signature n'a pas pu être vérifiée."))]
    signatures = _top_signatures(root)
    enveloped = [
        (index, signature)
        for index, signature in enumerate(signatures)
        if root.tag != _SIGNATURE_TAG and _signs_whole_document(signature)
    ]
    if not enveloped:
        if signatures and all(_external_uris(signature) for signature in signatures):
            reason = _(
                "Ce fichier XML est une signature XAdES détachée : elle ne peut être vérifiée qu'avec le "
                "document qu'elle signe."
            )
        else:
            reason = _(
                "Ce fichier XML contient une signature qui ne porte pas sur le document entier (signature "
                "enveloppante ou partielle) : elle n'est pas vérifiée par la plateforme."
            )
        return [_unknown(name, reason)]

    reports = beyond_limit(name, SignatureFormat.XADES, len(enveloped) - MAX_SIGNATURES)
    for index, signature in enveloped[:MAX_SIGNATURES]:
        evidence = _evidence(signature, name, "")
        if evidence.signer is None:
            reports.append(_no_signer(evidence, name, trust))
            continue
        evidence.notes.append(_("La signature est enveloppée dans le document XML qu'elle signe."))
        _notes(evidence, signature, document)
        # No resolver: an enveloped signature that names another file does not verify.
        _check_signature(evidence, signature, document, index, None, name, trust)
        _timestamps(evidence, signature, trust, name)
        reports.append(assess(evidence, trust))
    if len(enveloped) < len(signatures):
        for report in reports:
            report.notes.append(
                _(
                    "Le document porte d'autres signatures, qui ne portent pas sur le document entier : "
                    "elles ne sont pas vérifiées."
                )
            )
    return reports
