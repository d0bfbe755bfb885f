"""Tasks are adapters: they take ids, load, and call a service."""

from celery import shared_task

from config import clock
from consultations.models import Consultation, State
from consultations.services.lifecycle import consultation_timed_events_run as run_timed_events


@shared_task
def consultation_timed_events_run(consultation_id: int) -> list[str]:
    consultation = Consultation.objects.filter(pk=consultation_id).first()
    if consultation is None:
        return []
    return run_timed_events(consultation=consultation)


@shared_task
def consultations_sweep() -> int:
    """Catch every publication or closing a lost ETA task missed."""
    now = clock.now()
    due = Consultation.objects.filter(
        state=State.SCHEDULED, scheduled_publication_at__lte=now
    ) | Consultation.objects.filter(state=State.ONLINE, deadline__lte=now)
    count = 0
    for consultation in due.order_by("pk"):
        count += len(run_timed_events(consultation=consultation))
    return count
