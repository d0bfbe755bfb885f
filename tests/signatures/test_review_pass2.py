"""Second review of issue 7 (electronic signatures): each test shows a defect a user or an
attacker could hit (it fails until the defect is fixed), or covers a case not yet tested."""

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from signatures.models import ContractParty
from signatures.report import Verdict
from signatures.services.contract import ContractError, contract_document, contract_signature_upload
from signatures.verify import signature_verify

from . import pki as test_pki
from .contracts import holder_signed_cades, signature_upload
from .pki import NOW

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("contract_trust", "fresh_throttle")]


def verify(pki, document: bytes, name: str, jeton: bytes | None = None, *, crls=None, at=None):
    """``signature_verify`` against the test PKI, just after its real-time signatures (the
    jeton, if any, named after the file)."""
    return signature_verify(
        document,
        name,
        detached=jeton,
        detached_name=f"{name}.p7s" if jeton is not None else "",
        trust_roots=pki.trust_roots,
        crls=pki.crls if crls is None else crls,
        at=at or datetime.now(UTC) + timedelta(minutes=5),
    )


def p7m(data: bytes, identity, pki) -> bytes:
    """An enveloping CAdES (« .p7m ») of ``data``: the signed document travels inside."""
    signer = test_pki._pyhanko_signer(identity)
    return asyncio.run(
        signer.async_sign_general_data(
            data, "sha256", detached=False, use_cades=True, timestamper=test_pki.timestamper(pki)
        )
    ).dump()


# --- A signature of another document passed off as the signature of the file beside it ------


def test_an_enveloping_p7m_of_another_document_is_not_a_valid_signature_of_the_file_beside(pki):
    other = b"Je ne m'engage a rien."
    jeton = p7m(other, pki.signer, pki)

    reports = verify(pki, b"%PDF-1.7 acte d'engagement", "acte.pdf", jeton)

    assert [r.verdict for r in reports] == [Verdict.INVALID], [r.summary() for r in reports]


def test_the_holder_cannot_sign_the_contract_with_a_p7m_of_another_document(decision, company_user, pki):
    document = contract_document(decision)
    jeton = p7m(b"Un tout autre document", pki.signer, pki)

    try:
        signature = signature_upload(
            company_user.user, decision, ContractParty.HOLDER, "acte.pdf", document, "acte.pdf.p7s", jeton
        )
    except ContractError:
        signature = None

    # Refused, or kept as not valid (the buyer could otherwise counter-sign it).
    assert signature is None or signature.verdict != Verdict.VALID


def test_the_buyer_cannot_counter_sign_with_a_p7m_of_another_document(decision, company_user, buyer, pki):
    document = contract_document(decision)
    holder_signed_cades(decision, company_user, pki, document)

    try:
        signature = signature_upload(
            buyer.user,
            decision,
            ContractParty.BUYER,
            "acte.pdf",
            document,
            "contresignature.p7s",
            p7m(b"Rien a voir", pki.signer, pki),
        )
    except ContractError:
        signature = None

    assert signature is None or signature.verdict != Verdict.VALID
    decision.refresh_from_db()
    assert decision.signed_at is None, "the contract is recorded as signed by both parties"


# --- The counter-signature's replay check -----------------------------------------------------


def test_the_holders_xades_with_a_reencoded_signature_value_is_not_the_buyers_counter_signature(
    decision, company_user, buyer, pki
):
    document = contract_document(decision)
    holder_xml = test_pki.xades(document, "acte.pdf", pki.signer)
    signature_upload(
        company_user.user, decision, ContractParty.HOLDER, "acte.pdf", document, "acte.pdf.xml", holder_xml
    )
    # The same signature: base64 readers skip characters outside their alphabet.
    start = holder_xml.index(b"SignatureValue>") + len(b"SignatureValue>")
    replayed = holder_xml[:start] + b"!!" + holder_xml[start:]

    with pytest.raises(ContractError, match="signature du titulaire"):
        signature_upload(
            buyer.user, decision, ContractParty.BUYER, "acte.pdf", document, "contresignature.xml", replayed
        )

    decision.refresh_from_db()
    assert decision.signed_at is None


