"""Receipts (« accusés de réception »): the depositing company downloads its own, and
anyone checks one on the public page « Vérifier un accusé de réception ».

The check answers from the file alone, then names the deposit: the platform's seal must
validate against the platform's trust roots and cover the whole file (pyHanko), and the
file's SHA-256 must be that of a receipt the platform issued (``Seal.receipt_sha256``).
A modified receipt fails both.
"""

import hashlib

from django import forms
from django.core.files.storage import default_storage
from django.http import FileResponse, Http404
from django.shortcuts import render
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from accounts.permissions import company_user_of, company_user_required
from consultations.registers import moment_sentence
from deposits import selectors
from deposits.services import sealing
from signatures.platform import pdf_check

RECEIPT_CHECK_MAX_BYTES = 10 * 1024 * 1024


class ReceiptCheckForm(forms.Form):
    receipt = forms.FileField(
        label=gettext_lazy("Accusé de réception (fichier PDF)"),
        help_text=gettext_lazy("Le fichier tel que la plateforme vous l'a remis, %(size)s au plus.")
        % {"size": filesizeformat(RECEIPT_CHECK_MAX_BYTES)},
        widget=forms.ClearableFileInput(attrs={"accept": "application/pdf,.pdf"}),
        error_messages={
            "required": gettext_lazy("Choisissez le fichier PDF de l'accusé de réception."),
            "empty": gettext_lazy("Le fichier envoyé est vide."),
            "invalid": gettext_lazy("Aucun fichier n'a été reçu : choisissez-le à nouveau."),
        },
    )

    def clean_receipt(self) -> bytes:
        uploaded = self.cleaned_data["receipt"]
        if uploaded.size > RECEIPT_CHECK_MAX_BYTES:
            raise forms.ValidationError(
                _(
                    "Ce fichier dépasse %(size)s : un accusé de réception de la plateforme "
                    "est bien plus petit."
                )
                % {"size": filesizeformat(RECEIPT_CHECK_MAX_BYTES)}
            )
        uploaded.seek(0)
        return uploaded.read(RECEIPT_CHECK_MAX_BYTES + 1)


@never_cache
@company_user_required
@require_GET
def company_receipt(request, pk: int):
    """The signed receipt of one of the company's deposits, as an attachment."""
    company_user = company_user_of(request.user)
    deposit = selectors.deposit_of_company(pk, company_user.company_id)
    if deposit is None or deposit.is_draft:
        raise Http404
    seal = sealing.seal_of_deposit(deposit)
    if seal is None:
        # Sealed after the commit by a worker: a matter of seconds, or of the next sweep.
        return render(request, "deposits/receipts/pending.html", {"deposit": deposit}, status=404)
    response = FileResponse(
        default_storage.open(seal.receipt_object, "rb"),
        as_attachment=True,
        filename=sealing.receipt_filename(seal),
        content_type="application/pdf",
    )
    response["Cache-Control"] = "private, no-store"
    return response


def _proven(seal) -> dict:
    deposit = seal.deposit
    return {
        "reference": seal.consultation.reference,
        "title": seal.consultation.title,
        "organisation": seal.consultation.organisation.name,
        "company": deposit.company.name,
        "siret": deposit.company.siret,
        "deposit": deposit.pk,
        "received_at": moment_sentence(deposit.received_at),
        "sequence": seal.sequence,
        "seal_hash": seal.seal_hash,
        "practice": sealing.seal_is_practice(seal),
    }


@never_cache
@require_http_methods(["GET", "POST"])
def receipt_check(request):
    """Public: upload a receipt, learn whether it is authentic and intact, and what it proves."""
    result = None
    if request.method == "POST":
        form = ReceiptCheckForm(request.POST, request.FILES)
        if form.is_valid():
            content = form.cleaned_data["receipt"]
            check = pdf_check(content)
            seal = sealing.seal_by_receipt(hashlib.sha256(content).hexdigest())
            valid = check.valid and seal is not None
            if valid:
                message = check.message
            elif check.valid:
                message = _(
                    "Ce document porte bien le sceau de la plateforme, mais ce n'est pas un accusé de "
                    "réception qu'elle a délivré."
                )
            else:
                message = check.message
            result = {
                "valid": valid,
                "message": message,
                "check": check,
                "signed_at": moment_sentence(check.signed_at) if check.signed_at else "",
                "proven": _proven(seal) if valid else None,
            }
            form = ReceiptCheckForm()
    else:
        form = ReceiptCheckForm()
    return render(request, "deposits/receipts/check.html", {"form": form, "result": result})
