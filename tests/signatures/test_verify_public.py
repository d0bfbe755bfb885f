"""The public page « Vérifier une signature »: anyone uploads a signed document (and its
detached signature) and reads one report per signature; nothing is kept."""

import io

import pytest
from cryptography.hazmat.primitives import serialization
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from signatures.models import CertificateCategory
from signatures.trust import certificate_add

from . import pki as test_pki

pytestmark = pytest.mark.django_db

URL = "/verifier-une-signature/"


@pytest.fixture(scope="module")
def pki():
    return test_pki.make_pki()


@pytest.fixture(scope="module")
def pdf():
    return test_pki.a_pdf("Offre de Dupont BTP")


@pytest.fixture(autouse=True)
def _fresh_throttle():
    cache.clear()
    yield
    cache.clear()


class FakeCrlServer:
    """The CRL distribution points named in the test certificates, without network."""

    def __init__(self, pki):
        intermediate_crl, root_crl = pki.crls
        self.files = {
            test_pki.CA_CRL_URL: intermediate_crl.public_bytes(serialization.Encoding.DER),
            test_pki.ROOT_CRL_URL: root_crl.public_bytes(serialization.Encoding.DER),
        }

    def urlopen(self, url, timeout):
        return io.BytesIO(self.files[url])


@pytest.fixture
def trusted(pki, settings, monkeypatch):
    """The test root in the store, and revocation fetched from the (fake) CRL points."""
    certificate_add(
        pki.root.certificate.public_bytes(serialization.Encoding.PEM),
        name="Racine de test",
        category=CertificateCategory.ROOT,
    )
    settings.SIGNATURE_REVOCATION_FETCH = True
    monkeypatch.setattr("signatures.verify_chain.urllib.request.urlopen", FakeCrlServer(pki).urlopen)


def post(
    client, document: bytes | None, name="document.pdf", signature: bytes | None = None, signature_name=""
):
    data = {}
    if document is not None:
        data["document"] = SimpleUploadedFile(name, document)
    if signature is not None:
        data["signature"] = SimpleUploadedFile(signature_name, signature)
    return client.post(URL, data)


def test_the_page_is_public_and_accessible(client):
    assert reverse("signatures:verify_public") == URL

    response = client.get(URL)

    page = response.content.decode()
    assert response.status_code == 200
    assert "<h1>Vérifier une signature électronique</h1>" in page
    assert 'enctype="multipart/form-data"' in page
    assert '<label for="id_document">Document signé</label>' in page
    assert 'aria-describedby="id_document_helptext"' in page
    assert "csrfmiddlewaretoken" in page


def test_a_valid_pades_signature_is_reported_valid_with_the_signer(client, trusted, pki, pdf):
    signed = test_pki.pades(pdf, pki.signer, pki)

    response = post(client, signed, "offre.pdf")

    page = response.content.decode()
    assert response.status_code == 200
    assert "1 signature(s) trouvée(s) : 1 valide(s), 0 invalide(s), 0 indéterminée(s)." in page
    assert "Verdict : valide" in page
    assert "signé par Jeanne Dupont (Dupont BTP)" in page
    assert "AC Entreprises de test" in page  # the issuer
    assert "QCP-n-qscd" in page  # the policy
    assert "non révoqué" in page


def test_a_pdf_modified_after_its_signature_is_invalid_with_the_reason(client, trusted, pki, pdf):
    signed = bytearray(test_pki.pades(pdf, pki.signer, pki))
    position = signed.index(b"/Type")
    signed[position + 1 : position + 5] = b"Typo"

    page = post(client, bytes(signed), "offre.pdf").content.decode()

    assert "Verdict : invalide" in page
    assert "modifié après sa signature" in page


def test_a_signature_from_an_untrusted_root_is_invalid(client, trusted, pki, pdf):
    signed = test_pki.pades(pdf, pki.foreign_signer)

    page = post(client, signed, "offre.pdf").content.decode()

    assert "Verdict : invalide" in page
    assert "ne se rattache à aucune autorité de confiance" in page
    assert "Inès Inconnue" in page