# --- PAdES with a document timestamp (B-LTA) ----------------------------------------------------


def _doc_timestamped(pdf: bytes, pki) -> bytes:
    import io

    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import signers

    writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
    return signers.PdfTimeStamper(test_pki.timestamper(pki)).timestamp_pdf(writer, "sha256").getvalue()


def test_a_pades_signature_followed_by_a_document_timestamp_is_not_called_invalid(pki):
    # PAdES B-LTA, as many signing tools produce it: the signature, then a document timestamp.
    signed = _doc_timestamped(test_pki.pades(test_pki.a_pdf(), pki.signer, pki), pki)

    reports = verify(pki, signed, "offre.pdf")

    assert Verdict.INVALID not in [r.verdict for r in reports], [r.summary() for r in reports]
    assert Verdict.VALID in [r.verdict for r in reports]


# --- A PDF repeating one signature in countless fields ------------------------------------------


def _with_copies_of_its_signature(signed: bytes, copies: int) -> bytes:
    """The signed PDF with ``copies`` more signature fields, all pointing to its signature."""
    import io

    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    writer = IncrementalPdfFileWriter(io.BytesIO(signed), strict=False)
    form = writer.root["/AcroForm"]
    fields = form["/Fields"]
    value = fields[0].raw_get("/V")
    more = generic.ArrayObject(list(fields))
    for number in range(copies):
        more.append(
            writer.add_object(
                generic.DictionaryObject(
                    {
                        generic.pdf_name("/FT"): generic.pdf_name("/Sig"),
                        generic.pdf_name("/T"): generic.pdf_string(f"Copie{number}"),
                        generic.pdf_name("/V"): value,
                    }
                )
            )
        )
    form[generic.pdf_name("/Fields")] = more
    writer.update_container(form)
    writer.update_root()
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def test_a_small_pdf_with_hundreds_of_signature_fields_is_not_verified_hundreds_of_times(pki):
    # ~60 kB here; 50 Mio on the public page or in a deposit is ~200,000 verifications (hours of
    # CPU, an opening that never ends).
    crafted = _with_copies_of_its_signature(test_pki.pades(test_pki.a_pdf(), pki.signer, pki), 150)
    assert len(crafted) < 100_000

    reports = verify(pki, crafted, "offre.pdf")

    assert len(reports) <= 100


# --- Logs -----------------------------------------------------------------------------------------


def test_the_name_of_a_deposited_file_is_not_written_to_the_log(pki, caplog):
    secret_name = "offre-financiere-dupont-lot3.pdf"
    jeton = test_pki.xades(b"la vraie offre", secret_name, pki.signer)

    # INFO: the production log level (config/settings.py LOGGING).
    with caplog.at_level("INFO"):
        reports = signature_verify(
            b"une offre changee",
            secret_name,
            detached=jeton,
            detached_name=f"{secret_name}.xml",
            trust_roots=pki.trust_roots,
            crls=pki.crls,
        )

    assert reports[0].verdict == Verdict.INVALID
    assert secret_name not in caplog.text


# --- The standstill -----------------------------------------------------------------------------


def test_a_counter_signature_timestamped_before_the_standstill_end_does_not_sign_the_contract(
    decision, company_user, buyer, pki, clock
):
    from awards.models import Decision
    from awards.services.decisions import standstill_end

    # Letters sent yesterday (real time): the standstill runs for 10 more days.
    Decision.objects.filter(pk=decision.pk).update(letters_sent_at=NOW - timedelta(days=1))
    decision.refresh_from_db()
    end = standstill_end(decision)
    assert end > NOW + timedelta(days=9)
    # Both parties sign now, during the standstill (the holder's file passed outside the
    # platform), and upload once it is over.
    holder_file = test_pki.pades(contract_document(decision), pki.signer, pki)
    both = test_pki.pades(holder_file, pki.agent, pki, field_name="Contresignature")
    clock.set(end + timedelta(hours=1))
    signature_upload(company_user.user, decision, ContractParty.HOLDER, "acte.pdf", holder_file)

    try:
        signature = signature_upload(buyer.user, decision, ContractParty.BUYER, "acte-contresigne.pdf", both)
    except ContractError:
        signature = None

    # The trusted timestamp proves the buyer signed during the standstill: the platform must
    # not record the contract as signed after it.
    decision.refresh_from_db()
    assert decision.signed_at is None, (signature.verdict, decision.signed_at)


