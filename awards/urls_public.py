"""The essential data (DECP): the agent's screen, the public list and exports; the award notices."""

from django.urls import path

from awards.views import essential_data, public

urlpatterns = [
    path(
        "acheteur/consultations/<int:pk>/decisions/<int:decision_pk>/donnees-essentielles/",
        essential_data.essential_data,
        name="essential_data",
    ),
    path("donnees-essentielles/", public.decp_public, name="decp_public"),
    # « .json » or « .xml »: the official formats.
    path("donnees-essentielles/<int:organisation_pk>.<str:fmt>", public.decp_export, name="decp_export"),
    path("avis-d-attribution/<int:decision_pk>/", public.award_notice, name="award_notice"),
    path("avis-d-attribution/<int:decision_pk>.pdf", public.award_notice_pdf, name="award_notice_pdf"),
]
