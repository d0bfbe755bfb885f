"""The trust store: certificates added by an administrator (service and admin), the EU trusted
list import (service, command, admin), and what the store makes the verification trust."""

import io
from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse

from accounts.models import User
from audit.models import Event
from signatures.models import CertificateCategory, CertificateSource, TrustedCertificate
from signatures.platform import trust_roots
from signatures.report import Verdict
from signatures.trust import TrustError, certificate_add, trust_store, trusted_list_import
from signatures.verify import signature_verify
from tests.conftest import login_verified

from . import pki as test_pki

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def pki():
    return test_pki.make_pki()


def pem(certificate: x509.Certificate) -> bytes:
    return certificate.public_bytes(serialization.Encoding.PEM)


def der(certificate: x509.Certificate) -> bytes:
    return certificate.public_bytes(serialization.Encoding.DER)


def fingerprints(certificates) -> set[str]:
    import hashlib

    return {hashlib.sha256(der(c)).hexdigest() for c in certificates}


# --- Adding certificates --------------------------------------------------------------------


def test_a_pem_certificate_is_added_with_every_fact_read_from_it(pki):
    record = certificate_add(
        b"Racine copiee depuis le site de l'autorite\n" + pem(pki.root.certificate),
        name="Racine de l'autorité de test",
        category=CertificateCategory.ROOT,
    )

    record.refresh_from_db()
    assert record.subject == "CN=Racine de test,O=Autorité de test,C=FR"
    assert record.issuer == record.subject
    assert record.not_before == pki.root.certificate.not_valid_before_utc
    assert record.not_after == pki.root.certificate.not_valid_after_utc
    assert record.fingerprint_sha256 == next(iter(fingerprints([pki.root.certificate])))
    assert record.source == CertificateSource.MANUAL and record.active
    assert Event.objects.filter(action="signatures.certificate_added").count() == 1


def test_a_der_certificate_is_accepted_and_an_empty_name_takes_the_subject(pki):
    record = certificate_add(
        der(pki.intermediate.certificate), name="", category=CertificateCategory.INTERMEDIATE
    )

    assert record.name == "CN=AC Entreprises de test,O=Autorité de test,C=FR"


def test_the_same_certificate_twice_is_refused_with_the_name_it_already_has(pki):
    certificate_add(pem(pki.root.certificate), name="Racine A", category=CertificateCategory.ROOT)

    with pytest.raises(TrustError) as error:
        certificate_add(der(pki.root.certificate), name="Racine B", category=CertificateCategory.ROOT)

    assert (
        error.value.message
        == "Ce certificat est déjà dans le magasin de confiance, sous le nom « Racine A »."
    )
    assert TrustedCertificate.objects.count() == 1


@pytest.mark.parametrize(
    "data",
    [b"", b"bonjour", b"-----BEGIN CERTIFICATE-----\nabcd\n-----END CERTIFICATE-----\n", b"\x30\x82\x01"],
    ids=["empty", "text", "broken-pem", "broken-der"],
)
def test_garbage_is_refused_with_a_french_message(data):
    with pytest.raises(TrustError) as error:
        certificate_add(data, name="X", category=CertificateCategory.ROOT)

    assert "certificat" in error.value.message
    assert TrustedCertificate.objects.count() == 0


def test_a_bundle_and_an_end_entity_given_as_an_authority_are_refused(pki):
    with pytest.raises(TrustError, match="contient 2 certificats"):
        certificate_add(
            pem(pki.root.certificate) + pem(pki.intermediate.certificate), name="X", category="root"
        )
    with pytest.raises(TrustError, match="n'est pas celui d'une autorité de certification"):
        certificate_add(pem(pki.signer.certificate), name="Jeanne", category=CertificateCategory.ROOT)


# --- What the store trusts ------------------------------------------------------------------


