"""A small PKI made by the tests, and signers of the three formats that use it.

Root « Racine de test » → intermediate « AC Entreprises de test » → signers (valid, expired,
revoked) and a timestamping authority; a foreign root with its own signer (untrusted); the
intermediate's CRL (the revoked signer) and the root's CRL (the intermediate, not revoked).
Nothing reaches the network.
"""

import asyncio
import io
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from asn1crypto import keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from lxml import etree

NOW = datetime.now(UTC).replace(microsecond=0)
REVOKED_ON = datetime(2024, 1, 1, tzinfo=UTC)
QCP_N_QSCD = "0.4.0.194112.1.2"
# Where the certificates say their CRLs are (never fetched unless a test serves them).
ROOT_CRL_URL = "http://crl.autorite-de-test.invalid/racine.crl"
CA_CRL_URL = "http://crl.autorite-de-test.invalid/ac-entreprises.crl"


def _name(cn: str, organisation: str = "") -> x509.Name:
    attributes = [x509.NameAttribute(NameOID.COUNTRY_NAME, "FR")]
    if organisation:
        attributes.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation))
    attributes.append(x509.NameAttribute(NameOID.COMMON_NAME, cn))
    return x509.Name(attributes)


@dataclass
class Identity:
    key: rsa.RSAPrivateKey
    certificate: x509.Certificate
    chain: list[x509.Certificate] = field(default_factory=list)

    @property
    def asn1(self) -> asn1_x509.Certificate:
        return asn1(self.certificate)

    @property
    def key_info(self) -> keys.PrivateKeyInfo:
        return keys.PrivateKeyInfo.load(
            self.key.private_bytes(
                serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )


def asn1(certificate: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(certificate.public_bytes(serialization.Encoding.DER))


def _qc_statements() -> x509.UnrecognizedExtension:
    """eIDAS QcStatements: qualified, key in a QSCD, for electronic signatures."""
    from pyhanko.sign.ades.qualified_asn1 import QcStatements

    statements = QcStatements(
        [
            {"statement_id": "qc_compliance"},
            {"statement_id": "qc_sscd"},
            {"statement_id": "qc_type", "statement_info": ["qct_esign"]},
        ]
    )
    return x509.UnrecognizedExtension(x509.ObjectIdentifier("1.3.6.1.5.5.7.1.3"), statements.dump())


def issue(
    cn,
    *,
    issuer: Identity | None = None,
    organisation="",
    ca=False,
    time_stamping=False,
    not_before=datetime(2020, 1, 1, tzinfo=UTC),
    not_after=None,
    policies=(),
    qualified=False,
    crl_url="",
    extended_usages=(),
) -> Identity:
    """A certificate for ``cn``: a self-signed root when ``issuer`` is None; ``extended_usages``
    (ExtendedKeyUsageOID values) for a certificate meant for something else than signing."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = _name(cn, organisation)
    issuer_key = issuer.key if issuer else key
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer.certificate.subject if issuer else subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after or NOW + timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=not ca,
                content_commitment=not ca and not time_stamping,
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
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), critical=False
        )
    )
    if time_stamping:
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True
        )
    if extended_usages:
        builder = builder.add_extension(x509.ExtendedKeyUsage(list(extended_usages)), critical=False)
    if policies:
        builder = builder.add_extension(
            x509.CertificatePolicies(
                [x509.PolicyInformation(x509.ObjectIdentifier(oid), None) for oid in policies]
            ),
            critical=False,
        )
    if crl_url:
        builder = builder.add_extension(
            x509.CRLDistributionPoints(
                [x509.DistributionPoint([x509.UniformResourceIdentifier(crl_url)], None, None, None)]
            ),
            critical=False,
        )
    if qualified:
        builder = builder.add_extension(_qc_statements(), critical=False)
    certificate = builder.sign(issuer_key, hashes.SHA256())
    chain = [issuer.certificate, *issuer.chain] if issuer else []
    return Identity(key, certificate, chain)


def crl(
    issuer: Identity,
    revoked: list[tuple[x509.Certificate, datetime]] = (),
    *,
    last_update=None,
    next_update=None,
):
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(issuer.certificate.subject)
        .last_update(last_update or NOW - timedelta(days=1))
        .next_update(next_update or NOW + timedelta(days=30))
    )
    for certificate, when in revoked:
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder()
            .serial_number(certificate.serial_number)
            .revocation_date(when)
            .build()
        )
    return builder.sign(issuer.key, hashes.SHA256())


@dataclass
class Pki:
    root: Identity
    intermediate: Identity
    signer: Identity
    expired: Identity
    revoked: Identity
    tsa: Identity
    foreign_root: Identity
    foreign_signer: Identity
    # The buyer's agent, who counter-signs the contract with a certificate of its own.
    agent: Identity
    crls: list[x509.CertificateRevocationList]

    @property
    def trust_roots(self) -> list[x509.Certificate]:
        return [self.root.certificate]


def make_pki() -> Pki:
    root = issue("Racine de test", organisation="Autorité de test", ca=True)
    intermediate = issue(
        "AC Entreprises de test", issuer=root, organisation="Autorité de test", ca=True, crl_url=ROOT_CRL_URL
    )
    signer = issue(
        "Jeanne Dupont",
        issuer=intermediate,
        organisation="Dupont BTP",
        policies=[QCP_N_QSCD],
        qualified=True,
        crl_url=CA_CRL_URL,
    )
    expired = issue(
        "Paul Périmé",
        issuer=intermediate,
        organisation="Ancienne SARL",
        not_before=datetime(2020, 1, 1, tzinfo=UTC),
        not_after=datetime(2021, 1, 1, tzinfo=UTC),
    )
    revoked = issue("Rémi Révoqué", issuer=intermediate, organisation="Révocable SA", crl_url=CA_CRL_URL)
    tsa = issue(
        "Horodatage de test", issuer=intermediate, organisation="Autorité de test", time_stamping=True
    )
    foreign_root = issue("Racine inconnue", organisation="Ailleurs", ca=True)
    foreign_signer = issue("Inès Inconnue", issuer=foreign_root, organisation="Ailleurs SAS")
    agent = issue("Agent Acheteur", issuer=intermediate, organisation="Ville de test", crl_url=CA_CRL_URL)
    crls = [crl(intermediate, [(revoked.certificate, REVOKED_ON)]), crl(root)]
    return Pki(root, intermediate, signer, expired, revoked, tsa, foreign_root, foreign_signer, agent, crls)


# --- Signing in the three formats -----------------------------------------------------------


def timestamper(pki: Pki):
    from pyhanko.sign.timestamps import DummyTimeStamper

    return DummyTimeStamper(
        tsa_cert=pki.tsa.asn1,
        tsa_key=pki.tsa.key_info,
        certs_to_embed=[asn1(c) for c in pki.tsa.chain],
    )


def _pyhanko_signer(identity: Identity):
    from pyhanko.sign import signers
    from pyhanko_certvalidator.registry import SimpleCertificateStore

    return signers.SimpleSigner(
        signing_cert=identity.asn1,
        signing_key=identity.key_info,
        cert_registry=SimpleCertificateStore.from_certs([asn1(c) for c in identity.chain]),
    )


def a_pdf(text: str = "Acte d'engagement") -> bytes:
    from weasyprint import HTML

    return HTML(string=f"<h1>{text}</h1>").write_pdf()


def pades(pdf: bytes, identity: Identity, pki: Pki | None = None, *, field_name="Signature1") -> bytes:
    """The PDF signed as PAdES (B-T when ``pki`` gives the timestamping authority)."""
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers

    metadata = signers.PdfSignatureMetadata(
        field_name=field_name, md_algorithm="sha256", subfilter=fields.SigSeedSubFilter.PADES
    )
    pdf_signer = signers.PdfSigner(
        metadata, signer=_pyhanko_signer(identity), timestamper=timestamper(pki) if pki else None
    )
    return pdf_signer.sign_pdf(IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)).getvalue()


def cades(data: bytes, identity: Identity, pki: Pki | None = None) -> bytes:
    """A detached CAdES signature (DER, a « .p7s ») of ``data``."""
    signer = _pyhanko_signer(identity)
    content = asyncio.run(
        signer.async_sign_general_data(
            data, "sha256", detached=True, use_cades=True, timestamper=timestamper(pki) if pki else None
        )
    )
    return content.dump()


def xades(data: bytes, file_name: str, identity: Identity) -> bytes:
    """A detached XAdES signature (XML) of the file ``file_name`` holding ``data``."""
    from signxml import SignatureReference, methods
    from signxml.xades import XAdESSigner

    class DetachedFileSigner(XAdESSigner):
        """signxml signs XML; a detached signature of any file digests its raw bytes, with no
        transform (XML-DSig's « external » reference)."""

        def _unpack(self, data, references):
            signature = etree.Element(self._ds_tag("Signature"), nsmap=self.namespaces)
            return signature, signature, [data], references

        def _c14n(self, nodes, algorithm, inclusive_ns_prefixes=None):
            if isinstance(nodes, bytes):
                return nodes
            return super()._c14n(nodes, algorithm, inclusive_ns_prefixes)

        def _build_sig(self, *args, **kwargs):
            signed_info, value = super()._build_sig(*args, **kwargs)
            for transforms in list(signed_info.iter(self._ds_tag("Transforms"))):
                if len(transforms) == 0:
                    transforms.getparent().remove(transforms)
            return signed_info, value

    signer = DetachedFileSigner(
        method=methods.detached, signature_algorithm="rsa-sha256", digest_algorithm="sha256"
    )
    signature = signer.sign(
        data,
        key=identity.key,
        cert=[identity.certificate, *identity.chain],
        reference_uri=[SignatureReference(URI=file_name)],
        exclude_c14n_transform_element=True,
    )
    return etree.tostring(signature, xml_declaration=True, encoding="UTF-8")
