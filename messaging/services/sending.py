"""Sending messages: from the buyer to one company, a selection, or every identified
downloader; and the company's answer to a message.

Every message is written once with the hash of its content, gets one e-mail per
recipient (sent by Celery after the commit), and leaves an audit event.
"""

import hashlib
import uuid
from datetime import datetime

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import AgentPermission, Company
from accounts.permissions import agent_belongs, agent_can, company_user_of
from audit.services import event_record
from config import clock
from consultations.models import Consultation, Download, Question, State
from deposits.models import Deposit, DepositState
from deposits.services.opening import deposits_disclosed
from messaging.errors import MessagingError
from messaging.models import Direction, Kind, Message, Thread
from messaging.proof import content_canonical
from messaging.services.attachments import StoredFile, attachments_attach, attachments_store, blobs_discard
from messaging.services.delivery import deliveries_queue

SUBJECT_MAX_LENGTH = 255
BODY_MAX_LENGTH = 50_000

# Before publication no company knows the consultation; archived ones are closed files.
MESSAGING_STATES = frozenset(
    {State.ONLINE, State.CLOSED, State.OPENED, State.EVALUATION, State.DECIDED, State.CANCELLED}
)
# Letters that engage the buyer's decision need the permission to decide.
DECISION_KINDS = frozenset({Kind.REJECTION, Kind.AWARD, Kind.NOTIFICATION})


def _text(value: str, *, field: str, max_length: int, empty: str) -> str:
    value = (value or "").strip()
    if not value:
        raise MessagingError(empty, field=field)
    if len(value) > max_length:
        raise MessagingError(
            _("Le texte est limité à %(max)d caractères.") % {"max": max_length}, field=field
        )
    return value


def thread_get_or_create(*, consultation: Consultation, company: Company) -> Thread:
    thread, _created = Thread.objects.get_or_create(
        consultation=consultation, company=company, defaults={"created_at": clock.now()}
    )
    return thread


def contact_companies(consultation: Consultation):
    """The companies the buyer may write to: those that downloaded the DCE identified,
    asked a question, or already exchanged messages on this consultation."""
    ids = (
        set(Download.objects.filter(consultation=consultation).values_list("company_id", flat=True))
        | set(Question.objects.filter(consultation=consultation).values_list("company_id", flat=True))
        | set(Thread.objects.filter(consultation=consultation).values_list("company_id", flat=True))
        | set(depositor_companies(consultation).values_list("pk", flat=True))
    )
    if consultation.parent_id:
        # A suite's candidates are known from its initial consultation (the invitation à
        # concourir reaches them before they open the suite): a negotiation's invited
        # companies, a relaunch's depositors of the initial.
        invited = consultation.invited_companies.values_list("pk", flat=True)
        ids |= set(invited) or set(depositor_companies(consultation.parent).values_list("pk", flat=True))
    return Company.objects.filter(pk__in=ids).order_by("name")


def downloader_companies(consultation: Consultation):
    return Company.objects.filter(downloads__consultation=consultation).distinct().order_by("name")


def depositor_companies(consultation: Consultation):
    """The companies that validated a deposit (on time, late or replaced), once the deadline
    has passed: before it, the buyer is not to learn who deposited."""
    if not deposits_disclosed(consultation):
        return Company.objects.none()
    return (
        Company.objects.filter(deposits__consultation=consultation, deposits__state=DepositState.FINALISED)
        .distinct()
        .order_by("name")
    )


def recipient_users(consultation: Consultation, company: Company) -> list:
    """Who is told of a message: the company's users who took part in this consultation
    (downloaded, asked, answered), or else every active user of the company."""
    user_model = get_user_model()
    involved = (
        set(
            Download.objects.filter(consultation=consultation, company=company).values_list(
                "user_id", flat=True
            )
        )
        | set(
            Question.objects.filter(consultation=consultation, company=company).values_list(
                "asked_by_id", flat=True
            )
        )
        | set(
            Message.objects.filter(
                thread__consultation=consultation, thread__company=company, direction=Direction.TO_BUYER
            ).values_list("sent_by_id", flat=True)
        )
        | set(
            # Before the deadline, who deposits is the depositor's secret: naming its user
            # among the recipients would tell the buyer.
            Deposit.objects.filter(
                consultation=consultation, company=company, state=DepositState.FINALISED
            ).values_list("created_by_id", flat=True)
            if deposits_disclosed(consultation)
            else ()
        )
    )
    users = user_model.objects.filter(company_user__company=company, is_active=True).order_by("email")
    return list(users.filter(pk__in=involved)) or list(users)