def test_the_store_gives_anchors_intermediates_and_the_platform_roots(pki):
    certificate_add(pem(pki.root.certificate), name="Racine", category=CertificateCategory.ROOT)
    certificate_add(pem(pki.intermediate.certificate), name="AC", category=CertificateCategory.INTERMEDIATE)
    certificate_add(pem(pki.tsa.certificate), name="TSA", category=CertificateCategory.TIMESTAMP)
    foreign = certificate_add(
        pem(pki.foreign_root.certificate), name="Autre", category=CertificateCategory.ROOT
    )
    foreign.active = False
    foreign.save()

    roots, intermediates = trust_store()

    assert fingerprints(roots) == fingerprints([pki.root.certificate, pki.tsa.certificate, *trust_roots()])
    assert fingerprints(intermediates) == fingerprints([pki.intermediate.certificate])


def verify_with_store(document, name, **kwargs):
    roots, intermediates = trust_store()
    return signature_verify(
        document,
        name,
        trust_roots=roots,
        intermediates=intermediates,
        # The signatures are made at the real time of the test (the PKI may be older).
        at=datetime.now(UTC) + timedelta(minutes=5),
        **kwargs,
    )


def test_a_signature_is_trusted_once_its_root_is_added_and_no_longer_once_deactivated(pki):
    document = b"Offre"
    signature = test_pki.cades(document, pki.signer, pki)

    before = verify_with_store(document, "offre.txt", detached=signature, detached_name="offre.txt.p7s")
    record = certificate_add(pem(pki.root.certificate), name="Racine", category=CertificateCategory.ROOT)
    trusted = verify_with_store(
        document, "offre.txt", detached=signature, detached_name="offre.txt.p7s", crls=pki.crls
    )
    record.active = False
    record.save()
    after = verify_with_store(document, "offre.txt", detached=signature, detached_name="offre.txt.p7s")

    assert before[0].verdict == Verdict.INVALID and before[0].trusted_chain is False
    assert trusted[0].verdict == Verdict.VALID, trusted[0].reasons
    assert after[0].verdict == Verdict.INVALID


def test_the_platform_seal_verifies_against_the_store():
    from signatures.platform import pdf_seal

    sealed = pdf_seal(test_pki.a_pdf("Accusé de réception"), reason="Accusé")

    report = verify_with_store(sealed, "accuse.pdf")[0]

    assert report.trusted_chain is True, report.reasons
    assert report.intact is True


# --- EU trusted lists -----------------------------------------------------------------------

TSL_NS = "http://uri.etsi.org/02231/v2#"
CA_QC = "http://uri.etsi.org/TrstSvc/Svctype/CA/QC"
TSA_QTST = "http://uri.etsi.org/TrstSvc/Svctype/TSA/QTST"
GRANTED = "http://uri.etsi.org/TrstSvc/TrustedList/Svcstatus/granted"
WITHDRAWN = "http://uri.etsi.org/TrstSvc/TrustedList/Svcstatus/withdrawn"


def tsl(services: list[tuple[str, str, str, x509.Certificate]], territory="FR") -> bytes:
    """A small trusted list: one provider « Prestataire de test » with the given services
    (name, type, status, certificate)."""
    import base64

    items = "".join(
        f"""
        <TSPService><ServiceInformation>
          <ServiceTypeIdentifier>{kind}</ServiceTypeIdentifier>
          <ServiceName><Name xml:lang="fr">{name} (fr)</Name><Name xml:lang="en">{name}</Name></ServiceName>
          <ServiceDigitalIdentity><DigitalId>
            <X509Certificate>{base64.encodebytes(der(certificate)).decode()}</X509Certificate>
          </DigitalId></ServiceDigitalIdentity>
          <ServiceStatus>{status}</ServiceStatus>
          <StatusStartingTime>2020-01-01T00:00:00Z</StatusStartingTime>
        </ServiceInformation></TSPService>"""
        for name, kind, status, certificate in services
    )
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<TrustServiceStatusList xmlns="{TSL_NS}" TSLTag="http://uri.etsi.org/19612/TSLTag">
  <SchemeInformation><TSLVersionIdentifier>5</TSLVersionIdentifier>
    <SchemeTerritory>{territory}</SchemeTerritory></SchemeInformation>
  <TrustServiceProviderList><TrustServiceProvider>
    <TSPInformation><TSPName><Name xml:lang="en">Prestataire de test</Name></TSPName></TSPInformation>
    <TSPServices>{items}</TSPServices>
  </TrustServiceProvider></TrustServiceProviderList>
