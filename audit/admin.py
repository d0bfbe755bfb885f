from django.contrib import admin

from audit.models import Event


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    list_display = ["sequence", "created_at", "action", "actor_label", "target_label", "ip_address"]
    list_filter = ["action", "created_at"]
    search_fields = ["action", "actor_label", "target_label", "target_id", "hash"]
    date_hierarchy = "created_at"
    # The actor is shown by id and label: the user may since have been removed.
    fields = readonly_fields = [
        "sequence",
        "created_at",
        "action",
        "actor_id",
        "actor_label",
        "organisation_id",
        "target_type",
        "target_id",
        "target_label",
        "ip_address",
        "data",
        "previous_hash",
        "hash",
    ]
    list_select_related = False

    def get_queryset(self, request):
        """Without the events of the companies' deposits to consultations whose deadline has
        not passed: nobody but its depositor learns of a deposit before then, platform staff
        included (their ``data`` names the consultation)."""
        from django.db.models import Q

        from config import clock
        from consultations.models import Consultation

        undisclosed = Consultation.objects.filter(Q(deadline__isnull=True) | Q(deadline__gt=clock.now()))
        return (
            super()
            .get_queryset(request)
            .exclude(
                action__startswith="deposit.",
                data__consultation__in=list(undisclosed.values_list("pk", flat=True)),
            )
        )

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
