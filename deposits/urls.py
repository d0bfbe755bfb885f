from django.urls import path

from deposits import tus
from deposits.views import buyer_keys

app_name = "deposits"

urlpatterns = [
    # A consultation's opening keys (« bi-clés de chiffrement »).
    path("acheteur/consultations/<int:pk>/cles/", buyer_keys.keys, name="buyer_keys"),
    path("acheteur/consultations/<int:pk>/cles/generer/", buyer_keys.key_generate, name="buyer_key_generate"),
    path("acheteur/consultations/<int:pk>/cles/importer/", buyer_keys.key_import, name="buyer_key_import"),
    path(
        "acheteur/consultations/<int:pk>/cles/<int:key_pk>/retirer/",
        buyer_keys.key_revoke,
        name="buyer_key_revoke",
    ),
    # The organisation's backup key (« clé de secours »).
    path("acheteur/cle-de-secours/", buyer_keys.backup_key, name="buyer_backup_key"),
    path(
        "acheteur/cle-de-secours/generer/",
        buyer_keys.backup_key_generate_view,
        name="buyer_backup_key_generate",
    ),
    path(
        "acheteur/cle-de-secours/importer/", buyer_keys.backup_key_import_view, name="buyer_backup_key_import"
    ),
    path(
        "acheteur/cle-de-secours/<int:key_pk>/retirer/",
        buyer_keys.backup_key_revoke,
        name="buyer_backup_key_revoke",
    ),
    # Resumable uploads of the files of a deposit (tus 1.0, deposits/tus.py).
    path("depots/tus/", tus.tus_endpoint, name="tus_endpoint"),
    path("depots/tus/<uuid:upload_id>/", tus.tus_upload, name="tus_upload"),
]
