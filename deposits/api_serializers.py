"""What the deposit API says of a company's own deposits (« plis »), and what it takes.

Read only: the rules live in deposits/services; these only shape the answers. URLs are
absolute, so a client follows them as they come.
"""

from django.conf import settings
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from deposits import crypto, tus
from deposits.models import Deposit, DepositFile, Envelope
from deposits.services.uploads import consultation_extensions


def _absolute(request, url: str) -> str:
    return request.build_absolute_uri(url) if request is not None else url


def has_seal(deposit: Deposit) -> bool:
    sealed = getattr(deposit, "sealed", None)
    return bool(sealed) if sealed is not None else hasattr(deposit, "seal")


class ConsultationRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    reference = serializers.CharField()
    title = serializers.CharField()


class LotRefSerializer(serializers.Serializer):
    number = serializers.IntegerField()
    title = serializers.CharField()


class DepositSummarySerializer(serializers.ModelSerializer):
    consultation = ConsultationRefSerializer(read_only=True)
    state_label = serializers.CharField(source="get_state_display", read_only=True)
    status_label = serializers.CharField(source="get_status_display", read_only=True)
    files_count = serializers.SerializerMethodField(help_text="Nombre de fichiers du pli.")
    sealed = serializers.SerializerMethodField(
        help_text="L'accusé de réception signé et horodaté est prêt à être téléchargé."
    )
    url = serializers.SerializerMethodField(help_text="Le détail du pli dans l'API.")
    receipt_url = serializers.SerializerMethodField(
        help_text="L'accusé de réception (PDF) une fois le pli scellé ; null avant."
    )

    class Meta:
        model = Deposit
        fields = [
            "id",
            "url",
            "consultation",
            "state",
            "state_label",
            "status",
            "status_label",
            "is_practice",
            "created_at",
            "received_at",
            "files_count",
            "sealed",
            "receipt_url",
        ]

    def get_files_count(self, deposit) -> int:
        count = getattr(deposit, "files_count", None)
        if count is None:
            count = DepositFile.objects.filter(envelope__deposit=deposit).count()
        return count

    def get_sealed(self, deposit) -> bool:
        return has_seal(deposit)

    def get_url(self, deposit) -> str:
        return _absolute(self.context.get("request"), reverse("deposits:api_deposit", args=[deposit.pk]))

    def get_receipt_url(self, deposit) -> str | None:
        if not has_seal(deposit):
            return None
        return _absolute(self.context.get("request"), reverse("deposits:api_receipt", args=[deposit.pk]))


class DepositFileSerializer(serializers.ModelSerializer):
    complete = serializers.BooleanField(source="is_complete", read_only=True)
    scan_label = serializers.CharField(source="get_scan_display", read_only=True)
    upload_url = serializers.SerializerMethodField(
        help_text="L'adresse tus de l'envoi (HEAD, PATCH, DELETE)."
    )

    class Meta:
        model = DepositFile
        fields = [
            "id",
            "name",
            "document_label",
            "size",
            "offset",
            "complete",
            "sha256",
            "scan",
            "scan_label",
            "created_at",
            "completed_at",
            "upload_url",
        ]

    def get_upload_url(self, deposit_file) -> str:
        return _absolute(
            self.context.get("request"), reverse("deposits:tus_upload", args=[deposit_file.upload_id])
        )


class EnvelopeSerializer(serializers.ModelSerializer):
    kind_label = serializers.CharField(source="get_kind_display", read_only=True)
    lot = LotRefSerializer(read_only=True, allow_null=True)
    files = DepositFileSerializer(many=True, read_only=True)

    class Meta:
        model = Envelope
        fields = ["id", "kind", "kind_label", "lot", "files"]


class RequestedDocumentSerializer(serializers.Serializer):
    envelope = serializers.CharField(help_text="Type d'enveloppe (candidature, offer, variant).")
    label = serializers.CharField(help_text="À envoyer tel quel dans la métadonnée « document ».")


