"""Verification of the signatures companies deposit (PAdES, CAdES, XAdES, ZIP), against a small
PKI made by the tests: each case gives the verdict and the French reason a buyer reads."""

import io
import zipfile
from datetime import UTC, datetime, timedelta

import pytest

from signatures.report import Revocation, Verdict
from signatures.verify import signature_verify

from . import pki as test_pki
from .pki import NOW, REVOKED_ON


@pytest.fixture(scope="module")
def pki():
    return test_pki.make_pki()


@pytest.fixture(scope="module")
def pdf():
    return test_pki.a_pdf()


def verify(pki, document, name, **kwargs):
    kwargs.setdefault("trust_roots", pki.trust_roots)
    kwargs.setdefault("crls", pki.crls)
    # Signatures are made at the real time of the test, which may run long after the PKI
    # was built: the check happens just after the signing.
    kwargs.setdefault("at", datetime.now(UTC) + timedelta(minutes=5))
    return signature_verify(document, name, **kwargs)


def only(reports):
    assert len(reports) == 1, [r.summary() for r in reports]
    return reports[0]


def text(report) -> str:
    return " ".join(report.reasons + report.notes)


# --- The three formats, valid ---------------------------------------------------------------


def test_a_timestamped_pades_signature_is_valid_with_the_signer_and_the_facts(pki, pdf):
    before = datetime.now(UTC).replace(microsecond=0)
    signed = test_pki.pades(pdf, pki.signer, pki)
    after = datetime.now(UTC)

    report = only(verify(pki, signed, "acte-engagement.pdf"))

    assert report.verdict == Verdict.VALID, report.reasons
    assert report.format == "PAdES"
    assert report.signer_name == "Jeanne Dupont"
    assert report.signer_organisation == "Dupont BTP"
    assert report.issuer == "AC Entreprises de test"
    assert report.serial_number == format(pki.signer.certificate.serial_number, "X")
    assert report.policies == ["QCP-n-qscd (0.4.0.194112.1.2)"]
    assert (
        report.qualification == "certificat qualifié eIDAS, de signature, clé sur dispositif qualifié (QSCD)"
    )
    assert report.intact is True
    assert report.trusted_chain is True
    assert report.chain == ["Racine de test", "AC Entreprises de test", "Jeanne Dupont"]
    assert report.certificate_valid_at_signing is True
    assert report.revocation == Revocation.GOOD
    assert report.timestamp_time is not None
    assert before <= report.timestamp_time <= after
    assert report.signing_time is not None
    assert "Signature valide de Jeanne Dupont" in report.reasons[0]
    assert ("Signataire", "Jeanne Dupont") in report.lines()


def test_a_detached_cades_signature_is_valid(pki):
    document = b"Offre technique de Dupont BTP\n" * 100
    signature = test_pki.cades(document, pki.signer, pki)

    report = only(verify(pki, document, "memoire.docx", detached=signature, detached_name="memoire.docx.p7s"))

    assert report.verdict == Verdict.VALID, report.reasons
    assert report.format == "CAdES"
    assert report.signature_name == "memoire.docx.p7s"
    assert report.signer_name == "Jeanne Dupont"
    assert report.timestamp_time is not None
    assert report.revocation == Revocation.GOOD


def test_a_detached_xades_signature_is_valid(pki):
    document = b"%PDF-1.7 bordereau de prix"
    signature = test_pki.xades(document, "bpu.pdf", pki.signer)

    report = only(verify(pki, document, "bpu.pdf", detached=signature, detached_name="bpu.pdf.xml"))

    assert report.verdict == Verdict.VALID, report.reasons
    assert report.format == "XAdES"
    assert report.signer_name == "Jeanne Dupont"
    assert report.signer_organisation == "Dupont BTP"
    assert report.signing_time is not None
    # No timestamp: the report says the time is only the signer's claim.
    assert report.timestamp_time is None
    assert "aucun horodatage ne la prouve" in text(report)


# --- What makes a signature invalid -----------------------------------------------------


