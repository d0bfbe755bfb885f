"""What follows publication: questions and answers, rectificatifs, « sans suite », registers."""

from django.urls import path, re_path

from consultations.views import amendments, questions, registers

urlpatterns = [
    # Company side
    path("consultations/<int:pk>/questions/poser/", questions.ask, name="question_ask"),
    # Buyer side
    path("acheteur/consultations/<int:pk>/questions/", questions.buyer_questions, name="buyer_questions"),
    path(
        "acheteur/consultations/<int:pk>/questions/<int:question_pk>/repondre/",
        questions.answer,
        name="question_answer",
    ),
    path(
        "acheteur/consultations/<int:pk>/rectificatif/", amendments.amendment_create, name="amendment_create"
    ),
    path(
        "acheteur/consultations/<int:pk>/rectificatif/fichiers/",
        amendments.amendment_file_add,
        name="amendment_file_add",
    ),
    path(
        "acheteur/consultations/<int:pk>/rectificatif/fichiers/<int:file_pk>/retirer/",
        amendments.amendment_file_remove,
        name="amendment_file_remove",
    ),
    path(
        "acheteur/consultations/<int:pk>/rectificatif/abandonner-dce/",
        amendments.amendment_dce_reset,
        name="amendment_dce_reset",
    ),
    path("acheteur/consultations/<int:pk>/rectificatifs/", amendments.amendment_list, name="amendment_list"),
    path("acheteur/consultations/<int:pk>/sans-suite/", amendments.cancel, name="cancel"),
    re_path(
        r"^acheteur/consultations/(?P<pk>[0-9]+)/registres/(?P<kind>retraits|questions|echanges)\.(?P<fmt>csv|xlsx|pdf)$",
        registers.register,
        name="register",
    ),
]