# --- Time: the platform's clock -----------------------------------------------------------------


def test_a_signature_timestamp_is_judged_at_the_platforms_clock(pki):
    from pyhanko.sign.timestamps import DummyTimeStamper

    stamped_at = datetime(2020, 6, 1, tzinfo=UTC)
    # A timestamping authority whose certificate was valid in 2020 only.
    authority = test_pki.issue(
        "Horodatage 2020",
        issuer=pki.intermediate,
        time_stamping=True,
        not_before=datetime(2020, 1, 1, tzinfo=UTC),
        not_after=datetime(2021, 1, 1, tzinfo=UTC),
    )
    stamper = DummyTimeStamper(
        tsa_cert=authority.asn1,
        tsa_key=authority.key_info,
        certs_to_embed=[test_pki.asn1(c) for c in authority.chain],
        fixed_dt=stamped_at,
    )
    signer = test_pki._pyhanko_signer(pki.signer)
    jeton = asyncio.run(
        signer.async_sign_general_data(b"offre", "sha256", detached=True, use_cades=True, timestamper=stamper)
    ).dump()

    # Checked « on 1 June 2020 » (the platform's clock), the authority's certificate is valid.
    [report] = verify(pki, b"offre", "offre.pdf", jeton, at=stamped_at + timedelta(minutes=5))

    assert report.timestamp_time == stamped_at, report.notes


# --- What a certificate is for -------------------------------------------------------------------


def _website_certificate(pki) -> test_pki.Identity:
    """A TLS server certificate (extended key usage « serverAuth » only) from the trusted CA."""
    from cryptography.x509.oid import ExtendedKeyUsageOID

    return test_pki.issue(
        "www.dupont-btp.example", issuer=pki.intermediate, extended_usages=[ExtendedKeyUsageOID.SERVER_AUTH]
    )


def test_a_website_certificate_does_not_make_a_valid_signature(pki):
    signed = test_pki.pades(test_pki.a_pdf(), _website_certificate(pki), pki)

    [report] = verify(pki, signed, "offre.pdf")

    assert report.verdict != Verdict.VALID, report.reasons


# --- Revocation -------------------------------------------------------------------------------------


def test_a_revocation_list_expired_today_does_not_prove_an_undated_claim_not_revoked(pki):
    from pyhanko.sign.signers.pdf_cms import PdfCMSSignedAttributes

    compromised = test_pki.issue(
        "Clé Compromise", issuer=pki.intermediate, organisation="Dupont BTP", crl_url=test_pki.CA_CRL_URL
    )
    # The only CRL at hand was published in mid-2024 and expired on 1 July 2024 (the current one,
    # unreachable or withheld, would list the key as revoked in 2025).
    stale = test_pki.crl(
        pki.intermediate,
        last_update=datetime(2024, 6, 1, tzinfo=UTC),
        next_update=datetime(2024, 7, 1, tzinfo=UTC),
    )
    signer = test_pki._pyhanko_signer(compromised)
    # No timestamp: the date is only what the signer's software wrote, here back in May 2024.
    jeton = asyncio.run(
        signer.async_sign_general_data(
            b"offre",
            "sha256",
            detached=True,
            use_cades=True,
            signed_attr_settings=PdfCMSSignedAttributes(signing_time=datetime(2024, 5, 1, tzinfo=UTC)),
        )
    ).dump()

    [report] = verify(pki, b"offre", "offre.pdf", jeton, crls=[stale, test_pki.crl(pki.root)])

    assert report.verdict != Verdict.VALID, report.reasons


