"""The corrections screen of a grid and the analysis report (PDF, XLSX)."""

from django.urls import path

from awards.views import corrections, report

urlpatterns = [
    path(
        "acheteur/consultations/<int:pk>/analyse/grille/<int:grid_pk>/rectifications/",
        corrections.corrections,
        name="corrections",
    ),
    path(
        "acheteur/consultations/<int:pk>/analyse/rapport.pdf",
        report.report,
        {"fmt": "pdf"},
        name="report_pdf",
    ),
    path(
        "acheteur/consultations/<int:pk>/analyse/rapport.xlsx",
        report.report,
        {"fmt": "xlsx"},
        name="report_xlsx",
    ),
]
