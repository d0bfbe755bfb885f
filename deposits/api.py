"""The deposit API, for companies' software (« dépôt par l'API »).

A company user's personal token (``Authorization: Bearer sdm_…``) opens every endpoint; the
web session opens the reads only. A company sees its own deposits and nobody else's: another
company's deposit is « not found », as an unknown one. The files themselves go through the
tus endpoints of the deposit page (deposits/tus.py), with the same token.

    GET  /api/depots/                              my company's deposits
    POST /api/consultations/<id>/depots/           start (or find) the draft deposit
    GET  /api/depots/<id>/                         one deposit: envelopes, files
    POST /api/depots/<id>/valider/                 finalise: received now, on time or late
    GET  /api/depots/<id>/accuse-de-reception/     the signed receipt (PDF)
"""

import secrets

from django.core.files.storage import default_storage
from django.db.models import Count, Exists, OuterRef, Prefetch, QuerySet
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import APIException, NotFound, PermissionDenied, Throttled
from rest_framework.generics import GenericAPIView, ListAPIView
from rest_framework.response import Response
from rest_framework.throttling import UserRateThrottle

from accounts.permissions import company_user_of
from consultations import policy
from consultations.models import Consultation
from deposits.api_auth import BearerTokenAuthentication, IsCompanyUser, ReadOnlySessionAuthentication
from deposits.api_serializers import (
    DepositDetailSerializer,
    DepositFinalizeSerializer,
    DepositReceivedSerializer,
    DepositStartSerializer,
    DepositSummarySerializer,
    ErrorSerializer,
    has_seal,
)
from deposits.models import Deposit, DepositFile, DepositState, Envelope, Seal
from deposits.services.deposits import deposit_start
from deposits.services.errors import DepositError
from deposits.services.responses import deposit_validate, finalisation_message

ERROR_STATUS = {"forbidden": 403, "not_found": 404, "conflict": 409}
TAGS = ["dépôts"]


class DepositRefused(APIException):
    def __init__(self, error: DepositError):
        self.status_code = ERROR_STATUS.get(error.reason, 400)
        super().__init__(detail=error.message)


class DepositWriteThrottle(UserRateThrottle):
    scope = "deposits_write"


# --- Reads -------------------------------------------------------------------------------


def _company_id(request) -> int:
    company_user = company_user_of(request.user)
    if company_user is None:
        raise PermissionDenied
    return company_user.company_id


def company_deposits(company_id: int) -> QuerySet[Deposit]:
    """The company's deposits, newest first, with what the list shows."""
    return (
        Deposit.objects.filter(company_id=company_id)
        .select_related("consultation")
        .annotate(
            files_count=Count("envelopes__files"),
            sealed=Exists(Seal.objects.filter(deposit=OuterRef("pk"))),
        )
        .order_by("-created_at", "-pk")
    )


def company_deposit(company_id: int, pk: int) -> Deposit:
    files = DepositFile.objects.order_by("created_at", "pk")
    envelopes = Envelope.objects.select_related("lot").prefetch_related(Prefetch("files", queryset=files))
    return get_object_or_404(
        company_deposits(company_id).prefetch_related(
            Prefetch("envelopes", queryset=envelopes.order_by("kind", "lot__number", "pk"))
        ),
        pk=pk,
    )


def _refusals(*codes: int) -> dict:
    return {
        code: OpenApiResponse(ErrorSerializer, description=_("Refus, motif en français")) for code in codes
    }


class _DepositAPIView(GenericAPIView):
    authentication_classes = [BearerTokenAuthentication, ReadOnlySessionAuthentication]
    permission_classes = [IsCompanyUser]


# --- Endpoints ---------------------------------------------------------------------------


@extend_schema(
    summary="Mes dépôts",
    description="Les plis de votre entreprise, du plus récent au plus ancien, avec leur statut.",
    tags=TAGS,
)
class DepositListAPIView(_DepositAPIView, ListAPIView):
    serializer_class = DepositSummarySerializer

    def get_queryset(self):
        return company_deposits(_company_id(self.request))


@extend_schema(
    summary="Un de mes dépôts",
    description="Le pli avec ses enveloppes et ses fichiers (taille, octets reçus, SHA-256, antivirus).",
    responses={200: DepositDetailSerializer, **_refusals(404)},
    tags=TAGS,
)
class DepositDetailAPIView(_DepositAPIView):
    serializer_class = DepositDetailSerializer

    def get(self, request, pk: int):
        deposit = company_deposit(_company_id(request), pk)
        return Response(self.get_serializer(deposit).data)


