"""Review of the platform's seal, its history and its rotation: each test shows a defect.

Each test states what a person relying on the platform's check (a company, a judge, the
public receipt page) must be able to count on; they fail while the defect is there."""

import http.server
import io
import threading
from datetime import UTC, datetime, timedelta

import pytest
from asn1crypto import cms, core
from django.core.exceptions import ImproperlyConfigured
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.db import transaction

from signatures import platform
from signatures.models import PlatformSealCertificate
from tests.signatures.test_platform import _AuthorityHandler, _signer, a_pdf, make_certificate, seal_configure
from tests.signatures.test_platform_rotation import short_lived_seal

pytestmark = pytest.mark.django_db


@pytest.fixture
def fresh_pki(settings, tmp_path):
    settings.PLATFORM_PKI_DIR = tmp_path / "platform-pki"
    return settings.PLATFORM_PKI_DIR


def _sign(pdf: bytes, signer, timestamper, *, subfilter=None) -> bytes:
    """A PAdES signature by ``signer``, timestamped by ``timestamper``: the attacker's tool."""
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers

    metadata = signers.PdfSignatureMetadata(
        field_name="Sceau",
        reason="Accusé de réception",
        md_algorithm="sha256",
        subfilter=subfilter or fields.SigSeedSubFilter.PADES,
    )
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
    return signers.PdfSigner(metadata, signer=signer, timestamper=timestamper).sign_pdf(writer).getvalue()


# --- 1. Any certificate under a trusted root passes for the platform's seal -------------------


@pytest.fixture
def production_ca(settings, tmp_path, clock):
    """Production as the design documents it: a seal bought from a certification authority
    (PKCS#12 with its chain), and that authority's public RFC 3161 service."""
    from pyhanko.sign.timestamps import DummyTimeStamper

    root_key, root = make_certificate("Autorité de certification commerciale", ca=True)
    seal_key, seal = make_certificate("Cachet serveur de la plateforme", issuer=(root_key, root))
    tsa_key, tsa = make_certificate(
        "Horodatage public de l'autorité", issuer=(root_key, root), time_stamping=True
    )
    seal_configure(settings, tmp_path / "cachet.p12", seal_key, seal, [root])
    handler = type("Handler", (_AuthorityHandler,), {"requests": []})
    handler.stamper = DummyTimeStamper(
        tsa_cert=platform._asn1(tsa),
        tsa_key=platform._key_info(tsa_key),
        certs_to_embed=[platform._asn1(root)],
    )
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings.TIMESTAMP_URL = f"http://127.0.0.1:{server.server_address[1]}/tsa"
    yield {"root": (root_key, root)}
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def test_a_seal_of_another_customer_of_the_same_authority_is_not_the_platforms(
    client, settings, production_ca
):
    from pyhanko.sign.timestamps import HTTPTimeStamper

    # GIVEN the platform has sealed with its PKCS#12 (its certificate is in the history)
    assert platform.pdf_check(platform.pdf_seal(a_pdf(), reason="Accusé de réception")).valid
    # WHEN another customer of the same certification authority signs a forged receipt with
    # its own certificate, timestamped by the authority's public service
    key, certificate = make_certificate("Entreprise Concurrente SAS", issuer=production_ca["root"])
    forged = _sign(
        a_pdf("Faux accusé de réception"),
        _signer(key, certificate, [production_ca["root"][1]]),
        HTTPTimeStamper(settings.TIMESTAMP_URL),
    )
    # THEN the public page « Vérifier une signature » does not present it as the platform's seal
    page = client.post(
        "/verifier-une-signature/",
        {"document": SimpleUploadedFile("avis.pdf", forged, "application/pdf")},
    ).content.decode()
    assert "Sceau de la plateforme" not in page
    # AND neither does the platform's check
    result = platform.pdf_check(forged)
    assert not result.authentic, result.message


def test_the_platforms_timestamping_certificate_is_not_a_seal(fresh_pki, clock):
    # GIVEN the embedded PKI; a document signed with the timestamping authority's certificate
    # (not a seal certificate: extended key usage « timeStamping » only, critical)
    identity = platform._identity()
    tsa_signer = _signer(identity.tsa_key, identity.tsa_certificate, identity.roots)
    forged = _sign(a_pdf("Pas un cachet"), tsa_signer, platform._timestamper(identity))
    result = platform.pdf_check(forged)
    # THEN it is not the platform's seal
    assert not result.authentic, result.message


# --- 2. Retirement -----------------------------------------------------------------------------


def test_a_certificate_retired_by_another_process_is_no_longer_used_to_seal(fresh_pki, clock):
    # GIVEN a web worker that has already sealed with the current certificate
    platform.pdf_seal(a_pdf("Registre"), reason="Registre")
    [row] = PlatformSealCertificate.objects.all()
    # WHEN the administrator retires it with « manage.py platform_seal_retire » (another
    # process: it writes the row; this worker's memory is untouched)
    PlatformSealCertificate.objects.filter(pk=row.pk).update(retired_at=clock())
    clock.advance(minutes=5)
    # THEN this worker refuses to seal (« it no longer seals ») rather than issue a document
    # that the public check rejects
    try:
        sealed = platform.pdf_seal(a_pdf("Accusé"), reason="Accusé de réception")
    except ImproperlyConfigured:
        return
    result = platform.pdf_check(sealed)
    assert result.valid, f"the platform issued a document that its own check refuses: {result.message}"


