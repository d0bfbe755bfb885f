import logging

from celery import shared_task

from audit.services import chain_verify

logger = logging.getLogger(__name__)


@shared_task
def audit_verify_chain() -> int:
    problems = chain_verify()
    for problem in problems:
        logger.error("Audit chain broken: %s", problem)
    return len(problems)
