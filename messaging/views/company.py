"""The company's side of the messaging: its threads across consultations, each message
(opening it records the first reading), the answer with files, attachments and proofs.

A message, thread or file of another company is « not found » (the selectors say so).
"""

from django.contrib import messages
from django.db.models import Exists, OuterRef
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from accounts.permissions import company_user_required
from config import clock
from consultations.registers import moment_sentence
from messaging import selectors
from messaging.errors import MessagingError
from messaging.forms_reply import ReplyForm
from messaging.models import Attachment, Message
from messaging.services.sending import message_read, message_reply


@never_cache
@company_user_required
@require_GET
def inbox(request):
    threads = selectors.company_threads(request.user)
    return render(request, "messaging/company/inbox.html", {"threads": threads})


@never_cache
@company_user_required
@require_GET
def thread(request, pk: int):
    """The list of the thread's messages; showing it records no reading."""
    current = selectors.company_thread(request.user, pk)
    thread_messages = (
        Message.objects.filter(thread=current)
        .select_related("sent_by", "in_reply_to")
        .annotate(
            has_reply=Exists(Message.objects.filter(in_reply_to=OuterRef("pk"))),
            has_attachments=Exists(Attachment.objects.filter(message=OuterRef("pk"))),
        )
        .order_by("sent_at", "pk")
    )
    return render(
        request,
        "messaging/company/thread.html",
        {"thread": current, "consultation": current.consultation, "thread_messages": thread_messages},
    )


def _message_page(request, message: Message, *, form: ReplyForm | None = None):
    if form is None and message.is_to_company:
        form = ReplyForm()
    now = clock.now()
    return render(
        request,
        "messaging/company/message.html",
        {
            "message": message,
            "thread": message.thread,
            "consultation": message.thread.consultation,
            "attachments": message.attachments.all(),
            "replies": message.replies.select_related("sent_by").order_by("sent_at", "pk"),
            "form": form,
            "answer_late": message.answer_due_at is not None and now >= message.answer_due_at,
        },
    )


@never_cache
@company_user_required
@require_GET
def message(request, pk: int):
    """Opening the message is its reading: the first one, by any user of the company, is recorded."""
    current = selectors.company_message(request.user, pk)
    message_read(user=request.user, message=current)
    return _message_page(request, current)


@never_cache
@company_user_required
@require_http_methods(["GET", "POST"])
def reply(request, pk: int):
    """The answer is sent by POST; a GET (after a login, say) leads back to the message."""
    current = selectors.company_message(request.user, pk)
    message_url = reverse("messaging:company_message", args=[current.pk])
    if request.method != "POST":
        return redirect(message_url + "#repondre")
    if not current.is_to_company:
        messages.error(request, _("On ne répond qu'à un message de l'acheteur."))
        return redirect(message_url)
    # The form is on the message page: answering without a recorded reading is not possible.
    message_read(user=request.user, message=current)
    form = ReplyForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            answer = message_reply(
                user=request.user,
                message=current,
                body=form.cleaned_data["body"],
                files=form.cleaned_data["files"],
            )
        except MessagingError as error:
            form.add_error(error.field if error.field in form.fields else None, error.message)
        else:
            success = _("Votre réponse a été envoyée le %(moment)s.") % {
                "moment": moment_sentence(answer.sent_at)
            }
            if answer.is_late:
                success += " " + _("Elle est marquée hors délai : la date de réponse demandée était passée.")
            messages.success(request, success)
            return redirect(
                reverse("messaging:company_thread", args=[current.thread_id]) + f"#message-{answer.pk}"
            )
    return _message_page(request, current, form=form)


@never_cache
@company_user_required
@require_GET
def attachment(request, pk: int, attachment_pk: int):
    """Stream one file of a message; fetching it is reading the message."""
    current = selectors.company_message(request.user, pk)
    try:
        attached = current.attachments.get(pk=attachment_pk)
    except Attachment.DoesNotExist as error:
        raise Http404 from error
    message_read(user=request.user, message=current)
    blob = attached.blob.storage.open(attached.blob.name, "rb")
    response = FileResponse(blob, as_attachment=True, filename=attached.name)
    response["Cache-Control"] = "private, no-store"
    return response


@never_cache
@company_user_required
@require_GET
def proof(request, pk: int):
    """The PDF proof holds the message's text: fetching it is reading the message."""
    current = selectors.company_message(request.user, pk)
    message_read(user=request.user, message=current)
    # Imported here: the PDF module is heavy and only this page needs it.
    from messaging.proof_pdf import message_proof_pdf

    response = HttpResponse(message_proof_pdf(current), content_type="application/pdf")
    response["Content-Disposition"] = content_disposition_header(
        as_attachment=True, filename=f"preuve-message-{current.pk}.pdf"
    )
    return response
