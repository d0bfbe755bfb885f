from django.contrib import admin

from awards.models import (
    CandidatureReview,
    ContractModification,
    Criterion,
    Decision,
    EssentialData,
    EvaluationGrid,
    OfferAmount,
    Score,
)
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


@admin.register(CandidatureReview)
class CandidatureReviewAdmin(AfterDeadlineAdmin):
    consultation_path = "deposit__consultation"
    list_display = ["deposit", "admitted", "professional_ok", "technical_ok", "financial_ok", "reviewed_at"]
    list_filter = ["admitted"]
    search_fields = ["deposit__company__name", "deposit__consultation__reference"]
    list_select_related = ["deposit__company", "deposit__consultation", "reviewed_by"]
    raw_id_fields = ["deposit", "reviewed_by"]


@admin.register(Decision)
class DecisionAdmin(AfterDeadlineAdmin):
    consultation_path = "consultation"
    list_display = ["consultation", "lot", "outcome", "deposit", "amount", "decided_at", "letters_sent_at"]
    list_filter = ["outcome"]
    search_fields = ["consultation__reference", "consultation__title", "deposit__company__name"]
    list_select_related = ["consultation", "lot", "deposit__company"]
    raw_id_fields = ["consultation", "lot", "deposit", "decided_by", "notification"]


@admin.register(EssentialData)
class EssentialDataAdmin(AfterDeadlineAdmin):
    consultation_path = "decision__consultation"
    list_display = ["decision", "published_at"]
    search_fields = ["decision__consultation__reference"]
    list_select_related = ["decision__consultation", "decision__lot"]
    raw_id_fields = ["decision"]


@admin.register(ContractModification)
class ContractModificationAdmin(AfterDeadlineAdmin):
    consultation_path = "essential_data__decision__consultation"
    list_display = ["essential_data", "number", "amount", "duration_months", "notified_on", "published_at"]
    search_fields = ["essential_data__decision__consultation__reference"]
    raw_id_fields = ["essential_data"]
