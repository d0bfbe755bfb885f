"""Suites of a consultation (« Créer une suite »), the invitation à concourir, and the
deletion of a draft."""

from django.urls import path

from consultations.views import suites

urlpatterns = [
    path("acheteur/consultations/<int:pk>/suite/", suites.suite_create_view, name="suite_create"),
    path(
        "acheteur/consultations/<int:pk>/suite/invitation/",
        suites.suite_invite_view,
        name="suite_invite",
    ),
    path(
        "acheteur/consultations/<int:pk>/supprimer/",
        suites.consultation_delete_view,
        name="consultation_delete",
    ),
]
