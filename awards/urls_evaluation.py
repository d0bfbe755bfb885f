"""The analysis of the candidatures and the offers (buyer side)."""

from django.urls import path

from awards.views import candidatures, evaluation, grid

PREFIX = "acheteur/consultations/<int:pk>/analyse/"

urlpatterns = [
    path(PREFIX, evaluation.evaluation, name="evaluation"),
    path(f"{PREFIX}grilles/", evaluation.grid_create_view, name="grid_create"),
    path(f"{PREFIX}candidatures/", candidatures.candidatures, name="candidatures"),
    path(
        f"{PREFIX}candidatures/<int:deposit_pk>/examen/",
        candidatures.candidature_review_view,
        name="candidature_review",
    ),
    path(
        f"{PREFIX}candidatures/<int:deposit_pk>/complements/",
        candidatures.complements_request_view,
        name="complements_request",
    ),
    path(f"{PREFIX}grille/<int:grid_pk>/", grid.grid_view, name="grid"),
    path(f"{PREFIX}grille/<int:grid_pk>/criteres/", grid.criterion_add_view, name="criterion_add"),
    path(
        f"{PREFIX}grille/<int:grid_pk>/criteres/<int:criterion_pk>/",
        grid.criterion_update_view,
        name="criterion_update",
    ),
    path(
        f"{PREFIX}grille/<int:grid_pk>/criteres/<int:criterion_pk>/supprimer/",
        grid.criterion_delete_view,
        name="criterion_delete",
    ),
    path(
        f"{PREFIX}grille/<int:grid_pk>/offres/<int:deposit_pk>/<str:offer>/",
        grid.offer_record_view,
        name="offer_record",
    ),
]
