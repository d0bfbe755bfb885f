"""Revocation from the OCSP responder a certificate names (with ``revocation_fetch``), when no
CRL gives the answer: a real HTTP responder on 127.0.0.1 answers with what cryptography's
``OCSPResponseBuilder`` makes; each case gives the verdict and the French reason a buyer reads.

The test signers are issued by the test PKI's intermediate, with the responder's address in
their AuthorityInformationAccess and no CRL distribution point of their own.
"""

import socket
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509 import ocsp
from cryptography.x509.oid import AuthorityInformationAccessOID, ExtendedKeyUsageOID, NameOID

from signatures.report import Revocation, Verdict
from signatures.verify import signature_verify

from . import pki as test_pki
from .pki import NOW, REVOKED_ON

DOCUMENT = b"Acte d'engagement de Dupont BTP"


# --- The responder ----------------------------------------------------------------------------


class Responder:
    """The intermediate's OCSP responder. ``answer`` says what it answers (« good »,
    « revoked », « unknown », « unauthorized », « stale », « wrong key », « forged », « other certificate »,
    « delegated », « delegated without usage »); ``sha1_only`` makes it blind to SHA-256
    certIDs. ``requests`` keeps what it was asked: (serial number, certID hash, content type)."""

    def __init__(self, pki):
        self.pki = pki
        self.known: dict[int, x509.Certificate] = {}
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.reset()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/ocsp"

    def reset(self):
        self.answer = "good"
        self.revoked_on = REVOKED_ON
        self.sha1_only = False
        self.requests = []

    def _handler(self):
        responder = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers["Content-Length"]))
                answer = responder.respond(body, self.headers["Content-Type"])
                self.send_response(200)
                self.send_header("Content-Type", "application/ocsp-response")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args):
                pass

        return Handler

    def respond(self, body: bytes, content_type: str) -> bytes:
        request = ocsp.load_der_ocsp_request(body)
        self.requests.append((request.serial_number, request.hash_algorithm.name, content_type))
        intermediate = self.pki.intermediate
        if self.answer == "unauthorized":
            return ocsp.OCSPResponseBuilder.build_unsuccessful(
                ocsp.OCSPResponseStatus.UNAUTHORIZED
            ).public_bytes(serialization.Encoding.DER)
        now = datetime.now(UTC)
        this_update, next_update = now - timedelta(minutes=1), now + timedelta(days=1)
        if self.answer == "stale":
            this_update, next_update = now - timedelta(days=10), now - timedelta(days=3)
        certificate = self.known[request.serial_number]
        if self.answer == "other certificate":
            certificate = self.pki.signer.certificate
        status, revoked_on = ocsp.OCSPCertStatus.GOOD, None
        if self.answer == "revoked":
            status, revoked_on = ocsp.OCSPCertStatus.REVOKED, self.revoked_on
        elif self.answer == "unknown" or (self.sha1_only and request.hash_algorithm.name != "sha1"):
            status = ocsp.OCSPCertStatus.UNKNOWN
        builder = ocsp.OCSPResponseBuilder().add_response(
            cert=certificate,
            issuer=intermediate.certificate,
            algorithm=request.hash_algorithm,
            cert_status=status,
            this_update=this_update,
            next_update=next_update,
            revocation_time=revoked_on,
            revocation_reason=None,
        )
        if self.answer.startswith("delegated"):
            delegate = responder_identity(self.pki, ocsp_signing=self.answer == "delegated")
            builder = builder.responder_id(ocsp.OCSPResponderEncoding.HASH, delegate.certificate)
            builder = builder.certificates([delegate.certificate])
            key = delegate.key
        elif self.answer == "wrong key":
            # Another authority answers in the intermediate's stead.
            builder = builder.responder_id(ocsp.OCSPResponderEncoding.HASH, self.pki.foreign_root.certificate)
            key = self.pki.foreign_root.key
        else:
            builder = builder.responder_id(ocsp.OCSPResponderEncoding.HASH, intermediate.certificate)
            key = intermediate.key
        response = builder.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)
        if self.answer == "forged":
            # The intermediate's response, altered: its signature (the last bytes) no longer matches.
            response = response[:-1] + bytes([response[-1] ^ 0xFF])
        return response


def _name(cn: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "FR"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Dupont BTP"),
            x509.NameAttribute(NameOID.COMMON_NAME, cn),
        ]
    )


