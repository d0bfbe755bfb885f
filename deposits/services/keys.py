"""Opening keys (« bi-clé de chiffrement »): generated here or imported as a certificate,
for one consultation or as the organisation's backup key (« clé de secours »).

The platform keeps certificates only. A key pair generated here exists in memory for
the length of one request: its private key leaves in a PKCS#12 file encrypted with the
agent's password, handed back once by the view and never written anywhere.

A consultation's keys change only before it goes online: once companies may deposit,
the keys their bids are encrypted to are fixed.
"""

from datetime import datetime

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_variables

from accounts.models import AgentPermission, Organisation
from accounts.permissions import agent_require
from audit.services import event_record
from config import clock
from consultations.models import Consultation, State
from consultations.registers import moment_sentence
from deposits.crypto import key_fingerprint
from deposits.models import KeyOrigin, OpeningKey

GENERATED_KEY_SIZE = 3072
MIN_KEY_SIZE = 3072
PUBLIC_EXPONENT = 65537
VALIDITY_YEARS = 5
PASSWORD_MIN_LENGTH = 12
# Long enough for any passphrase, short enough that nobody makes the server hash megabytes.
PASSWORD_MAX_LENGTH = 1024
LABEL_MAX_LENGTH = OpeningKey._meta.get_field("label").max_length
CERTIFICATE_MAX_BYTES = 64 * 1024
# X.509 caps the common name and the organisation name at 64 characters.
NAME_MAX_LENGTH = 64
# Keys are added or withdrawn until the consultation goes online, never after.
KEY_CHANGE_STATES = frozenset({State.DRAFT, State.PENDING_VALIDATION, State.SCHEDULED})


class OpeningKeyError(Exception):
    """A rule refused the key; the message is French and shown as is, on ``field`` if given."""

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


# --- Checks ------------------------------------------------------------------------------


def _label_clean(label: str) -> str:
    label = " ".join((label or "").split())
    if not label:
        raise OpeningKeyError(
            _("Donnez un libellé à la clé, par exemple le nom de son détenteur."), field="label"
        )
    if len(label) > LABEL_MAX_LENGTH:
        raise OpeningKeyError(
            _("Le libellé est limité à %(max)d caractères.") % {"max": LABEL_MAX_LENGTH}, field="label"
        )
    return label


@sensitive_variables("password")
def password_check(password: str) -> None:
    if len(password or "") < PASSWORD_MIN_LENGTH:
        raise OpeningKeyError(
            _(
                "Le mot de passe du fichier de clé doit compter au moins %(min)d caractères : "
                "il est la seule protection de la clé privée."
            )
            % {"min": PASSWORD_MIN_LENGTH},
            field="password",
        )
    if len(password) > PASSWORD_MAX_LENGTH:
        raise OpeningKeyError(
            _("Le mot de passe est limité à %(max)d caractères.") % {"max": PASSWORD_MAX_LENGTH},
            field="password",
        )


def _key_type_name(public_key) -> str:
    if isinstance(public_key, ec.EllipticCurvePublicKey):
        return _("courbe elliptique (%(curve)s)") % {"curve": public_key.curve.name}
    if isinstance(public_key, ed25519.Ed25519PublicKey | ed448.Ed448PublicKey):
        return _("courbe elliptique (EdDSA)")
    return _("autre que RSA")


