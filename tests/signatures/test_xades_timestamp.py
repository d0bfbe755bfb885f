"""XAdES signature timestamps (xades:SignatureTimeStamp) and enveloped XAdES signatures, against
the small PKI of the tests: the report shows the proven signing time, and a timestamp that does
not prove it is said, never ignored."""

import asyncio
from base64 import b64encode
from datetime import UTC, datetime, timedelta

import pytest
from lxml import etree

from signatures.report import Verdict, moment
from signatures.verify import signature_verify
from signatures.verify_chain import Trust, load_crls
from signatures.verify_xades import is_enveloped_xml_signature, verify_xades_enveloped

from . import pki as test_pki

DS = "http://www.w3.org/2000/09/xmldsig#"
XADES = "http://uri.etsi.org/01903/v1.3.2#"
NS = {"ds": DS, "xades": XADES}
EXCLUSIVE_C14N = "http://www.w3.org/2001/10/xml-exc-c14n#"


@pytest.fixture(scope="module")
def pki():
    return test_pki.make_pki()


def check_time() -> datetime:
    # Signatures are made at the real time of the test: the check happens just after.
    return datetime.now(UTC) + timedelta(minutes=5)


def verify(pki, document, name, signature, signature_name):
    return signature_verify(
        document,
        name,
        detached=signature,
        detached_name=signature_name,
        trust_roots=pki.trust_roots,
        crls=pki.crls,
        at=check_time(),
    )


def verify_enveloped(pki, document, name):
    trust = Trust(
        roots=pki.trust_roots,
        intermediates=[],
        crls=load_crls(pki.crls),
        revocation_fetch=False,
        at=check_time(),
    )
    return verify_xades_enveloped(document, name, trust)


def only(reports):
    assert len(reports) == 1, [r.summary() for r in reports]
    return reports[0]


def text(report) -> str:
    return " ".join(report.reasons + report.notes)


def a_time() -> datetime:
    """A timestamp's time, a minute after the signing (whole seconds, as a token says it)."""
    return datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=1)


def timestamper(tsa: test_pki.Identity, when: datetime):
    from pyhanko.sign.timestamps import DummyTimeStamper

    return DummyTimeStamper(
        tsa_cert=tsa.asn1,
        tsa_key=tsa.key_info,
        certs_to_embed=[test_pki.asn1(c) for c in tsa.chain],
        fixed_dt=when,
    )


def with_timestamp(signed_xml: bytes, stamper, *, c14n_method: str | None = None, over: bytes | None = None):
    """``signed_xml`` with a xades:SignatureTimeStamp added to its (first) signature's unsigned
    properties: a token of ``stamper`` over its canonicalized ds:SignatureValue (inclusive C14N 1.0
    in its document, or ``c14n_method``), or over ``over``. The signature value does not cover
    the unsigned properties: adding them after signing is what a timestamping service does."""
    import hashlib

    root = etree.fromstring(signed_xml)
    signature = root if root.tag == f"{{{DS}}}Signature" else root.find(".//ds:Signature", NS)
    value = signature.find("ds:SignatureValue", NS)
    exclusive = c14n_method == EXCLUSIVE_C14N
    c14n = over if over is not None else etree.tostring(value, method="c14n", exclusive=exclusive)
    token = asyncio.run(stamper.async_timestamp(hashlib.sha256(c14n).digest(), "sha256"))

    qualifying = signature.find("ds:Object/xades:QualifyingProperties", NS)
    properties = qualifying.find("xades:UnsignedProperties/xades:UnsignedSignatureProperties", NS)
    if properties is None:
        unsigned = etree.SubElement(qualifying, f"{{{XADES}}}UnsignedProperties")
        properties = etree.SubElement(unsigned, f"{{{XADES}}}UnsignedSignatureProperties")
    timestamp = etree.SubElement(
        properties, f"{{{XADES}}}SignatureTimeStamp", Id=f"horodatage-{len(properties)}"
    )
    if c14n_method:
        etree.SubElement(timestamp, f"{{{DS}}}CanonicalizationMethod", Algorithm=c14n_method)
    etree.SubElement(timestamp, f"{{{XADES}}}EncapsulatedTimeStamp").text = b64encode(token.dump()).decode()
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def enveloped(document: bytes, identity: test_pki.Identity) -> bytes:
    """``document`` (XML) with an enveloped XAdES signature of it, as its last child."""
    from signxml import methods
    from signxml.xades import XAdESSigner

    signer = XAdESSigner(
        method=methods.enveloped, signature_algorithm="rsa-sha256", digest_algorithm="sha256"
    )
    signed = signer.sign(
        etree.fromstring(document), key=identity.key, cert=[identity.certificate, *identity.chain]
    )
    return etree.tostring(signed, xml_declaration=True, encoding="UTF-8")


