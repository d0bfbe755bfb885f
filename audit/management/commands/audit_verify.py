from django.core.management.base import BaseCommand, CommandError

from audit.models import Event
from audit.services import chain_verify


class Command(BaseCommand):
    help = "Vérifie la chaîne d'empreintes de l'historique des événements."

    def handle(self, *args, **options):
        problems = chain_verify()
        if problems:
            for problem in problems:
                self.stderr.write(str(problem))
            raise CommandError(f"Historique altéré : {len(problems)} anomalie(s) détectée(s).")
        self.stdout.write(
            self.style.SUCCESS(f"Historique intègre : {Event.objects.count()} événement(s) vérifié(s).")
        )
