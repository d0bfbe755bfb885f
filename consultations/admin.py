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


class ReadOnlyAdmin(admin.ModelAdmin):
    """Legal records and published versions: administrators see them, nobody edits or deletes
    them outside the services (which write the audit log and notify the companies)."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class LotInline(admin.TabularInline):
    model = Lot
    extra = 0


class RequestedDocumentInline(admin.TabularInline):
    model = RequestedDocument
    extra = 0


@admin.register(Consultation)
class ConsultationAdmin(ReadOnlyAdmin):
    """Consultations change through the buyer's screens (services, audit log, notices to
    companies), never here."""

    list_display = ["reference", "title", "organisation", "state", "deadline"]
    list_filter = ["state", "category", "procedure_type"]
    search_fields = ["reference", "title", "organisation__name"]
    readonly_fields = ["state", "published_at", "scheduled_publication_at", "created_by", "parent"]
    raw_id_fields = ["organisation", "service"]
    inlines = [LotInline, RequestedDocumentInline]


@admin.register(DceVersion)
class DceVersionAdmin(ReadOnlyAdmin):
    list_display = ["consultation", "number", "published_at"]
    raw_id_fields = ["consultation", "created_by"]


@admin.register(DceFile)
class DceFileAdmin(ReadOnlyAdmin):
    list_display = ["name", "version", "size", "is_rules"]
    raw_id_fields = ["version"]


@admin.register(Amendment)
class AmendmentAdmin(ReadOnlyAdmin):
    list_display = ["consultation", "created_at", "created_by"]
    raw_id_fields = ["consultation", "created_by", "dce_version"]


@admin.register(Download)
class DownloadAdmin(ReadOnlyAdmin):
    list_display = ["consultation", "company", "user", "downloaded_at", "file_name"]
    raw_id_fields = ["consultation", "dce_version", "company", "user"]


@admin.register(Question)
class QuestionAdmin(ReadOnlyAdmin):
    list_display = ["consultation", "company", "asked_at", "answered_at"]
    raw_id_fields = ["consultation", "company", "asked_by", "answered_by"]


@admin.register(Lot)
class LotAdmin(ReadOnlyAdmin):
    list_display = ["consultation", "number", "title", "cpv_code"]
    raw_id_fields = ["consultation"]


@admin.register(RequestedDocument)
class RequestedDocumentAdmin(ReadOnlyAdmin):
    list_display = ["consultation", "envelope", "label"]
    raw_id_fields = ["consultation"]
