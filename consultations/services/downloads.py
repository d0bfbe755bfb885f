"""The « registre des retraits »: one line per identified DCE download.

Anonymous downloads and the buyer's own agents leave no line: the law wants the
DCE freely accessible, and only identified downloaders can be told of changes.
"""

from django.core.exceptions import PermissionDenied

from accounts.permissions import company_user_of
from config import clock
from consultations.models import Consultation, DceVersion, Download


def download_record(
    *, consultation: Consultation, version: DceVersion, user, file_name: str = ""
) -> Download:
    """Write the register line of a company user's download (``file_name`` empty for the whole ZIP)."""
    company_user = company_user_of(user)
    if company_user is None:
        raise PermissionDenied
    if version.consultation_id != consultation.pk or not version.is_published:
        raise ValueError("A download is of a published version of this consultation.")
    return Download.objects.create(
        consultation=consultation,
        dce_version=version,
        company_id=company_user.company_id,
        user=user,
        downloaded_at=clock.now(),
        file_name=file_name,
    )
