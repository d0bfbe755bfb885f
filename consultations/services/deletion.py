"""Deleting a consultation: only a draft, and never one that has a suite.

A consultation that was validated has been seen (by a validator, then the public) and
is kept for ever; it ends « sans suite » instead. A suite's link to its initial
consultation is permanent (seed 000): the initial can no longer be deleted. This is the
only code that deletes a consultation (the admin is read-only).
"""

from django.db import transaction
from django.db.models import ProtectedError
from django.utils.translation import gettext as _

from accounts.models import AgentPermission
from accounts.permissions import agent_require
from audit.services import event_record
from consultations.errors import ConsultationError
from consultations.models import Consultation, State

DELETABLE_STATES = frozenset({State.DRAFT})


def deletion_refusal(consultation: Consultation) -> str:
    """Why this consultation cannot be deleted, in French; empty when it can."""
    if consultation.suites.exists():
        return _("Cette consultation a une suite : le lien est permanent, elle ne peut plus être supprimée.")
    if consultation.state not in DELETABLE_STATES:
        return _(
            "Seul un brouillon peut être supprimé : une consultation soumise à validation ou mise en "
            "ligne se clôt en la déclarant sans suite."
        )
    return ""


@transaction.atomic
def consultation_delete(*, user, consultation: Consultation) -> None:
    agent_require(user, AgentPermission.CREATE, consultation)
    consultation = Consultation.objects.select_for_update().get(pk=consultation.pk)
    if refusal := deletion_refusal(consultation):
        raise ConsultationError(refusal)
    data = {"reference": consultation.reference, "title": consultation.title}
    if consultation.parent_id:
        data["parent"] = consultation.parent_id
    event_record(
        action="consultation.deleted",
        actor=user,
        target=consultation,
        organisation=consultation.organisation_id,
        data=data,
    )
    if consultation.parent_id:
        # The initial's history keeps the trace of a suite drafted then abandoned.
        event_record(
            action="consultation.suite_deleted",
            actor=user,
            target=consultation.parent,
            organisation=consultation.organisation_id,
            data={"suite": consultation.pk, "suite_reference": consultation.reference},
        )
    # A draft's opening keys are certificates no deposit used; lots, requested documents
    # and DCE versions go with the consultation. DCE blobs stay: a suite shares the
    # initial's, and the history may name them.
    try:
        consultation.opening_keys.all().delete()
        consultation.delete()
    except ProtectedError as error:
        raise ConsultationError(
            _(
                "Cette consultation est liée à d'autres données de la plateforme : "
                "elle ne peut pas être supprimée."
            )
        ) from error
