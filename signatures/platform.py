"""The platform's one sealing identity: its seal on PDF files, its timestamps, and their check.

Everything the platform signs in its own name goes through here: the deposit receipts
(« accusés de réception »), the opening minutes, the analysis report, the award notice, the
registers and the message proofs. The API is small on purpose:

- ``pdf_seal(pdf, reason=…)``: the PDF sealed as PAdES B-T (a CAdES signature of the whole
  file in an incremental update, with an RFC 3161 signature timestamp);
- ``timestamp_token(data)``: an RFC 3161 token (DER) over the SHA-256 of ``data``;
  ``timestamp_time(token)`` reads its time, ``timestamp_covers(token, data)`` checks it;
- ``trust_roots()``: the certificates a seal or a timestamp of the platform chains to;
- ``pdf_check(pdf)``: whether a PDF carries an authentic and intact seal of the platform
  (a ``PdfCheck``, with a French message); it never raises, whatever the bytes.

Where the identity comes from:

- Production: ``PLATFORM_SEAL_PKCS12`` (a PKCS#12 file holding the seal's key, its
  certificate and chain) with ``PLATFORM_SEAL_PASSWORD``; ``PLATFORM_SEAL_TRUST_ROOTS`` (a
  PEM bundle: the roots of the seal's and of the timestamping authority's chains; without
  it, the self-signed certificates of the PKCS#12's chain); ``TIMESTAMP_URL``: an external
  RFC 3161 authority, asked over HTTP(S) with pyHanko's ``HTTPTimeStamper``.
- Embedded default (any of those unset): on first use the platform makes its own small
  PKI under ``settings.PLATFORM_PKI_DIR`` (``DATA_DIR/platform-pki``): a root authority, a
  sealing certificate and a timestamping certificate (extended key usage timeStamping,
  critical), all RSA 3072. The private keys are stored as PKCS#8 encrypted (best available
  encryption of ``cryptography``) under a password derived from ``SECRET_KEY`` by
  HKDF-SHA256 for this one purpose (files in mode 0600 too); ``SECRET_KEY_FALLBACKS`` still
  open them after a rotation. A file lock makes sure two processes never generate twice.
  Timestamps then come from the « platform's own authority »: pyHanko's
  ``DummyTimeStamper`` signing with that timestamping certificate, at the time of the
  platform's one clock (``config.clock``).

Validation uses the platform's trust roots only (never the operating system's), with no
network fetching and revocation checked when information is at hand (« soft-fail »): the
embedded PKI publishes no revocation list.

Rotation: before it signs with a certificate, the platform notes it and its roots in the
database (``signatures/platform_history.py``, model ``PlatformSealCertificate``). Those roots
stay trusted, so what an old certificate sealed still verifies after the configuration
changed; a seal's certificate is judged at the time of its trusted timestamp, so an expired
certificate still vouches for what it sealed before. ``manage.py platform_seal_rotate``
renews the embedded PKI (old keys destroyed); ``manage.py platform_seal_retire`` refuses the
seals of a certificate timestamped after a given moment (a key replaced or compromised).
"""

import asyncio
import concurrent.futures
import contextlib
import fcntl
import functools
import hashlib
import io
import logging
import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from asn1crypto import cms, core, keys, tsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import connections
from django.utils import timezone
from django.utils.translation import gettext as _

from config import clock, secret_box

logger = logging.getLogger(__name__)

__all__ = [
    "PdfCheck",
    "pdf_check",
    "pdf_seal",
    "timestamp_covers",
    "timestamp_time",
    "timestamp_token",
    "trust_roots",
]

_KEY_PURPOSE = b"salle-des-marches/signatures/platform-pki-keys/v1"
_KEY_SIZE = 3072
# The embedded certificates are valid from a fixed date in the past: the platform's clock
# decides the timestamps' time, and tests set that clock back.
_VALID_FROM = datetime(2020, 1, 1, tzinfo=UTC)
_VALID_YEARS = 30
_FILES = ("root.pem", "seal.pem", "seal-key.pem", "tsa.pem", "tsa-key.pem")