# --- The trust store's history ----------------------------------------------------------------------


def test_making_a_certificate_a_trust_anchor_again_in_the_admin_is_audited(client, password, pki):
    from cryptography.hazmat.primitives import serialization
    from django.urls import reverse

    from accounts.models import User
    from audit.models import Event
    from signatures.models import CertificateCategory
    from signatures.trust import certificate_add, certificate_deactivate
    from tests.conftest import login_verified

    admin = User.objects.create_superuser(email="admin@example.test", password=password)
    login_verified(client, admin)
    record = certificate_add(
        pki.intermediate.certificate.public_bytes(serialization.Encoding.PEM),
        name="AC",
        category=CertificateCategory.INTERMEDIATE,
    )
    certificate_deactivate([record])
    audited = Event.objects.filter(action__startswith="signatures.certificate", target_id=str(record.pk))
    before = audited.count()

    # Back in the store, and now trusted on its own (an anchor).
    response = client.post(
        reverse("admin:signatures_trustedcertificate_change", args=[record.pk]),
        {"name": "AC", "category": CertificateCategory.ROOT, "active": "on"},
    )

    assert response.status_code == 302
    record.refresh_from_db()
    assert (record.active, record.category) == (True, CertificateCategory.ROOT)
    assert audited.count() > before, "the trust store changed without an entry in the audit log"


# --- The public page's throttle ---------------------------------------------------------------------


def test_two_ipv4_clients_seen_as_ipv4_mapped_addresses_have_their_own_quota(monkeypatch):
    from django.test import Client

    monkeypatch.setattr("signatures.views.VERIFY_ATTEMPTS", 2)

    def verify(address: str):
        return Client(REMOTE_ADDR=address).post(
            "/verifier-une-signature/", {"document": SimpleUploadedFile("a.txt", b"un")}
        )

    # A dual-stack socket or proxy writes IPv4 clients as ::ffff:a.b.c.d.
    first = [verify("::ffff:192.0.2.1").status_code for _ in range(2)]
    other = verify("::ffff:198.51.100.7")

    assert first == [200, 200]
    assert other.status_code == 200, "another client is throttled by the first one's quota"


# --- Detached signatures: the signed contract's evidence ----------------------------------------


def _downloads(client, page: str, marker: str) -> list[bytes]:
    import re

    contents = []
    for href in sorted(set(re.findall(r'href="([^"]+)"', page))):
        if marker in href:
            response = client.get(href)
            assert response.status_code == 200, href
            contents.append(b"".join(response.streaming_content) if response.streaming else response.content)
    return contents


def test_the_detached_signatures_of_the_contract_can_be_downloaded(
    client, decision, company_user, buyer, pki
):
    from django.urls import reverse

    from tests.conftest import login_verified

    document = contract_document(decision)
    holder_jeton = test_pki.cades(document, pki.signer, pki)
    buyer_jeton = test_pki.xades(document, "acte.pdf", pki.agent)
    signature_upload(
        company_user.user, decision, ContractParty.HOLDER, "acte.pdf", document, "acte.pdf.p7s", holder_jeton
    )
    counter = signature_upload(
        buyer.user, decision, ContractParty.BUYER, "acte.pdf", document, "contresignature.xml", buyer_jeton
    )
    assert counter.verdict == Verdict.VALID

    login_verified(client, company_user.user)
    page = client.get(reverse("contracts:contract_company", args=[decision.pk])).content.decode()
    assert "signé par les deux parties" in page
    downloaded = _downloads(client, page, f"/entreprise/marches/{decision.pk}/")

    # « L'acte d'engagement signé par les deux parties »: without its detached signatures it is
    # the blank acte, signed by no one.
    assert holder_jeton in downloaded and buyer_jeton in downloaded, "the signatures cannot be downloaded"


# --- ZIP archives ------------------------------------------------------------------------------------


