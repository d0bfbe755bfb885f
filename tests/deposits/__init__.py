"""Tests of the deposits. RSA keys of 3072 bits take a while to make: ``rsa_key`` makes each once."""

import functools
from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID


@functools.cache
def rsa_key(name: str, bits: int = 3072) -> rsa.RSAPrivateKey:
    """The test key pair called ``name`` (« acheteur », « secours »…), the same for the whole run."""
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


def self_signed(private: rsa.RSAPrivateKey) -> x509.Certificate:
    """A certificate for an opening key, as the platform hands one out with the PKCS#12."""
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Bi-clé de test")])
    start = datetime(2025, 1, 1, tzinfo=UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(private.public_key())
        .serial_number(1)
        .not_valid_before(start)
        .not_valid_after(start + timedelta(days=3650))
        .sign(private, hashes.SHA256())
    )