def buyer_recipients(message: Message) -> list:
    """Who is told of a company's answer: the agent who wrote, else the consultation's
    author, else every agent of the buyer who may create consultations."""
    consultation = message.thread.consultation
    for user in (message.sent_by, consultation.created_by):
        if user is not None and user.is_active and agent_belongs(user, consultation):
            return [user]
    return list(
        get_user_model()
        .objects.filter(
            agent__organisation_id=consultation.organisation_id, agent__can_create=True, is_active=True
        )
        .order_by("email")
    )


def _create(
    *,
    thread: Thread,
    direction: str,
    kind: str,
    subject: str,
    body: str,
    sent_at: datetime,
    sender,
    batch=None,
    in_reply_to: Message | None = None,
    answer_due_at: datetime | None = None,
    is_late: bool = False,
    stored: list[StoredFile],
) -> Message:
    canonical = content_canonical(
        reference=thread.consultation.reference,
        siret=thread.company.siret,
        direction=direction,
        kind=kind,
        subject=subject,
        body=body,
        sent_at=sent_at,
        sender=sender.email,
        in_reply_to=in_reply_to.pk if in_reply_to else None,
        answer_due_at=answer_due_at,
        attachments=[(s.name, s.size, s.sha256) for s in stored],
    )
    fields = {"batch": batch} if batch else {}
    message = Message.objects.create(
        thread=thread,
        direction=direction,
        kind=kind,
        subject=subject,
        body=body,
        sent_at=sent_at,
        sent_by=sender,
        in_reply_to=in_reply_to,
        answer_due_at=answer_due_at,
        is_late=is_late,
        sender_email=sender.email,
        company_siret=thread.company.siret,
        consultation_reference=thread.consultation.reference,
        content_sha256=hashlib.sha256(canonical).hexdigest(),
        **fields,
    )
    attachments_attach(message, stored)
    return message


@transaction.atomic
def message_send(
    *,
    user,
    consultation: Consultation,
    companies,
    kind: str,
    subject: str,
    body: str,
    answer_due_at: datetime | None = None,
    files=(),
) -> list[Message]:
    """The buyer writes to each company separately (no one sees the others); returns the messages."""
    if not agent_belongs(user, consultation):
        raise PermissionDenied
    if kind in DECISION_KINDS and not agent_can(user, AgentPermission.DECIDE, consultation):
        raise MessagingError(
            _("Seul un agent habilité à décider peut envoyer une « %(kind)s ».") % {"kind": Kind(kind).label},
            field="kind",
        )
    if kind not in Kind.values or kind == Kind.REPLY:
        raise MessagingError(_("Choisissez le type du message."), field="kind")
    consultation = Consultation.objects.get(pk=consultation.pk)
    if consultation.state not in MESSAGING_STATES:
        raise MessagingError(
            _("La messagerie s'ouvre à la mise en ligne de la consultation ; elle est « %(state)s ».")
            % {"state": consultation.get_state_display()}
        )
    subject = _text(
        subject, field="subject", max_length=SUBJECT_MAX_LENGTH, empty=_("Donnez un objet au message.")
    )
    body = _text(
        body, field="body", max_length=BODY_MAX_LENGTH, empty=_("Le message est vide : écrivez son texte.")
    )
    companies = list(companies)
    if not companies:
        raise MessagingError(_("Choisissez au moins une entreprise destinataire."), field="recipients")
    allowed = set(contact_companies(consultation).values_list("pk", flat=True))
    if any(company.pk not in allowed for company in companies):
        raise MessagingError(
            _("Une entreprise choisie n'a ni retiré le dossier ni échangé sur cette consultation."),
            field="recipients",
        )
    now = clock.now()
    if answer_due_at is not None and answer_due_at <= now:
        raise MessagingError(_("La date de réponse attendue doit être dans le futur."), field="answer_due_at")
    # Scanning and storing may take a while: no row is locked meanwhile.
    stored = attachments_store(files)
    try:
        return _broadcast(
            consultation=consultation,
            companies=companies,
            user=user,
            kind=kind,
            subject=subject,
            body=body,
            answer_due_at=answer_due_at,
            stored=stored,
            sent_at=now,
        )
    except Exception:
        blobs_discard(stored)
        raise