def test_a_pdf_modified_after_its_signature_is_invalid(pki, pdf):
    signed = bytearray(test_pki.pades(pdf, pki.signer, pki))
    # Change one byte of the signed content (the first page's content is before the signature).
    position = signed.index(b"/Type")
    signed[position + 1 : position + 5] = b"Typo"

    report = only(verify(pki, bytes(signed), "acte.pdf"))

    assert report.verdict == Verdict.INVALID
    assert report.intact is False
    assert "modifié après sa signature" in report.reasons[0]


def test_a_pdf_with_content_added_after_its_signature_is_invalid(pki, pdf):
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    signed = test_pki.pades(pdf, pki.signer, pki)
    writer = IncrementalPdfFileWriter(io.BytesIO(signed))
    # A change to the page itself (not a signature nor a form field): the offer's content moved.
    page_ref, _ = writer.find_page_for_modification(0)
    page_ref.get_object()["/Rotate"] = generic.NumberObject(90)
    writer.mark_update(page_ref)
    out = io.BytesIO()
    writer.write(out)

    report = only(verify(pki, out.getvalue(), "acte.pdf"))

    assert report.verdict == Verdict.INVALID
    assert "modifié après sa signature" in report.reasons[0]


def test_a_modified_document_does_not_match_its_cades_signature(pki):
    document = b"Prix global : 100 000 EUR HT"
    signature = test_pki.cades(document, pki.signer, pki)

    report = only(
        verify(
            pki, b"Prix global : 900 000 EUR HT", "dpgf.txt", detached=signature, detached_name="dpgf.txt.p7s"
        )
    )

    assert report.verdict == Verdict.INVALID
    assert report.intact is False
    assert "ne correspond pas à la signature « dpgf.txt.p7s »" in report.reasons[0]


def test_a_signature_of_another_file_is_invalid_in_cades_and_xades(pki):
    signed_file = b"Lettre de candidature"
    deposited_file = b"Memoire technique"

    cades_report = only(
        verify(
            pki,
            deposited_file,
            "memoire.pdf",
            detached=test_pki.cades(signed_file, pki.signer, pki),
            detached_name="memoire.pdf.p7s",
        )
    )
    xades_report = only(
        verify(
            pki,
            deposited_file,
            "memoire.pdf",
            detached=test_pki.xades(signed_file, "dc1.pdf", pki.signer),
            detached_name="memoire.pdf.xml",
        )
    )

    for report in (cades_report, xades_report):
        assert report.verdict == Verdict.INVALID
        assert report.intact is False
        assert "la signature porte sur un autre fichier" in report.reasons[0]
    # The XAdES jeton names the file it signed.
    assert "« dc1.pdf »" in text(xades_report)


def test_a_certificate_expired_at_signing_time_makes_the_signature_invalid(pki, pdf):
    signed = test_pki.pades(pdf, pki.expired, pki)

    report = only(verify(pki, signed, "acte.pdf"))

    assert report.verdict == Verdict.INVALID
    assert report.certificate_valid_at_signing is False
    # The chain itself is sound: only the dates are wrong.
    assert report.trusted_chain is True
    assert report.reasons[0].startswith("Le certificat du signataire avait expiré le 01/01/2021")


def test_an_xades_signature_by_an_expired_certificate_is_invalid_for_its_dates(pki):
    document = b"Offre"
    signature = test_pki.xades(document, "offre.pdf", pki.expired)

    report = only(verify(pki, document, "offre.pdf", detached=signature, detached_name="offre.pdf.xml"))

    assert report.verdict == Verdict.INVALID
    # The signature itself is sound: the one reason is the certificate's dates.
    assert report.intact is True
    assert report.reasons[0].startswith("Le certificat du signataire avait expiré le 01/01/2021")


def test_a_revoked_certificate_makes_the_signature_invalid(pki):
    document = b"Acte d'engagement"
    signature = test_pki.cades(document, pki.revoked, pki)

    report = only(verify(pki, document, "ae.pdf", detached=signature, detached_name="ae.pdf.p7s"))

    assert report.verdict == Verdict.INVALID
    assert report.revocation == Revocation.REVOKED
    assert report.revocation_date == REVOKED_ON
    assert "« Rémi Révoqué » a été révoqué le 01/01/2024" in report.reasons[0]
    assert report.revocation_label.startswith("révoqué le 01/01/2024")


