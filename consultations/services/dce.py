"""The DCE: files in versions. A draft's version 1 is edited freely; once published a
version never changes, and a rectificatif prepares and publishes the next one."""

import hashlib
import os

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import File
from django.db import transaction
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _

from accounts.models import AgentPermission
from accounts.permissions import agent_require
from audit.services import event_record
from consultations.errors import ConsultationError
from consultations.models import Consultation, DceFile, DceVersion, State
from consultations.validators import validate_file_name

# What a DCE may hold: documents, spreadsheets, plans, images and archives. Scripts
# and executables are refused, whatever the buyer meant.
DCE_EXTENSIONS = frozenset(
    {
        ".pdf", ".odt", ".ods", ".odp", ".odg", ".doc", ".docx", ".xls", ".xlsx", ".xlsm", ".ppt", ".pptx",
        ".rtf", ".txt", ".csv", ".xml", ".json", ".zip", ".rar", ".7z", ".gif", ".jpeg", ".jpg", ".png",
        ".tif", ".tiff", ".dwg", ".dxf", ".dwf", ".ifc", ".p7s",
    }
)  # fmt: skip


def dce_file_check(uploaded) -> None:
    """Refuse, with the reason, an upload that cannot be a DCE file."""
    name = os.path.basename(uploaded.name or "")
    try:
        validate_file_name(name)
    except ValidationError as error:
        raise ConsultationError(error.messages[0]) from error
    extension = os.path.splitext(name)[1].lower()
    if extension not in DCE_EXTENSIONS:
        raise ConsultationError(
            _("Le type de fichier « %(ext)s » n'est pas accepté dans un DCE (formats acceptés : %(list)s).")
            % {"ext": extension or _("sans extension"), "list": ", ".join(sorted(DCE_EXTENSIONS))}
        )
    if uploaded.size == 0:
        raise ConsultationError(_("Le fichier « %(name)s » est vide.") % {"name": name})
    if uploaded.size > settings.DCE_MAX_FILE_BYTES:
        raise ConsultationError(
            _("Le fichier « %(name)s » dépasse la taille maximale de %(max)s.")
            % {"name": name, "max": filesizeformat(settings.DCE_MAX_FILE_BYTES)}
        )


def dce_current_version(consultation: Consultation) -> DceVersion | None:
    """The version companies see: the last published one."""
    return consultation.dce_versions.filter(published_at__isnull=False).order_by("-number").first()


def dce_working_version(*, consultation: Consultation, user) -> DceVersion:
    """The version being prepared, created from the last published one if needed."""
    working = consultation.dce_versions.filter(published_at__isnull=True).order_by("-number").first()
    if working is not None:
        return working
    current = dce_current_version(consultation)
    working = DceVersion.objects.create(
        consultation=consultation, number=(current.number + 1 if current else 1), created_by=user
    )
    if current is not None:
        DceFile.objects.bulk_create(
            DceFile(
                version=working,
                name=f.name,
                blob=f.blob.name,
                size=f.size,
                sha256=f.sha256,
                is_rules=f.is_rules,
            )
            for f in current.files.all()
        )
    return working


def _editable(consultation: Consultation) -> None:
    if consultation.state not in {State.DRAFT, State.ONLINE}:
        raise ConsultationError(
            _("Le DCE ne peut être modifié que sur un brouillon, ou par un rectificatif une fois en ligne.")
        )


@transaction.atomic
def dce_file_add(*, consultation: Consultation, user, uploaded, is_rules: bool = False) -> DceFile:
    """Add a file to the working version; a file of the same name, or the previous
    « règlement de consultation », is replaced."""
    agent_require(user, AgentPermission.CREATE, consultation)
    _editable(consultation)
    dce_file_check(uploaded)
    version = dce_working_version(consultation=consultation, user=user)
    name = os.path.basename(uploaded.name)
    replaced = version.files.filter(name=name)
    if is_rules:
        replaced = replaced | version.files.filter(is_rules=True)
    replaced_names = sorted(replaced.values_list("name", flat=True))
    replaced.delete()
    digest = hashlib.sha256()
    for chunk in uploaded.chunks():
        digest.update(chunk)
    uploaded.seek(0)
    dce_file = DceFile(
        version=version, name=name, size=uploaded.size, sha256=digest.hexdigest(), is_rules=is_rules
    )
    dce_file.blob.save(name, File(uploaded), save=False)
    dce_file.save()
    event_record(
        action="dce.file_added",
        actor=user,
        target=consultation,
        organisation=consultation.organisation_id,
        data={"version": version.number, "name": name, "sha256": dce_file.sha256, "replaced": replaced_names},
    )
    return dce_file


@transaction.atomic
def dce_file_remove(*, dce_file: DceFile, user) -> None:
    consultation = dce_file.version.consultation
    agent_require(user, AgentPermission.CREATE, consultation)
    _editable(consultation)
    if dce_file.version.is_published:
        raise ConsultationError(_("Une version publiée du DCE ne change plus."))
    event_record(
        action="dce.file_removed",
        actor=user,
        target=consultation,
        organisation=consultation.organisation_id,
        data={"version": dce_file.version.number, "name": dce_file.name},
    )
    # The blob stays: a published version may share it, and the history keeps it.
    dce_file.delete()