# --- The identity ------------------------------------------------------------------------


@dataclass(frozen=True)
class _Identity:
    seal_certificate: x509.Certificate
    seal_key: rsa.RSAPrivateKey
    chain: tuple[x509.Certificate, ...]
    roots: tuple[x509.Certificate, ...]
    # The embedded authority's certificate and key, or None when TIMESTAMP_URL is set.
    tsa_certificate: x509.Certificate | None
    tsa_key: rsa.RSAPrivateKey | None
    timestamp_url: str | None


def _asn1(certificate: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(certificate.public_bytes(serialization.Encoding.DER))


def _key_info(key) -> keys.PrivateKeyInfo:
    return keys.PrivateKeyInfo.load(
        key.private_bytes(
            serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )


def _key_password(secret: str) -> bytes:
    return secret_box.derived_key(secret, _KEY_PURPOSE).hex().encode("ascii")


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "FR"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, settings.PLATFORM_NAME[:64]),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name[:64]),
        ]
    )


def _certificate(subject, public_key, issuer_name, issuer_key, *, ca: bool, time_stamping: bool = False):
    now = datetime.now(UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_name)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(_VALID_FROM)
        .not_valid_after(now + timedelta(days=365 * _VALID_YEARS))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=0 if ca else None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
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
    if issuer_key.public_key() != public_key:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), critical=False
        )
    if time_stamping:
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True
        )
    return builder.sign(issuer_key, hashes.SHA256())


def _write(path: Path, data: bytes) -> None:
    temporary = path.with_name(path.name + ".tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


def _generate(directory: Path) -> None:
    password = _key_password(settings.SECRET_KEY)
    root_key = rsa.generate_private_key(public_exponent=65537, key_size=_KEY_SIZE)
    root_name = _name(f"{settings.PLATFORM_NAME} - autorité racine")
    root = _certificate(root_name, root_key.public_key(), root_name, root_key, ca=True)
    seal_key = rsa.generate_private_key(public_exponent=65537, key_size=_KEY_SIZE)
    seal = _certificate(
        _name(f"{settings.PLATFORM_NAME} - cachet"), seal_key.public_key(), root_name, root_key, ca=False
    )
    tsa_key = rsa.generate_private_key(public_exponent=65537, key_size=_KEY_SIZE)
    tsa = _certificate(
        _name(f"{settings.PLATFORM_NAME} - horodatage"),
        tsa_key.public_key(),
        root_name,
        root_key,
        ca=False,
        time_stamping=True,
    )

    def pem_key(key) -> bytes:
        return key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(password),
        )

    def pem(certificate) -> bytes:
        return certificate.public_bytes(serialization.Encoding.PEM)

    # The root's key is not kept: nothing more is ever issued under it.
    _write(directory / "seal-key.pem", pem_key(seal_key))
    _write(directory / "tsa-key.pem", pem_key(tsa_key))
    _write(directory / "seal.pem", pem(seal))
    _write(directory / "tsa.pem", pem(tsa))
    # Written last: its presence means the set is complete.
    _write(directory / "root.pem", pem(root))
    logger.info("Platform PKI generated in %s", directory)


def _load_key(data: bytes):
    for secret in secret_box.platform_secrets():
        try:
            return serialization.load_pem_private_key(data, password=_key_password(secret))
        except ValueError:
            continue
    raise ImproperlyConfigured(
        f"Une clé de {settings.PLATFORM_PKI_DIR} ne s'ouvre ni avec DJANGO_SECRET_KEY ni avec ses "
        "anciennes valeurs : remettez l'ancienne clé secrète, ou renouvelez le cachet avec "
        "« manage.py platform_seal_rotate » (les documents déjà scellés restent vérifiables)."
    )


