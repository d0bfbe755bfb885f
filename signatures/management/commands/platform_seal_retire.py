"""``manage.py platform_seal_retire <fingerprint>``: seals of that certificate of the platform
timestamped after now (or ``--from``) are no longer recognised, and it no longer seals."""

from datetime import datetime

from django.core.management.base import BaseCommand, CommandError

from config import clock
from signatures.platform_history import history_retire


class Command(BaseCommand):
    help = (
        "Retire un certificat de cachet de la plateforme (clé remplacée ou compromise) : ses "
        "scellements horodatés après ce moment ne sont plus reconnus ; les précédents restent valides."
    )

    def add_arguments(self, parser):
        parser.add_argument("fingerprint", help="Empreinte SHA-256 du certificat (au moins 16 caractères)")
        parser.add_argument(
            "--from",
            dest="moment",
            help="Moment du retrait, ISO 8601 avec fuseau (par défaut : maintenant)",
        )

    def handle(self, *args, fingerprint, moment=None, **options):
        at = clock.now()
        if moment:
            try:
                at = datetime.fromisoformat(moment)
            except ValueError:
                raise CommandError(
                    f"Moment illisible : {moment} (exemple : 2026-12-03T10:00:00+01:00)"
                ) from None
            if at.tzinfo is None:
                raise CommandError(
                    "Donnez le fuseau horaire du moment (exemple : 2026-12-03T10:00:00+01:00)."
                )
        try:
            row = history_retire(fingerprint, at)
        except LookupError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(
            self.style.SUCCESS(f"Certificat retiré à partir du {row.retired_at.isoformat()} : {row}")
        )
