from django.core.management.base import BaseCommand, CommandError
from django.db.models import Q

from consultations.models import Consultation
from deposits.models import Deposit, Seal
from deposits.services.sealing import seal_chain_verify


class Command(BaseCommand):
    help = (
        "Vérifie la chaîne des sceaux des plis de chaque consultation (ou de celles dont la "
        "référence est donnée) : sceaux manquants, liens rompus, manifestes modifiés, plis sans sceau."
    )

    def add_arguments(self, parser):
        parser.add_argument("references", nargs="*", help="références des consultations à vérifier")

    def handle(self, *args, references, **options):
        consultations = Consultation.objects.filter(
            Q(pk__in=Deposit.objects.values("consultation_id"))
            | Q(pk__in=Seal.objects.values("consultation_id"))
        )
        if references:
            consultations = Consultation.objects.filter(reference__in=references)
            missing = set(references) - set(consultations.values_list("reference", flat=True))
            if missing:
                raise CommandError("Consultation inconnue : " + ", ".join(sorted(missing)))
        count = 0
        problems = 0
        for consultation in consultations.order_by("pk"):
            count += 1
            for problem in seal_chain_verify(consultation):
                problems += 1
                self.stderr.write(f"{consultation.reference} : {problem}")
        if problems:
            raise CommandError(f"Chaîne des sceaux altérée : {problems} anomalie(s) détectée(s).")
        self.stdout.write(
            self.style.SUCCESS(f"Chaîne des sceaux intègre : {count} consultation(s) vérifiée(s).")
        )