def test_retiring_a_compromised_embedded_seal_refuses_backdated_forgeries(fresh_pki, clock):
    # GIVEN the embedded PKI's directory leaked (its keys open with the SECRET_KEY, which
    # leaked with it): the attacker holds the seal key and the timestamping key
    platform.pdf_seal(a_pdf(), reason="Accusé de réception")
    leaked = platform._identity()
    # WHEN the administrator rotates (the old certificate is retired a minute later)
    clock.advance(days=1)
    call_command("platform_seal_rotate", verbosity=0)
    clock.advance(hours=1)
    # AND the attacker seals a forged receipt, timestamped by the leaked authority a week back
    backdated = platform._own_authority_class()(
        tsa_cert=platform._asn1(leaked.tsa_certificate),
        tsa_key=platform._key_info(leaked.tsa_key),
        certs_to_embed=[platform._asn1(root) for root in leaked.roots],
        fixed_dt=clock() - timedelta(days=7),
        key=leaked.tsa_key,
    )
    forged = _sign(a_pdf("Faux accusé"), platform._signer(leaked), backdated)
    result = platform.pdf_check(forged)
    # THEN the retirement protects: the forgery is not authentic
    assert not result.authentic, result.message


# --- 3. The history row and the process's memory -------------------------------------------


def test_a_seal_whose_transaction_rolled_back_still_leaves_its_certificate_in_the_history(fresh_pki, clock):
    # GIVEN the first seal of the process made inside a transaction that then fails and rolls
    # back: e.g. an opening (deposits/services/opening.py, @transaction.atomic) whose minutes
    # were sealed, then storing them failed (disk full)
    with pytest.raises(RuntimeError), transaction.atomic():
        platform.pdf_seal(a_pdf("Brouillon"), reason="Accusé de réception")
        raise RuntimeError("storage failed")
    # WHEN the same process seals a receipt that is delivered
    receipt = platform.pdf_seal(a_pdf("Accusé"), reason="Accusé de réception")
    # AND the administrator later rotates the platform's seal
    clock.advance(days=1)
    call_command("platform_seal_rotate", verbosity=0)
    # THEN the delivered receipt still verifies
    result = platform.pdf_check(receipt)
    assert result.valid, result.message


# --- 4. The public pages on odd input ---------------------------------------------------------


def _far_future_signed_pdf() -> bytes:
    """A PDF signed by a stranger who wrote 31/12/9999 23:59:59 UTC as its signing time."""
    from pyhanko.sign import attributes, fields, signers

    class FarFuture(attributes.SigningTimeProvider):
        async def build_attr_value(self, dry_run=False):
            return cms.Time(
                {"generalized_time": core.GeneralizedTime(datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC))}
            )

    class Signer(signers.SimpleSigner):
        def _signed_attr_providers(self, *args, **kwargs):
            for provider in super()._signed_attr_providers(*args, **kwargs):
                yield (
                    FarFuture(provider.timestamp)
                    if isinstance(provider, attributes.SigningTimeProvider)
                    else provider
                )

    root = make_certificate("Autorité étrangère", ca=True)
    key, certificate = make_certificate("Faussaire", issuer=root)
    signer = _signer(key, certificate, [root[1]])
    signer.__class__ = Signer
    return _sign(a_pdf("Faux accusé"), signer, None, subfilter=fields.SigSeedSubFilter.ADOBE_PKCS7_DETACHED)


def test_the_public_receipt_check_answers_a_pdf_with_an_absurd_signing_time(client, clock):
    content = _far_future_signed_pdf()
    response = client.post(
        "/verifier-un-accuse-de-reception/",
        {"receipt": SimpleUploadedFile("accuse.pdf", content, "application/pdf")},
    )
    assert response.status_code == 200
    assert "Faussaire" in response.content.decode() or "plateforme" in response.content.decode()


# --- 5. Point-in-time re-validation -----------------------------------------------------------


def test_a_seal_made_after_its_certificate_expired_is_refused_despite_a_trusted_timestamp(
    fresh_pki, settings, tmp_path, clock
):
    # GIVEN a production seal certificate valid one more day, timestamps by the embedded authority
    short_lived_seal(settings, tmp_path, clock)
    platform.pdf_seal(a_pdf(), reason="Accusé de réception")
    identity = platform._identity()
    # WHEN someone holding the expired key seals a month later, with a genuine timestamp of then
    clock.advance(days=30)
    late = platform._pdf_seal_with(identity, a_pdf("Tardif"), reason="Accusé", field_name="Sceau")
    # THEN the seal is refused: the timestamp proves it was made after the certificate expired
    result = platform.pdf_check(late)
    assert not result.authentic, result.message
