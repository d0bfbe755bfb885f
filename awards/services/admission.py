"""The admission of the candidatures (« analyse des candidatures ») and the requests for
complements (« demande de compléments ») sent to a candidate.

An agent who may decide reviews each deposit received on time, once the deadline has
passed and its candidature envelope is opened: the three capacities of the règlement
(professional, technical, financial; seed 003, article 6) and the outcome. Rules chosen:

- a refused candidature needs its reason (it goes into the rejection letter);
- a candidature with a capacity judged insufficient may still be admitted, but only with
  a reason (e.g. a complement received, a consortium member's capacities); admitting it
  silently would leave the report without an explanation;
- a review may be changed until the consultation is decided; the last one counts.

A request for complements is a message of kind ``documents_request`` with an answer date,
sent through the messaging (the date must be in the future); the company's replies are
the message's replies.
"""

from datetime import datetime

from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import AgentPermission
from accounts.permissions import agent_require
from audit.services import event_record
from awards.models import CandidatureReview, OfferAmount
from config import clock
from consultations.models import Consultation, EnvelopeKind, State
from consultations.services.lifecycle import consultation_mark_evaluation
from deposits.models import Deposit, DepositState, DepositStatus

# The analysis happens after the opening and before the decision.
ANALYSIS_STATES = frozenset({State.OPENED, State.EVALUATION})


class AdmissionError(Exception):
    """The review or the request is refused; the message is French and shown as is.
    ``field`` names the form field it is about, if any."""

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


def analysis_open_require(consultation: Consultation) -> None:
    """The consultation is past its deadline, opened and not yet decided (as saved now:
    the caller's copy may be older than a decision taken meanwhile)."""
    consultation = Consultation.objects.get(pk=consultation.pk)
    if consultation.deadline is None or clock.now() < consultation.deadline:
        raise AdmissionError(
            _("La date limite de remise des plis n'est pas passée : rien ne peut être analysé.")
        )
    if consultation.state not in ANALYSIS_STATES:
        raise AdmissionError(
            _(
                "L'analyse n'est possible qu'une fois les plis ouverts et avant la décision ; "
                "la consultation est « %(state)s »."
            )
            % {"state": consultation.get_state_display()}
        )


def candidature_opened(deposit: Deposit) -> bool:
    """Its candidature envelope is opened (or, without one, any of its envelopes)."""
    envelopes = list(deposit.envelopes.all())
    candidatures = [e for e in envelopes if e.kind == EnvelopeKind.CANDIDATURE]
    return any(e.opening_id is not None for e in (candidatures or envelopes))


def candidature_reviewable_require(deposit: Deposit) -> None:
    analysis_open_require(deposit.consultation)
    if deposit.state != DepositState.FINALISED or deposit.status != DepositStatus.ON_TIME:
        raise AdmissionError(
            _("Ce pli n'a pas été reçu dans les délais : sa candidature n'est pas examinée.")
        )
    if not candidature_opened(deposit):
        raise AdmissionError(
            _("La candidature de ce pli n'est pas encore ouverte : ouvrez d'abord les candidatures.")
        )


@transaction.atomic
def candidature_review(
    *,
    user,
    deposit: Deposit,
    professional_ok: bool,
    technical_ok: bool,
    financial_ok: bool,
    admitted: bool,
    reason: str = "",
) -> CandidatureReview:
    """Record (or change) the admission of a candidature."""
    consultation = deposit.consultation
    agent_require(user, AgentPermission.DECIDE, consultation)
    candidature_reviewable_require(deposit)
    reason = (reason or "").strip()
    if not admitted and not reason:
        raise AdmissionError(
            _(
                "Indiquez le motif pour lequel la candidature n'est pas admise : "
                "il sera repris dans la lettre de rejet."
            ),
            field="reason",
        )
    if admitted and not (professional_ok and technical_ok and financial_ok) and not reason:
        raise AdmissionError(
            _(
                "Une capacité n'est pas jugée suffisante : indiquez le motif pour lequel la candidature "
                "est néanmoins admise, ou ne l'admettez pas."
            ),
            field="reason",
        )
    review, created = CandidatureReview.objects.update_or_create(
        deposit=deposit,
        defaults={
            "professional_ok": professional_ok,
            "technical_ok": technical_ok,
            "financial_ok": financial_ok,
            "admitted": admitted,
            "reason": reason,
            "reviewed_at": clock.now(),
            "reviewed_by": user,
        },
    )
    event_record(
        action="awards.candidature_review",
        actor=user,
        target=deposit,
        organisation=consultation.organisation_id,
        data={
            "admitted": admitted,
            "professional_ok": professional_ok,
            "technical_ok": technical_ok,
            "financial_ok": financial_ok,
            "changed": not created,
        },
    )
    consultation_mark_evaluation(consultation=consultation, user=user)
    return review