def _issued(pki, cn: str, builder_step) -> test_pki.Identity:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(cn))
        .issuer_name(pki.intermediate.certificate.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(datetime(2020, 1, 1, tzinfo=UTC))
        .not_valid_after(NOW + timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(pki.intermediate.key.public_key()),
            critical=False,
        )
    )
    certificate = builder_step(builder).sign(pki.intermediate.key, hashes.SHA256())
    return test_pki.Identity(key, certificate, [pki.intermediate.certificate, pki.root.certificate])


def _key_usage(*, signing: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=signing,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=False,
        crl_sign=False,
        encipher_only=False,
        decipher_only=False,
    )


def ocsp_signer(pki, cn: str, url: str) -> test_pki.Identity:
    """A signer whose certificate names ``url`` as its OCSP responder."""
    access = x509.AuthorityInformationAccess(
        [x509.AccessDescription(AuthorityInformationAccessOID.OCSP, x509.UniformResourceIdentifier(url))]
    )
    return _issued(
        pki,
        cn,
        lambda builder: builder.add_extension(_key_usage(signing=True), critical=True).add_extension(
            access, critical=False
        ),
    )


def responder_identity(pki, *, ocsp_signing: bool) -> test_pki.Identity:
    """A responder certificate the intermediate issued, delegated OCSP signing or not."""
    usage = [ExtendedKeyUsageOID.OCSP_SIGNING if ocsp_signing else ExtendedKeyUsageOID.CLIENT_AUTH]
    return _issued(
        pki,
        "Répondeur OCSP de test",
        lambda builder: builder.add_extension(_key_usage(signing=False), critical=True).add_extension(
            x509.ExtendedKeyUsage(usage), critical=False
        ),
    )


# --- Fixtures ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pki():
    return test_pki.make_pki()


@pytest.fixture(scope="module")
def running_responder(pki):
    responder = Responder(pki)
    responder.thread.start()
    yield responder
    responder.server.shutdown()
    responder.server.server_close()


@pytest.fixture
def responder(running_responder):
    running_responder.reset()
    return running_responder


@pytest.fixture(scope="module")
def signer(pki, running_responder):
    identity = ocsp_signer(pki, "Jeanne OCSP", running_responder.url)
    running_responder.known[identity.certificate.serial_number] = identity.certificate
    return identity


@pytest.fixture(scope="module")
def pdf():
    return test_pki.a_pdf()


def verify(pki, document, **kwargs):
    """With revocation fetching, and the root's CRL only: the intermediate is known not
    revoked, the signer's status must come from its OCSP responder."""
    kwargs.setdefault("trust_roots", pki.trust_roots)
    kwargs.setdefault("crls", [test_pki.crl(pki.root)])
    kwargs.setdefault("revocation_fetch", True)
    kwargs.setdefault("at", datetime.now(UTC) + timedelta(minutes=5))
    reports = signature_verify(document, "acte-engagement.pdf", **kwargs)
    assert len(reports) == 1, [r.summary() for r in reports]
    return reports[0]


def verify_cades(pki, identity, **kwargs):
    signature = test_pki.cades(DOCUMENT, identity, pki)
    return verify(pki, DOCUMENT, detached=signature, detached_name="acte-engagement.pdf.p7s", **kwargs)


def text(report) -> str:
    return " ".join(report.reasons + report.notes)


# --- Good -------------------------------------------------------------------------------------


def test_a_cades_signature_is_valid_when_the_ocsp_responder_says_good(pki, responder, signer):
    report = verify_cades(pki, signer)

    assert report.verdict == Verdict.VALID, report.reasons
    assert report.revocation == Revocation.GOOD
    assert (
        f"D'après le répondeur OCSP de l'autorité ({responder.url}), le certificat « Jeanne OCSP »"
        in text(report)
    )
    assert responder.requests == [(signer.certificate.serial_number, "sha256", "application/ocsp-request")]


def test_a_pades_signature_is_valid_when_the_ocsp_responder_says_good(pki, responder, signer, pdf):
    signed = test_pki.pades(pdf, signer, pki)

    report = verify(pki, signed)

    assert report.verdict == Verdict.VALID, report.reasons
    assert report.revocation == Revocation.GOOD
    assert "d'après le répondeur ocsp" in text(report).lower()


def test_a_responder_delegated_by_the_authority_is_believed(pki, responder, signer):
    responder.answer = "delegated"

    report = verify_cades(pki, signer)

    assert report.verdict == Verdict.VALID, report.reasons
    assert report.revocation == Revocation.GOOD


