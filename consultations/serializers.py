"""What the public API says of a consultation: only what its public page shows."""

from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from consultations.models import Consultation, DceFile, DceVersion, Lot, State
from consultations.policy import is_public
from consultations.views.downloads import ANONYMOUS


def _absolute(request, url: str) -> str:
    return request.build_absolute_uri(url) if request is not None else url


class BuyerSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class ConsultationSummarySerializer(serializers.ModelSerializer):
    buyer = BuyerSerializer(source="organisation", read_only=True)
    restricted = serializers.BooleanField(source="is_restricted", read_only=True)
    page_url = serializers.SerializerMethodField()
    api_url = serializers.SerializerMethodField()

    class Meta:
        model = Consultation
        fields = [
            "id",
            "reference",
            "title",
            "object",
            "buyer",
            "state",
            "contract_type",
            "procedure_type",
            "category",
            "cpv_code",
            "place_of_execution",
            "published_at",
            "deadline",
            "restricted",
            "page_url",
            "api_url",
        ]

    def get_page_url(self, consultation) -> str:
        return _absolute(self.context.get("request"), reverse("consultations:detail", args=[consultation.pk]))

    def get_api_url(self, consultation) -> str:
        return _absolute(
            self.context.get("request"), reverse("consultations:api_detail", args=[consultation.pk])
        )


class LotSerializer(serializers.ModelSerializer):
    class Meta:
        model = Lot
        fields = ["number", "title", "description", "cpv_code"]


class DceFileSerializer(serializers.ModelSerializer):
    rules_document = serializers.BooleanField(source="is_rules")
    download_url = serializers.SerializerMethodField(
        help_text="Téléchargement anonyme du fichier (version en vigueur seulement ; null sinon)."
    )

    class Meta:
        model = DceFile
        fields = ["name", "size", "sha256", "rules_document", "download_url"]

    def get_download_url(self, dce_file) -> str | None:
        if self.context.get("downloadable_version") != dce_file.version_id:
            return None
        url = reverse("consultations:dce_file", args=[dce_file.version.consultation_id, dce_file.pk])
        return _absolute(self.context.get("request"), f"{url}?mode={ANONYMOUS}")


class DceVersionSerializer(serializers.ModelSerializer):
    current = serializers.SerializerMethodField()
    files = serializers.SerializerMethodField(
        help_text="Les fichiers de la version ; null pour une consultation à accès restreint."
    )

    class Meta:
        model = DceVersion
        fields = ["number", "published_at", "current", "files"]

    def get_current(self, version) -> bool:
        return self.context.get("current_version") == version.pk

    @extend_schema_field(DceFileSerializer(many=True, allow_null=True))
    def get_files(self, version) -> list[dict] | None:
        if not self.context.get("files_visible"):
            return None
        return DceFileSerializer(version.files.all(), many=True, context=self.context).data


class AmendmentSerializer(serializers.Serializer):
    date = serializers.DateTimeField(source="created_at")
    reason = serializers.CharField()


class ConsultationDetailSerializer(ConsultationSummarySerializer):
    lots = LotSerializer(many=True, read_only=True)
    dce_versions = serializers.SerializerMethodField()
    dce_zip_url = serializers.SerializerMethodField(
        help_text="Le DCE complet en un ZIP, téléchargement anonyme ; null s'il n'est pas téléchargeable."
    )
    amendments = AmendmentSerializer(many=True, read_only=True)
    question_deadline = serializers.SerializerMethodField()

    class Meta(ConsultationSummarySerializer.Meta):
        fields = [
            *ConsultationSummarySerializer.Meta.fields,
            "cpv_additional",
            "variants_allowed",
            "electronic_response",
            "signature_rule",
            "offer_validity_days",
            "question_deadline",
            "cancelled_at",
            "cancellation_reason",
            "lots",
            "amendments",
            "dce_versions",
            "dce_zip_url",
        ]

    def _versions_context(self, consultation) -> dict:
        versions = list(consultation.published_versions)
        current = versions[0] if versions else None
        # The API never hands out the files of a restricted consultation: its code is asked on the page.
        files_visible = is_public(consultation) and not consultation.is_restricted
        downloadable = files_visible and current is not None and consultation.state != State.CANCELLED
        return {
            **self.context,
            "current_version": current.pk if current else None,
            "downloadable_version": current.pk if downloadable else None,
            "files_visible": files_visible,
        }

    @extend_schema_field(DceVersionSerializer(many=True))
    def get_dce_versions(self, consultation) -> list[dict]:
        context = self._versions_context(consultation)
        return DceVersionSerializer(consultation.published_versions, many=True, context=context).data

    def get_dce_zip_url(self, consultation) -> str | None:
        if self._versions_context(consultation)["downloadable_version"] is None:
            return None
        url = reverse("consultations:dce_zip", args=[consultation.pk])
        return _absolute(self.context.get("request"), f"{url}?mode={ANONYMOUS}")

    @extend_schema_field(serializers.DateTimeField(allow_null=True))
    def get_question_deadline(self, consultation) -> str | None:
        moment = consultation.question_deadline()
        return serializers.DateTimeField().to_representation(moment) if moment else None
