"""At the opening, every signature found in the deposited files is verified: the reports are
stored with each file, shown on the buyer's page and written in the PV d'ouverture; a
« signature requise » consultation warns about a file without a valid signature."""

import html
import io
from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse

from consultations.models import SignatureRule
from deposits.models import DepositFile, Opening
from deposits.opening_pdf import minutes_html
from deposits.services import signature_check
from deposits.services.deposits import deposit_finalize, deposit_start
from deposits.services.signature_check import OpenedFile, envelope_reports
from deposits.services.uploads import deposit_file_create, deposit_file_receive
from tests.conftest import login_verified
from tests.deposits.test_opening import open_as
from tests.signatures import pki as test_pki

# --- Helpers ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pki():
    return test_pki.make_pki()


@pytest.fixture(scope="module")
def signed_files(pki):
    """The files a company deposits: a PAdES-signed acte d'engagement, a memoir with its
    detached CAdES jeton, a form with its detached XAdES jeton, an unsigned file, and a
    signed PDF changed after its signature."""
    acte = test_pki.pades(test_pki.a_pdf("Acte d'engagement"), pki.signer, pki)
    memoire = test_pki.a_pdf("Mémoire technique")
    dc2 = test_pki.a_pdf("DC2")
    tampered = bytearray(test_pki.pades(test_pki.a_pdf("Offre modifiée"), pki.signer, pki))
    position = tampered.index(b"/Type")
    tampered[position + 1 : position + 5] = b"Typo"
    return {
        "acte-engagement.pdf": acte,
        "memoire.pdf": memoire,
        "memoire.pdf.p7s": test_pki.cades(memoire, pki.signer, pki),
        "dc2.pdf": dc2,
        "signature-dc2.xml": test_pki.xades(dc2, "dc2.pdf", pki.signer),
        "kbis.pdf": test_pki.a_pdf("Extrait Kbis"),
        "offre-modifiee.pdf": bytes(tampered),
    }


@pytest.fixture
def trusted(pki, monkeypatch):
    """The test PKI's root in the trust store, with its CRLs."""
    monkeypatch.setattr(
        signature_check,
        "_trust",
        lambda: {
            "trust_roots": pki.trust_roots,
            "intermediates": [],
            "crls": pki.crls,
            "revocation_fetch": False,
        },
    )


def just_after_signing():
    """The test PKI signs and timestamps at the real time: the check comes just after."""
    return datetime.now(UTC) + timedelta(minutes=1)


@pytest.fixture
def after_signing(consultation, clock):
    """Call it once the deposits are in: after the deadline, and just after the test PKI
    signed (its timestamps are real time)."""
    assert consultation.deadline < test_pki.NOW

    def later():
        clock.set(just_after_signing())

    return later


def deposited_files(
    consultation, company_user, files: dict[str, bytes], labels: dict[str, str] | None = None
):
    """A finalised deposit with ``files`` in its candidature envelope."""
    labels = labels or {}
    user = company_user.user
    deposit = deposit_start(consultation=consultation, user=user)
    envelope = deposit.envelopes.get(kind="candidature")
    for name, content in files.items():
        deposit_file = deposit_file_create(
            deposit=deposit,
            envelope=envelope,
            user=user,
            name=name,
            size=len(content),
            document_label=labels.get(name, ""),
        )
        deposit_file_receive(
            deposit_file=deposit_file,
            user=user,
            offset=0,
            read=io.BytesIO(content).read,
            content_length=len(content),
        )
    return deposit_finalize(deposit=deposit, user=user)


def reports_of(consultation, name: str) -> list[dict]:
    return DepositFile.objects.get(envelope__deposit__consultation=consultation, name=name).signature_reports


def verdicts(consultation, name: str) -> list[tuple[str, str]]:
    return [(r["format"], r["verdict"]) for r in reports_of(consultation, name)]


def page_text(client, user, consultation) -> str:
    login_verified(client, user)
    response = client.get(reverse("deposits:buyer_deposits", args=[consultation.pk]))
    assert response.status_code == 200
    return html.unescape(response.content.decode())


# --- At the opening -----------------------------------------------------------------------------


def test_every_signature_is_verified_at_the_opening_and_its_report_kept(
    consultation, company_user, opener, signed_files, trusted, after_signing
):
    deposited_files(consultation, company_user, signed_files)
    after_signing()

    open_as(opener, consultation, Opening.Scope.CANDIDATURES)

    assert verdicts(consultation, "acte-engagement.pdf") == [("PAdES", "valid")]
    acte = reports_of(consultation, "acte-engagement.pdf")[0]
    assert acte["signer_name"] == "Jeanne Dupont"
    assert acte["signer_organisation"] == "Dupont BTP"
    assert acte["intact"] is True
    assert isinstance(acte["timestamp_time"], str)  # ISO, stored as JSON
    # The detached CAdES jeton: its report on the file it signs, and on the jeton.
    assert verdicts(consultation, "memoire.pdf") == [("CAdES", "valid")]
    assert reports_of(consultation, "memoire.pdf")[0]["signature_name"] == "memoire.pdf.p7s"
    assert verdicts(consultation, "memoire.pdf.p7s") == [("CAdES", "valid")]
    assert reports_of(consultation, "memoire.pdf.p7s")[0]["file_name"] == "memoire.pdf"
    # The XAdES jeton names the file it signs.
    assert verdicts(consultation, "dc2.pdf") == [("XAdES", "valid")]
    # Unsigned: no report at all.
    assert reports_of(consultation, "kbis.pdf") == []
    # Changed after its signature.
    assert verdicts(consultation, "offre-modifiee.pdf") == [("PAdES", "invalid")]
    assert "modifié après sa signature" in reports_of(consultation, "offre-modifiee.pdf")[0]["reasons"][0]


