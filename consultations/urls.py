"""Every consultation URL, in three parts: the public and company side, the buyer's
space, and what follows publication (questions, rectificatifs, registers)."""

from django.urls import include, path

app_name = "consultations"

urlpatterns = [
    path("", include("consultations.urls_public")),
    path("", include("consultations.urls_buyer")),
    path("", include("consultations.urls_followup")),
    path("", include("consultations.urls_suites")),
]