def _broadcast(*, consultation, companies, user, kind, subject, body, stored, sent_at, answer_due_at=None):
    batch = uuid.uuid4()
    messages = []
    for company in companies:
        thread = thread_get_or_create(consultation=consultation, company=company)
        message = _create(
            thread=thread,
            direction=Direction.TO_COMPANY,
            kind=kind,
            subject=subject,
            body=body,
            sent_at=sent_at,
            sender=user,
            batch=batch,
            answer_due_at=answer_due_at,
            stored=stored,
        )
        deliveries_queue(message, recipient_users(consultation, company))
        messages.append(message)
    event_record(
        action="message.sent",
        actor=user,
        target=consultation,
        organisation=consultation.organisation_id,
        data={
            "kind": kind,
            "batch": str(batch),
            "messages": [m.pk for m in messages],
            "companies": [c.pk for c in companies],
            "attachments": len(stored),
        },
    )
    return messages


def notice_broadcast(
    *, consultation: Consultation, user, kind: str, subject: str, body: str, companies
) -> list[Message]:
    """A message the platform writes for the buyer (rectificatif, answers, « sans suite »),
    inside the caller's transaction; the caller has checked its own rules."""
    companies = list(companies)
    if not companies:
        return []
    return _broadcast(
        consultation=consultation,
        companies=companies,
        user=user,
        kind=kind,
        subject=subject,
        body=body,
        stored=[],
        sent_at=clock.now(),
    )


@transaction.atomic
def message_reply(*, user, message: Message, body: str, files=()) -> Message:
    """The company answers a message; after the date asked, the answer is kept and marked late."""
    company_user = company_user_of(user)
    message = Message.objects.select_related("thread__consultation", "thread__company").get(pk=message.pk)
    thread = message.thread
    if company_user is None or company_user.company_id != thread.company_id:
        raise PermissionDenied
    if not message.is_to_company:
        raise MessagingError(_("On ne répond qu'à un message de l'acheteur."))
    body = _text(
        body, field="body", max_length=BODY_MAX_LENGTH, empty=_("Votre réponse est vide : écrivez son texte.")
    )
    stored = attachments_store(files)
    # The answer's time is taken once its files are in: that is when it is received.
    now = clock.now()
    is_late = message.answer_due_at is not None and now >= message.answer_due_at
    subject = message.subject if message.subject.startswith("Re : ") else f"Re : {message.subject}"
    try:
        reply = _create(
            thread=thread,
            direction=Direction.TO_BUYER,
            kind=Kind.REPLY,
            subject=subject[:SUBJECT_MAX_LENGTH],
            body=body,
            sent_at=now,
            sender=user,
            in_reply_to=message,
            is_late=is_late,
            stored=stored,
        )
        deliveries_queue(reply, buyer_recipients(message))
    except Exception:
        blobs_discard(stored)
        raise
    event_record(
        action="message.replied",
        actor=user,
        target=thread.consultation,
        organisation=thread.consultation.organisation_id,
        data={"message": reply.pk, "in_reply_to": message.pk, "late": is_late, "attachments": len(stored)},
    )
    return reply


def message_read(*, user, message: Message) -> bool:
    """Record the first reading by the recipient side, once; returns whether this was it.

    Only a user of the receiving side counts: a company user of the thread's company for
    a message to the company, an agent of the buyer for the company's answer. The date
    is written by a conditional UPDATE, so two readers at once record one date.
    """
    thread = message.thread
    if message.is_to_company:
        company_user = company_user_of(user)
        if company_user is None or company_user.company_id != thread.company_id:
            return False
    elif not agent_belongs(user, thread.consultation):
        return False
    now = clock.now()
    with transaction.atomic():
        recorded = Message.objects.filter(pk=message.pk, first_read_at__isnull=True).update(
            first_read_at=now, first_read_by=user
        )
        if recorded:
            event_record(
                action="message.first_read",
                actor=user,
                target=thread.consultation,
                organisation=thread.consultation.organisation_id,
                data={"message": message.pk, "at": now.isoformat()},
            )
    if recorded:
        message.first_read_at, message.first_read_by = now, user
    return bool(recorded)
