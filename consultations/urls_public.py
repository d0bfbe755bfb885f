"""The public and company side: notices, consultation pages, access codes, DCE downloads, API."""

from django.urls import path
from drf_spectacular.views import SpectacularAPIView

from consultations.api import ConsultationDetailAPIView, ConsultationListAPIView, SwaggerView
from consultations.views import downloads, public

urlpatterns = [
    path("annonces/", public.notices, name="notices"),
    # E-mails link here: keep the name and the ``pk`` argument.
    path("consultations/<int:pk>/", public.detail, name="detail"),
    path("consultations/<int:pk>/acces/", public.access, name="access"),
    path("consultations/<int:pk>/dce/", downloads.dce_zip, name="dce_zip"),
    path("consultations/<int:pk>/dce/<int:file_id>/", downloads.dce_file, name="dce_file"),
    # Public API, read only.
    path("api/consultations/", ConsultationListAPIView.as_view(), name="api_list"),
    path("api/consultations/<int:pk>/", ConsultationDetailAPIView.as_view(), name="api_detail"),
    path("api/schema/", SpectacularAPIView.as_view(), name="api_schema"),
    path("api/docs/", SwaggerView.as_view(url_name="consultations:api_schema"), name="api_docs"),
]