@contextlib.contextmanager
def _pki_lock(directory: Path):
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    with open(directory / ".lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _embedded_generation() -> tuple[int, int]:
    """The embedded PKI's generation (its root file's identity), made first if need be: a
    rotation by another process is seen at the next seal."""
    directory = Path(settings.PLATFORM_PKI_DIR)
    with _pki_lock(directory):
        if not all((directory / name).exists() for name in _FILES):
            _generate(directory)
        status = (directory / "root.pem").stat()
    return status.st_ino, status.st_mtime_ns


def _embedded_pki() -> tuple:
    directory = Path(settings.PLATFORM_PKI_DIR)
    # Read under the lock: a rotation in another process never leaves half a set to read.
    with _pki_lock(directory):
        if not all((directory / name).exists() for name in _FILES):
            _generate(directory)
        files = {name: (directory / name).read_bytes() for name in _FILES}
    root = x509.load_pem_x509_certificate(files["root.pem"])
    seal = x509.load_pem_x509_certificate(files["seal.pem"])
    tsa = x509.load_pem_x509_certificate(files["tsa.pem"])
    return root, seal, _load_key(files["seal-key.pem"]), tsa, _load_key(files["tsa-key.pem"])


def _pem_bundle(path: str) -> list[x509.Certificate]:
    try:
        certificates = x509.load_pem_x509_certificates(Path(path).read_bytes())
    except (OSError, ValueError) as error:
        raise ImproperlyConfigured(f"PLATFORM_SEAL_TRUST_ROOTS={path} illisible : {error}") from None
    return certificates


def _self_signed(certificate: x509.Certificate) -> bool:
    return certificate.issuer == certificate.subject


@functools.lru_cache(maxsize=4)
def _identity_for(
    pki_dir, pkcs12_path, pkcs12_password, roots_path, timestamp_url, secret, generation
) -> _Identity:
    roots: list[x509.Certificate] = []
    embedded = None
    if not pkcs12_path or not timestamp_url:
        embedded = _embedded_pki()
        roots.append(embedded[0])
    if pkcs12_path:
        try:
            seal_key, seal_certificate, chain = pkcs12.load_key_and_certificates(
                Path(pkcs12_path).read_bytes(), (pkcs12_password or "").encode("utf-8") or None
            )
        except (OSError, ValueError) as error:
            raise ImproperlyConfigured(
                f"PLATFORM_SEAL_PKCS12={pkcs12_path} ne s'ouvre pas "
                f"(fichier ou PLATFORM_SEAL_PASSWORD) : {error}"
            ) from None
        if seal_key is None or seal_certificate is None:
            raise ImproperlyConfigured(
                f"PLATFORM_SEAL_PKCS12={pkcs12_path} ne contient pas de clé et de certificat."
            )
        chain = tuple(chain or ())
        if not roots_path:
            roots += [c for c in chain if _self_signed(c)]
    else:
        seal_certificate, seal_key, chain = embedded[1], embedded[2], (embedded[0],)
    if roots_path:
        roots += _pem_bundle(roots_path)
    if not roots:
        raise ImproperlyConfigured(
            "Aucune racine de confiance pour le cachet de la plateforme : "
            "définissez PLATFORM_SEAL_TRUST_ROOTS."
        )
    return _Identity(
        seal_certificate=seal_certificate,
        seal_key=seal_key,
        chain=chain,
        roots=tuple(roots),
        tsa_certificate=None if timestamp_url else embedded[3],
        tsa_key=None if timestamp_url else embedded[4],
        timestamp_url=timestamp_url or None,
    )


def _identity() -> _Identity:
    embedded = not settings.PLATFORM_SEAL_PKCS12 or not settings.TIMESTAMP_URL
    return _identity_for(
        str(settings.PLATFORM_PKI_DIR),
        settings.PLATFORM_SEAL_PKCS12,
        settings.PLATFORM_SEAL_PASSWORD,
        settings.PLATFORM_SEAL_TRUST_ROOTS,
        settings.TIMESTAMP_URL,
        settings.SECRET_KEY,
        _embedded_generation() if embedded else None,
    )


def seal_fingerprint() -> str:
    """The SHA-256 fingerprint (hex) of the certificate the platform seals with now."""
    return _identity().seal_certificate.fingerprint(hashes.SHA256()).hex()


def trust_roots() -> list[x509.Certificate]:
    """The certificates that the platform's seals and timestamps chain to: the configured
    roots, and those of every seal certificate it used before (what it sealed before a
    rotation still verifies)."""
    from .platform_history import fingerprint, history_roots

    roots = {fingerprint(root): root for root in _identity().roots}
    for root in history_roots():
        roots.setdefault(fingerprint(root), root)
    return list(roots.values())


def _identity_in_use():
    """The identity and its row in the history of seal certificates, noted before it signs
    anything (``ImproperlyConfigured`` if that certificate is retired)."""
    from .platform_history import history_record

    identity = _identity()
    return identity, history_record(identity.seal_certificate, identity.roots)


def embedded_rotate(*, grace: timedelta = timedelta(minutes=1)) -> tuple[x509.Certificate, x509.Certificate]:
    """Replace the embedded PKI (root, seal and timestamping certificates and keys) by a new
    one. The old certificates go to ``retired/<moment>/`` beside it, their keys are
    destroyed, and the old seal certificate is retired ``grace`` after now (seals in flight
    in other processes still count). What the old PKI sealed still verifies: its root stays
    in the history. Returns (old seal certificate, new seal certificate)."""
    from .platform_history import fingerprint, history_retire

    directory = Path(settings.PLATFORM_PKI_DIR)
    _embedded_generation()
    now = clock.now()
    with _pki_lock(directory):
        old = x509.load_pem_x509_certificate((directory / "seal.pem").read_bytes())
        stamp = now.astimezone(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        retired = directory / "retired" / stamp
        number = 1
        while retired.exists():  # two rotations at one moment of the platform's clock
            number += 1
            retired = directory / "retired" / f"{stamp}-{number}"
        retired.mkdir(parents=True, mode=0o700)
        for name in ("root.pem", "seal.pem", "tsa.pem"):
            os.replace(directory / name, retired / name)
        for name in ("seal-key.pem", "tsa-key.pem"):
            (directory / name).unlink()
        _generate(directory)
        new = x509.load_pem_x509_certificate((directory / "seal.pem").read_bytes())
    _identity_for.cache_clear()
    with contextlib.suppress(LookupError):  # never used to seal: nothing to keep verifying
        history_retire(fingerprint(old), now + grace)
    logger.info("Platform PKI rotated; previous certificates in %s", retired)
    return old, new


def _timestamper(identity: _Identity):
    from pyhanko.sign.timestamps import HTTPTimeStamper

    if identity.timestamp_url:
        return HTTPTimeStamper(identity.timestamp_url, timeout=settings.TIMESTAMP_TIMEOUT)
    return _own_authority_class()(
        tsa_cert=_asn1(identity.tsa_certificate),
        tsa_key=_key_info(identity.tsa_key),
        certs_to_embed=[_asn1(root) for root in identity.roots],
        fixed_dt=clock.now(),
        key=identity.tsa_key,
    )


# pyHanko loads the private key from its DER at every signature, and cryptography checks an
# RSA key fully when loading it (about 0.4 s for 3072 bits): the classes below sign with the
# key object loaded once per process instead.


@functools.cache
def _own_authority_class():
    from asn1crypto import cms as asn1_cms
    from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
    from pyhanko.sign import general
    from pyhanko.sign.general import get_pyca_cryptography_hash, simple_cms_attribute
    from pyhanko.sign.timestamps import DummyTimeStamper

    class OwnAuthority(DummyTimeStamper):
        """The platform's own RFC 3161 authority (pyHanko's ``DummyTimeStamper``)."""

        def __init__(self, *args, key, **kwargs):
            super().__init__(*args, **kwargs)
            self._key = key

        def _sign_tst_info(self, tst_info_data: bytes, md_algorithm: str, dt: datetime):
            md = hashes.Hash(get_pyca_cryptography_hash(md_algorithm))
            md.update(tst_info_data)
            signed_attrs = asn1_cms.CMSAttributes(
                [
                    simple_cms_attribute("content_type", "tst_info"),
                    simple_cms_attribute("signing_time", asn1_cms.Time({"utc_time": core.UTCTime(dt)})),
                    simple_cms_attribute(
                        "signing_certificate", general.as_signing_certificate(self.tsa_cert)
                    ),
                    simple_cms_attribute("message_digest", md.finalize()),
                ]
            )
            signature = self._key.sign(
                signed_attrs.dump(), PKCS1v15(), get_pyca_cryptography_hash(md_algorithm.upper())
            )
            return signature, signed_attrs

    return OwnAuthority


@functools.cache
def _signer_class():
    from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
    from pyhanko.sign import signers
    from pyhanko.sign.general import get_pyca_cryptography_hash

    class PlatformSigner(signers.SimpleSigner):
        def __init__(self, *args, key, **kwargs):
            super().__init__(*args, **kwargs)
            self._key = key

        def sign_raw(self, data: bytes, digest_algorithm: str) -> bytes:
            mechanism = self.get_signature_mechanism_for_digest(digest_algorithm).signature_algo
            if mechanism == "rsassa_pkcs1v15" and isinstance(self._key, rsa.RSAPrivateKey):
                return self._key.sign(data, PKCS1v15(), get_pyca_cryptography_hash(digest_algorithm))
            return super().sign_raw(data, digest_algorithm)

    return PlatformSigner


def _signer(identity: _Identity):
    from pyhanko_certvalidator.registry import SimpleCertificateStore

    return _signer_class()(
        signing_cert=_asn1(identity.seal_certificate),
        signing_key=_key_info(identity.seal_key),
        cert_registry=SimpleCertificateStore.from_certs([_asn1(c) for c in identity.chain]),
        key=identity.seal_key,
    )


def _validation_context(moment: datetime | None = None):
    """Validation against the platform's roots, at ``moment`` (default: the platform's clock)."""
    from pyhanko_certvalidator import ValidationContext

    return ValidationContext(
        trust_roots=[_asn1(root) for root in trust_roots()],
        allow_fetching=False,
        revocation_mode="soft-fail",
        moment=moment or clock.now(),
    )


# --- Timestamps --------------------------------------------------------------------------


def _outside_event_loop(function):
    """pyHanko's synchronous calls run their own event loop (``asyncio.run``), which fails in
    a thread where one already runs (an ASGI server's, a test browser's): there, the call
    goes to a short-lived thread of its own."""

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            loop_running = False
        else:
            loop_running = True
        if not loop_running:
            return function(*args, **kwargs)

        def in_thread():
            try:
                return function(*args, **kwargs)
            finally:
                # The platform clock may have read the database: that thread's connection goes.
                connections.close_all()

        with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
            return pool.submit(in_thread).result()

    return wrapper


@_outside_event_loop
def timestamp_token(data: bytes) -> bytes:
    """An RFC 3161 timestamp token (CMS ContentInfo, DER) over the SHA-256 of ``data``.

    Raises ``OSError`` (pyHanko's ``TimestampRequestError``) when the external authority
    does not answer or refuses: the caller retries later.
    """
    identity, _row = _identity_in_use()
    stamper = _timestamper(identity)
    token = asyncio.run(stamper.async_timestamp(hashlib.sha256(data).digest(), "sha256"))
    return token.dump()


def _tst_info(token: bytes) -> tsp.TSTInfo:
    content = cms.ContentInfo.load(bytes(token))
    return content["content"]["encap_content_info"]["content"].parsed


def timestamp_time(token: bytes) -> datetime:
    """The time the authority put in the token (aware, UTC)."""
    return _tst_info(token)["gen_time"].native.astimezone(UTC)


@_outside_event_loop
def timestamp_covers(token: bytes, data: bytes) -> bool:
    """Whether the token is a valid timestamp, by an authority the platform trusts, of ``data``."""
    from pyhanko.sign.validation.generic_cms import validate_tst_signed_data

    try:
        signed_data = cms.ContentInfo.load(bytes(token))["content"]
        digest = hashlib.sha256(data).digest()

        def expected(algorithm: str) -> bytes:
            return digest if algorithm == "sha256" else b""

        status = asyncio.run(validate_tst_signed_data(signed_data, _validation_context(), expected))
    except Exception:  # noqa: BLE001 - any malformed token is simply not a valid one
        logger.info("Timestamp token does not validate", exc_info=True)
        return False
    return bool(status.get("intact") and status.get("valid") and status.get("validation_path") is not None)


# --- Sealing a PDF ------------------------------------------------------------------------


@_outside_event_loop
def pdf_seal(pdf: bytes, *, reason: str, field_name: str = "Sceau") -> bytes:
    """The PDF with the platform's seal: PAdES B-T (signature of the whole file, and an
    RFC 3161 signature timestamp), added as an incremental update in an invisible field."""
    from .platform_history import history_document_record

    identity, row = _identity_in_use()
    sealed = _pdf_seal_with(identity, pdf, reason=reason, field_name=field_name)
    history_document_record(row, sealed, reason)
    return sealed


def _pdf_seal_with(identity: _Identity, pdf: bytes, *, reason: str, field_name: str) -> bytes:
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers

    metadata = signers.PdfSignatureMetadata(
        field_name=field_name,
        reason=reason,
        name=settings.PLATFORM_NAME,
        md_algorithm="sha256",
        subfilter=fields.SigSeedSubFilter.PADES,
    )
    pdf_signer = signers.PdfSigner(metadata, signer=_signer(identity), timestamper=_timestamper(identity))
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
    return pdf_signer.sign_pdf(writer).getvalue()


def pdf_seal_or_unsealed(pdf: bytes, *, reason: str) -> tuple[bytes, bool]:
    """The PDF sealed, or as it is when the seal fails (a timestamping authority down…),
    said in the log: a document unsealed rather than none. Returns (pdf, sealed)."""
    try:
        return pdf_seal(pdf, reason=reason), True
    except Exception:
        logger.exception("A PDF could not be sealed (%s)", reason)
        return pdf, False


# --- Checking a PDF -----------------------------------------------------------------------


@dataclass(frozen=True)
class PdfCheck:
    """What a PDF's seal says. ``message`` is a sentence in French for the person who asked."""

    authentic: bool
    intact: bool
    signer: str = ""
    signed_at: datetime | None = None
    reason: str = ""
    message: str = ""

    @property
    def valid(self) -> bool:
        return self.authentic and self.intact


def _moment(value: datetime) -> str:
    try:
        local = timezone.localtime(value)
    except (OverflowError, ValueError):  # a date at the edge of the calendar
        return value.isoformat()
    return _("%(date)s à %(time)s") % {"date": local.strftime("%d/%m/%Y"), "time": local.strftime("%H:%M:%S")}


def _signer_name(certificate) -> str:
    try:
        return certificate.subject.native.get("common_name") or certificate.subject.human_friendly
    except Exception:  # noqa: BLE001
        return ""


def _seal_status(status) -> tuple[bool, datetime | None]:
    """(whether the signer's certificate is one the platform sealed with, its retirement)."""
    from .platform_history import history_status

    if status.signing_cert is None:
        return False, None
    return history_status(x509.load_der_x509_certificate(status.signing_cert.dump()))


def _status_check(embedded, status, sha256: str) -> PdfCheck:
    from pyhanko.sign.validation.status import SignatureCoverageLevel

    from .platform_history import history_document_known

    signer = _signer_name(status.signing_cert)
    timestamp = status.timestamp_validity
    timestamp_ok = timestamp is not None and timestamp.valid and timestamp.intact and timestamp.trusted
    # Only a trusted timestamp dates a seal; what the signer wrote is not shown (and may be
    # any date at all).
    signed_at = timestamp.timestamp if timestamp_ok else None
    reason = str(embedded.sig_object.get("/Reason", ""))
    digest_ok = bool(status.intact and status.valid)
    whole_file = status.coverage == SignatureCoverageLevel.ENTIRE_FILE
    intact = digest_ok and whole_file
    checked = digest_ok and status.trusted and timestamp_ok
    platform_seal, retired_at = _seal_status(status) if checked else (False, None)
    # A retired certificate's key may have been stolen, with the timestamping key beside it:
    # its seals count only for the documents the platform registered as issued.
    after_retirement = retired_at is not None and (
        signed_at > retired_at or not history_document_known(sha256)
    )
    authentic = checked and platform_seal and not after_retirement
    if not digest_ok:
        message = _(
            "Le document a été modifié après son scellement : son contenu ne correspond plus à la "
            "signature de la plateforme."
        )
    elif not whole_file:
        message = _(
            "Le document a été modifié après son scellement : des éléments ont été ajoutés à la fin "
            "du fichier signé."
        )
    elif not status.trusted:
        message = _(
            "La signature n'est pas celle de la plateforme : son certificat ne se rattache à aucune "
            "autorité de confiance de la plateforme."
        )
    elif not timestamp_ok:
        message = _("L'horodatage de la signature est absent ou invalide.")
    elif not platform_seal:
        message = _(
            "La signature n'est pas celle de la plateforme : son certificat n'est pas un certificat de "
            "cachet de la plateforme."
        )
    elif after_retirement and signed_at <= retired_at:
        message = _(
            "Le certificat qui a scellé ce document a été retiré par la plateforme le %(retired)s, et ce "
            "document ne figure pas parmi ceux qu'elle a scellés : il n'est pas reconnu."
        ) % {"retired": _moment(retired_at)}
    elif after_retirement:
        message = _(
            "Le certificat qui a scellé ce document a été retiré par la plateforme le %(retired)s ; "
            "ce scellement du %(moment)s, postérieur, n'est pas reconnu."
        ) % {"retired": _moment(retired_at), "moment": _moment(signed_at)}
    else:
        message = _("Document authentique et intègre : scellé par %(signer)s le %(moment)s.") % {
            "signer": signer,
            "moment": _moment(signed_at),
        }
    return PdfCheck(
        authentic=authentic, intact=intact, signer=signer, signed_at=signed_at, reason=reason, message=message
    )


@_outside_event_loop
def pdf_check(pdf: bytes) -> PdfCheck:
    """Check the platform's seal on a PDF, with pyHanko and the platform's trust roots only.

    The last signature of the file is judged (the platform seals last); a file that is not
    a PDF, carries no signature or an unreadable one gets a negative answer, never an error.
    """
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature

    try:
        signatures = PdfFileReader(io.BytesIO(pdf), strict=False).embedded_signatures
    except Exception:  # noqa: BLE001 - garbage in, a French « no » out
        return PdfCheck(authentic=False, intact=False, message=_("Ce fichier n'est pas un PDF lisible."))
    if not signatures:
        return PdfCheck(
            authentic=False, intact=False, message=_("Ce PDF ne porte aucune signature électronique.")
        )
    embedded = signatures[-1]
    try:
        context = _validation_context()
        status = validate_pdf_signature(
            embedded, signer_validation_context=context, ts_validation_context=context
        )
        timestamp = status.timestamp_validity
        if not status.trusted and timestamp and timestamp.valid and timestamp.intact and timestamp.trusted:
            # The seal's certificate is judged when the trusted timestamp proves the seal
            # existed: a certificate expired since still vouches for what it sealed before.
            status = validate_pdf_signature(
                embedded,
                signer_validation_context=_validation_context(timestamp.timestamp),
                ts_validation_context=context,
            )
    except Exception:  # noqa: BLE001
        logger.info("PDF signature could not be validated", exc_info=True)
        return PdfCheck(
            authentic=False,
            intact=False,
            message=_("La signature de ce PDF est illisible ou endommagée : le document n'est pas intègre."),
        )
    return _status_check(embedded, status, hashlib.sha256(pdf).hexdigest())