def test_a_signed_pdf_with_two_jetons_in_a_zip_reports_its_own_signature_once(pki):
    import io
    import zipfile

    pdf = test_pki.a_pdf("Offre")
    signed = test_pki.pades(pdf, pki.signer, pki)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("offre.pdf", signed)
        archive.writestr("offre.pdf.p7s", test_pki.cades(signed, pki.signer, pki))
        archive.writestr("offre.pdf.xml", test_pki.xades(signed, "offre.pdf", pki.signer))

    reports = verify(pki, buffer.getvalue(), "pli.zip")

    # Three signatures: the PDF's own, the CAdES and the XAdES jetons.
    assert sorted(r.format for r in reports) == ["CAdES", "PAdES", "XAdES"], [r.summary() for r in reports]


# --- A CAdES counter-signature (RFC 5652 § 11.4) -------------------------------------------------------


def _counter_signed(p7s: bytes, identity: test_pki.Identity) -> bytes:
    """The holder's .p7s with the buyer's counter-signature (an unsigned « countersignature »
    attribute of the holder's SignerInfo, signing its signature value), as CAdES tools make it."""
    import hashlib

    from asn1crypto import algos, cms
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    content = cms.ContentInfo.load(p7s)
    signed_data = content["content"]
    holder_info = signed_data["signer_infos"][0]
    certificate = identity.asn1
    signed_attrs = cms.CMSAttributes(
        [
            {
                "type": "message_digest",
                "values": [hashlib.sha256(holder_info["signature"].native).digest()],
            },
            {"type": "signing_time", "values": [cms.Time({"utc_time": datetime.now(UTC)})]},
        ]
    )
    value = identity.key.sign(signed_attrs.dump(), padding.PKCS1v15(), hashes.SHA256())
    counter = cms.SignerInfo(
        {
            "version": "v1",
            "sid": cms.SignerIdentifier(
                {
                    "issuer_and_serial_number": cms.IssuerAndSerialNumber(
                        {"issuer": certificate.issuer, "serial_number": certificate.serial_number}
                    )
                }
            ),
            "digest_algorithm": algos.DigestAlgorithm({"algorithm": "sha256"}),
            "signed_attrs": signed_attrs,
            "signature_algorithm": algos.SignedDigestAlgorithm({"algorithm": "sha256_rsa"}),
            "signature": value,
        }
    )
    holder_info = holder_info.copy()
    holder_info["unsigned_attrs"] = cms.CMSAttributes(
        [*(holder_info["unsigned_attrs"] or []), {"type": "counter_signature", "values": [counter]}]
    )
    signed_data = signed_data.copy()
    signed_data["signer_infos"] = cms.SignerInfos([holder_info])
    signed_data["certificates"] = cms.CertificateSet(
        [*(signed_data["certificates"] or []), cms.CertificateChoices({"certificate": certificate})]
    )
    return cms.ContentInfo({"content_type": "signed_data", "content": signed_data}).dump()


def test_the_buyers_cades_counter_signature_of_the_holders_p7s_is_accepted(
    decision, company_user, buyer, pki
):
    document = contract_document(decision)
    holder_p7s = test_pki.cades(document, pki.signer, pki)
    signature_upload(
        company_user.user, decision, ContractParty.HOLDER, "acte.pdf", document, "acte.pdf.p7s", holder_p7s
    )
    agent = test_pki.issue("Agent Acheteur", issuer=pki.intermediate, organisation="Ville de test")

    signature = signature_upload(
        buyer.user,
        decision,
        ContractParty.BUYER,
        "acte.pdf",
        document,
        "acte.pdf.p7s",
        _counter_signed(holder_p7s, agent),
    )

    # The report names the buyer's signer: the counter-signature itself was verified.
    assert "Agent Acheteur" in [report["signer_name"] for report in signature.reports]


