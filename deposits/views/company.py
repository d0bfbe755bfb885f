"""The company's side of deposits: « Répondre à la consultation » (the response, the files
sent with tus-js-client, « Valider »), the backup copy declaration, « Mes dépôts » and a
deposit's details, and the practice consultation.

Company users only (a visitor is sent to the login page, an agent gets 403); a deposit of
another company is « not found ». A restricted consultation is answered once this session
gave its access code, or when the company already has a deposit there.
"""

from django.conf import settings
from django.contrib import messages
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.permissions import company_user_required
from config import clock
from consultations import policy
from consultations.models import Consultation
from consultations.views.public import time_left
from deposits import selectors, selectors_company
from deposits.forms_company import BackupCopyForm, ResponseForm, ValidateForm, member_formset
from deposits.models import DepositFile, ResponseKind
from deposits.practice import practice_consultation_ensure
from deposits.services.deposits import accepting_require, deposit_start
from deposits.services.errors import DepositError
from deposits.services.responses import (
    backup_copy_declare,
    deposit_response_save,
    deposit_validate,
    finalisation_message,
    validation_problems,
)
from deposits.services.uploads import consultation_extensions, deposit_file_remove

CHUNK_SIZE = 8 * 1024 * 1024


# --- Access --------------------------------------------------------------------------------


def _company_id(request) -> int:
    return request.user.company_user.company_id


def _consultation(pk) -> Consultation:
    consultation = get_object_or_404(Consultation.objects.select_related("organisation"), pk=pk)
    if not policy.is_public(consultation):
        raise Http404
    return consultation


def _may_answer(request, consultation: Consultation) -> bool:
    return policy.dce_unlocked(request, consultation) or selectors_company.company_has_deposit(
        consultation, _company_id(request)
    )


def _code_first(request, consultation: Consultation):
    messages.warning(
        request,
        _(
            "Cette consultation est à accès restreint : saisissez d'abord le code d'accès communiqué "
            "par l'acheteur pour pouvoir y répondre."
        ),
    )
    return redirect("consultations:detail", pk=consultation.pk)


def _own_deposit(request, pk):
    deposit = selectors.deposit_of_company(pk, _company_id(request))
    if deposit is None:
        raise Http404
    return deposit


def _page_url(consultation_pk: int, anchor: str = "") -> str:
    url = reverse("deposits:company_deposit", args=[consultation_pk])
    return f"{url}#{anchor}" if anchor else url


# --- The deposit page ----------------------------------------------------------------------


def _js_strings() -> dict:
    return {
        "waiting": _("En attente"),
        "sending": _("Envoi en cours"),
        "paused": _("En pause"),
        "sent": _("Envoyé"),
        "failed": _("Échec de l'envoi"),
        "removed": _("Fichier retiré du pli."),
        "pause": _("Mettre en pause"),
        "resume": _("Reprendre"),
        "remove": _("Retirer"),
        "resuming": _("Reprise d'un envoi interrompu : seul ce qui manque est envoyé."),
        "progressOf": _("Progression de l'envoi de {name}"),
        "speed": _("{speed}/s — encore environ {time}"),
        # French takes the singular for 0 and 1: « 1 fichier sur 2 envoyé ».
        "overall": _("{done} fichier sur {total} envoyé"),
        "overallPlural": _("{done} fichiers sur {total} envoyés"),
        "waitUploads": _("Attendez la fin de l'envoi de {names} avant de valider votre pli."),
        "pausedUploads": _(
            "L'envoi de {names} est en pause : reprenez-le ou retirez-le avant de valider votre pli."
        ),
        "pausedUploadsPlural": _(
            "Les envois de {names} sont en pause : reprenez-les ou retirez-les avant de valider votre pli."
        ),
        "stoppedUploads": _(
            "L'envoi de {names} est interrompu : reprenez-le ou retirez-le avant de valider votre pli."
        ),
        "stoppedUploadsPlural": _(
            "Les envois de {names} sont interrompus : reprenez-les ou retirez-les avant de valider votre pli."
        ),
        "network": _(
            "La connexion au serveur est interrompue. Cliquez sur « Reprendre » : l'envoi reprendra là "
            "où il s'est arrêté."
        ),
        "unavailable": _(
            "La plateforme ne répond pas pour l'instant ; cliquez sur « Reprendre » dans quelques minutes."
        ),
        "refused": _("Le serveur a refusé ce fichier."),
        "seconds": _("{count} s"),
        "minutes": _("{count} min"),
        "hours": _("{count} h"),
    }


