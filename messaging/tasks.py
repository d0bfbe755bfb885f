"""Adapters: take ids, call a service."""

import logging

from celery import shared_task

from messaging.services import delivery

logger = logging.getLogger(__name__)

# About two hours of tries: 1, 2, 4 … 64 minutes apart.
MAX_RETRIES = 7


def backoff(retries: int) -> int:
    return 60 * 2**retries


@shared_task(bind=True, max_retries=MAX_RETRIES, acks_late=True)
def delivery_send(self, delivery_id: int) -> None:
    try:
        delivery.delivery_attempt(delivery_id=delivery_id)
    except OSError as error:
        if self.request.retries >= self.max_retries:
            logger.warning("Notification %s abandoned after %s tries", delivery_id, self.request.retries + 1)
            delivery.delivery_fail(delivery_id=delivery_id)
            return
        if self.request.is_eager:
            # In process (embedded platform, tests) there is no queue to wait in, and Celery's
            # retry would escape to the caller as an exception: try again at once instead.
            self.apply(args=(delivery_id,), retries=self.request.retries + 1)
            return
        raise self.retry(exc=error, countdown=backoff(self.request.retries)) from error


@shared_task
def deliveries_sweep() -> dict[str, int]:
    return delivery.deliveries_sweep()