@extend_schema(
    summary="Commencer un dépôt",
    description=(
        "Crée le pli en préparation de votre entreprise pour cette consultation, ou rend celui qui "
        "est déjà en cours (201 s'il est créé, 200 sinon), avec ses enveloppes et la façon d'envoyer "
        "les fichiers par le protocole tus. Une consultation à accès restreint demande son code "
        "d'accès au premier dépôt."
    ),
    request=DepositStartSerializer,
    responses={200: DepositDetailSerializer, 201: DepositDetailSerializer, **_refusals(400, 403, 404)},
    tags=TAGS,
)
class DepositStartAPIView(_DepositAPIView):
    serializer_class = DepositDetailSerializer
    throttle_classes = [DepositWriteThrottle]

    def post(self, request, pk: int):
        company_id = _company_id(request)
        consultation = Consultation.objects.filter(pk=pk).first()
        if consultation is None or not policy.is_public(consultation):
            raise NotFound(_("Cette consultation est introuvable."))
        form = DepositStartSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        deposits = Deposit.objects.filter(consultation=consultation, company_id=company_id)
        if consultation.is_restricted and not deposits.exists():
            self._access_check(consultation, form.validated_data.get("access_code", ""))
        had_draft = deposits.filter(state=DepositState.DRAFT).exists()
        try:
            deposit = deposit_start(consultation=consultation, user=request.user)
        except DepositError as error:
            raise DepositRefused(error) from None
        deposit = company_deposit(company_id, deposit.pk)
        return Response(
            self.get_serializer(deposit).data,
            status=status.HTTP_200_OK if had_draft else status.HTTP_201_CREATED,
        )

    def _access_check(self, consultation: Consultation, code: str) -> None:
        # The same code, and the same limit on wrong codes, as the consultation's page.
        from consultations.views.public import access_attempt_release, access_attempt_reserve

        if not code:
            raise PermissionDenied(
                _(
                    "Cette consultation est à accès restreint : envoyez son code d'accès "
                    "(« access_code »), que l'acheteur vous a communiqué."
                )
            )
        if not access_attempt_reserve(consultation, self.request):
            raise Throttled(
                detail=_(
                    "Trop de codes erronés ont été envoyés pour cette consultation : réessayez dans "
                    "15 minutes, ou demandez le code à l'acheteur."
                )
            )
        if not secrets.compare_digest(code.encode(), consultation.access_code.encode()):
            raise PermissionDenied(
                _("Ce code d'accès n'est pas celui de cette consultation. Vérifiez-le auprès de l'acheteur.")
            )
        access_attempt_release(consultation, self.request)


@extend_schema(
    summary="Valider un dépôt",
    description=(
        "Enregistre le pli comme reçu maintenant, à l'heure de la plateforme : dans les délais, il "
        "remplace vos dépôts précédents à cette consultation ; à la date limite ou après, il est "
        "conservé et marqué hors délai. Tous les envois doivent être terminés."
    ),
    request=DepositFinalizeSerializer,
    responses={200: DepositReceivedSerializer, **_refusals(400, 403, 404, 409)},
    tags=TAGS,
)
class DepositFinalizeAPIView(_DepositAPIView):
    serializer_class = DepositReceivedSerializer
    throttle_classes = [DepositWriteThrottle]

    def post(self, request, pk: int):
        company_id = _company_id(request)
        deposit = get_object_or_404(Deposit.objects.select_related("company"), pk=pk, company_id=company_id)
        form = DepositFinalizeSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        try:
            # The same rules as the page's « Valider »: a complete response, then the deadline.
            deposit = deposit_validate(deposit=deposit, user=request.user, conditions_accepted=True)
        except DepositError as error:
            raise DepositRefused(error) from None
        data = {
            "id": deposit.pk,
            "state": deposit.state,
            "status": deposit.status,
            "status_label": deposit.get_status_display(),
            "received_at": deposit.received_at,
            "message": finalisation_message(deposit),
            "url": request.build_absolute_uri(reverse("deposits:api_deposit", args=[deposit.pk])),
        }
        return Response(DepositReceivedSerializer(data).data)


@extend_schema(
    summary="Accusé de réception",
    description=(
        "L'accusé de réception du pli, PDF signé et horodaté par la plateforme. Il est prêt "
        "quelques instants après la validation (champ « sealed ») : avant, la réponse est 409."
    ),
    responses={
        (200, "application/pdf"): OpenApiResponse(OpenApiTypes.BINARY, description="Le PDF signé."),
        **_refusals(404, 409),
    },
    tags=TAGS,
)
class DepositReceiptAPIView(_DepositAPIView):
    serializer_class = ErrorSerializer

    def get(self, request, pk: int):
        deposit = get_object_or_404(
            Deposit.objects.select_related("consultation"), pk=pk, company_id=_company_id(request)
        )
        if not has_seal(deposit):
            return Response(
                {
                    "detail": _(
                        "L'accusé de réception de ce pli n'est pas encore prêt : il est établi dans les "
                        "minutes qui suivent la validation. Réessayez un peu plus tard."
                    )
                },
                status=status.HTTP_409_CONFLICT,
                headers={"Retry-After": "30"},
            )
        seal = deposit.seal
        try:
            stored = default_storage.open(seal.receipt_object, "rb")
        except FileNotFoundError:
            raise Http404 from None
        name = f"accuse-de-reception-{deposit.consultation.reference}-pli-{deposit.pk}.pdf"
        return FileResponse(stored, as_attachment=True, filename=name, content_type="application/pdf")