def test_the_buyers_page_shows_each_files_signature(
    client, consultation, company_user, opener, buyer, signed_files, trusted, after_signing
):
    deposited_files(consultation, company_user, signed_files)
    after_signing()
    open_as(opener, consultation, Opening.Scope.CANDIDATURES)

    text = page_text(client, buyer.user, consultation)

    assert text.count("<details>") == 6  # every signed file and jeton, not the unsigned one
    assert "Jeanne Dupont (Dupont BTP), signé le" in text
    assert 'Signature : <span class="state-badge state-online">valide</span>' in text
    assert 'Signature : <span class="state-badge state-draft">non signé</span>' in text
    assert 'Signature : <span class="state-badge state-cancelled">invalide</span>' in text
    assert "modifié après sa signature" in text
    assert "Chaîne de confiance" in text  # the facts, line by line
    assert "La consultation exige une signature" not in text


def test_the_minutes_say_each_files_signature(
    consultation, company_user, opener, signed_files, trusted, after_signing
):
    deposited_files(consultation, company_user, signed_files)
    after_signing()
    opening, _results = open_as(opener, consultation, Opening.Scope.CANDIDATURES)

    text = html.unescape(minutes_html(opening))

    assert "Signature PAdES : valide — Jeanne Dupont (Dupont BTP), signé le " in text
    assert "Signature CAdES : valide — Jeanne Dupont (Dupont BTP)" in text
    assert "Signature XAdES : valide — Jeanne Dupont (Dupont BTP)" in text
    assert "Fichier « memoire.pdf » : Signature CAdES : valide" in text  # on the jeton's row
    assert "Signature : aucune (fichier non signé)" in text
    assert "Signature PAdES : invalide — Jeanne Dupont (Dupont BTP)" in text
    assert "modifié après sa signature" in text


def test_a_signer_outside_the_trust_store_is_not_valid(
    consultation, company_user, opener, pki, after_signing
):
    # Nothing trusted: the platform's own roots only (the fallback before the trust store).
    deposited_files(
        consultation,
        company_user,
        {"acte.pdf": test_pki.pades(test_pki.a_pdf(), pki.foreign_signer)},
    )
    after_signing()

    open_as(opener, consultation, Opening.Scope.CANDIDATURES)

    ((signature_format, verdict),) = verdicts(consultation, "acte.pdf")
    assert signature_format == "PAdES"
    assert verdict != "valid"


def test_a_required_signature_missing_on_the_acte_dengagement_is_a_warning_not_a_refusal(
    client, consultation, company_user, opener, buyer, signed_files, trusted, after_signing
):
    consultation.signature_rule = SignatureRule.REQUIRED
    consultation.save(update_fields=["signature_rule"])
    deposited_files(
        consultation,
        company_user,
        {"ae.pdf": signed_files["kbis.pdf"], "annexe.pdf": signed_files["kbis.pdf"] + b"\n"},
        labels={"ae.pdf": "Acte d'engagement"},
    )
    after_signing()

    opening, _results = open_as(opener, consultation, Opening.Scope.CANDIDATURES)

    warning = (
        "La consultation exige une signature électronique et ce fichier ne porte aucune signature valide"
    )
    page = page_text(client, buyer.user, consultation)
    assert page.count(warning) == 1  # the acte d'engagement only, not the annex
    assert html.unescape(minutes_html(opening)).count(warning) == 1
    # Opened all the same: the buyer decides.
    assert DepositFile.objects.get(
        envelope__deposit__consultation=consultation, name="ae.pdf"
    ).opening_check == ("intact")


def test_a_validly_signed_acte_dengagement_gives_no_warning(
    client, consultation, company_user, opener, buyer, signed_files, trusted, after_signing
):
    consultation.signature_rule = SignatureRule.REQUIRED
    consultation.save(update_fields=["signature_rule"])
    deposited_files(
        consultation,
        company_user,
        {"ae.pdf": signed_files["acte-engagement.pdf"]},
        labels={"ae.pdf": "Acte d’engagement (AE)"},
    )
    after_signing()
    open_as(opener, consultation, Opening.Scope.CANDIDATURES)

    assert "La consultation exige une signature" not in page_text(client, buyer.user, consultation)