def test_a_document_timestamp_added_to_the_holders_file_is_not_the_buyers_counter_signature(
    decision, company_user, buyer, pki
):
    holder_file = test_pki.pades(contract_document(decision), pki.signer, pki)
    signature_upload(company_user.user, decision, ContractParty.HOLDER, "acte.pdf", holder_file)

    with pytest.raises(ContractError):
        signature_upload(
            buyer.user,
            decision,
            ContractParty.BUYER,
            "acte-contresigne.pdf",
            _doc_timestamped(holder_file, pki),
        )

    decision.refresh_from_db()
    assert decision.signed_at is None


def test_another_company_cannot_download_the_detached_signature(
    client, decision, company_user, other_company_user, pki
):
    from django.urls import reverse

    from tests.conftest import login_verified

    document = contract_document(decision)
    signature = holder_signed_cades(decision, company_user, pki, document)
    url = reverse("contracts:contract_company_detached", args=[decision.pk, signature.pk])

    login_verified(client, other_company_user.user)
    assert client.get(url).status_code == 404
    login_verified(client, company_user.user)
    assert client.get(url).status_code == 200


def test_a_counter_signature_moved_onto_another_signature_is_invalid(pki):
    from asn1crypto import cms

    document = b"Acte d'engagement"
    agent = test_pki.issue("Agent Acheteur", issuer=pki.intermediate, organisation="Ville de test")
    countersigned = cms.ContentInfo.load(_counter_signed(test_pki.cades(document, pki.signer, pki), agent))
    # Another signature of the same document, given the first one's counter-signature
    other = cms.ContentInfo.load(test_pki.cades(document + b" ", pki.signer, pki))
    info = other["content"]["signer_infos"][0].copy()
    info["unsigned_attrs"] = countersigned["content"]["signer_infos"][0]["unsigned_attrs"]
    signed_data = countersigned["content"].copy()
    signed_data["signer_infos"] = cms.SignerInfos([info])
    moved = cms.ContentInfo({"content_type": "signed_data", "content": signed_data}).dump()

    reports = verify(pki, document + b" ", "acte.pdf", moved)

    counter = [r for r in reports if r.signer_name == "Agent Acheteur"]
    assert [r.verdict for r in counter] == [Verdict.INVALID], [r.summary() for r in reports]
    assert "contre-signature ne correspond pas" in " ".join(counter[0].reasons)


def test_the_buyer_cannot_counter_sign_with_the_holders_certificate(decision, company_user, buyer, pki):
    document = contract_document(decision)
    holder_signed_cades(decision, company_user, pki, document)

    # A new signature, but by the company's certificate (an old jeton of the holder, say)
    with pytest.raises(ContractError, match="certificat du titulaire"):
        contract_signature_upload(
            user=buyer.user,
            decision=decision,
            party=ContractParty.BUYER,
            file=SimpleUploadedFile("acte.pdf", document),
            detached=SimpleUploadedFile(
                "contresignature.xml", test_pki.xades(document, "acte.pdf", pki.signer)
            ),
        )

    decision.refresh_from_db()
    assert decision.signed_at is None


def test_a_p7s_with_hundreds_of_signer_infos_is_not_verified_hundreds_of_times(pki):
    from asn1crypto import cms

    document = b"offre"
    content = cms.ContentInfo.load(test_pki.cades(document, pki.signer, pki))
    signed_data = content["content"].copy()
    signed_data["signer_infos"] = cms.SignerInfos([signed_data["signer_infos"][0]] * 30)
    crafted = cms.ContentInfo({"content_type": "signed_data", "content": signed_data}).dump()

    reports = verify(pki, document, "offre.pdf", crafted)

    assert len(reports) == 21
    assert "10 autres signatures : au-delà de 20" in reports[-1].reasons[0]


def test_an_agent_who_neither_opens_nor_decides_cannot_read_the_contract_signature(
    client, decision, validator
):
    from django.urls import reverse

    from tests.conftest import login_verified

    login_verified(client, validator.user)
    url = reverse("contracts:contract_buyer_document", args=[decision.consultation_id, decision.pk])

    assert client.get(url).status_code == 403
