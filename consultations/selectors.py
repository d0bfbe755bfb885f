"""Reads of the consultations, for the buyer's screens. Each read costs a fixed
number of queries, whatever the number of rows."""

from django.db.models import Count, Prefetch, QuerySet

from audit.models import Event
from consultations.models import Consultation, DceVersion, State
from consultations.search import fold


def buyer_consultations(
    *, organisation_id: int, state: str = "", reference: str = "", keyword: str = ""
) -> QuerySet[Consultation]:
    """The organisation's consultations for the dashboard, newest first, filtered."""
    consultations = Consultation.objects.of_organisation(organisation_id)
    reference = reference.strip()
    if reference:
        consultations = consultations.filter(reference__icontains=reference)
    for word in fold(keyword).split():
        consultations = consultations.filter(search_text__contains=word)
    if state:
        consultations = consultations.filter(state=state)
    return consultations.only("pk", "reference", "title", "state", "deadline", "created_at").order_by(
        "-created_at", "-pk"
    )


def buyer_state_counts(*, organisation_id: int, reference: str = "", keyword: str = "") -> dict[str, int]:
    """How many consultations in each state (every state present, zero included), in one query."""
    rows = (
        buyer_consultations(organisation_id=organisation_id, reference=reference, keyword=keyword)
        .order_by()
        .values("state")
        .annotate(count=Count("pk"))
    )
    counts = dict.fromkeys(State.values, 0)
    counts.update({row["state"]: row["count"] for row in rows})
    return counts


def buyer_consultation_details(*, organisation_id: int) -> QuerySet[Consultation]:
    """The organisation's consultations with everything their « détails » page shows, prefetched."""
    versions = DceVersion.objects.order_by("number").prefetch_related("files")
    return (
        Consultation.objects.of_organisation(organisation_id)
        .select_related("organisation", "service", "created_by", "validated_by")
        .prefetch_related("lots", "requested_documents", Prefetch("dce_versions", queryset=versions))
    )


def consultation_history(consultation: Consultation) -> QuerySet[Event]:
    """Every audited event of this consultation, in the order it happened."""
    return Event.objects.filter(
        target_type=Consultation._meta.label_lower, target_id=str(consultation.pk)
    ).order_by("sequence")