def _page(request, consultation: Consultation, *, status: int = 200, **bound):
    company_user = request.user.company_user
    company_id = company_user.company_id
    now = clock.now()
    draft = selectors_company.company_draft(consultation, company_id)
    try:
        accepting_require(consultation)
        closed_reason = ""
    except DepositError as error:
        closed_reason = error.message
    extensions = sorted(consultation_extensions(consultation))
    context = {
        "consultation": consultation,
        "company": company_user.company,
        "draft": draft,
        "now": now,
        "deadline_passed": consultation.deadline is not None and now >= consultation.deadline,
        "time_left": time_left(consultation.deadline, now),
        "closed_reason": closed_reason,
        "previous": selectors_company.company_finalised(consultation, company_id),
        "backups": selectors_company.company_backup_copies(consultation, company_id),
        "backup_form": bound.get("backup_form") or BackupCopyForm(),
        "extensions": extensions,
        "accept": ",".join(extensions),
        "max_file_bytes": settings.DEPOSIT_MAX_FILE_BYTES,
    }
    if draft is not None:
        lots = list(consultation.lots.order_by("number"))
        context.update(
            {
                "lots": lots,
                "envelopes": selectors_company.deposit_envelopes(draft),
                "response_form": bound.get("response_form")
                or ResponseForm(deposit=draft, lots=lots, variants_allowed=consultation.variants_allowed),
                "member_formset": bound.get("member_formset")
                or member_formset(deposit=draft, company=company_user.company),
                "members": list(draft.consortium_members.all()),
                "validate_form": bound.get("validate_form") or ValidateForm(),
                "problems": validation_problems(draft),
                "tus_endpoint": reverse("deposits:tus_endpoint"),
                "chunk_size": CHUNK_SIZE,
                "js_strings": _js_strings(),
            }
        )
    return render(request, "deposits/company/deposit.html", context, status=status)


@company_user_required
@require_http_methods(["GET", "POST"])
def consultation_deposit(request, pk):
    """« Répondre à la consultation »: GET shows the page; POST starts (or resumes) the
    company's draft deposit."""
    consultation = _consultation(pk)
    if not _may_answer(request, consultation):
        return _code_first(request, consultation)
    if request.method == "POST":
        try:
            deposit_start(consultation=consultation, user=request.user)
        except DepositError as error:
            messages.error(request, error.message)
        return redirect(_page_url(consultation.pk))
    return _page(request, consultation)


def _service_error_attach(form, members, rows, error: DepositError) -> None:
    """A refusal about one member goes to that member's SIRET, in its row (the rows are
    checked by the form first, so this is rare: a rule of the service the form does not
    know); a refusal about the whole response goes to the summary."""
    message = error.message
    for number, (index, member) in enumerate(rows, start=1):
        prefix = _("Membre n° %(number)d") % {"number": number}
        if message.startswith((prefix + " ", prefix + ",")) or (member.siret and member.siret in message):
            members.forms[index].add_error("siret", message)
            return
    form.add_error(None, message)