def test_a_signature_timestamped_before_the_revocation_stays_valid(pki):
    document = b"Acte d'engagement"
    signature = test_pki.cades(document, pki.revoked, pki)
    revoked_later = [
        test_pki.crl(pki.intermediate, [(pki.revoked.certificate, NOW + timedelta(days=1))]),
        test_pki.crl(pki.root),
    ]

    report = only(
        verify(
            pki,
            document,
            "ae.pdf",
            detached=signature,
            detached_name="ae.pdf.p7s",
            crls=revoked_later,
            at=NOW + timedelta(days=2),
        )
    )

    assert report.verdict == Verdict.VALID, report.reasons
    assert report.revocation == Revocation.REVOKED
    assert "après la signature horodatée" in text(report)


def test_a_certificate_of_an_untrusted_root_is_invalid(pki, pdf):
    signed = test_pki.pades(pdf, pki.foreign_signer, pki)

    report = only(verify(pki, signed, "acte.pdf"))

    assert report.verdict == Verdict.INVALID
    assert report.trusted_chain is False
    assert report.intact is True
    assert report.signer_name == "Inès Inconnue"
    assert "ne se rattache à aucune autorité de confiance" in report.reasons[0]


def test_an_xades_signature_from_an_untrusted_root_is_invalid(pki):
    document = b"Offre"
    signature = test_pki.xades(document, "offre.pdf", pki.foreign_signer)

    report = only(verify(pki, document, "offre.pdf", detached=signature, detached_name="offre.pdf.xml"))

    assert report.verdict == Verdict.INVALID
    assert report.intact is True
    assert "ne se rattache à aucune autorité de confiance" in report.reasons[0]


# --- What cannot be checked -------------------------------------------------------------


def test_without_a_revocation_list_the_verdict_is_unknown_never_valid(pki, pdf):
    signed = test_pki.pades(pdf, pki.signer, pki)

    report = only(verify(pki, signed, "acte.pdf", crls=[]))

    assert report.verdict == Verdict.UNKNOWN
    assert report.revocation == Revocation.UNKNOWN
    assert report.intact is True and report.trusted_chain is True
    assert "la révocation n'a pas pu être vérifiée" in report.reasons[0]


class FakeCrlServer:
    """Stands for the CRL distribution points named in the certificates (no network)."""

    def __init__(self, pki):
        from cryptography.hazmat.primitives import serialization

        intermediate_crl, root_crl = pki.crls
        self.files = {
            test_pki.CA_CRL_URL: intermediate_crl.public_bytes(serialization.Encoding.DER),
            test_pki.ROOT_CRL_URL: root_crl.public_bytes(serialization.Encoding.DER),
        }
        self.asked = []

    def urlopen(self, url, timeout):
        self.asked.append(url)
        return io.BytesIO(self.files[url])


def test_with_revocation_fetching_the_crls_named_in_the_certificates_are_used(pki, monkeypatch):
    server = FakeCrlServer(pki)
    monkeypatch.setattr("signatures.verify_chain.urllib.request.urlopen", server.urlopen)
    document = b"Acte d'engagement"

    good = only(
        verify(
            pki,
            document,
            "ae.pdf",
            detached=test_pki.cades(document, pki.signer, pki),
            detached_name="ae.pdf.p7s",
            crls=[],
            revocation_fetch=True,
        )
    )
    revoked = only(
        verify(
            pki,
            document,
            "ae.pdf",
            detached=test_pki.cades(document, pki.revoked, pki),
            detached_name="ae.pdf.p7s",
            crls=[],
            revocation_fetch=True,
        )
    )

    assert good.verdict == Verdict.VALID, good.reasons
    assert good.revocation == Revocation.GOOD
    assert revoked.verdict == Verdict.INVALID
    assert revoked.revocation == Revocation.REVOKED
    assert set(server.asked) == {test_pki.CA_CRL_URL, test_pki.ROOT_CRL_URL}


def test_without_revocation_fetching_nothing_is_asked_to_the_network(pki, monkeypatch):
    server = FakeCrlServer(pki)
    monkeypatch.setattr("signatures.verify_chain.urllib.request.urlopen", server.urlopen)
    document = b"Acte d'engagement"

    report = only(
        verify(
            pki,
            document,
            "ae.pdf",
            detached=test_pki.cades(document, pki.signer, pki),
            detached_name="ae.pdf.p7s",
            crls=[],
        )
    )

    assert report.verdict == Verdict.UNKNOWN
    assert server.asked == []


