"""Demo data for a newcomer: one buyer organisation, its agents, two companies.

Running it again leaves the same data (and puts back a demo password that was changed).
"""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from accounts.models import Agent, Company, CompanyUser, LegalForm, Organisation, Service, User
from consultations.demo import demo_consultations_create
from consultations.models import Consultation
from deposits.practice import practice_consultation_ensure
from messaging.demo import demo_exchange_create

ORGANISATION = {
    "siret": "21359999600013",
    "name": "Commune de Démoville",
    "street": "1 place de la Mairie",
    "postal_code": "35999",
    "city": "Démoville",
    "department_code": "35",
}
SERVICES = ["Direction de la commande publique", "Services techniques"]
AGENTS = [
    {
        "email": "acheteur@demoville.fr",
        "password": "Demoville-Acheteur-2026",
        "first_name": "Claire",
        "last_name": "Martin",
        "service": SERVICES[0],
        "job_title": "Responsable de la commande publique",
        "permissions": {"can_create": True, "can_decide": True, "can_administer": True},
        "role": "acheteur (créer, décider, administrer)",
    },
    {
        "email": "valideur@demoville.fr",
        "password": "Demoville-Valideur-2026",
        "first_name": "Paul",
        "last_name": "Bernard",
        "service": SERVICES[0],
        "job_title": "Directeur général des services",
        "permissions": {"can_validate": True},
        "role": "valideur",
    },
]
COMPANIES = [
    {
        "company": {
            "siret": "44123456400017",
            "name": "Armor Bâtiment",
            "legal_form": LegalForm.SARL,
            "street": "12 rue des Menhirs",
            "postal_code": "22000",
            "city": "Saint-Brieuc",
        },
        "user": {
            "email": "contact@armor-batiment.fr",
            "password": "Armor-Batiment-2026",
            "first_name": "Yann",
            "last_name": "Le Gall",
        },
    },
    {
        "company": {
            "siret": "88234567100011",
            "name": "Numérique Conseil",
            "legal_form": LegalForm.SAS,
            "street": "5 quai de la Fosse",
            "postal_code": "44000",
            "city": "Nantes",
        },
        "user": {
            "email": "contact@numerique-conseil.fr",
            "password": "Numerique-Conseil-2026",
            "first_name": "Sophie",
            "last_name": "Durand",
        },
    },
]
ADMIN = {
    "email": "admin@plateforme.local",
    "password": "Plateforme-Admin-2026",
    "first_name": "Alex",
    "last_name": "Administrateur",
}

PERMISSION_FIELDS = ("can_create", "can_validate", "can_open", "can_decide", "can_administer")


def _user(*, email, password, first_name, last_name, **extra) -> User:
    user, _ = User.objects.update_or_create(
        email=email,
        defaults={"first_name": first_name, "last_name": last_name, "is_active": True, **extra},
        create_defaults={
            "first_name": first_name,
            "last_name": last_name,
            "is_active": True,
            "email_confirmed_at": timezone.now(),
            **extra,
        },
    )
    if not user.check_password(password):
        user.set_password(password)
        user.save(update_fields=["password"])
    return user


class Command(BaseCommand):
    help = "Crée (ou remet à l'identique) les données de démonstration et affiche les identifiants."

    def add_arguments(self, parser):
        parser.add_argument(
            "--force", action="store_true", help="en production aussi (mots de passe publiés : à éviter)"
        )

    @transaction.atomic
    def handle(self, *args, **options):
        if settings.PRODUCTION and not options["force"]:
            raise CommandError(
                "seed_demo crée des comptes dont les mots de passe sont publiés : refusé en production "
                "(DJANGO_ENV=production). Ajoutez --force pour une instance de démonstration."
            )
        organisation, _ = Organisation.objects.update_or_create(
            siret=ORGANISATION["siret"], defaults=ORGANISATION
        )
        services = {
            name: Service.objects.get_or_create(organisation=organisation, name=name)[0] for name in SERVICES
        }
        for spec in AGENTS:
            user = _user(
                email=spec["email"],
                password=spec["password"],
                first_name=spec["first_name"],
                last_name=spec["last_name"],
            )
            permissions = {field: spec["permissions"].get(field, False) for field in PERMISSION_FIELDS}
            Agent.objects.update_or_create(
                user=user,
                defaults={
                    "organisation": organisation,
                    "service": services[spec["service"]],
                    "job_title": spec["job_title"],
                    **permissions,
                },
            )
        for spec in COMPANIES:
            company, _ = Company.objects.update_or_create(
                siret=spec["company"]["siret"], defaults=spec["company"]
            )
            user = _user(**spec["user"])
            CompanyUser.objects.update_or_create(user=user, defaults={"company": company, "is_manager": True})
        _user(**ADMIN, is_staff=True, is_superuser=True)
        consultations = demo_consultations_create(
            organisation=organisation,
            buyer=User.objects.get(email=AGENTS[0]["email"]),
            validator=User.objects.get(email=AGENTS[1]["email"]),
        )
        demo_exchange_create(
            consultation=Consultation.objects.get(organisation=organisation, reference="DEMO-2026-001"),
            company=Company.objects.get(siret=COMPANIES[0]["company"]["siret"]),
            buyer=User.objects.get(email=AGENTS[0]["email"]),
        )
        practice = practice_consultation_ensure()

        self.stdout.write(self.style.SUCCESS("Données de démonstration prêtes."))
        self.stdout.write("")
        self.stdout.write(f"  {'rôle':<62} {'identifiant':<32} mot de passe")
        for spec in AGENTS:
            self.stdout.write(
                f"  {organisation.name + ' — ' + spec['role']:<62} {spec['email']:<32} {spec['password']}"
            )
        for spec in COMPANIES:
            label = f"entreprise {spec['company']['name']}"
            self.stdout.write(f"  {label:<62} {spec['user']['email']:<32} {spec['user']['password']}")
        self.stdout.write(
            f"  {'administrateur de la plateforme (/admin/)':<62} {ADMIN['email']:<32} {ADMIN['password']}"
        )
        if consultations:
            self.stdout.write("")
            self.stdout.write("Consultations de démonstration :")
            for consultation in consultations:
                code = f" (code d'accès {consultation.access_code})" if consultation.access_code else ""
                self.stdout.write(f"  {consultation.reference} — {consultation.title}{code}")
        self.stdout.write(f"Consultation de test (dépôts d'essai) : {practice.reference} — {practice.title}")
