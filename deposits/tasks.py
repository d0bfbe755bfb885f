"""Adapters: take ids, call a service (deposits/services/sealing.py)."""

import logging

from celery import shared_task

from deposits.services import sealing

logger = logging.getLogger(__name__)

# About two hours of tries: 1, 2, 4 … 64 minutes apart; the sweep takes over after that.
MAX_RETRIES = 7


def backoff(retries: int) -> int:
    return 60 * 2**retries


@shared_task(bind=True, max_retries=MAX_RETRIES, acks_late=True)
def deposit_seal(self, deposit_id: int) -> int | None:
    """Seal a finalised deposit; the timestamping authority or storage failing is retried."""
    try:
        seal = sealing.deposit_seal(deposit_id)
    except sealing.SealRefused:
        # Storage does not hold what was received: retrying changes nothing, the chain
        # check reports the deposit, and the audit log has the reason.
        return None
    except OSError as error:
        if self.request.is_eager or self.request.retries >= self.max_retries:
            # In process there is no queue to wait in: the sweep seals it later.
            logger.warning(
                "Sealing of deposit %s postponed to the sweep: %s", deposit_id, type(error).__name__
            )
            return None
        raise self.retry(exc=error, countdown=backoff(self.request.retries)) from error
    return seal.pk if seal is not None else None


@shared_task
def deposits_seal_sweep() -> dict[str, int]:
    return sealing.deposits_seal_sweep()


@shared_task(bind=True, max_retries=MAX_RETRIES, acks_late=True)
def receipt_mail(self, seal_id: int) -> bool:
    try:
        return sealing.receipt_mail_send(seal_id=seal_id)
    except OSError as error:
        if self.request.is_eager or self.request.retries >= self.max_retries:
            logger.warning("Receipt mail of seal %s not sent: %s", seal_id, type(error).__name__)
            return False
        raise self.retry(exc=error, countdown=backoff(self.request.retries)) from error


@shared_task
def uploads_expired_sweep() -> int:
    from deposits.services.uploads import uploads_expired_remove

    return uploads_expired_remove()
