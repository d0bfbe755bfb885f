"""Checks on what buyers type: CPV codes and file names."""

import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

_CPV = re.compile(r"^\d{8}-\d$")
# The CPV check digit: the first eight digits weighted 3, 7, 1 in turn, sum modulo 10.
_CPV_WEIGHTS = (3, 7, 1, 3, 7, 1, 3, 7)


def cpv_check_digit(digits: str) -> int:
    return sum(int(d) * w for d, w in zip(digits, _CPV_WEIGHTS, strict=True)) % 10


def validate_cpv(value: str) -> None:
    if not value:
        return
    if not _CPV.match(value):
        raise ValidationError(
            _(
                "Le code CPV « %(value)s » doit s'écrire avec huit chiffres, un tiret "
                "et un chiffre de contrôle "
                "(exemple : 45000000-7)."
            ),
            code="cpv_format",
            params={"value": value},
        )
    if cpv_check_digit(value[:8]) != int(value[-1]):
        raise ValidationError(
            _("Le chiffre de contrôle du code CPV « %(value)s » est faux : vérifiez le code."),
            code="cpv_check_digit",
            params={"value": value},
        )


_FORBIDDEN_IN_NAME = re.compile(r"[\x00-\x1f\x7f/\\]")


def validate_file_name(name: str) -> None:
    if not name or name in {".", ".."} or _FORBIDDEN_IN_NAME.search(name):
        raise ValidationError(
            _(
                "Le nom de fichier « %(name)s » contient des caractères interdits "
                "(barre oblique, caractère de "
                "contrôle) : renommez le fichier."
            ),
            code="file_name",
            params={"name": name},
        )
