"""Lots of a draft consultation: added, changed and deleted tab by tab."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import AgentPermission
from accounts.permissions import agent_require
from audit.services import event_record
from consultations.errors import ConsultationError
from consultations.models import Consultation, Lot
from consultations.policy import EDITABLE_STATES
from consultations.search import search_refresh

LOT_FIELDS = ("number", "title", "description", "estimated_value", "cpv_code")


def _editable_draft(consultation: Consultation, user) -> None:
    agent_require(user, AgentPermission.CREATE, consultation)
    # Lock the consultation row: two agents adding lot 3 at once get one refusal.
    state = Consultation.objects.select_for_update().values_list("state", flat=True).get(pk=consultation.pk)
    if state not in EDITABLE_STATES:
        raise ConsultationError(
            _("Cette consultation n'est plus un brouillon : modifiez-la par un rectificatif.")
        )


def _number_free(consultation: Consultation, number, lot: Lot | None) -> None:
    taken = Lot.objects.filter(consultation=consultation, number=number)
    if lot is not None:
        taken = taken.exclude(pk=lot.pk)
    if number is not None and taken.exists():
        raise ValidationError(
            {
                "number": _(
                    "Le lot n° %(number)s existe déjà dans cette consultation : choisissez un autre numéro."
                )
                % {"number": number}
            }
        )


@transaction.atomic
def lot_save(*, consultation: Consultation, user, lot: Lot | None = None, **fields) -> Lot:
    """Create a lot, or change ``lot``; a number already used in the consultation is refused."""
    _editable_draft(consultation, user)
    unknown = set(fields) - set(LOT_FIELDS)
    if unknown:
        raise TypeError(f"lot_save: unknown fields {sorted(unknown)}")
    if lot is not None and lot.consultation_id != consultation.pk:
        raise ConsultationError(_("Ce lot n'appartient pas à cette consultation."))
    _number_free(consultation, fields.get("number", lot.number if lot else None), lot)
    if lot is None:
        lot = Lot(consultation=consultation, **fields)
        changed = sorted(fields)
        action = "lot.created"
    else:
        changed = sorted(name for name, value in fields.items() if getattr(lot, name) != value)
        for name, value in fields.items():
            setattr(lot, name, value)
        action = "lot.updated"
    lot.full_clean()
    lot.save()
    search_refresh(consultation)
    if changed or action == "lot.created":
        event_record(
            action=action,
            actor=user,
            target=consultation,
            organisation=consultation.organisation_id,
            data={"number": lot.number, "title": lot.title, "fields": changed},
        )
    return lot


@transaction.atomic
def lot_delete(*, lot: Lot, user) -> None:
    consultation = lot.consultation
    _editable_draft(consultation, user)
    event_record(
        action="lot.deleted",
        actor=user,
        target=consultation,
        organisation=consultation.organisation_id,
        data={"number": lot.number, "title": lot.title},
    )
    lot.delete()
    search_refresh(consultation)
