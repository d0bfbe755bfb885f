"""Create, once, the platform's practice consultation (« consultation de test »)."""

from django.core.management.base import BaseCommand

from deposits.practice import practice_consultation_ensure


class Command(BaseCommand):
    help = (
        "Crée la consultation de test de la plateforme (si elle n'existe pas) : toute entreprise peut "
        "y déposer un pli à tout moment pour essayer son poste de travail."
    )

    def handle(self, *args, **options):
        consultation = practice_consultation_ensure()
        self.stdout.write(
            self.style.SUCCESS(
                f"Consultation de test prête : {consultation.reference} — {consultation.title} "
                f"(n° {consultation.pk})."
            )
        )