def test_a_revocation_list_expired_before_the_signature_is_not_used(pki):
    document = b"Offre"
    signature = test_pki.cades(document, pki.signer, pki)
    stale = [
        test_pki.crl(
            pki.intermediate, last_update=NOW - timedelta(days=60), next_update=NOW - timedelta(days=30)
        ),
        test_pki.crl(pki.root),
    ]

    report = only(verify(pki, document, "offre.pdf", detached=signature, detached_name="o.p7s", crls=stale))

    assert report.verdict == Verdict.UNKNOWN
    assert "était périmée à la date de signature" in report.reasons[0]


def test_an_expired_certificate_with_only_a_claimed_date_is_not_proven_valid(pki):
    # Signed without a timestamp, claimed inside the validity, checked after the expiry:
    # the claimed date is the signer's word only.
    document = b"Offre"
    signature = test_pki.cades(document, pki.signer, None)
    at = pki.signer.certificate.not_valid_after_utc + timedelta(days=1)

    report = only(verify(pki, document, "offre.pdf", detached=signature, detached_name="o.p7s", at=at))

    assert report.verdict == Verdict.UNKNOWN
    assert report.certificate_valid_at_signing is True
    assert "sa validité à la date de signature n'est pas prouvée" in report.reasons[0]


def test_without_trust_roots_nothing_is_trusted(pki, pdf):
    signed = test_pki.pades(pdf, pki.signer, pki)

    report = only(verify(pki, signed, "acte.pdf", trust_roots=[]))

    assert report.verdict == Verdict.INVALID
    assert report.trusted_chain is False
    assert "Aucune autorité de confiance n'est configurée" in report.reasons[0]


# --- ZIP archives and unsigned files ----------------------------------------------------


def a_zip(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_a_zip_signed_as_a_whole_leaves_each_file_inside_unsigned(pki, pdf):
    archive = a_zip({"offre/memoire.pdf": pdf, "offre/dpgf.xlsx": b"PK tableur"})
    signature = test_pki.cades(archive, pki.signer, pki)

    reports = verify(pki, archive, "offre.zip", detached=signature, detached_name="offre.zip.p7s")

    zip_report, *inner = reports
    assert zip_report.verdict == Verdict.VALID, zip_report.reasons
    assert zip_report.file_name == "offre.zip"
    assert "porte sur l'archive ZIP entière" in text(zip_report)
    assert [r.file_name for r in inner] == ["offre.zip/offre/memoire.pdf", "offre.zip/offre/dpgf.xlsx"]
    for report in inner:
        assert report.verdict == Verdict.UNSIGNED
        assert not report.signed
        assert "porte sur l'archive « offre.zip » entière" in report.reasons[0]
        assert report.summary().endswith("non signé.")


def test_a_zip_reports_each_file_with_its_own_signatures(pki, pdf):
    letter = b"Lettre de candidature"
    archive = a_zip(
        {
            "acte.pdf": test_pki.pades(pdf, pki.signer, pki),
            "dc1.pdf": letter,
            "dc1.pdf.p7s": test_pki.cades(letter, pki.signer, pki),
            "annexe.txt": b"annexe",
        }
    )

    reports = verify(pki, archive, "pli.zip")

    by_file = {r.file_name: r for r in reports}
    assert set(by_file) == {"pli.zip/acte.pdf", "pli.zip/dc1.pdf", "pli.zip/annexe.txt"}
    assert by_file["pli.zip/acte.pdf"].format == "PAdES"
    assert by_file["pli.zip/acte.pdf"].verdict == Verdict.VALID
    assert by_file["pli.zip/dc1.pdf"].format == "CAdES"
    assert by_file["pli.zip/dc1.pdf"].verdict == Verdict.VALID
    assert by_file["pli.zip/annexe.txt"].verdict == Verdict.UNSIGNED


def test_a_signed_pdf_with_a_jeton_reports_both_signatures(pki, pdf):
    signed = test_pki.pades(pdf, pki.signer, pki)
    jeton = test_pki.cades(signed, pki.signer, pki)

    reports = verify(pki, signed, "acte.pdf", detached=jeton, detached_name="acte.pdf.p7s")

    assert [(r.format, r.verdict) for r in reports] == [("CAdES", Verdict.VALID), ("PAdES", Verdict.VALID)]


def test_an_unsigned_pdf_is_reported_unsigned(pki, pdf):
    report = only(verify(pki, pdf, "rc.pdf"))

    assert report.verdict == Verdict.UNSIGNED
    assert report.reasons == ["Ce fichier ne porte aucune signature électronique."]


def test_two_signatures_in_one_pdf_give_two_reports(pki, pdf):
    twice = test_pki.pades(
        test_pki.pades(pdf, pki.signer, pki), pki.foreign_signer, pki, field_name="Signature2"
    )

    first, second = verify(pki, twice, "acte.pdf")

    assert first.verdict == Verdict.VALID, first.reasons
    assert "Des signatures" in text(first)
    assert second.verdict == Verdict.INVALID
    assert second.signer_name == "Inès Inconnue"


# --- Garbage never raises ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("document", "name", "detached", "detached_name"),
    [
        (b"", "vide.pdf", None, ""),
        (b"%PDF-1.7\nnot really a pdf", "faux.pdf", None, ""),
        (b"\x30\x82\x01\x00garbage", "x.p7m", None, ""),
        (b"PK\x03\x04broken zip", "x.zip", None, ""),
        (b"document", "doc.pdf", b"\x30\x03\x02\x01\x01", "doc.pdf.p7s"),
        (b"document", "doc.pdf", b"<not xml", "doc.pdf.xml"),
        (b"document", "doc.pdf", b"<?xml version='1.0'?><a/>", "doc.pdf.xml"),
        (b"document", "doc.pdf", bytes(range(256)) * 4, "doc.pdf.sig"),
    ],
)
def test_garbage_gives_a_french_report_and_never_raises(pki, document, name, detached, detached_name):
    reports = verify(pki, document, name, detached=detached, detached_name=detached_name)

    assert reports
    for report in reports:
        assert report.verdict in (Verdict.INVALID, Verdict.UNKNOWN, Verdict.UNSIGNED)
        assert report.reasons and all(reason for reason in report.reasons)