def certificate_load(content: bytes) -> x509.Certificate:
    """Read one X.509 certificate, PEM or DER; refuse anything else in French."""
    if not content:
        raise OpeningKeyError(
            _("Le fichier est vide : choisissez le certificat à importer."), field="certificate"
        )
    if len(content) > CERTIFICATE_MAX_BYTES:
        raise OpeningKeyError(
            _("Ce fichier est trop volumineux pour être un certificat (%(max)d Kio au plus).")
            % {"max": CERTIFICATE_MAX_BYTES // 1024},
            field="certificate",
        )
    if b"PRIVATE KEY" in content:
        # Whatever else it holds, a private key is not for the platform: nothing is kept.
        raise OpeningKeyError(
            _(
                "Ce fichier contient une clé privée : ne la transmettez jamais. "
                "Importez seulement le certificat (clé publique), au format PEM ou DER."
            ),
            field="certificate",
        )
    try:
        if b"-----BEGIN" in content:
            return x509.load_pem_x509_certificate(content)
        return x509.load_der_x509_certificate(content)
    except ValueError as error:
        raise OpeningKeyError(
            _(
                "Ce fichier n'est pas un certificat X.509 lisible (formats acceptés : PEM ou DER, "
                "extensions .pem, .crt, .cer). Un fichier .p12 ou .pfx contient la clé privée : "
                "exportez-en le certificat seul."
            ),
            field="certificate",
        ) from error


def certificate_check(
    certificate: x509.Certificate, *, now: datetime, deadline: datetime | None
) -> rsa.RSAPublicKey:
    """The certificate may serve as an opening key: RSA of at least 3072 bits, valid
    until the deadline (or now, for a backup key). Returns its public key."""
    try:
        public_key = certificate.public_key()
    except (ValueError, TypeError) as error:
        raise OpeningKeyError(
            _("La clé publique de ce certificat est d'un type que la plateforme ne sait pas lire."),
            field="certificate",
        ) from error
    if not isinstance(public_key, rsa.RSAPublicKey):
        raise OpeningKeyError(
            _(
                "La clé de ce certificat est de type %(type)s : le chiffrement des plis demande une clé RSA "
                "d'au moins %(min)d bits."
            )
            % {"type": _key_type_name(public_key), "min": MIN_KEY_SIZE},
            field="certificate",
        )
    if public_key.key_size < MIN_KEY_SIZE:
        raise OpeningKeyError(
            _(
                "La clé RSA de ce certificat ne fait que %(size)d bits : il en faut au moins %(min)d "
                "pour protéger les plis jusqu'à leur ouverture."
            )
            % {"size": public_key.key_size, "min": MIN_KEY_SIZE},
            field="certificate",
        )
    not_after = certificate.not_valid_after_utc
    if not_after <= now:
        raise OpeningKeyError(
            _("Ce certificat a expiré le %(date)s : importez un certificat en cours de validité.")
            % {"date": moment_sentence(not_after)},
            field="certificate",
        )
    if deadline is not None and not_after <= deadline:
        raise OpeningKeyError(
            _(
                "Ce certificat expire le %(date)s, avant la date limite de remise des plis "
                "(%(deadline)s) : importez un certificat valable au-delà."
            )
            % {"date": moment_sentence(not_after), "deadline": moment_sentence(deadline)},
            field="certificate",
        )
    return public_key


def _lock_consultation(consultation: Consultation) -> Consultation:
    """Reload the consultation under a lock: its publication cannot slip between the check and the write."""
    locked = Consultation.objects.select_for_update().get(pk=consultation.pk)
    consultation.__dict__.update(
        {f.attname: getattr(locked, f.attname) for f in Consultation._meta.concrete_fields}
    )
    return locked


def keys_changeable(consultation: Consultation) -> bool:
    """Whether the consultation's keys may still be added or withdrawn (before it goes online)."""
    return consultation.state in KEY_CHANGE_STATES and consultation.published_at is None


def _require_changeable(consultation: Consultation) -> None:
    if not keys_changeable(consultation):
        raise OpeningKeyError(
            _(
                "Les clés de chiffrement ne changent plus une fois la consultation mise en ligne : "
                "les plis déjà déposés leur sont chiffrés."
            )
        )


def _not_already(queryset, fingerprint: str, message: str) -> None:
    if queryset.active().filter(fingerprint=fingerprint).exists():
        raise OpeningKeyError(message, field="certificate")


# --- Building keys ----------------------------------------------------------------------


def _years_later(moment: datetime, years: int) -> datetime:
    try:
        return moment.replace(year=moment.year + years)
    except ValueError:  # 29 February
        return moment.replace(year=moment.year + years, day=28)


def _name(value: str) -> str:
    return value[:NAME_MAX_LENGTH].strip() or "-"


@sensitive_variables("password", "private_key")
def _key_pair_make(*, common_name: str, organisation_name: str, password: str, now: datetime):
    """A fresh RSA key pair, its self-signed certificate, and both in a PKCS#12 file
    encrypted with ``password``. The private key goes nowhere else."""
    private_key = rsa.generate_private_key(public_exponent=PUBLIC_EXPONENT, key_size=GENERATED_KEY_SIZE)
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, _name(common_name)),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, _name(organisation_name)),
        ]
    )
    not_before = now.replace(microsecond=0)
    public_key = private_key.public_key()
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(_years_later(not_before, VALIDITY_YEARS))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=True,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .sign(private_key, hashes.SHA256())
    )
    pkcs12_bytes = pkcs12.serialize_key_and_certificates(
        name=_name(common_name).encode(),
        key=private_key,
        cert=certificate,
        cas=None,
        encryption_algorithm=serialization.BestAvailableEncryption(password.encode()),
    )
    return certificate, pkcs12_bytes