def enveloped_with_xpath_filter(document: bytes, identity: test_pki.Identity) -> bytes:
    """As ``enveloped``, with the reference DSS-based tools write: the whole document « subtract
    /descendant::ds:Signature » (XPath Filter 2.0) instead of the enveloped-signature transform."""
    from signxml import methods
    from signxml.xades import XAdESSigner

    filter2 = "http://www.w3.org/2002/06/xmldsig-filter2"

    class XPathFilterSigner(XAdESSigner):
        def _build_transforms_for_reference(self, *, transforms_node, reference, **kwargs):
            if reference.URI != "":
                return super()._build_transforms_for_reference(
                    transforms_node=transforms_node, reference=reference, **kwargs
                )
            transform = etree.SubElement(transforms_node, f"{{{DS}}}Transform", Algorithm=filter2)
            xpath = etree.SubElement(
                transform, f"{{{filter2}}}XPath", Filter="subtract", nsmap={"dsig-filter2": filter2}
            )
            xpath.text = "/descendant::ds:Signature"
            etree.SubElement(transforms_node, f"{{{DS}}}Transform", Algorithm=reference.c14n_method.value)
            return None

    signer = XPathFilterSigner(
        method=methods.enveloped, signature_algorithm="rsa-sha256", digest_algorithm="sha256"
    )
    signed = signer.sign(
        etree.fromstring(document), key=identity.key, cert=[identity.certificate, *identity.chain]
    )
    return etree.tostring(signed, xml_declaration=True, encoding="UTF-8")


OFFER = (
    b'<offre xmlns="urn:marches:offre"><entreprise>Dupont BTP</entreprise>'
    b'<lot numero="1"><prix devise="EUR">125000.00</prix></lot></offre>'
)


# --- Detached signatures with a timestamp -------------------------------------------------------


def test_a_timestamped_xades_signature_is_valid_and_shows_the_timestamp(pki):
    document = b"%PDF-1.7 acte d'engagement"
    when = a_time()
    signature = with_timestamp(test_pki.xades(document, "ae.pdf", pki.signer), timestamper(pki.tsa, when))

    report = only(verify(pki, document, "ae.pdf", signature, "ae.pdf.xml"))

    assert report.verdict == Verdict.VALID, report.reasons
    assert report.format == "XAdES"
    assert report.timestamp_time == when
    assert report.signing_time is not None
    assert ("Horodatage", moment(when)) in report.lines()
    # The time is proven: no « déclarée par le signataire » caveat, no note that the
    # timestamp is not checked.
    assert "aucun horodatage ne la prouve" not in text(report)
    assert "pas encore vérifié" not in text(report)


def test_the_timestamp_canonicalization_method_given_by_the_signature_is_used(pki):
    document = b"Memoire technique"
    when = a_time()
    signature = with_timestamp(
        test_pki.xades(document, "memoire.odt", pki.signer),
        timestamper(pki.tsa, when),
        c14n_method=EXCLUSIVE_C14N,
    )

    report = only(verify(pki, document, "memoire.odt", signature, "memoire.odt.xml"))

    assert report.verdict == Verdict.VALID, report.reasons
    assert report.timestamp_time == when


def test_a_timestamp_of_other_bytes_does_not_prove_the_signing_time(pki):
    document = b"%PDF-1.7 bordereau"
    signature = with_timestamp(
        test_pki.xades(document, "bpu.pdf", pki.signer),
        timestamper(pki.tsa, a_time()),
        over=b"<ds:SignatureValue>une autre signature</ds:SignatureValue>",
    )

    report = only(verify(pki, document, "bpu.pdf", signature, "bpu.pdf.xml"))

    assert report.verdict != Verdict.VALID
    assert report.verdict == Verdict.UNKNOWN
    assert report.timestamp_time is None
    assert report.intact is True
    assert (
        "L'horodatage de la signature « bpu.pdf.xml » ne porte pas sur cette signature" in report.reasons[0]
    )
    assert ("Horodatage", "aucun") in report.lines()


def test_a_timestamp_by_an_untrusted_authority_does_not_prove_the_signing_time(pki):
    document = b"%PDF-1.7 DC1"
    rogue = test_pki.issue(
        "Horodateur inconnu", issuer=pki.foreign_root, organisation="Ailleurs", time_stamping=True
    )
    signature = with_timestamp(test_pki.xades(document, "dc1.pdf", pki.signer), timestamper(rogue, a_time()))

    report = only(verify(pki, document, "dc1.pdf", signature, "dc1.pdf.xml"))

    assert report.verdict == Verdict.UNKNOWN, report.reasons
    assert report.timestamp_time is None
    assert "« Horodateur inconnu », qui n'est pas une autorité d'horodatage reconnue" in report.reasons[0]


