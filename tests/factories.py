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
