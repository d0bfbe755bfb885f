"""XAdES: a detached XML signature (``.xml`` « jeton ») of a file beside it.

signxml (``XAdESVerifier``) checks the references (the file's digest, the signed properties,
the signing certificate's digest) and the signature value, with the certificate carried in
the signature; ``verify_chain.assess`` judges that certificate against the trust roots.
The reference to the signed file is resolved to ``document`` whatever its URI (the file
name at signing time rarely matches the name of the deposited file); the URI is reported.
"""

import logging
from base64 import b64decode
from datetime import datetime

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from django.utils.translation import gettext as _
from lxml import etree

from .report import SignatureFormat
from .verify_chain import Evidence, Trust, assess, within_validity

logger = logging.getLogger(__name__)

_NS = {"ds": "http://www.w3.org/2000/09/xmldsig#", "xades": "http://uri.etsi.org/01903/v1.3.2#"}
_XADES_141 = "http://uri.etsi.org/01903/v1.4.1#"
_DIGESTS = {
    "http://www.w3.org/2000/09/xmldsig#sha1": hashes.SHA1,
    "http://www.w3.org/2001/04/xmlenc#sha256": hashes.SHA256,
    "http://www.w3.org/2001/04/xmldsig-more#sha384": hashes.SHA384,
    "http://www.w3.org/2001/04/xmlenc#sha512": hashes.SHA512,
}


def _parser():
    return etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)


def is_xml_signature(data: bytes) -> bool:
    return b"<" in data[:512] and b"http://www.w3.org/2000/09/xmldsig#" in data


def _certificates(signature) -> list[x509.Certificate]:
    result = []
    for node in signature.iterfind("ds:KeyInfo/ds:X509Data/ds:X509Certificate", _NS):
        try:
            result.append(x509.load_der_x509_certificate(b64decode("".join((node.text or "").split()))))
        except ValueError:
            continue
    return result


def _signing_certificate(signature, certificates: list[x509.Certificate]) -> x509.Certificate | None:
    """The certificate the signed property SigningCertificate(V2) names, else the first end entity."""
    for digest in signature.iterfind(".//xades:SignedSignatureProperties/*/xades:Cert/xades:CertDigest", _NS):
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
    node = signature.find(".//xades:SignedSignatureProperties/xades:SigningTime", _NS)
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


def _invalid(name, signature_name, reason, trust, **facts) -> object:
    evidence = Evidence(format=SignatureFormat.XADES, file_name=name, signature_name=signature_name, **facts)
    evidence.integrity_reasons.append(reason)
    return assess(evidence, trust)


def verify_xades(document: bytes, name: str, signature_xml: bytes, signature_name: str, trust: Trust) -> list:
    from signxml import InvalidDigest, InvalidSignature
    from signxml.xades import XAdESSignatureConfiguration, XAdESVerifier

    try:
        root = etree.fromstring(signature_xml, parser=_parser())
    except Exception:  # noqa: BLE001 - not XML
        root = None
    signatures = (
        []
        if root is None
        else ([root] if root.tag == f"{{{_NS['ds']}}}Signature" else root.findall(".//ds:Signature", _NS))
    )
    if not signatures:
        reason = _(
            "Le fichier de signature « %(name)s » est illisible : ce n'est pas une signature XAdES."
        ) % {"name": signature_name}
        return [_invalid(name, signature_name, reason, trust)]

    reports = []
    for signature in signatures:
        certificates = _certificates(signature)
        signer = _signing_certificate(signature, certificates)
        facts = {"signer": signer, "certificates": certificates, "claimed_time": _claimed_time(signature)}
        uris = _external_uris(signature)
        if signer is None:
            reason = _("Le certificat du signataire est absent de la signature « %(name)s ».") % {
                "name": signature_name
            }
            reports.append(_invalid(name, signature_name, reason, trust, **facts))
            continue
        if not uris:
            reason = _(
                "La signature « %(name)s » ne porte sur aucun fichier extérieur : ce n'est pas une "
                "signature détachée."
            ) % {"name": signature_name}
            reports.append(_invalid(name, signature_name, reason, trust, **facts))
            continue
        evidence = Evidence(
            format=SignatureFormat.XADES, file_name=name, signature_name=signature_name, **facts
        )
        if uris[0] != name:
            evidence.notes.append(
                _("La signature désigne le fichier « %(uri)s » ; elle est vérifiée sur « %(name)s ».")
                % {"uri": uris[0], "name": name}
            )
        if signature.find(".//xades:UnsignedSignatureProperties/xades:SignatureTimeStamp", _NS) is not None:
            evidence.notes.append(
                _("La signature porte un horodatage XAdES, qui n'est pas encore vérifié par la plateforme.")
            )
        if _XADES_141 in signature_xml.decode("utf-8", "replace"):
            evidence.notes.append(
                _("La signature contient des éléments XAdES 1.4.1 qui ne sont pas vérifiés.")
            )
        try:
            XAdESVerifier().verify(
                etree.tostring(signature),
                x509_cert=signer,
                uri_resolver=lambda uri: document,
                parser=_parser(),
                expect_config=XAdESSignatureConfiguration(
                    expect_references=len(signature.findall("ds:SignedInfo/ds:Reference", _NS)),
                    # The certificate's dates are judged by ``assess``, at the signing time.
                    verification_time=within_validity(signer, facts["claimed_time"] or trust.at),
                ),
            )
        except InvalidDigest as error:
            logger.info("XAdES digest mismatch: %s", error)
            detail = str(error)
            if "reference 0" in detail or any(uri in detail for uri in uris):
                reason = _(
                    "Le fichier « %(file)s » ne correspond pas à la signature « %(signature)s » : il a été "
                    "modifié depuis sa signature, ou la signature porte sur un autre fichier."
                ) % {"file": name, "signature": signature_name}
            else:
                reason = _("Les propriétés signées de « %(signature)s » ont été altérées.") % {
                    "signature": signature_name
                }
            evidence.integrity_reasons.append(reason)
        except InvalidSignature:
            logger.info("XAdES signature invalid", exc_info=True)
            evidence.integrity_reasons.append(
                _(
                    "La signature « %(signature)s » est invalide : elle a été altérée ou ne correspond pas "
                    "à son certificat."
                )
                % {"signature": signature_name}
            )
        except Exception:  # noqa: BLE001 - any other failure is a broken signature
            logger.info("XAdES signature unreadable", exc_info=True)
            evidence.integrity_reasons.append(
                _("La signature « %(signature)s » est illisible ou endommagée.")
                % {"signature": signature_name}
            )
        else:
            evidence.intact = True
        reports.append(assess(evidence, trust))
    return reports