def test_a_bad_timestamp_beside_a_valid_one_is_said_without_changing_the_verdict(pki):
    document = b"%PDF-1.7 DC4"
    rogue = test_pki.issue("Horodateur inconnu", issuer=pki.foreign_root, time_stamping=True)
    when = a_time()
    signature = test_pki.xades(document, "dc4.pdf", pki.signer)
    signature = with_timestamp(signature, timestamper(rogue, when - timedelta(seconds=30)))
    signature = with_timestamp(signature, timestamper(pki.tsa, when))

    report = only(verify(pki, document, "dc4.pdf", signature, "dc4.pdf.xml"))

    assert report.verdict == Verdict.VALID, report.reasons
    # The earlier timestamp is not trusted: the valid one gives the time.
    assert report.timestamp_time == when
    assert "« Horodateur inconnu », qui n'est pas une autorité d'horodatage reconnue" in " ".join(
        report.notes
    )


def test_an_unreadable_timestamp_is_reported(pki):
    document = b"%PDF-1.7 DC2"
    signed = with_timestamp(test_pki.xades(document, "dc2.pdf", pki.signer), timestamper(pki.tsa, a_time()))
    root = etree.fromstring(signed)
    root.find(".//xades:EncapsulatedTimeStamp", NS).text = b64encode(b"pas un jeton").decode()

    report = only(verify(pki, document, "dc2.pdf", etree.tostring(root), "dc2.pdf.xml"))

    assert report.verdict == Verdict.UNKNOWN
    assert "L'horodatage de la signature « dc2.pdf.xml » est illisible" in report.reasons[0]


# --- Enveloped signatures ---------------------------------------------------------------------


def test_an_enveloped_xades_signature_of_an_xml_document_is_valid(pki):
    signed = enveloped(OFFER, pki.signer)

    report = only(verify_enveloped(pki, signed, "offre.xml"))

    assert report.verdict == Verdict.VALID, report.reasons
    assert report.format == "XAdES"
    assert report.file_name == "offre.xml"
    assert report.signer_name == "Jeanne Dupont"
    assert report.intact is True
    assert "enveloppée dans le document XML" in text(report)


def test_an_enveloped_signature_with_a_timestamp_shows_the_timestamp(pki):
    # The document's default namespace is in scope of ds:SignatureValue: the inclusive
    # canonicalization of the timestamp keeps it.
    when = a_time()
    signed = with_timestamp(enveloped(OFFER, pki.signer), timestamper(pki.tsa, when))

    report = only(verify_enveloped(pki, signed, "offre.xml"))

    assert report.verdict == Verdict.VALID, report.reasons
    assert report.timestamp_time == when


def test_an_enveloped_xml_document_modified_after_its_signature_is_invalid(pki):
    signed = enveloped(OFFER, pki.signer).replace(b"125000.00", b"95000.00")

    report = only(verify_enveloped(pki, signed, "offre.xml"))

    assert report.verdict == Verdict.INVALID
    assert report.intact is False
    assert report.reasons[0] == (
        "Le document « offre.xml » a été modifié après sa signature : il ne correspond plus à sa signature."
    )


def test_an_enveloped_signature_written_with_an_xpath_filter_is_valid(pki):
    signed = enveloped_with_xpath_filter(OFFER, pki.signer)
    assert b"xmldsig-filter2" in signed

    report = only(verify_enveloped(pki, signed, "offre.xml"))
    modified = only(verify_enveloped(pki, signed.replace(b"Dupont BTP<", b"Durand BTP<"), "offre.xml"))

    assert report.verdict == Verdict.VALID, report.reasons
    assert modified.verdict == Verdict.INVALID
    assert "a été modifié après sa signature" in modified.reasons[0]


def test_a_detached_jeton_deposited_alone_is_not_judged(pki):
    jeton = test_pki.xades(b"%PDF-1.7", "ae.pdf", pki.signer)

    report = only(verify_enveloped(pki, jeton, "ae.pdf.xml"))

    assert report.verdict == Verdict.UNKNOWN
    assert "signature XAdES détachée" in report.reasons[0]


def test_an_enveloped_document_is_told_apart_from_a_detached_jeton(pki):
    # What the pairing of a deposit's files needs: an enveloped « offre.xml » beside
    # « offre.pdf » signs itself, it is not the jeton of the PDF.
    assert is_enveloped_xml_signature(enveloped(OFFER, pki.signer)) is True
    assert is_enveloped_xml_signature(test_pki.xades(b"%PDF-1.7", "offre.pdf", pki.signer)) is False
    assert is_enveloped_xml_signature(OFFER) is False
