"""The buyer's side of the secure messaging: the consultation's inbox, writing to
companies, a thread, one message with its e-mails and reading, the attachments and
the PDF proof.

Any agent of the consultation's organisation reads and writes (the service refuses the
decision letters to an agent who may not decide); for anyone else everything is « not
found ». Opening a company's answer records the buyer's first reading of it; opening
the buyer's own message records nothing.
"""

from django.contrib import messages
from django.http import FileResponse, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from accounts.permissions import agent_required
from audit.services import event_record
from config import clock
from consultations.registers import moment_sentence, safe_filename_part
from consultations.views.buyer_common import agent_consultation
from messaging import selectors
from messaging.errors import MessagingError
from messaging.forms import ComposeForm, InboxFilterForm, Recipients
from messaging.models import AGENT_KINDS, Direction, Kind, Message, Thread
from messaging.proof import message_intact
from messaging.selectors import STATE_FILTERS, MessageState
from messaging.services.sending import MESSAGING_STATES, contact_companies, message_read, message_send
from messaging.templating import template_for

# The one state written beside a buyer's message in the lists.
STATE_LABELS = {
    MessageState.FAILED: gettext_lazy("Courriel non remis"),
    MessageState.ANSWERED: gettext_lazy("Répondu"),
    MessageState.OVERDUE: gettext_lazy("Réponse en retard"),
    MessageState.AWAITING: gettext_lazy("En attente de réponse"),
    MessageState.READ: gettext_lazy("Lu"),
    MessageState.UNREAD: gettext_lazy("Non lu"),
}
# Where the service's refusals are shown on the compose form.
FIELD_OF_ERROR = {"answer_due_at": "answer_due_date"}


def _consultation_message(request, pk: int, message_pk: int) -> Message:
    agent_consultation(request, pk)
    return selectors.buyer_message(request.user, pk, message_pk)


def _with_state(message: Message, *, now) -> Message:
    """Attach what the lists show: the state and its label (the answers have their own)."""
    if message.is_to_company:
        message.state = selectors.message_state(message, now=now)
        message.state_label = STATE_LABELS[message.state]
    else:
        message.state = "reply"
        message.state_label = _("Réponse reçue")
    return message


@never_cache
@agent_required
def inbox(request, pk: int):
    consultation = agent_consultation(request, pk)
    now = clock.now()
    kind = request.GET.get("type", "")
    kind = kind if kind in Kind.values else ""
    state = request.GET.get("etat", "")
    state = state if state in STATE_FILTERS else ""

    rows = selectors.consultation_messages(consultation)
    if kind:
        rows = rows.filter(kind=kind)
    # Both annotate whether a message was answered, so the states need no query per row.
    rows = selectors.message_state_filter(rows, state, now=now) if state else selectors.with_reply_flag(rows)
    rows = [_with_state(message, now=now) for message in rows]

    filters = InboxFilterForm(
        initial={"type": kind, "etat": state},
        kind_choices=Kind.choices,
        state_choices=list(STATE_FILTERS.items()),
    )
    return render(
        request,
        "messaging/buyer/inbox.html",
        {
            "consultation": consultation,
            "threads": selectors.consultation_threads(consultation),
            "rows": rows,
            "filters": filters,
            "filtered": bool(kind or state),
            "kind_label": Kind(kind).label if kind else "",
            "state_label": STATE_FILTERS.get(state, ""),
            "messaging_open": consultation.state in MESSAGING_STATES,
        },
    )


def _compose_initial(request, consultation, contacts) -> dict:
    """What a GET pre-fills: the template of the kind asked (?type=) and the company (?entreprise=)."""
    initial: dict = {}
    company = None
    company_pk = request.GET.get("entreprise", "")
    if company_pk.isdecimal() and len(company_pk) < 19:
        company = contacts.filter(pk=int(company_pk)).first()
    if company is not None:
        initial.update(recipients=Recipients.ONE, company=company.pk)
    kind = request.GET.get("type", "")
    if kind in {k.value for k in AGENT_KINDS}:
        subject, body = template_for(kind, consultation, company)
        initial.update(kind=kind, subject=subject, body=body)
    return initial