def complements_subject(consultation: Consultation) -> str:
    return _("Demande de compléments — consultation %(reference)s") % {"reference": consultation.reference}


@transaction.atomic
def complements_request(
    *,
    user,
    deposit: Deposit,
    body: str,
    answer_due_at: datetime | None,
    subject: str = "",
):
    """Ask the candidate for complements through the messaging; returns the message."""
    from messaging.errors import MessagingError
    from messaging.models import Kind
    from messaging.services.sending import message_send

    consultation = deposit.consultation
    agent_require(user, AgentPermission.DECIDE, consultation)
    candidature_reviewable_require(deposit)
    if answer_due_at is None:
        raise AdmissionError(
            _("Indiquez la date à laquelle la réponse de l'entreprise est attendue."), field="answer_due_at"
        )
    try:
        (message,) = message_send(
            user=user,
            consultation=consultation,
            companies=[deposit.company],
            kind=Kind.DOCUMENTS_REQUEST,
            subject=(subject or "").strip() or complements_subject(consultation),
            body=body,
            answer_due_at=answer_due_at,
        )
    except MessagingError as error:
        raise AdmissionError(error.message, field=error.field) from None
    event_record(
        action="awards.complements_request",
        actor=user,
        target=deposit,
        organisation=consultation.organisation_id,
        data={"message": message.pk},
    )
    consultation_mark_evaluation(consultation=consultation, user=user)
    return message


# --- What the screen reads ------------------------------------------------------------------


def complements_requests(deposit: Deposit) -> list[dict]:
    """The requests for complements sent to this deposit's company on its consultation
    (not the justifications of abnormally low offers), each with the company's replies,
    whether it answered, and whether it is overdue."""
    from messaging.models import Kind, Message

    justifications = OfferAmount.objects.filter(
        deposit__consultation_id=deposit.consultation_id, justification_request__isnull=False
    ).values_list("justification_request_id", flat=True)
    requests = (
        Message.objects.filter(
            thread__consultation_id=deposit.consultation_id,
            thread__company_id=deposit.company_id,
            kind=Kind.DOCUMENTS_REQUEST,
        )
        .exclude(pk__in=list(justifications))
        .prefetch_related("replies")
        .order_by("sent_at", "pk")
    )
    now = clock.now()
    rows = []
    for message in requests:
        replies = sorted(message.replies.all(), key=lambda reply: (reply.sent_at, reply.pk))
        rows.append(
            {
                "message": message,
                "replies": replies,
                "answered": bool(replies),
                "overdue": not replies and message.answer_due_at is not None and now >= message.answer_due_at,
            }
        )
    return rows


def candidature_rows(consultation: Consultation) -> list[dict]:
    """Every deposit received on time, with its consortium members, its review and its
    requests for complements."""
    deposits = (
        Deposit.objects.filter(
            consultation=consultation, state=DepositState.FINALISED, status=DepositStatus.ON_TIME
        )
        .select_related("company", "candidature_review__reviewed_by")
        .prefetch_related("consortium_members", "envelopes")
        .order_by("received_at", "pk")
    )
    rows = []
    for deposit in deposits:
        try:
            review = deposit.candidature_review
        except CandidatureReview.DoesNotExist:
            review = None
        rows.append(
            {
                "deposit": deposit,
                "members": list(deposit.consortium_members.all()),
                "opened": candidature_opened(deposit),
                "review": review,
                "requests": complements_requests(deposit),
            }
        )
    return rows
