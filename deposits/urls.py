from django.urls import path, re_path

from deposits import api, tus
from deposits.views import buyer_deposits, buyer_keys, company, receipts

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
    # The deposits of a consultation, after the deadline: register, opening, minutes, files.
    path("acheteur/consultations/<int:pk>/plis/", buyer_deposits.deposits_page, name="buyer_deposits"),
    re_path(
        r"^acheteur/consultations/(?P<pk>[0-9]+)/plis/ouvrir/(?P<scope>candidatures|offres|reponses|hors-delai)/$",
        buyer_deposits.deposits_open_view,
        name="buyer_deposits_open",
    ),
    path(
        "acheteur/consultations/<int:pk>/plis/fichiers/<int:file_pk>/",
        buyer_deposits.opened_file_download,
        name="buyer_opened_file",
    ),
    path(
        "acheteur/consultations/<int:pk>/plis/ouvertures/<int:opening_pk>/pv.pdf",
        buyer_deposits.minutes_download,
        name="buyer_opening_minutes",
    ),
    re_path(
        r"^acheteur/consultations/(?P<pk>[0-9]+)/plis/registre\.(?P<fmt>csv|xlsx|pdf)$",
        buyer_deposits.register_export,
        name="buyer_deposits_register",
    ),
    # The company's side (deposits/views/company.py): answering, « Mes dépôts », the practice consultation.
    path("entreprise/consultations/<int:pk>/depot/", company.consultation_deposit, name="company_deposit"),
    path(
        "entreprise/consultations/<int:pk>/copie-de-sauvegarde/",
        company.backup_copy,
        name="company_backup_copy",
    ),
    path("entreprise/depots/", company.deposits, name="company_deposits"),
    path("entreprise/depots/<int:pk>/", company.deposit_detail, name="company_deposit_detail"),
    path("entreprise/depots/<int:pk>/reponse/", company.response_save, name="company_response"),
    path("entreprise/depots/<int:pk>/valider/", company.validate, name="company_validate"),
    path(
        "entreprise/depots/<int:pk>/fichiers/<int:file_pk>/retirer/",
        company.file_remove,
        name="company_file_remove",
    ),
    path("entreprise/consultation-de-test/", company.practice, name="company_practice"),
    # Receipts (« accusés de réception »): the company's own, and the public check.
    path("entreprise/depots/<int:pk>/accuse-de-reception/", receipts.company_receipt, name="company_receipt"),
    path("verifier-un-accuse-de-reception/", receipts.receipt_check, name="receipt_check"),
    # Resumable uploads of the files of a deposit (tus 1.0, deposits/tus.py).
    path("depots/tus/", tus.tus_endpoint, name="tus_endpoint"),
    path("depots/tus/<uuid:upload_id>/", tus.tus_upload, name="tus_upload"),
    # The deposit API for companies' software (deposits/api.py).
    path("api/depots/", api.DepositListAPIView.as_view(), name="api_deposits"),
    path(
        "api/consultations/<int:pk>/depots/",
        api.DepositStartAPIView.as_view(),
        name="api_deposit_start",
    ),
    path("api/depots/<int:pk>/", api.DepositDetailAPIView.as_view(), name="api_deposit"),
    path("api/depots/<int:pk>/valider/", api.DepositFinalizeAPIView.as_view(), name="api_deposit_finalize"),
    path(
        "api/depots/<int:pk>/accuse-de-reception/",
        api.DepositReceiptAPIView.as_view(),
        name="api_receipt",
    ),
]
