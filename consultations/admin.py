from django.contrib import admin

from consultations.models import (
    Amendment,
    Consultation,
    DceFile,
    DceVersion,
    Download,
    Lot,
    Question,
    RequestedDocument,
)


class LotInline(admin.TabularInline):
    model = Lot
    extra = 0


class RequestedDocumentInline(admin.TabularInline):
    model = RequestedDocument
    extra = 0


@admin.register(Consultation)
class ConsultationAdmin(admin.ModelAdmin):
    """Read mostly: state changes go through the services (and the audit log), never here."""

    list_display = ["reference", "title", "organisation", "state", "deadline"]
    list_filter = ["state", "category", "procedure_type"]
    search_fields = ["reference", "title", "organisation__name"]
    readonly_fields = ["state", "published_at", "scheduled_publication_at", "created_by", "parent"]
    raw_id_fields = ["organisation", "service"]
    inlines = [LotInline, RequestedDocumentInline]


@admin.register(DceVersion)
class DceVersionAdmin(admin.ModelAdmin):
    list_display = ["consultation", "number", "published_at"]
    raw_id_fields = ["consultation", "created_by"]


@admin.register(DceFile)
class DceFileAdmin(admin.ModelAdmin):
    list_display = ["name", "version", "size", "is_rules"]
    raw_id_fields = ["version"]


@admin.register(Amendment)
class AmendmentAdmin(admin.ModelAdmin):
    list_display = ["consultation", "created_at", "created_by"]
    raw_id_fields = ["consultation", "created_by", "dce_version"]


@admin.register(Download)
class DownloadAdmin(admin.ModelAdmin):
    list_display = ["consultation", "company", "user", "downloaded_at", "file_name"]
    raw_id_fields = ["consultation", "dce_version", "company", "user"]


@admin.register(Question)
class QuestionAdmin(admin.ModelAdmin):
    list_display = ["consultation", "company", "asked_at", "answered_at"]
    raw_id_fields = ["consultation", "company", "asked_by", "answered_by"]


@admin.register(Lot)
class LotAdmin(admin.ModelAdmin):
    list_display = ["consultation", "number", "title", "cpv_code"]
    raw_id_fields = ["consultation"]


@admin.register(RequestedDocument)
class RequestedDocumentAdmin(admin.ModelAdmin):
    list_display = ["consultation", "envelope", "label"]
    raw_id_fields = ["consultation"]
