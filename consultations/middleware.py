"""The embedded default has no Celery beat: requests run the timed-events sweep instead.

With a real broker, beat runs ``consultations_sweep`` every minute and this
middleware is not installed (see settings). Without one (``make run``), a
consultation scheduled for 14:00 must still go online at 14:00: the first request
after that minute runs the sweep, at most once a minute.
"""

import logging

from django.core.cache import cache

from consultations.tasks import consultations_sweep

SWEEP_KEY = "consultations:embedded-sweep"
logger = logging.getLogger(__name__)


class EmbeddedSweepMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if cache.add(SWEEP_KEY, 1, timeout=60):
            try:
                consultations_sweep()
            except Exception:
                # The visitor's page does not depend on it; the next minute tries again.
                logger.exception("Le passage des échéances des consultations a échoué.")
        return self.get_response(request)
