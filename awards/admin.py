from django.contrib import admin

from awards.models import Criterion, EvaluationGrid, OfferAmount, Score
from config import clock
from consultations.admin import ReadOnlyAdmin


class AfterDeadlineAdmin(ReadOnlyAdmin):
    """Scores and amounts come from opened bids: like the deposits, rows appear here only
    once their consultation's deadline has passed. Agents work on them in their screens
    (permission, audit log), never here."""

    consultation_path = "grid__consultation"

    def get_queryset(self, request):
        return (
            super().get_queryset(request).filter(**{f"{self.consultation_path}__deadline__lte": clock.now()})
        )


class CriterionInline(admin.TabularInline):
    model = Criterion
    extra = 0
    fields = ["position", "label", "parent", "weight", "kind", "price_formula", "scale"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(EvaluationGrid)
class EvaluationGridAdmin(AfterDeadlineAdmin):
    consultation_path = "consultation"
    list_display = ["consultation", "lot", "created_at", "created_by"]
    search_fields = ["consultation__reference", "consultation__title"]
    list_select_related = ["consultation", "lot", "created_by"]
    raw_id_fields = ["consultation", "lot", "created_by"]
    inlines = [CriterionInline]


@admin.register(Criterion)
class CriterionAdmin(AfterDeadlineAdmin):
    list_display = ["label", "grid", "parent", "weight", "kind", "price_formula", "scale"]
    list_filter = ["kind", "price_formula"]
    search_fields = ["label", "grid__consultation__reference"]
    list_select_related = ["grid__consultation", "grid__lot", "parent"]
    raw_id_fields = ["grid", "parent"]


@admin.register(OfferAmount)
class OfferAmountAdmin(AfterDeadlineAdmin):
    list_display = ["deposit", "grid", "variant", "amount", "corrected_amount"]
    list_filter = ["variant"]
    search_fields = ["deposit__company__name", "grid__consultation__reference"]
    list_select_related = ["deposit__company", "grid__consultation", "grid__lot"]
    raw_id_fields = ["grid", "deposit"]


@admin.register(Score)
class ScoreAdmin(AfterDeadlineAdmin):
    consultation_path = "criterion__grid__consultation"
    list_display = ["criterion", "deposit", "variant", "value", "scored_at", "scored_by"]
    list_filter = ["variant"]
    search_fields = ["criterion__label", "deposit__company__name", "criterion__grid__consultation__reference"]
    list_select_related = ["criterion", "deposit__company", "scored_by"]
    raw_id_fields = ["criterion", "deposit", "scored_by"]
