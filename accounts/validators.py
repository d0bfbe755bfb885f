"""Identifiers of French legal entities."""

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

# La Poste's establishments share one SIREN and are numbered past what the Luhn
# key allows: INSEE checks their SIRET by the sum of its digits instead.
LA_POSTE_SIREN = "356000000"


def luhn_is_valid(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def siret_is_valid(value: str) -> bool:
    if len(value) != 14 or not value.isascii() or not value.isdigit():
        return False
    if value[:9] == "000000000":
        return False
    if value.startswith(LA_POSTE_SIREN) and value != LA_POSTE_SIREN + "00048":
        return sum(int(c) for c in value) % 5 == 0
    # Both keys: the SIREN's (9th digit) and the whole SIRET's (14th digit).
    return luhn_is_valid(value[:9]) and luhn_is_valid(value)


def normalize_siret(value: str) -> str:
    """Accept the usual ways of writing a SIRET: spaces, dots, non-breaking spaces."""
    return "".join(c for c in str(value) if c not in " .\u00a0\u202f-")


def validate_siret(value: str) -> None:
    if not value.isascii() or not value.isdigit():
        raise ValidationError(_("Le numéro SIRET ne doit contenir que des chiffres."), code="siret_digits")
    if len(value) != 14:
        raise ValidationError(
            _("Le numéro SIRET comporte 14 chiffres (%(count)s saisis)."),
            code="siret_length",
            params={"count": len(value)},
        )
    if not siret_is_valid(value):
        raise ValidationError(
            _("Ce numéro SIRET n'existe pas : sa clé de contrôle est fausse. Vérifiez la saisie."),
            code="siret_checksum",
        )


DEPARTMENT_CODES = ({f"{n:02d}" for n in range(1, 96)} - {"20"}) | {
    "2A",
    "2B",
    "971",
    "972",
    "973",
    "974",
    "975",
    "976",
    "977",
    "978",
    "986",
    "987",
    "988",
}


def validate_department_code(value: str) -> None:
    if value.upper() not in DEPARTMENT_CODES:
        raise ValidationError(
            _("Code de département inconnu : %(value)s (exemples : 35, 2A, 974)."),
            code="department",
            params={"value": value},
        )


def validate_postal_code(value: str) -> None:
    if len(value) != 5 or not value.isdigit():
        raise ValidationError(_("Le code postal comporte 5 chiffres."), code="postal_code")