def _key_create(
    *,
    organisation: Organisation,
    consultation: Consultation | None,
    certificate: x509.Certificate,
    public_key: rsa.RSAPublicKey,
    label: str,
    origin: str,
    user,
    now: datetime,
) -> OpeningKey:
    try:
        with transaction.atomic():
            return OpeningKey.objects.create(
                organisation=organisation,
                consultation=consultation,
                is_backup=consultation is None,
                label=label,
                # Written back from the parsed certificate: only the certificate is ever kept.
                certificate_pem=certificate.public_bytes(serialization.Encoding.PEM).decode("ascii"),
                fingerprint=key_fingerprint(public_key),
                key_size=public_key.key_size,
                not_before=certificate.not_valid_before_utc,
                not_after=certificate.not_valid_after_utc,
                origin=origin,
                created_at=now,
                created_by=user,
            )
    except IntegrityError as error:
        raise OpeningKeyError(_("Cette clé est déjà enregistrée."), field="certificate") from error


def _event_data(key: OpeningKey) -> dict:
    return {
        "key": key.pk,
        "label": key.label,
        "fingerprint": key.fingerprint,
        "key_size": key.key_size,
        "origin": key.origin,
    }


def _consultation_key_recorded(key: OpeningKey, *, action: str, user) -> None:
    event_record(
        action=f"opening_key.{action}",
        actor=user,
        target=key.consultation,
        organisation=key.organisation_id,
        data=_event_data(key),
    )


# --- A consultation's keys --------------------------------------------------------------


@sensitive_variables("password")
@transaction.atomic
def opening_key_generate(
    *, consultation: Consultation, user, password: str, label: str
) -> tuple[OpeningKey, bytes]:
    """Generate a key pair for the consultation. Returns the key (its certificate) and the
    PKCS#12 file holding the private key, to be handed to ``user`` once and never kept."""
    agent_require(user, AgentPermission.CREATE, consultation)
    label = _label_clean(label)
    password_check(password)
    _require_changeable(consultation)
    now = clock.now()
    # The key pair takes a noticeable part of a second: made before the row is locked.
    certificate, pkcs12_bytes = _key_pair_make(
        common_name=f"{label} - {consultation.reference}",
        organisation_name=consultation.organisation.name,
        password=password,
        now=now,
    )
    _lock_consultation(consultation)
    _require_changeable(consultation)
    key = _key_create(
        organisation=consultation.organisation,
        consultation=consultation,
        certificate=certificate,
        public_key=certificate.public_key(),
        label=label,
        origin=KeyOrigin.GENERATED,
        user=user,
        now=now,
    )
    _consultation_key_recorded(key, action="generated", user=user)
    return key, pkcs12_bytes


@transaction.atomic
def opening_key_import(*, consultation: Consultation, user, certificate: bytes, label: str) -> OpeningKey:
    """Register a certificate whose key pair the buyer already holds (PEM or DER)."""
    agent_require(user, AgentPermission.CREATE, consultation)
    label = _label_clean(label)
    parsed = certificate_load(certificate)
    _lock_consultation(consultation)
    _require_changeable(consultation)
    now = clock.now()
    public_key = certificate_check(parsed, now=now, deadline=consultation.deadline)
    fingerprint = key_fingerprint(public_key)
    _not_already(
        consultation.opening_keys,
        fingerprint,
        _("Ce certificat est déjà une clé de chiffrement de cette consultation."),
    )
    _not_already(
        OpeningKey.objects.backup().filter(organisation_id=consultation.organisation_id),
        fingerprint,
        _("Ce certificat est déjà la clé de secours de votre organisme : chaque pli lui est déjà chiffré."),
    )
    key = _key_create(
        organisation=consultation.organisation,
        consultation=consultation,
        certificate=parsed,
        public_key=public_key,
        label=label,
        origin=KeyOrigin.IMPORTED,
        user=user,
        now=now,
    )
    _consultation_key_recorded(key, action="imported", user=user)
    return key