def test_without_an_acte_dengagement_every_file_but_the_jetons_should_be_signed(
    client, consultation, company_user, opener, buyer, signed_files, trusted, after_signing
):
    consultation.signature_rule = SignatureRule.REQUIRED
    consultation.save(update_fields=["signature_rule"])
    deposited_files(
        consultation,
        company_user,
        {name: signed_files[name] for name in ("memoire.pdf", "memoire.pdf.p7s", "kbis.pdf")},
    )
    after_signing()
    opening, _results = open_as(opener, consultation, Opening.Scope.CANDIDATURES)

    warning = (
        "La consultation exige une signature électronique et ce fichier ne porte aucune signature valide"
    )
    page = page_text(client, buyer.user, consultation)
    assert page.count(warning) == 1
    assert page.index(warning) > page.index("kbis.pdf")


def test_a_file_above_the_limit_is_not_read_and_says_so(
    consultation, company_user, opener, signed_files, trusted, after_signing, settings
):
    settings.SIGNATURE_CHECK_MAX_BYTES = 1000
    deposited_files(consultation, company_user, {"acte.pdf": signed_files["acte-engagement.pdf"]})
    after_signing()

    open_as(opener, consultation, Opening.Scope.CANDIDATURES)

    (report,) = reports_of(consultation, "acte.pdf")
    assert report["verdict"] == "unknown"
    assert "trop volumineux pour la vérification automatique" in report["reasons"][0]


# --- Pairing the detached signatures with their files ----------------------------------------------


def opened(files: dict[str, bytes]) -> list[OpenedFile]:
    return [
        OpenedFile(key=name, name=name, size=len(content), read=lambda content=content: content)
        for name, content in files.items()
    ]


def test_a_jeton_named_after_the_stem_signs_the_file_beside_it(pki, clock):
    clock.set(just_after_signing())
    document = b"Offre financiere\n" * 50
    trust = {"trust_roots": pki.trust_roots, "crls": pki.crls}

    reports = envelope_reports(
        opened(
            {"offre.txt": document, "offre.p7s": test_pki.cades(document, pki.signer, pki), "autre.txt": b"x"}
        ),
        trust=trust,
    )

    assert [(r["verdict"], r["signature_name"]) for r in reports["offre.txt"]] == [("valid", "offre.p7s")]
    assert reports["autre.txt"] == []


def test_a_jeton_of_another_file_is_invalid(pki, clock):
    clock.set(just_after_signing())
    trust = {"trust_roots": pki.trust_roots, "crls": pki.crls}

    reports = envelope_reports(
        opened(
            {"offre.txt": b"Offre B\n" * 20, "offre.txt.p7s": test_pki.cades(b"Offre A\n" * 20, pki.signer)}
        ),
        trust=trust,
    )

    assert [r["verdict"] for r in reports["offre.txt"]] == ["invalid"]
    assert [r["verdict"] for r in reports["offre.txt.p7s"]] == ["invalid"]


def test_a_jeton_alone_cannot_be_checked(pki, clock):
    clock.set(just_after_signing())
    trust = {"trust_roots": pki.trust_roots, "crls": pki.crls}

    reports = envelope_reports(
        opened({"seule.p7s": test_pki.cades(b"absent", pki.signer)}),
        trust=trust,
    )

    ((report,),) = reports.values()
    assert report["verdict"] == "unknown"
    assert "document qu'elle signe" in report["reasons"][0]


# --- The trust store ----------------------------------------------------------------------------------


def test_a_root_of_the_trust_store_makes_the_chain_trusted_and_offline_revocation_stays_unknown(
    consultation, company_user, opener, pki, signed_files, after_signing
):
    from cryptography.hazmat.primitives import serialization

    from signatures.models import CertificateCategory
    from signatures.trust import certificate_add

    certificate_add(
        pki.root.certificate.public_bytes(serialization.Encoding.PEM),
        name="Racine de test",
        category=CertificateCategory.ROOT,
        audit=False,
    )
    deposited_files(consultation, company_user, {"acte.pdf": signed_files["acte-engagement.pdf"]})
    after_signing()

    open_as(opener, consultation, Opening.Scope.CANDIDATURES)

    (report,) = reports_of(consultation, "acte.pdf")
    assert report["trusted_chain"] is True
    assert report["intact"] is True
    # No revocation list reachable: never « valide » by default.
    assert report["verdict"] == "unknown"
    assert report["revocation"] == "unknown"


def test_an_xml_document_signed_in_itself_is_verified_alone_not_paired_with_its_namesake(
    consultation, company_user, opener, trusted, after_signing, pki
):
    from tests.signatures.test_xades_timestamp import OFFER, enveloped

    # GIVEN an enveloped XAdES « offre.xml » beside « offre.pdf » (same stem)
    deposited_files(
        consultation,
        company_user,
        {"offre.xml": enveloped(OFFER, pki.signer), "offre.pdf": test_pki.a_pdf("Offre")},
    )
    after_signing()

    open_as(opener, consultation, Opening.Scope.CANDIDATURES)

    # THEN the XML's own signature is valid, and the PDF is simply not signed
    assert verdicts(consultation, "offre.xml") == [("XAdES", "valid")]
    assert reports_of(consultation, "offre.pdf") == []