def test_a_cades_signature_is_checked_with_its_p7s(client, trusted, pki):
    document = b"Memoire technique de Dupont BTP"
    signature = test_pki.cades(document, pki.signer, pki)

    page = post(client, document, "memoire.txt", signature, "memoire.txt.p7s").content.decode()
    other = post(client, b"Autre fichier", "autre.txt", signature, "memoire.txt.p7s").content.decode()

    assert "Verdict : valide" in page
    assert "Signature 1 (CAdES)" in page
    assert "signé par Jeanne Dupont" in page
    assert "Verdict : invalide" in other


def test_without_revocation_information_a_good_signature_is_never_called_valid(client, pki, pdf, settings):
    certificate_add(
        pki.root.certificate.public_bytes(serialization.Encoding.PEM), name="Racine", category="root"
    )
    settings.SIGNATURE_REVOCATION_FETCH = False

    page = post(client, test_pki.pades(pdf, pki.signer, pki), "offre.pdf").content.decode()

    assert "Verdict : indéterminée" in page
    assert "la révocation n&#x27;a pas pu être vérifiée" in page


def test_an_unsigned_file_is_reported_unsigned(client):
    page = post(client, b"juste du texte", "notes.txt").content.decode()

    assert "Aucune signature électronique n&#x27;a été trouvée." in page
    assert "Verdict : non signé" in page


def test_no_file_is_refused_next_to_the_field(client):
    response = post(client, None)

    page = response.content.decode()
    assert response.status_code == 200
    assert (
        '<ul class="errorlist" id="id_document_errors"><li>Choisissez le document signé à vérifier.</li></ul>'
        in page
    )
    assert 'aria-describedby="id_document_helptext id_document_errors"' in page
    assert 'role="alert"' in page


def test_a_file_too_big_is_refused(client, monkeypatch):
    monkeypatch.setattr("signatures.forms.VERIFY_MAX_SIZE", 1000)

    page = post(client, b"x" * 1001, "gros.pdf").content.decode()

    assert "Le fichier dépasse la taille maximale de 50 Mio." in page
    assert "Rapport de vérification" not in page


def test_the_files_are_not_kept(client, trusted, pki, pdf, settings):
    post(client, test_pki.pades(pdf, pki.signer, pki), "offre.pdf")

    media = settings.MEDIA_ROOT
    assert not media.exists() or not any(path.is_file() for path in media.rglob("*"))


def test_the_form_needs_its_csrf_token(pdf):
    client = Client(enforce_csrf_checks=True)

    response = post(client, pdf, "offre.pdf")

    assert response.status_code == 403


def test_an_address_is_throttled_after_too_many_verifications(client, monkeypatch):
    monkeypatch.setattr("signatures.views.VERIFY_ATTEMPTS", 2)

    first = post(client, b"un", "a.txt")
    second = post(client, b"deux", "b.txt")
    third = post(client, b"trois", "c.txt")
    elsewhere = Client(REMOTE_ADDR="198.51.100.7")
    other = post(elsewhere, b"quatre", "d.txt")

    assert first.status_code == second.status_code == 200
    assert third.status_code == 429
    assert "réessayez un peu plus tard" in third.content.decode()
    assert "Rapport de vérification" not in third.content.decode()
    assert other.status_code == 200


def test_a_register_sealed_by_the_platform_is_recognised_as_such(client, clock):
    from signatures.platform import pdf_seal

    sealed = pdf_seal(test_pki.a_pdf("Registre des retraits"), reason="Registre : Registre des retraits")

    page = post(client, sealed, "registre.pdf").content.decode()

    assert "Sceau de la plateforme : Document authentique et intègre : scellé par" in page


def test_a_company_signature_is_not_taken_for_the_platform_seal(client, trusted, pki, pdf):
    page = post(client, test_pki.pades(pdf, pki.signer, pki), "offre.pdf").content.decode()

    assert "Sceau de la plateforme" not in page