@never_cache
@agent_required
@require_http_methods(["GET", "POST"])
def compose(request, pk: int):
    consultation = agent_consultation(request, pk)
    contacts = contact_companies(consultation)
    if request.method == "POST":
        form = ComposeForm(request.POST, request.FILES, consultation=consultation, contacts=contacts)
        if form.is_valid():
            data = form.cleaned_data
            try:
                sent = message_send(
                    user=request.user,
                    consultation=consultation,
                    companies=data["chosen_companies"],
                    kind=data["kind"],
                    subject=data["subject"],
                    body=data["body"],
                    answer_due_at=data["answer_due_at"],
                    files=data["files"],
                )
            except MessagingError as error:
                field = FIELD_OF_ERROR.get(error.field, error.field)
                form.add_error(field if field in form.fields else None, error.message)
            else:
                messages.success(
                    request,
                    ngettext(
                        "Message envoyé à %(count)d entreprise le %(moment)s.",
                        "Message envoyé à %(count)d entreprises le %(moment)s.",
                        len(sent),
                    )
                    % {"count": len(sent), "moment": moment_sentence(sent[0].sent_at)},
                )
                return redirect("messaging:buyer_inbox", pk=consultation.pk)
    else:
        initial = _compose_initial(request, consultation, contacts)
        form = ComposeForm(initial=initial, consultation=consultation, contacts=contacts)
    template_choices = [(k.value, k.label) for k in AGENT_KINDS]
    return render(
        request,
        "messaging/buyer/compose.html",
        {
            "consultation": consultation,
            "form": form,
            "contacts": contacts,
            "template_choices": template_choices,
            "template_kind": form["kind"].value() or "",
            "preselected_company": request.GET.get("entreprise", ""),
            "files_lost": bool(request.FILES),
            "messaging_open": consultation.state in MESSAGING_STATES,
        },
    )


@never_cache
@agent_required
def thread(request, pk: int, thread_pk: int):
    consultation = agent_consultation(request, pk)
    thread = get_object_or_404(
        Thread.objects.select_related("company"), pk=thread_pk, consultation=consultation
    )
    now = clock.now()
    rows = selectors.with_reply_flag(
        thread.messages.select_related("sent_by", "first_read_by").prefetch_related("attachments")
    ).order_by("sent_at", "pk")
    return render(
        request,
        "messaging/buyer/thread.html",
        {
            "consultation": consultation,
            "thread": thread,
            "rows": [_with_state(message, now=now) for message in rows],
            "messaging_open": consultation.state in MESSAGING_STATES,
        },
    )


@never_cache
@agent_required
def message(request, pk: int, message_pk: int):
    message = _consultation_message(request, pk, message_pk)
    if not message.is_to_company:
        message_read(user=request.user, message=message)
    consultation = message.thread.consultation
    now = clock.now()
    _with_state(message, now=now)
    batch = []
    if message.is_to_company:
        batch = list(
            Message.objects.filter(batch=message.batch, direction=Direction.TO_COMPANY)
            .exclude(pk=message.pk)
            .select_related("thread__company")
            .order_by("thread__company__name")
        )
    return render(
        request,
        "messaging/buyer/message.html",
        {
            "consultation": consultation,
            "message": message,
            "thread": message.thread,
            "attachments": message.attachments.all(),
            "deliveries": message.deliveries.all(),
            "replies": message.replies.select_related("sent_by", "first_read_by").order_by("sent_at", "pk"),
            "batch": batch,
            "intact": message_intact(message),
            "messaging_open": consultation.state in MESSAGING_STATES,
        },
    )


@never_cache
@agent_required
def attachment(request, pk: int, message_pk: int, attachment_pk: int):
    message = _consultation_message(request, pk, message_pk)
    attached = get_object_or_404(message.attachments, pk=attachment_pk)
    if not message.is_to_company:
        # Opening a company's file is reading its answer.
        message_read(user=request.user, message=message)
    return FileResponse(attached.blob.open("rb"), as_attachment=True, filename=attached.name)


@never_cache
@agent_required
def proof(request, pk: int, message_pk: int):
    message = _consultation_message(request, pk, message_pk)
    # Imported here: the PDF library is loaded only by those who ask for a proof.
    from messaging.proof_pdf import message_proof_pdf

    content = message_proof_pdf(message)
    consultation = message.thread.consultation
    event_record(
        action="message.proof_downloaded",
        actor=request.user,
        target=consultation,
        organisation=consultation.organisation_id,
        data={"message": message.pk},
        request=request,
    )
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = content_disposition_header(
        as_attachment=True,
        filename=f"preuve-message-{safe_filename_part(consultation.reference)}-{message.pk}.pdf",
    )
    return response
