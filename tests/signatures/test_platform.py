"""The platform's sealing identity: its own PKI made once, its PAdES seal and RFC 3161
timestamps, their check against its trust roots only, and the production set-up (a PKCS#12
seal and an external timestamping authority, here a real HTTP server on loopback)."""

import asyncio
import http.server
import io
import os
import random
import stat
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from django.core.exceptions import ImproperlyConfigured

from signatures import platform

ROOT = Path(__file__).resolve().parents[2]

# Sealing notes its certificate in the history (signatures/platform_history.py).
pytestmark = pytest.mark.django_db


def a_pdf(text: str = "Bonjour") -> bytes:
    from weasyprint import HTML

    return HTML(string=f"<h1>{text}</h1>").write_pdf()


# --- A small foreign PKI, made by the tests ----------------------------------------------


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def make_certificate(cn, *, issuer=None, ca=False, time_stamping=False, not_after=None):
    """(key, certificate): a root when ``issuer`` is None, else issued by (key, certificate)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    issuer_key, issuer_cert = issuer if issuer else (key, None)
    now = datetime.now(UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(cn))
        .issuer_name(issuer_cert.subject if issuer_cert else _name(cn))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(datetime(2020, 1, 1, tzinfo=UTC))
        .not_valid_after(not_after or now + timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=not ca,
                content_commitment=not ca,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=ca,
                crl_sign=ca,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
    )
    if time_stamping:
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True
        )
    return key, builder.sign(issuer_key, hashes.SHA256())


def seal_configure(settings, path, seal_key, seal, chain, password: str = "mot de passe"):
    """The platform seals with a PKCS#12 file of ``seal`` (and its ``chain``) written at ``path``."""
    path.write_bytes(
        pkcs12.serialize_key_and_certificates(
            b"cachet", seal_key, seal, list(chain), serialization.BestAvailableEncryption(password.encode())
        )
    )
    settings.PLATFORM_SEAL_PKCS12, settings.PLATFORM_SEAL_PASSWORD = str(path), password


def _signer(key, certificate, chain=()):
    from pyhanko.sign import signers
    from pyhanko_certvalidator.registry import SimpleCertificateStore

    return signers.SimpleSigner(
        signing_cert=platform._asn1(certificate),
        signing_key=platform._key_info(key),
        cert_registry=SimpleCertificateStore.from_certs([platform._asn1(c) for c in chain]),
    )


def foreign_signed_pdf(tmp_path=None) -> bytes:
    """A PDF signed (PAdES) by a stranger's certificate, valid in itself."""
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers

    root = make_certificate("Autorité étrangère", ca=True)
    key, certificate = make_certificate("Faussaire", issuer=root)
    metadata = signers.PdfSignatureMetadata(
        field_name="Sceau", reason="Accusé de réception", subfilter=fields.SigSeedSubFilter.PADES
    )
    writer = IncrementalPdfFileWriter(io.BytesIO(a_pdf("Faux accusé")))
    return signers.PdfSigner(metadata, _signer(key, certificate, [root[1]])).sign_pdf(writer).getvalue()


# --- The embedded PKI --------------------------------------------------------------------


@pytest.fixture
def fresh_pki(settings, tmp_path):
    settings.PLATFORM_PKI_DIR = tmp_path / "platform-pki"
    return settings.PLATFORM_PKI_DIR


def test_the_embedded_pki_is_made_on_first_use_with_encrypted_keys(fresh_pki, db):
    [root] = platform.trust_roots()
    # The keys are PKCS#8 encrypted, readable by the owner only; the root's key is not kept
    for name in ("seal-key.pem", "tsa-key.pem"):
        path = fresh_pki / name
        assert path.read_bytes().startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert sorted(p.name for p in fresh_pki.glob("*.pem")) == [
        "root.pem",
        "seal-key.pem",
        "seal.pem",
        "tsa-key.pem",
        "tsa.pem",
    ]
    # The seal and the timestamping certificates are issued by the root
    seal = x509.load_pem_x509_certificate((fresh_pki / "seal.pem").read_bytes())
    tsa = x509.load_pem_x509_certificate((fresh_pki / "tsa.pem").read_bytes())
    seal.verify_directly_issued_by(root)
    tsa.verify_directly_issued_by(root)
    assert root.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert seal.extensions.get_extension_for_class(x509.KeyUsage).value.content_commitment
    usage = tsa.extensions.get_extension_for_class(x509.ExtendedKeyUsage)
    assert usage.critical and list(usage.value) == [ExtendedKeyUsageOID.TIME_STAMPING]
    # AND a later use reads the same PKI back
    platform._identity_for.cache_clear()
    assert platform.trust_roots() == [root]


