from django.contrib import admin

from config import clock
from consultations.admin import ReadOnlyAdmin
from deposits.models import (
    BackupCopy,
    ConsortiumMember,
    Deposit,
    DepositFile,
    Envelope,
    FilePart,
    Opening,
    OpeningKey,
    Seal,
    WrappedKey,
)


@admin.register(OpeningKey)
class OpeningKeyAdmin(ReadOnlyAdmin):
    """Keys are added and withdrawn through the buyer's screens (permission, state of the
    consultation, audit log), never here. The platform holds no private key to show."""

    list_display = [
        "label",
        "consultation",
        "organisation",
        "is_backup",
        "key_size",
        "not_after",
        "revoked_at",
    ]
    list_filter = ["is_backup", "origin"]
    search_fields = ["label", "fingerprint", "consultation__reference", "organisation__name"]
    list_select_related = ["consultation", "organisation"]
    raw_id_fields = ["organisation", "consultation", "created_by", "revoked_by"]


class AfterDeadlineAdmin(ReadOnlyAdmin):
    """Nobody but its depositor sees a deposit before the deadline, platform staff included:
    rows appear here once their consultation's deadline has passed."""

    consultation_path = "deposit__consultation"

    def get_queryset(self, request):
        return (
            super().get_queryset(request).filter(**{f"{self.consultation_path}__deadline__lte": clock.now()})
        )


class ConsortiumMemberInline(admin.TabularInline):
    model = ConsortiumMember
    extra = 0
    fields = ["role", "siret", "name", "position"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


class EnvelopeInline(admin.TabularInline):
    model = Envelope
    extra = 0
    fields = ["kind", "lot", "opening"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Deposit)
class DepositAdmin(AfterDeadlineAdmin):
    """Deposits are started, filled and finalised by the companies' users only; their time is
    the database's. Administrators see names and sizes, never content (it is encrypted)."""

    consultation_path = "consultation"
    list_display = ["pk", "consultation", "company", "state", "status", "received_at", "is_practice"]
    list_filter = ["state", "status", "is_practice"]
    search_fields = ["consultation__reference", "company__name", "company__siret"]
    list_select_related = ["consultation", "company"]
    raw_id_fields = ["consultation", "company", "created_by", "finalised_by", "superseded_by"]
    filter_horizontal = ["keys"]
    inlines = [ConsortiumMemberInline, EnvelopeInline]


@admin.register(Envelope)
class EnvelopeAdmin(AfterDeadlineAdmin):
    consultation_path = "deposit__consultation"
    list_display = ["pk", "deposit", "kind", "lot"]
    list_filter = ["kind"]
    search_fields = ["deposit__consultation__reference", "deposit__company__name"]
    list_select_related = ["deposit__consultation", "deposit__company", "lot"]
    raw_id_fields = ["deposit", "lot"]


@admin.register(DepositFile)
class DepositFileAdmin(AfterDeadlineAdmin):
    consultation_path = "envelope__deposit__consultation"
    list_display = ["name", "envelope", "size", "offset", "scan", "completed_at"]
    list_filter = ["scan"]
    search_fields = [
        "name",
        "sha256",
        "envelope__deposit__consultation__reference",
        "envelope__deposit__company__name",
    ]
    list_select_related = ["envelope__deposit__consultation", "envelope__deposit__company", "envelope__lot"]
    raw_id_fields = ["envelope", "created_by"]
    # The in-progress data key is encrypted, but it has no business on a screen.
    exclude = ["upload_key", "nonce_prefix", "opened_key"]


@admin.register(FilePart)
class FilePartAdmin(AfterDeadlineAdmin):
    consultation_path = "deposit_file__envelope__deposit__consultation"
    list_display = ["deposit_file", "number", "plaintext_offset", "plaintext_size", "stored_size"]
    search_fields = ["object_name", "deposit_file__name"]
    list_select_related = ["deposit_file"]
    raw_id_fields = ["deposit_file"]


@admin.register(WrappedKey)
class WrappedKeyAdmin(AfterDeadlineAdmin):
    consultation_path = "deposit_file__envelope__deposit__consultation"
    list_display = ["deposit_file", "opening_key"]
    search_fields = ["deposit_file__name", "opening_key__fingerprint"]
    list_select_related = ["deposit_file", "opening_key__consultation"]
    raw_id_fields = ["deposit_file", "opening_key"]


@admin.register(ConsortiumMember)
class ConsortiumMemberAdmin(AfterDeadlineAdmin):
    consultation_path = "deposit__consultation"
    list_display = ["name", "siret", "role", "deposit"]
    list_filter = ["role"]
    search_fields = ["name", "siret", "deposit__consultation__reference"]
    list_select_related = ["deposit__consultation", "deposit__company"]
    raw_id_fields = ["deposit"]


@admin.register(BackupCopy)
class BackupCopyAdmin(AfterDeadlineAdmin):
    consultation_path = "consultation"
    list_display = ["company", "consultation", "sent_on", "medium", "declared_at"]
    search_fields = ["company__name", "company__siret", "consultation__reference"]
    list_select_related = ["company", "consultation"]
    raw_id_fields = ["consultation", "company", "declared_by"]


@admin.register(Opening)
class OpeningAdmin(ReadOnlyAdmin):
    """Openings are made by the agents' screens only (key file, password, second factor)."""

    list_display = ["consultation", "scope", "opened_by", "opened_at", "key"]
    list_filter = ["scope"]
    search_fields = ["consultation__reference", "reason"]
    list_select_related = ["consultation", "opened_by", "key"]
    raw_id_fields = ["consultation", "opened_by", "key"]


@admin.register(Seal)
class SealAdmin(AfterDeadlineAdmin):
    """The seal chain is written by the sealing task only; changing a row would break it."""

    consultation_path = "consultation"
    list_display = ["consultation", "sequence", "deposit", "sealed_at", "mailed_at"]
    search_fields = ["consultation__reference", "seal_hash", "receipt_sha256"]
    list_select_related = ["consultation", "deposit__company"]
    raw_id_fields = ["deposit", "consultation"]
    exclude = ["timestamp_token"]
