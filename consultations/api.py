"""The public API, read only: the notices with the same search and filters as the web
page (through the same selector), and one public consultation with its lots and DCE."""

from django.db.models import Prefetch
from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from drf_spectacular.views import SpectacularSwaggerSplitView
from rest_framework.exceptions import ValidationError
from rest_framework.generics import ListAPIView, RetrieveAPIView

from consultations import policy
from consultations.models import Category, Consultation, DceVersion, Lot, ProcedureType
from consultations.notices import NoticeFilterForm, NoticeResults, NoticeSort, notices_search
from consultations.serializers import ConsultationDetailSerializer, ConsultationSummarySerializer

FILTER_PARAMETERS = [
    OpenApiParameter("q", str, description="Référence ou mots-clés (recherche plein texte en français)."),
    OpenApiParameter("categorie", str, enum=Category.values, description="Catégorie principale."),
    OpenApiParameter("procedure", str, enum=ProcedureType.values, description="Type de procédure."),
    OpenApiParameter("acheteur", int, description="Identifiant de l'acheteur (organisme)."),
    OpenApiParameter(
        "cpv", str, description="Début d'un code CPV (2 à 8 chiffres), du code principal ou d'un lot."
    ),
    OpenApiParameter("lieu", str, description="Texte contenu dans le lieu d'exécution."),
    OpenApiParameter(
        "date_limite_avant",
        OpenApiTypes.DATE,
        description="Date limite de remise des plis au plus tard ce jour.",
    ),
    OpenApiParameter("cloturees", bool, description="Inclure les consultations clôturées."),
    OpenApiParameter(
        "tri", str, enum=NoticeSort.values, description="Ordre : date limite (défaut) ou pertinence."
    ),
]


@extend_schema(
    summary="Consultations publiées",
    description=(
        "Les consultations en ligne, date limite la plus proche d'abord, avec les filtres des annonces."
    ),
    parameters=FILTER_PARAMETERS,
    tags=["consultations"],
)
class ConsultationListAPIView(ListAPIView):
    serializer_class = ConsultationSummarySerializer

    def get_queryset(self):
        form = NoticeFilterForm(self.request.query_params)
        errors = form.parameter_errors()
        if errors:
            raise ValidationError(errors)
        filters, _ignored = form.filters()
        return NoticeResults(notices_search(filters))


@extend_schema(
    summary="Une consultation publiée",
    description=(
        "La consultation avec ses lots, ses rectificatifs et les versions publiées de son DCE. "
        "Les fichiers d'une consultation à accès restreint ne sont pas listés."
    ),
    tags=["consultations"],
)
class ConsultationDetailAPIView(RetrieveAPIView):
    serializer_class = ConsultationDetailSerializer

    def get_queryset(self):
        published = DceVersion.objects.filter(published_at__isnull=False).order_by("-number")
        return Consultation.objects.select_related("organisation").prefetch_related(
            Prefetch("lots", queryset=Lot.objects.order_by("number")),
            "amendments",
            Prefetch(
                "dce_versions", queryset=published.prefetch_related("files"), to_attr="published_versions"
            ),
        )

    def get_object(self):
        consultation = super().get_object()
        if not policy.is_public(consultation):
            raise Http404
        return consultation


class SwaggerView(SpectacularSwaggerSplitView):
    """Swagger UI from our own static files; its start script is a separate file too,
    so the page needs no inline script or style under our CSP."""

    template_name = "consultations/public/api_docs.html"
    title = "API publique"
