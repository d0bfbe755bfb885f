import factory

from accounts.models import Agent, Company, CompanyUser, LegalForm, Organisation, Service, User
from accounts.validators import luhn_is_valid

PASSWORD = "Mot-de-passe-de-test-2026"


def siret_from(number: int) -> str:
    """A valid SIRET built from a sequence number: both Luhn keys computed."""
    prefix = f"{number % 90_000_000 + 10_000_000:08d}"
    siren = next(prefix + str(k) for k in range(10) if luhn_is_valid(prefix + str(k)))
    nic = "0001"
    return next(siren + nic + str(k) for k in range(10) if luhn_is_valid(siren + nic + str(k)))


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User

    email = factory.Sequence(lambda n: f"utilisateur{n}@exemple.fr")
    first_name = factory.Faker("first_name", locale="fr_FR")
    last_name = factory.Faker("last_name", locale="fr_FR")

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        password = kwargs.pop("password", PASSWORD)
        return model_class.objects.create_user(*args, password=password, **kwargs)


class OrganisationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organisation

    name = factory.Sequence(lambda n: f"Commune n° {n}")
    siret = factory.Sequence(lambda n: siret_from(21000000 + n))
    street = "1 place de la Mairie"
    postal_code = "35000"
    city = "Rennes"
    department_code = "35"


class ServiceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Service

    organisation = factory.SubFactory(OrganisationFactory)
    name = factory.Sequence(lambda n: f"Service {n}")


class AgentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Agent

    user = factory.SubFactory(UserFactory)
    organisation = factory.SubFactory(OrganisationFactory)


class CompanyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Company

    name = factory.Sequence(lambda n: f"Entreprise {n}")
    siret = factory.Sequence(lambda n: siret_from(40000000 + n))
    legal_form = LegalForm.SAS
    street = "2 rue du Port"
    postal_code = "44000"
    city = "Nantes"


class CompanyUserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CompanyUser

    user = factory.SubFactory(UserFactory)
    company = factory.SubFactory(CompanyFactory)
    is_manager = True


# --- Consultations -------------------------------------------------------------------

from datetime import datetime, timedelta  # noqa: E402
from zoneinfo import ZoneInfo  # noqa: E402

from django.core.files.base import ContentFile  # noqa: E402

from consultations.models import (  # noqa: E402
    Category,
    Consultation,
    ContractType,
    DceFile,
    DceVersion,
    EnvelopeKind,
    Lot,
    ProcedureType,
    RequestedDocument,
    State,
)

PARIS = ZoneInfo("Europe/Paris")
# The standing moment of the consultation tests: a Monday morning, far from holidays.
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=PARIS)


class ConsultationFactory(factory.django.DjangoModelFactory):
    """A draft with everything filled in: it may be sent for validation as it is
    (once ``with_rules_document`` gave it its règlement de consultation)."""

    class Meta:
        model = Consultation
        skip_postgeneration_save = True

    organisation = factory.SubFactory(OrganisationFactory)
    created_by = factory.SubFactory(UserFactory)
    contract_type = ContractType.CONTRACT
    procedure_type = ProcedureType.ADAPTED_OVER_90K
    identification_locked = True
    category = Category.WORKS
    reference = factory.Sequence(lambda n: f"2026-T{n:04d}")
    title = factory.Sequence(lambda n: f"Réfection de la toiture de l'école n° {n}")
    object = "Travaux de couverture et d'étanchéité de l'école élémentaire."
    estimated_value = 360000
    cpv_code = "45261000-4"
    place_of_execution = "Testville (35)"
    deadline = T0 + timedelta(days=30, hours=3)

    @factory.post_generation
    def requested(self, create, extracted, **kwargs):
        if create and extracted is not False:
            RequestedDocument.objects.create(
                consultation=self, envelope=EnvelopeKind.OFFER, label="Acte d'engagement", position=1
            )

    @factory.post_generation
    def dce(self, create, extracted, **kwargs):
        """Version 1 with its règlement de consultation and one other file (``dce=False`` for none)."""
        if not create:
            return
        version = DceVersion.objects.create(consultation=self, number=1, created_by=self.created_by)
        if extracted is False:
            return
        dce_file_make(version, "RC.pdf", b"%PDF-1.4 reglement de consultation", is_rules=True)
        dce_file_make(version, "CCTP.pdf", b"%PDF-1.4 cahier des clauses techniques")

    @factory.post_generation
    def opening_key(self, create, extracted, **kwargs):
        """One active opening key, the session's (``opening_key=False`` for none)."""
        if create and extracted is not False:
            opening_key_make(self)