@transaction.atomic
def opening_key_revoke(*, key: OpeningKey, user) -> OpeningKey:
    """Withdraw a key: a consultation's key only before it goes online, the backup key at any time
    (the plis already deposited stay encrypted to it)."""
    if key.is_backup:
        agent_require(user, AgentPermission.ADMINISTER, key.organisation)
        return _backup_revoke(key=key, user=user, replaced_by=None)
    consultation = key.consultation
    agent_require(user, AgentPermission.CREATE, consultation)
    _lock_consultation(consultation)
    key = OpeningKey.objects.select_for_update().get(pk=key.pk)
    _require_changeable(consultation)
    if not key.is_active:
        raise OpeningKeyError(_("Cette clé est déjà retirée."))
    others = consultation.opening_keys.active().exclude(pk=key.pk)
    if consultation.encrypted and consultation.state != State.DRAFT and not others.exists():
        raise OpeningKeyError(
            _(
                "C'est la dernière clé de chiffrement de la consultation, qui est déjà soumise "
                "à validation : ajoutez d'abord une autre clé."
            )
        )
    key.revoked_at = clock.now()
    key.revoked_by = user
    key.save(update_fields=["revoked_at", "revoked_by"])
    _consultation_key_recorded(key, action="revoked", user=user)
    return key


# --- The organisation's backup key ------------------------------------------------------


def _backup_revoke(*, key: OpeningKey, user, replaced_by: OpeningKey | None) -> OpeningKey:
    key = OpeningKey.objects.select_for_update().get(pk=key.pk)
    if not key.is_active:
        raise OpeningKeyError(_("Cette clé est déjà retirée."))
    key.revoked_at = clock.now()
    key.revoked_by = user
    key.save(update_fields=["revoked_at", "revoked_by"])
    data = _event_data(key)
    if replaced_by is not None:
        data["replaced_by"] = replaced_by.pk
    event_record(
        action="backup_key.revoked", actor=user, target=key, organisation=key.organisation_id, data=data
    )
    return key


def _backup_replace(*, organisation: Organisation, user, make) -> OpeningKey:
    """Withdraw the active backup key, then record the new one (``make()``), under a lock
    on the organisation so that two agents never leave two active backup keys."""
    Organisation.objects.select_for_update().get(pk=organisation.pk)
    previous = list(OpeningKey.objects.backup().active().filter(organisation=organisation))
    for old in previous:
        # Revoked before the new one exists: the database allows one active backup key at a time.
        old.revoked_at = clock.now()
        old.revoked_by = user
        old.save(update_fields=["revoked_at", "revoked_by"])
    key = make()
    for old in previous:
        event_record(
            action="backup_key.revoked",
            actor=user,
            target=old,
            organisation=organisation,
            data={**_event_data(old), "replaced_by": key.pk},
        )
    return key


@sensitive_variables("password")
@transaction.atomic
def backup_key_generate(
    *, organisation: Organisation, user, password: str, label: str
) -> tuple[OpeningKey, bytes]:
    """Generate the organisation's backup key, replacing the previous one."""
    agent_require(user, AgentPermission.ADMINISTER, organisation)
    label = _label_clean(label)
    password_check(password)
    now = clock.now()
    certificate, pkcs12_bytes = _key_pair_make(
        common_name=f"{label} - {_('clé de secours')}",
        organisation_name=organisation.name,
        password=password,
        now=now,
    )

    def make():
        return _key_create(
            organisation=organisation,
            consultation=None,
            certificate=certificate,
            public_key=certificate.public_key(),
            label=label,
            origin=KeyOrigin.GENERATED,
            user=user,
            now=now,
        )

    key = _backup_replace(organisation=organisation, user=user, make=make)
    event_record(
        action="backup_key.generated",
        actor=user,
        target=key,
        organisation=organisation,
        data=_event_data(key),
    )
    return key, pkcs12_bytes


@transaction.atomic
def backup_key_import(*, organisation: Organisation, user, certificate: bytes, label: str) -> OpeningKey:
    """Register the organisation's backup key from a certificate, replacing the previous one."""
    agent_require(user, AgentPermission.ADMINISTER, organisation)
    label = _label_clean(label)
    parsed = certificate_load(certificate)
    now = clock.now()
    public_key = certificate_check(parsed, now=now, deadline=None)
    _not_already(
        OpeningKey.objects.backup().filter(organisation=organisation),
        key_fingerprint(public_key),
        _("Ce certificat est déjà la clé de secours de votre organisme."),
    )

    def make():
        return _key_create(
            organisation=organisation,
            consultation=None,
            certificate=parsed,
            public_key=public_key,
            label=label,
            origin=KeyOrigin.IMPORTED,
            user=user,
            now=now,
        )

    key = _backup_replace(organisation=organisation, user=user, make=make)
    event_record(
        action="backup_key.imported", actor=user, target=key, organisation=organisation, data=_event_data(key)
    )
    return key