def test_an_enveloping_p7m_is_verified_on_the_document_inside(pki):
    import asyncio

    document = b"Acte d'engagement signe en p7m"
    signer = test_pki._pyhanko_signer(pki.signer)
    p7m = asyncio.run(
        signer.async_sign_general_data(
            document, "sha256", detached=False, use_cades=True, timestamper=test_pki.timestamper(pki)
        )
    ).dump()

    report = only(verify(pki, p7m, "ae.pdf.p7m"))

    assert report.verdict == Verdict.VALID, report.reasons
    assert report.format == "CAdES"
    assert "enveloppe le document signé" in text(report)


def test_a_detached_jeton_alone_cannot_be_verified(pki):
    signature = test_pki.cades(b"Offre", pki.signer, pki)

    report = only(verify(pki, signature, "offre.pdf.p7s"))

    assert report.verdict == Verdict.UNKNOWN
    assert "signature détachée" in report.reasons[0]


def test_the_check_time_is_the_platform_clock_and_a_signature_from_the_future_is_doubtful(pki, pdf, clock):
    signed = test_pki.pades(pdf, pki.signer, pki)
    signed_at = datetime.now(UTC)

    clock.set(signed_at + timedelta(minutes=1))
    report = only(signature_verify(signed, "acte.pdf", trust_roots=pki.trust_roots, crls=pki.crls))
    assert report.verdict == Verdict.VALID, report.reasons

    clock.set(signed_at - timedelta(days=1))
    report = only(signature_verify(signed, "acte.pdf", trust_roots=pki.trust_roots, crls=pki.crls))
    assert report.verdict == Verdict.UNKNOWN
    assert "est postérieure à la date du contrôle" in report.reasons[0]


def test_it_works_where_an_event_loop_already_runs(pki, pdf):
    # An ASGI server or a browser test runs its own loop; pyHanko runs one of its own.
    import asyncio

    signed = test_pki.pades(pdf, pki.signer, pki)

    async def in_a_loop():
        return verify(pki, signed, "acte.pdf")

    report = only(asyncio.run(in_a_loop()))

    assert report.verdict == Verdict.VALID, report.reasons
