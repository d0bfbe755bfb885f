from django.contrib import admin

from consultations.admin import ReadOnlyAdmin
from deposits.models import OpeningKey


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
