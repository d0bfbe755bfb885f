"""tus « expiration »: an unfinished upload expires 7 days after it started. The server says
when (Upload-Expires), refuses it afterwards (410), and a daily sweep removes what was stored
of it; complete files and validated deposits are never touched."""

from django.utils.http import parse_http_date

from deposits.models import DepositFile
from deposits.services.uploads import UPLOAD_EXPIRY, uploads_expired_remove
from deposits.tasks import uploads_expired_sweep
from tests.deposits.test_tus import (
    SEGMENT,
    company_client,  # noqa: F401
    create,
    patch,
    pdf_bytes,
    stored_objects,
    upload,
)


def test_an_unfinished_upload_says_when_it_expires_and_is_gone_after(
    company_client,  # noqa: F811
    deposit,
    clock,
    django_capture_on_commit_callbacks,
):
    content = pdf_bytes(300_000)
    created = create(company_client, deposit, "offre.pdf", len(content))
    url = created["Location"]
    expires = parse_http_date(created["Upload-Expires"])
    assert expires == int((clock() + UPLOAD_EXPIRY).timestamp())
    assert patch(company_client, url, 0, content[: 2 * SEGMENT]).status_code == 204
    assert parse_http_date(company_client.head(url, headers={"Tus-Resumable": "1.0.0"})["Upload-Expires"])

    # WHEN the company comes back eight days later
    clock.advance(days=8)
    late = patch(company_client, url, 2 * SEGMENT, content[2 * SEGMENT :])
    # THEN the upload is gone, with a message saying what to do
    assert late.status_code == 410
    assert "Cet envoi a expiré" in late.content.decode()

    # AND the daily sweep removes the row and what was stored of it
    assert stored_objects()
    with django_capture_on_commit_callbacks(execute=True):
        assert uploads_expired_sweep() == 1
    assert DepositFile.objects.count() == 0
    assert stored_objects() == []


def test_the_sweep_keeps_complete_files_and_recent_uploads(deposit, company_user, clock):
    complete = upload(deposit, company_user.user, "complete.pdf", pdf_bytes(2000))
    clock.advance(days=8)
    assert uploads_expired_remove() == 0
    assert DepositFile.objects.filter(pk=complete.pk).exists()
