"""The documents a consultation asks for in each envelope (« Acte d'engagement »…)."""

from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import AgentPermission
from accounts.permissions import agent_require
from audit.services import event_record
from consultations.errors import ConsultationError
from consultations.models import Consultation, EnvelopeKind, RequestedDocument
from consultations.policy import EDITABLE_STATES


def _clean_labels(labels) -> list[str]:
    """Trimmed, without blanks, each label once, in the order given."""
    seen: list[str] = []
    for label in labels:
        label = " ".join(str(label).split())
        if label and label not in seen:
            seen.append(label)
    return seen


@transaction.atomic
def requested_documents_set(*, consultation: Consultation, user, documents: dict[str, list[str]]) -> None:
    """Replace the requested documents of the envelopes given in ``documents``
    ({envelope kind: [label, …]}); the order of the labels is kept."""
    agent_require(user, AgentPermission.CREATE, consultation)
    state = Consultation.objects.select_for_update().values_list("state", flat=True).get(pk=consultation.pk)
    if state not in EDITABLE_STATES:
        raise ConsultationError(
            _("Cette consultation n'est plus un brouillon : modifiez-la par un rectificatif.")
        )
    changes: dict[str, list[str]] = {}
    for envelope, labels in documents.items():
        envelope = EnvelopeKind(envelope)
        wanted = _clean_labels(labels)
        for label in wanted:
            if len(label) > RequestedDocument._meta.get_field("label").max_length:
                raise ConsultationError(
                    _("L'intitulé « %(label)s… » est trop long (255 caractères au plus).")
                    % {"label": label[:40]}
                )
        current = list(
            consultation.requested_documents.filter(envelope=envelope)
            .order_by("position", "pk")
            .values_list("label", flat=True)
        )
        if current == wanted:
            continue
        consultation.requested_documents.filter(envelope=envelope).delete()
        RequestedDocument.objects.bulk_create(
            RequestedDocument(consultation=consultation, envelope=envelope, label=label, position=position)
            for position, label in enumerate(wanted, start=1)
        )
        changes[envelope.value] = wanted
    if changes:
        event_record(
            action="consultation.requested_documents_set",
            actor=user,
            target=consultation,
            organisation=consultation.organisation_id,
            data={"documents": changes},
        )