def test_two_processes_starting_together_make_one_pki(tmp_path):
    code = (
        "import django; django.setup();"
        "from cryptography.hazmat.primitives import hashes;"
        "from signatures.platform import _identity;"
        "print(_identity().roots[0].fingerprint(hashes.SHA256()).hex())"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", "DATA_DIR": str(tmp_path / "data")}
    env.pop("DATABASE_URL", None)
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", code], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        for _ in range(2)
    ]
    outputs = [process.communicate(timeout=120) for process in processes]
    assert all(process.returncode == 0 for process in processes), outputs
    fingerprints = {out.decode().strip().splitlines()[-1] for out, _err in outputs}
    assert len(fingerprints) == 1
    root = x509.load_pem_x509_certificate((tmp_path / "data" / "platform-pki" / "root.pem").read_bytes())
    assert fingerprints == {root.fingerprint(hashes.SHA256()).hex()}


def test_a_rotated_secret_key_still_opens_the_keys_through_its_fallbacks(fresh_pki, settings, clock, db):
    [root] = platform.trust_roots()
    old = settings.SECRET_KEY
    settings.SECRET_KEY = "a-new-secret-key-" + "x" * 50
    with pytest.raises(ImproperlyConfigured, match="DJANGO_SECRET_KEY"):
        platform.trust_roots()
    settings.SECRET_KEY_FALLBACKS = [old]
    assert platform.trust_roots() == [root]
    assert platform.pdf_check(platform.pdf_seal(a_pdf(), reason="Essai")).valid


# --- Sealing and checking --------------------------------------------------------------------


def test_a_sealed_pdf_is_authentic_and_intact(clock):
    sealed = platform.pdf_seal(a_pdf(), reason="Accusé de réception du pli n° 4")
    result = platform.pdf_check(sealed)
    assert result.authentic and result.intact and result.valid
    assert result.signer == "Salle des marchés publics - cachet"
    assert result.reason == "Accusé de réception du pli n° 4"
    # The platform's authority timestamps at the platform's clock
    assert result.signed_at == clock()
    assert result.message == (
        "Document authentique et intègre : scellé par Salle des marchés publics - cachet "
        "le 02/03/2026 à 09:00:00."
    )


def test_a_signature_of_another_authority_is_not_authentic(db):
    result = platform.pdf_check(foreign_signed_pdf())
    assert not result.authentic and result.intact
    assert result.signer == "Faussaire"
    assert "n'est pas celle de la plateforme" in result.message