def test_a_responder_that_only_knows_sha1_certificate_ids_is_asked_again(pki, responder, signer):
    responder.sha1_only = True

    report = verify_cades(pki, signer)

    assert report.verdict == Verdict.VALID, report.reasons
    assert [algorithm for _, algorithm, _ in responder.requests] == ["sha256", "sha1"]


# --- Revoked ----------------------------------------------------------------------------------


def test_a_certificate_revoked_before_the_signature_makes_it_invalid(pki, responder, signer):
    responder.answer = "revoked"

    report = verify_cades(pki, signer)

    assert report.verdict == Verdict.INVALID
    assert report.revocation == Revocation.REVOKED
    assert report.revocation_date == REVOKED_ON
    assert "Le certificat « Jeanne OCSP » a été révoqué le 01/01/2024" in report.reasons[0]
    assert "avant la signature" in report.reasons[0]
    assert "est révoqué depuis le 01/01/2024" in text(report)


def test_a_revocation_after_the_timestamped_signature_leaves_it_valid_as_with_a_crl(pki, responder, signer):
    signature = test_pki.cades(DOCUMENT, signer, pki)
    responder.answer = "revoked"
    responder.revoked_on = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=1)

    report = verify(pki, DOCUMENT, detached=signature, detached_name="acte-engagement.pdf.p7s")

    assert report.verdict == Verdict.VALID, report.reasons
    assert report.revocation == Revocation.REVOKED
    assert "après la signature horodatée" in text(report)


# --- Could not be checked: never valid --------------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        ("unknown", "ne connaît pas le certificat « Jeanne OCSP » (statut « inconnu »)"),
        ("wrong key", "n'est pas signée par son autorité de certification"),
        ("forged", "n'est pas signée par son autorité de certification"),
        ("delegated without usage", "n'est pas signée par son autorité de certification"),
        ("other certificate", "ne porte pas sur le certificat « Jeanne OCSP »"),
        ("stale", "est périmée ou mal datée"),
        ("unauthorized", "n'a pas donné de réponse exploitable"),
    ],
)
def test_an_answer_that_proves_nothing_leaves_the_revocation_unchecked(
    pki, responder, signer, answer, reason
):
    responder.answer = answer

    report = verify_cades(pki, signer)

    assert report.verdict == Verdict.UNKNOWN
    assert report.revocation == Revocation.UNKNOWN
    assert report.intact is True and report.trusted_chain is True
    assert reason in report.reasons[0]
    assert "la révocation n'a pas pu être vérifiée" in report.reasons[0]
    assert responder.requests


def test_a_responder_that_is_down_leaves_the_revocation_unchecked(pki, responder):
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        down = f"http://127.0.0.1:{closed.getsockname()[1]}/ocsp"
    identity = ocsp_signer(pki, "Jeanne Injoignable", down)

    report = verify_cades(pki, identity)

    assert report.verdict == Verdict.UNKNOWN
    assert report.revocation == Revocation.UNKNOWN
    assert f"Le répondeur OCSP ({down}) n'a pas pu être interrogé" in report.reasons[0]


def test_without_revocation_fetching_the_responder_is_not_asked(pki, responder, signer):
    report = verify_cades(pki, signer, revocation_fetch=False)

    assert responder.requests == []
    assert report.verdict == Verdict.UNKNOWN
    assert report.revocation == Revocation.UNKNOWN
    assert "la révocation n'a pas pu être vérifiée" in report.reasons[0]


def test_a_crl_that_answers_spares_the_question_to_the_responder(pki, responder, signer):
    responder.answer = "revoked"

    report = verify_cades(pki, signer, crls=pki.crls)

    assert responder.requests == []
    assert report.verdict == Verdict.VALID, report.reasons
    assert report.revocation == Revocation.GOOD


def test_an_out_of_date_crl_and_a_responder_that_cannot_tell_are_both_said(pki, responder, signer):
    responder.answer = "unknown"
    stale = test_pki.crl(
        pki.intermediate, last_update=NOW - timedelta(days=60), next_update=NOW - timedelta(days=30)
    )

    report = verify_cades(pki, signer, crls=[stale, test_pki.crl(pki.root)])

    assert report.verdict == Verdict.UNKNOWN
    assert "était périmée à la date de signature" in report.reasons[0]
    assert "ne connaît pas le certificat « Jeanne OCSP »" in report.reasons[0]