@company_user_required
@require_POST
def response_save(request, pk):
    deposit = _own_deposit(request, pk)
    consultation = deposit.consultation
    lots = list(consultation.lots.order_by("number"))
    form = ResponseForm(
        request.POST, deposit=deposit, lots=lots, variants_allowed=consultation.variants_allowed
    )
    members = member_formset(
        request.POST,
        deposit=deposit,
        company=deposit.company,
        check=request.POST.get("response_kind") == ResponseKind.CONSORTIUM,
    )
    if form.is_valid() and members.is_valid():
        rows = [(index, row.member()) for index, row in enumerate(members.forms)]
        rows = [(index, member) for index, member in rows if member is not None]
        try:
            deposit_response_save(
                deposit=deposit,
                user=request.user,
                members=[member for _index, member in rows],
                **form.choice(),
            )
        except DepositError as error:
            _service_error_attach(form, members, rows, error)
        else:
            messages.success(
                request, _("Votre réponse est enregistrée : les enveloppes ci-dessous la suivent.")
            )
            return redirect(_page_url(consultation.pk, "enveloppes"))
    if not deposit.is_draft:
        return redirect("deposits:company_deposit_detail", pk=deposit.pk)
    return _page(request, consultation, response_form=form, member_formset=members)


@company_user_required
@require_POST
def validate(request, pk):
    """« Valider »: the deposit is received now, on time or late, and the page says so at once."""
    deposit = _own_deposit(request, pk)
    form = ValidateForm(request.POST)
    if form.is_valid():
        try:
            deposit = deposit_validate(deposit=deposit, user=request.user, conditions_accepted=True)
        except DepositError as error:
            form.add_error(None, error.message)
        else:
            # The deposit's page says at once when it was received, on time or late.
            return redirect("deposits:company_deposit_detail", pk=deposit.pk)
    if not deposit.is_draft:
        messages.error(
            request, form.non_field_errors()[0] if form.non_field_errors() else _("Ce pli est déjà validé.")
        )
        return redirect("deposits:company_deposit_detail", pk=deposit.pk)
    return _page(request, deposit.consultation, validate_form=form)


@company_user_required
@require_POST
def file_remove(request, pk, file_pk):
    deposit = _own_deposit(request, pk)
    deposit_file = get_object_or_404(DepositFile, pk=file_pk, envelope__deposit=deposit)
    name = deposit_file.name
    try:
        deposit_file_remove(deposit_file=deposit_file, user=request.user)
    except DepositError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Le fichier « %(name)s » est retiré du pli.") % {"name": name})
    return redirect(_page_url(deposit.consultation_id, "enveloppes"))


@company_user_required
@require_POST
def backup_copy(request, pk):
    consultation = _consultation(pk)
    if not _may_answer(request, consultation):
        return _code_first(request, consultation)
    form = BackupCopyForm(request.POST)
    if form.is_valid():
        try:
            backup_copy_declare(consultation=consultation, user=request.user, **form.cleaned_data)
        except DepositError as error:
            form.add_error(None, error.message)
        else:
            messages.success(
                request, _("Votre copie de sauvegarde est déclarée : l'acheteur saura qu'elle existe.")
            )
            return redirect(_page_url(consultation.pk, "copie-de-sauvegarde"))
    return _page(request, consultation, backup_form=form)


# --- « Mes dépôts » ------------------------------------------------------------------------


@company_user_required
@require_GET
def deposits(request):
    return render(
        request,
        "deposits/company/deposits.html",
        {"deposits": list(selectors_company.company_deposits(_company_id(request)))},
    )


@company_user_required
@require_GET
def deposit_detail(request, pk):
    deposit = _own_deposit(request, pk)
    envelopes = selectors_company.deposit_envelopes(deposit)
    return render(
        request,
        "deposits/company/detail.html",
        {
            "deposit": deposit,
            "consultation": deposit.consultation,
            "envelopes": envelopes,
            "members": list(deposit.consortium_members.all()),
            "file_count": sum(len(v.files) for v in envelopes),
            "total_size": sum(v.total_size for v in envelopes),
            "sentence": "" if deposit.is_draft else finalisation_message(deposit),
            "has_seal": hasattr(deposit, "seal"),
        },
    )


@company_user_required
@require_GET
def practice(request):
    """« S'entraîner au dépôt »: the platform's practice consultation, made on first use."""
    consultation = practice_consultation_ensure()
    return redirect("deposits:company_deposit", pk=consultation.pk)
