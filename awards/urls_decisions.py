"""The decisions screen: the decision per lot, its letters, the signature and the notification."""

from django.urls import path

from awards.views import decisions

urlpatterns = [
    path("acheteur/consultations/<int:pk>/decisions/", decisions.decisions_page, name="decisions"),
    path(
        "acheteur/consultations/<int:pk>/decisions/enregistrer/",
        decisions.decision_record_view,
        name="decision_record",
    ),
    path(
        "acheteur/consultations/<int:pk>/decisions/<int:decision_pk>/lettres/",
        decisions.letters_send_view,
        name="decision_letters",
    ),
    path(
        "acheteur/consultations/<int:pk>/decisions/<int:decision_pk>/signature/",
        decisions.contract_sign_view,
        name="decision_signature",
    ),
    path(
        "acheteur/consultations/<int:pk>/decisions/<int:decision_pk>/notification/",
        decisions.contract_notify_view,
        name="decision_notify",
    ),
]
