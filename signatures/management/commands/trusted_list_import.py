"""``manage.py trusted_list_import <file>``: import an EU trusted list (ETSI TS 119 612) from a
local file into the trust store (never from the network)."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from signatures.trust import TrustError, trusted_list_import


class Command(BaseCommand):
    help = (
        "Importe une liste de confiance européenne (fichier XML local, ETSI TS 119 612) : les services "
        "qualifiés « accordés » (CA/QC, TSA/QTST) rejoignent le magasin de confiance."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="Fichier XML de la liste de confiance")

    def handle(self, *args, file, **options):
        try:
            data = Path(file).read_bytes()
        except OSError as error:
            raise CommandError(f"Lecture de {file} impossible : {error.strerror}") from None
        try:
            added, skipped = trusted_list_import(data)
        except TrustError as error:
            raise CommandError(error.message) from None
        self.stdout.write(
            self.style.SUCCESS(
                f"{added} certificat(s) ajouté(s), {skipped} ignoré(s) (déjà présents, "
                "illisibles, ou services non accordés ou d'un autre type)."
            )
        )
