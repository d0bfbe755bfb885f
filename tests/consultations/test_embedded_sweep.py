"""Without a broker (``make run``), a scheduled consultation still goes online on time."""

from datetime import timedelta

from django.core.cache import cache

from consultations.middleware import SWEEP_KEY, EmbeddedSweepMiddleware
from consultations.models import State
from tests.factories import T0, ConsultationFactory


def test_the_first_request_after_the_publication_time_puts_the_consultation_online(rf, clock, db):
    # GIVEN a consultation scheduled for 10:00 and no beat to publish it
    consultation = ConsultationFactory(
        state=State.SCHEDULED, scheduled_publication_at=T0 + timedelta(hours=1)
    )
    middleware = EmbeddedSweepMiddleware(lambda request: None)
    cache.delete(SWEEP_KEY)

    # WHEN a request arrives at 09:59, nothing happens yet
    clock.set(T0 + timedelta(minutes=59))
    middleware(rf.get("/"))
    consultation.refresh_from_db()
    assert consultation.state == State.SCHEDULED

    # THEN the first request of the next minute (the sweep runs at most once a minute) publishes it
    clock.set(T0 + timedelta(hours=1, seconds=5))
    cache.delete(SWEEP_KEY)  # the minute has passed
    middleware(rf.get("/"))
    consultation.refresh_from_db()
    assert consultation.state == State.ONLINE
    assert consultation.published_at == T0 + timedelta(hours=1, seconds=5)


def test_the_sweep_runs_at_most_once_a_minute(rf, clock, db):
    consultation = ConsultationFactory(
        state=State.SCHEDULED, scheduled_publication_at=T0 + timedelta(hours=1)
    )
    middleware = EmbeddedSweepMiddleware(lambda request: None)
    cache.delete(SWEEP_KEY)
    middleware(rf.get("/"))
    clock.set(T0 + timedelta(hours=1))
    middleware(rf.get("/"))  # within the same minute: no sweep
    consultation.refresh_from_db()
    assert consultation.state == State.SCHEDULED