def dce_file_make(version: DceVersion, name: str, content: bytes, *, is_rules: bool = False) -> DceFile:
    import hashlib

    dce_file = DceFile(
        version=version,
        name=name,
        size=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
        is_rules=is_rules,
    )
    dce_file.blob.save(name, ContentFile(content), save=False)
    dce_file.save()
    return dce_file


class LotFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Lot

    consultation = factory.SubFactory(ConsultationFactory)
    number = factory.Sequence(lambda n: n + 1)
    title = factory.Sequence(lambda n: f"Lot {n + 1}")
    cpv_code = "45261000-4"


def consultation_online(*, published_at: datetime = T0, **kwargs) -> Consultation:
    """A consultation already online (its DCE version 1 published), without going through the workflow."""
    from consultations.search import search_refresh

    consultation = ConsultationFactory(
        state=State.ONLINE, published_at=published_at, scheduled_publication_at=published_at, **kwargs
    )
    consultation.dce_versions.update(published_at=published_at)
    search_refresh(consultation)
    return consultation


def download_record(consultation: Consultation, company_user, *, at: datetime = T0, file_name: str = ""):
    """An identified DCE download (« retrait ») by a company's user."""
    from consultations.models import Download

    return Download.objects.create(
        consultation=consultation,
        dce_version=consultation.dce_versions.filter(published_at__isnull=False).order_by("-number").first(),
        company=company_user.company,
        user=company_user.user,
        downloaded_at=at,
        file_name=file_name,
    )


# --- Opening keys --------------------------------------------------------------------

_opening_key_material: tuple | None = None


def opening_key_material():
    """(private key, certificate) of one RSA 3072 key pair shared by the whole test session:
    generating one takes a noticeable part of a second."""
    global _opening_key_material
    if _opening_key_material is None:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import rsa
        from cryptography.x509.oid import NameOID

        private_key = rsa.generate_private_key(public_exponent=65537, key_size=3072)
        name = x509.Name(
            [
                x509.NameAttribute(NameOID.COMMON_NAME, "Clé des tests"),
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Salle des marchés (tests)"),
            ]
        )
        certificate = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(private_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(T0 - timedelta(days=365))
            .not_valid_after(T0 + timedelta(days=20 * 365))
            .sign(private_key, hashes.SHA256())
        )
        _opening_key_material = (private_key, certificate)
    return _opening_key_material


def opening_key_make(consultation: Consultation, **fields):
    """An active opening key of the consultation, with the session's certificate."""
    from cryptography.hazmat.primitives import serialization

    from deposits.crypto import key_fingerprint
    from deposits.models import KeyOrigin, OpeningKey

    _private_key, certificate = opening_key_material()
    values = {
        "organisation_id": consultation.organisation_id,
        "consultation": consultation,
        "label": "Clé de test",
        "certificate_pem": certificate.public_bytes(serialization.Encoding.PEM).decode("ascii"),
        "fingerprint": key_fingerprint(certificate.public_key()),
        "key_size": certificate.public_key().key_size,
        "not_before": certificate.not_valid_before_utc,
        "not_after": certificate.not_valid_after_utc,
        "origin": KeyOrigin.IMPORTED,
        "created_at": T0,
        "created_by": consultation.created_by,
        **fields,
    }
    return OpeningKey.objects.create(**values)
