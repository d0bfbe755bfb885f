from celery import shared_task
from django.core.mail import send_mail


@shared_task(autoretry_for=(OSError,), retry_backoff=30, retry_jitter=True, max_retries=8)
def email_send(*, subject: str, body: str, to: list[str]) -> None:
    send_mail(subject=subject, message=body, from_email=None, recipient_list=to)