</TrustServiceStatusList>""".encode()


@pytest.fixture
def a_tsl(pki):
    return tsl(
        [
            ("AC qualifiée de test", CA_QC, GRANTED, pki.intermediate.certificate),
            ("Horodatage qualifié de test", TSA_QTST, GRANTED, pki.tsa.certificate),
            ("AC retirée", CA_QC, WITHDRAWN, pki.foreign_root.certificate),
        ]
    )


def test_a_trusted_list_imports_the_granted_services_only(pki, a_tsl):
    added, skipped = trusted_list_import(a_tsl)

    assert (added, skipped) == (2, 1)
    qualified = TrustedCertificate.objects.get(category=CertificateCategory.QUALIFIED)
    assert qualified.name == "AC qualifiée de test"
    assert qualified.subject == "CN=AC Entreprises de test,O=Autorité de test,C=FR"
    assert qualified.source == CertificateSource.TRUSTED_LIST
    assert qualified.trusted_list_service == "Prestataire de test / AC qualifiée de test"
    assert qualified.country == "FR"
    assert TrustedCertificate.objects.get(category=CertificateCategory.TIMESTAMP).name == (
        "Horodatage qualifié de test"
    )
    assert not TrustedCertificate.objects.filter(
        fingerprint_sha256__in=fingerprints([pki.foreign_root.certificate])
    )
    assert Event.objects.filter(action="signatures.trusted_list_imported").count() == 1


def test_importing_the_same_list_again_adds_nothing(a_tsl):
    trusted_list_import(a_tsl)

    assert trusted_list_import(a_tsl) == (0, 3)
    assert TrustedCertificate.objects.count() == 2


def test_a_qualified_service_of_the_list_anchors_the_signatures_it_issued(pki, a_tsl):
    trusted_list_import(a_tsl)
    pdf = test_pki.pades(test_pki.a_pdf(), pki.signer, pki)

    report = verify_with_store(pdf, "acte.pdf", crls=pki.crls)[0]

    assert report.verdict == Verdict.VALID, report.reasons
    assert report.timestamp_time is not None


@pytest.mark.parametrize(
    "xml, message",
    [
        (b"", "vide"),
        (b"<pas du xml", "pas un XML lisible"),
        (b"<autre/>", "pas une liste de confiance"),
        (
            b'<?xml version="1.0"?><!DOCTYPE t [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
            b"<TrustServiceStatusList>&x;</TrustServiceStatusList>",
            "DTD",
        ),
    ],
    ids=["empty", "not-xml", "other-xml", "entity"],
)
def test_a_file_that_is_not_a_trusted_list_is_refused(xml, message):
    with pytest.raises(TrustError, match=message):
        trusted_list_import(xml)
    assert TrustedCertificate.objects.count() == 0


def test_the_command_imports_a_local_file(a_tsl, tmp_path):
    path = tmp_path / "FR.xml"
    path.write_bytes(a_tsl)
    out = io.StringIO()

    call_command("trusted_list_import", str(path), stdout=out)

    assert "2 certificat(s) ajouté(s), 1 ignoré(s)" in out.getvalue()
    assert TrustedCertificate.objects.count() == 2
    with pytest.raises(CommandError, match="pas un XML lisible"):
        (tmp_path / "bad.xml").write_bytes(b"<oops")
        call_command("trusted_list_import", str(tmp_path / "bad.xml"), stdout=out)


# --- The admin ------------------------------------------------------------------------------


@pytest.fixture
def admin_client(client, password):
    superuser = User.objects.create_superuser(email="admin@example.test", password=password)
    login_verified(client, superuser)
    return client


ADD_URL = "admin:signatures_trustedcertificate_add"


def test_an_administrator_adds_a_certificate_by_pasting_its_pem(admin_client, pki):
    response = admin_client.post(
        reverse(ADD_URL),
        {"name": "", "category": "root", "pem_text": pem(pki.root.certificate).decode(), "active": "on"},
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    record = TrustedCertificate.objects.get()
    assert record.subject == "CN=Racine de test,O=Autorité de test,C=FR"
    assert record.name == record.subject
    change = admin_client.get(reverse("admin:signatures_trustedcertificate_change", args=[record.pk]))
    assert record.fingerprint_sha256 in change.content.decode()


def test_an_administrator_uploads_a_cer_file_and_a_duplicate_is_shown_next_to_the_field(admin_client, pki):
    def upload():
        return admin_client.post(
            reverse(ADD_URL),
            {
                "name": "AC",
                "category": "intermediate",
                "certificate_file": SimpleUploadedFile("ac.cer", der(pki.intermediate.certificate)),
                "active": "on",
            },
        )

    assert upload().status_code == 302
    again = upload()

    assert again.status_code == 200
    assert (
        "Ce certificat est déjà dans le magasin de confiance, sous le nom « AC »." in again.content.decode()
    )
    assert TrustedCertificate.objects.count() == 1


def test_garbage_pasted_in_the_admin_is_refused(admin_client):
    response = admin_client.post(
        reverse(ADD_URL), {"name": "X", "category": "root", "pem_text": "n'importe quoi"}
    )

    assert response.status_code == 200
    assert "n&#x27;est pas un certificat X.509 lisible" in response.content.decode()
    assert TrustedCertificate.objects.count() == 0


def test_the_deactivate_action_takes_certificates_out_of_the_store(admin_client, pki):
    record = certificate_add(pem(pki.root.certificate), name="Racine", category=CertificateCategory.ROOT)

    response = admin_client.post(
        reverse("admin:signatures_trustedcertificate_changelist"),
        {"action": "deactivate", "_selected_action": [record.pk]},
        follow=True,
    )

    assert "1 certificat désactivé" in response.content.decode()
    record.refresh_from_db()
    assert not record.active
    assert fingerprints(trust_store()[0]).isdisjoint(fingerprints([pki.root.certificate]))


def test_an_administrator_imports_a_trusted_list_from_the_admin(admin_client, a_tsl):
    changelist = admin_client.get(reverse("admin:signatures_trustedcertificate_changelist"))
    url = reverse("admin:signatures_trustedcertificate_import")
    assert url in changelist.content.decode()

    response = admin_client.post(url, {"file": SimpleUploadedFile("FR.xml", a_tsl)}, follow=True)
    refused = admin_client.post(url, {"file": SimpleUploadedFile("x.xml", b"<autre/>")})

    assert "2 certificat(s) ajouté(s), 1 ignoré(s)" in response.content.decode()
    assert TrustedCertificate.objects.count() == 2
    assert refused.status_code == 200
    assert "pas une liste de confiance européenne" in refused.content.decode()


def test_the_change_form_keeps_the_certificate_and_checks_a_new_category(admin_client, pki):
    record = certificate_add(pem(pki.tsa.certificate), name="TSA", category=CertificateCategory.TIMESTAMP)
    url = reverse("admin:signatures_trustedcertificate_change", args=[record.pk])

    refused = admin_client.post(url, {"name": "TSA", "category": "root", "active": "on"})
    renamed = admin_client.post(url, {"name": "Horodatage", "category": "timestamp", "active": "on"})

    assert refused.status_code == 200
    assert "n&#x27;est pas celui d&#x27;une autorité de certification" in refused.content.decode()
    assert renamed.status_code == 302
    record.refresh_from_db()
    assert (record.name, record.category) == ("Horodatage", CertificateCategory.TIMESTAMP)
    assert record.pem == pem(pki.tsa.certificate).decode()
