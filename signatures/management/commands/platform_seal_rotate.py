"""``manage.py platform_seal_rotate``: replace the embedded PKI's seal (and its root and
timestamping authority) by new ones; what the old one sealed still verifies."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from signatures.platform import embedded_rotate
from signatures.platform_history import fingerprint


class Command(BaseCommand):
    help = (
        "Renouvelle le cachet de la plateforme créé par elle-même (autorité racine, certificat de "
        "cachet et d'horodatage) : les anciennes clés sont détruites, les documents déjà scellés "
        "restent vérifiables."
    )

    def handle(self, *args, **options):
        if settings.PLATFORM_SEAL_PKCS12 and settings.TIMESTAMP_URL:
            raise CommandError(
                "La plateforme scelle avec PLATFORM_SEAL_PKCS12 : remplacez ce fichier par le nouveau "
                "certificat et redémarrez ; les documents déjà scellés restent vérifiables. Pour "
                "refuser les scellements de l'ancien certificat, utilisez ensuite "
                "« manage.py platform_seal_retire <empreinte> »."
            )
        old, new = embedded_rotate()
        self.stdout.write(
            self.style.SUCCESS(
                f"Cachet renouvelé.\n  ancien : {fingerprint(old)}\n  nouveau : {fingerprint(new)}"
            )
        )
