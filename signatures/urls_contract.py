"""The contract signature: the company's page, the buyer's counter-signature, the files."""

from django.urls import path

from signatures import views_contract as views

app_name = "contracts"

urlpatterns = [
    path("entreprise/marches/<int:decision_pk>/signature/", views.contract_company, name="contract_company"),
    path(
        "entreprise/marches/<int:decision_pk>/acte-d-engagement.pdf",
        views.contract_document_company,
        name="contract_document",
    ),
    path(
        "entreprise/marches/<int:decision_pk>/signatures/<int:signature_pk>/fichier",
        views.contract_file_company,
        name="contract_company_file",
    ),
    path(
        "entreprise/marches/<int:decision_pk>/signatures/<int:signature_pk>/signature-detachee",
        views.contract_detached_company,
        name="contract_company_detached",
    ),
    path(
        "acheteur/consultations/<int:pk>/decisions/<int:decision_pk>/signature-electronique/",
        views.contract_buyer,
        name="contract_buyer",
    ),
    path(
        "acheteur/consultations/<int:pk>/decisions/<int:decision_pk>/acte-d-engagement.pdf",
        views.contract_document_buyer,
        name="contract_buyer_document",
    ),
    path(
        "acheteur/consultations/<int:pk>/decisions/<int:decision_pk>/signatures/<int:signature_pk>/fichier",
        views.contract_file_buyer,
        name="contract_buyer_file",
    ),
    path(
        "acheteur/consultations/<int:pk>/decisions/<int:decision_pk>/signatures/<int:signature_pk>/"
        "signature-detachee",
        views.contract_detached_buyer,
        name="contract_buyer_detached",
    ),
]
