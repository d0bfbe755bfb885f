"""Which files the platform accepts from users, judged by name and by content.

A file is accepted when its extension is in the list the caller gives and its first
bytes are those of that format: an executable renamed ``devis.pdf`` is refused.
The default list is the one bidders are told about (« formats de fichiers acceptés »);
detached signatures (``.p7s``, ``.xml``) are added so signed documents can travel.
"""

import os

from django.core.exceptions import ValidationError
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _

from consultations.validators import validate_file_name

ACCEPTED_EXTENSIONS = frozenset(
    {
        ".odt", ".ods", ".doc", ".docx", ".txt", ".rtf", ".pdf", ".xls", ".xlsx", ".rar", ".zip",
        ".gif", ".jpeg", ".jpg", ".png", ".ppt", ".dwg", ".dxf", ".p7s", ".xml",
    }
)  # fmt: skip

_ZIP = (b"PK\x03\x04", b"PK\x05\x06")
_OLE = (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",)
# The first bytes each format starts with; None: a text format (no NUL byte).
MAGIC: dict[str, tuple[bytes, ...] | None] = {
    ".pdf": (b"%PDF-",),
    ".zip": _ZIP,
    ".docx": _ZIP,
    ".xlsx": _ZIP,
    ".pptx": _ZIP,
    ".odt": _ZIP,
    ".ods": _ZIP,
    ".odp": _ZIP,
    ".doc": _OLE,
    ".xls": _OLE,
    ".ppt": _OLE,
    ".rar": (b"Rar!\x1a\x07",),
    ".gif": (b"GIF87a", b"GIF89a"),
    ".png": (b"\x89PNG\r\n\x1a\n",),
    ".jpeg": (b"\xff\xd8\xff",),
    ".jpg": (b"\xff\xd8\xff",),
    ".rtf": (b"{\\rtf",),
    ".dwg": (b"AC10",),
    ".p7s": (b"0", b"-----BEGIN"),
    ".txt": None,
    ".csv": None,
    ".dxf": None,
    ".xml": None,
}
SNIFF_BYTES = 8192


def extension_of(name: str) -> str:
    return os.path.splitext(name)[1].lower()


def content_matches(extension: str, head: bytes) -> bool:
    """Whether the first bytes of a file are those of its extension's format."""
    if extension not in MAGIC:
        return False
    signatures = MAGIC[extension]
    if signatures is None:
        return b"\x00" not in head[:SNIFF_BYTES]
    if extension == ".pdf":
        # Some producers write a few bytes before the header; readers look in the first kilobyte.
        return b"%PDF-" in head[:1024]
    return head.startswith(signatures)


def upload_check(uploaded, *, max_bytes: int, extensions: frozenset[str] = ACCEPTED_EXTENSIONS) -> str:
    """Refuse, with a French reason, a file that is not acceptable; returns its clean name.

    Reads only the first bytes: the file stays where the upload handler put it.
    """
    name = os.path.basename(uploaded.name or "")
    try:
        validate_file_name(name)
    except ValidationError as error:
        raise ValidationError(error.messages[0], code="file_name") from error
    extension = extension_of(name)
    if extension not in extensions:
        raise ValidationError(
            _("Le type de fichier « %(ext)s » n'est pas accepté (formats acceptés : %(list)s).")
            % {"ext": extension or _("sans extension"), "list": ", ".join(sorted(extensions))},
            code="file_type",
        )
    if not uploaded.size:
        raise ValidationError(_("Le fichier « %(name)s » est vide.") % {"name": name}, code="file_empty")
    if uploaded.size > max_bytes:
        raise ValidationError(
            _("Le fichier « %(name)s » dépasse la taille maximale de %(max)s.")
            % {"name": name, "max": filesizeformat(max_bytes)},
            code="file_size",
        )
    uploaded.seek(0)
    head = uploaded.read(SNIFF_BYTES)
    uploaded.seek(0)
    if not content_matches(extension, head):
        raise ValidationError(
            _(
                "Le contenu du fichier « %(name)s » ne correspond pas à un fichier « %(ext)s » : "
                "vérifiez le fichier ou enregistrez-le dans ce format."
            )
            % {"name": name, "ext": extension},
            code="file_content",
        )
    return name
