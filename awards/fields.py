"""Form fields of the award screens: numbers typed the French way."""

from decimal import Decimal, InvalidOperation

from django import forms
from django.core.validators import MaxValueValidator, MinValueValidator
from django.utils.translation import gettext_lazy as _


class FrenchDecimalField(forms.CharField):
    """A decimal typed the French way: « 120 000,50 », « 19,5 » (a dot is accepted too)."""

    TEXT_MAX_LENGTH = 32

    def __init__(
        self, *, max_digits: int = 14, decimal_places: int = 2, min_value=None, max_value=None, **kwargs
    ):
        super().__init__(**kwargs)
        self.max_digits, self.decimal_places = max_digits, decimal_places
        if min_value is not None:
            self.validators.append(MinValueValidator(Decimal(min_value)))
        if max_value is not None:
            self.validators.append(MaxValueValidator(Decimal(max_value)))
        self.widget.attrs.setdefault("inputmode", "decimal")
        self.widget.attrs.setdefault("maxlength", str(self.TEXT_MAX_LENGTH))

    def to_python(self, value):
        text = super().to_python(value)
        if text in self.empty_values:
            return None
        if len(text) > self.TEXT_MAX_LENGTH:
            raise forms.ValidationError(_("Ce nombre est trop long."), code="max_length")
        text = "".join(text.split()).replace("\u202f", "").replace(",", ".")
        try:
            number = Decimal(text)
        except InvalidOperation:
            raise forms.ValidationError(_("Saisissez un nombre (exemple : 12,5)."), code="invalid") from None
        if not number.is_finite():
            raise forms.ValidationError(_("Saisissez un nombre (exemple : 12,5)."), code="invalid")
        # The size first: quantizing « 1e99 » would overflow the decimal context.
        if abs(number) >= Decimal(10) ** (self.max_digits - self.decimal_places):
            raise forms.ValidationError(_("Ce nombre est trop grand."), code="max_digits")
        if number != number.quantize(Decimal(1).scaleb(-self.decimal_places)):
            raise forms.ValidationError(
                _("Au plus %(places)d chiffres après la virgule.") % {"places": self.decimal_places},
                code="decimal_places",
            )
        return number


def decimal_initial(value) -> str:
    """Decimal("19.50") → « 19,5 », for the initial value of a French decimal field."""
    if value is None:
        return ""
    from awards.services.scoring import number_fr

    return number_fr(value)