def _garbage() -> list[bytes]:
    sealed = platform.pdf_seal(a_pdf(), reason="Essai")
    noise = random.Random(5).randbytes(4000)
    return [
        b"",
        b"%PDF-",
        b"%PDF-1.7\n%%EOF",
        noise,
        b"%PDF-1.7\n" + noise,
        sealed[: len(sealed) // 3],
        sealed[: len(sealed) - 200],
        sealed.replace(b"/ByteRange", b"/ByteRangX"),
        sealed.replace(b"/Contents <", b"/Contents <00", 1),
    ]


def test_the_check_never_raises_on_garbage(db):
    for content in _garbage():
        result = platform.pdf_check(content)
        assert not result.valid, content[:40]
        assert result.message


def test_timestamps_cover_their_data_only(clock):
    token = platform.timestamp_token(b"manifeste")
    assert platform.timestamp_time(token) == clock()
    assert platform.timestamp_covers(token, b"manifeste")
    assert not platform.timestamp_covers(token, b"manifestE")
    assert not platform.timestamp_covers(b"not a token", b"manifeste")
    assert not platform.timestamp_covers(token[:-10], b"manifeste")


def test_a_timestamp_of_a_foreign_authority_is_not_covered(clock):
    from pyhanko.sign.timestamps import DummyTimeStamper

    root = make_certificate("Autorité étrangère", ca=True)
    key, certificate = make_certificate("Horodatage étranger", issuer=root, time_stamping=True)
    stamper = DummyTimeStamper(tsa_cert=platform._asn1(certificate), tsa_key=platform._key_info(key))
    import hashlib

    token = in_own_thread(
        lambda: asyncio.run(stamper.async_timestamp(hashlib.sha256(b"manifeste").digest(), "sha256"))
    ).dump()
    assert not platform.timestamp_covers(token, b"manifeste")


# --- Production: a PKCS#12 seal and an external RFC 3161 authority ----------------------------


class _AuthorityHandler(http.server.BaseHTTPRequestHandler):
    stamper = None
    requests: list = []

    def do_POST(self):  # noqa: N802 - http.server's naming
        from asn1crypto import tsp

        body = self.rfile.read(int(self.headers["Content-Length"]))
        assert self.headers["Content-Type"] == "application/timestamp-query"
        response = self.stamper.request_tsa_response(tsp.TimeStampReq.load(body)).dump()
        type(self).requests.append(len(body))
        self.send_response(200)
        self.send_header("Content-Type", "application/timestamp-reply")
        self.send_header("Content-Length", str(len(response)))
        self.end_headers()
        self.wfile.write(response)

    def log_message(self, *args):
        pass


@pytest.fixture
def production(settings, tmp_path, clock):
    """A seal in a PKCS#12, its root in a PEM bundle, and an RFC 3161 authority over HTTP."""
    from pyhanko.sign.timestamps import DummyTimeStamper

    root_key, root = make_certificate("Autorité de certification de test", ca=True)
    seal_key, seal = make_certificate("Cachet serveur de test", issuer=(root_key, root))
    tsa_key, tsa = make_certificate("Horodatage de test", issuer=(root_key, root), time_stamping=True)
    seal_configure(settings, tmp_path / "cachet.p12", seal_key, seal, [root])
    roots = tmp_path / "racines.pem"
    roots.write_bytes(root.public_bytes(serialization.Encoding.PEM))
    handler = type("Handler", (_AuthorityHandler,), {"requests": []})
    handler.stamper = DummyTimeStamper(
        tsa_cert=platform._asn1(tsa),
        tsa_key=platform._key_info(tsa_key),
        certs_to_embed=[platform._asn1(root)],
    )
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings.PLATFORM_SEAL_TRUST_ROOTS = str(roots)
    settings.TIMESTAMP_URL = f"http://127.0.0.1:{server.server_address[1]}/tsa"
    yield {"root": root, "handler": handler}
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def test_production_seals_with_its_pkcs12_and_timestamps_with_the_external_authority(settings, production):
    # GIVEN a receipt sealed with the embedded PKI before production was configured
    settings.TIMESTAMP_URL, url = None, settings.TIMESTAMP_URL
    settings.PLATFORM_SEAL_PKCS12, p12 = None, settings.PLATFORM_SEAL_PKCS12
    settings.PLATFORM_SEAL_TRUST_ROOTS, roots = None, settings.PLATFORM_SEAL_TRUST_ROOTS
    embedded = platform.pdf_seal(a_pdf(), reason="Essai")
    settings.TIMESTAMP_URL, settings.PLATFORM_SEAL_PKCS12, settings.PLATFORM_SEAL_TRUST_ROOTS = (
        url,
        p12,
        roots,
    )
    # WHEN the platform seals in production
    sealed = platform.pdf_seal(a_pdf(), reason="Accusé de réception")
    # THEN the seal is the PKCS#12's, timestamped by the authority, and checks against its root
    result = platform.pdf_check(sealed)
    assert result.valid and result.signer == "Cachet serveur de test"
    assert production["handler"].requests
    # AND timestamps of data come from the authority too
    token = platform.timestamp_token(b"manifeste")
    assert platform.timestamp_covers(token, b"manifeste")
    # AND what the embedded PKI sealed before still verifies: its root stays in the history
    assert production["root"] in platform.trust_roots()
    assert platform.pdf_check(embedded).valid


def test_an_unreachable_authority_is_an_oserror_for_the_task_to_retry(settings, production):
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings.TIMESTAMP_URL = f"http://127.0.0.1:{port}/tsa"
    with pytest.raises(OSError):
        platform.timestamp_token(b"manifeste")


def test_a_wrong_pkcs12_password_stops_with_a_clear_message(settings, production):
    settings.PLATFORM_SEAL_PASSWORD = "faux"
    with pytest.raises(ImproperlyConfigured, match="PLATFORM_SEAL_PKCS12"):
        platform.pdf_seal(a_pdf(), reason="Essai")


def test_sealing_works_from_a_thread_where_an_event_loop_runs(clock, transactional_db):
    # An ASGI server's thread, or a test browser's, runs an event loop: pyHanko's own
    # asyncio.run would fail there, so the platform runs it in a thread of its own.
    async def inside_a_loop():
        token = platform.timestamp_token(b"manifest")
        return token, platform.timestamp_covers(token, b"manifest")

    token, covered = in_own_thread(lambda: asyncio.run(inside_a_loop()))
    assert token and covered


def in_own_thread(function):
    """Run ``function`` in a new thread: this one may already run an event loop (the
    browser tests' Playwright leaves one running in the main thread)."""
    import concurrent.futures

    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(function).result()