class UploadMetadataSerializer(serializers.Serializer):
    filename = serializers.CharField()
    deposit = serializers.CharField()
    envelope = serializers.CharField()
    document = serializers.CharField()


class UploadSerializer(serializers.Serializer):
    """How to send the files: the tus 1.0 endpoint and what to put in Upload-Metadata."""

    protocol = serializers.CharField()
    endpoint = serializers.CharField(help_text="Adresse de création des envois tus (POST).")
    headers = serializers.DictField(child=serializers.CharField())
    metadata = UploadMetadataSerializer(help_text="Clés de l'en-tête Upload-Metadata (valeurs en base64).")
    extensions = serializers.ListField(child=serializers.CharField())
    checksum_algorithms = serializers.ListField(child=serializers.CharField())
    min_chunk_bytes = serializers.IntegerField()
    max_file_bytes = serializers.IntegerField()
    accepted_extensions = serializers.ListField(child=serializers.CharField())
    requested_documents = RequestedDocumentSerializer(many=True)


def upload_instructions(deposit: Deposit, request) -> dict:
    consultation = deposit.consultation
    return {
        "protocol": f"tus {tus.TUS_VERSION}",
        "endpoint": _absolute(request, reverse("deposits:tus_endpoint")),
        "headers": {"Authorization": "Bearer <votre jeton sdm_…>", "Tus-Resumable": tus.TUS_VERSION},
        "metadata": {
            "filename": str(_("nom du fichier, obligatoire")),
            "deposit": str(deposit.pk),
            "envelope": str(_("identifiant de l'enveloppe (champ « id » d'une enveloppe)")),
            "document": str(_("intitulé d'un document demandé, facultatif")),
        },
        "extensions": tus.TUS_EXTENSIONS.split(","),
        "checksum_algorithms": list(tus.CHECKSUM_ALGORITHMS),
        "min_chunk_bytes": crypto.SEGMENT_SIZE,
        "max_file_bytes": settings.DEPOSIT_MAX_FILE_BYTES,
        "accepted_extensions": sorted(consultation_extensions(consultation)),
        "requested_documents": [
            {"envelope": document.envelope, "label": document.label}
            for document in consultation.requested_documents.order_by("envelope", "position", "pk")
        ],
    }


class DepositDetailSerializer(DepositSummarySerializer):
    envelopes = EnvelopeSerializer(many=True, read_only=True)
    upload = serializers.SerializerMethodField(
        help_text="Pour envoyer les fichiers d'un pli en préparation ; null une fois le pli validé."
    )

    class Meta(DepositSummarySerializer.Meta):
        fields = [*DepositSummarySerializer.Meta.fields, "envelopes", "upload"]

    @extend_schema_field(UploadSerializer(allow_null=True))
    def get_upload(self, deposit) -> dict | None:
        if not deposit.is_draft:
            return None
        return UploadSerializer(upload_instructions(deposit, self.context.get("request"))).data


class DepositStartSerializer(serializers.Serializer):
    access_code = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=32,
        help_text="Le code d'accès d'une consultation à accès restreint, s'il n'a pas encore été donné.",
    )


class DepositFinalizeSerializer(serializers.Serializer):
    conditions_accepted = serializers.BooleanField(
        help_text="Vous acceptez les conditions d'utilisation de la plateforme : obligatoire (true)."
    )

    def validate_conditions_accepted(self, value: bool) -> bool:
        if not value:
            raise serializers.ValidationError(
                _(
                    "Acceptez les conditions d'utilisation (« conditions_accepted »: true) "
                    "pour valider le pli."
                )
            )
        return value


class DepositReceivedSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    state = serializers.CharField()
    status = serializers.CharField()
    status_label = serializers.CharField()
    received_at = serializers.DateTimeField()
    message = serializers.CharField(help_text="La phrase à montrer à l'utilisateur, en français.")
    url = serializers.CharField()


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()
