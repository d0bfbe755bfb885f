"""Public pages: the essential data (DECP) of the published contracts, their exports per
buyer (JSON and XML in the official formats), and the award notices."""

import json

from django import forms
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from accounts.models import Organisation
from awards import award_notice as notice
from awards.decp import decp_document, published_essential_data, published_record
from awards.decp_xml import decp_xml

PAGE_SIZE = 20
EXPORT_TYPES = {"json": "application/json; charset=utf-8", "xml": "application/xml; charset=utf-8"}


class DecpFilterForm(forms.Form):
    organisation = forms.TypedChoiceField(label=_("Acheteur"), required=False, coerce=int, empty_value=None)

    def __init__(self, *args, organisations=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["organisation"].choices = [("", _("Tous les acheteurs"))] + [
            (organisation.pk, organisation.name) for organisation in organisations
        ]


def _publishing_organisations():
    return (
        Organisation.objects.filter(consultations__decisions__essential_data__published_at__isnull=False)
        .distinct()
        .order_by("name")
    )


@require_GET
def decp_public(request):
    organisations = list(_publishing_organisations())
    form = DecpFilterForm(request.GET or None, organisations=organisations)
    selected = None
    if form.is_bound and form.is_valid():
        selected = next((o for o in organisations if o.pk == form.cleaned_data["organisation"]), None)
    page = Paginator(published_essential_data(selected.pk if selected else None), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    rows = []
    for data in page:
        record = published_record(data)
        rows.append(
            {
                "data": data,
                "record": record,
                "organisation": data.decision.consultation.organisation,
                "holders": [item["titulaire"]["id"] for item in record.get("titulaires", [])],
                "modifications": len(record.get("modifications", [])),
            }
        )
    return render(
        request,
        "awards/public/decp_list.html",
        {
            "form": form,
            "selected": selected,
            "organisations": organisations,
            "page": page,
            "rows": rows,
        },
    )


@require_GET
def decp_export(request, organisation_pk: int, fmt: str):
    if fmt not in EXPORT_TYPES:
        raise Http404
    organisation = get_object_or_404(Organisation, pk=organisation_pk)
    records = [published_record(data) for data in published_essential_data(organisation.pk)]
    if fmt == "json":
        content = json.dumps(decp_document(records), ensure_ascii=False, indent=2).encode()
    else:
        content = decp_xml(records)
    response = HttpResponse(content, content_type=EXPORT_TYPES[fmt])
    response["Content-Disposition"] = f'inline; filename="decp-{organisation.siret}.{fmt}"'
    return response


@require_GET
def award_notice(request, decision_pk: int):
    decision = notice.notice_decision(decision_pk)
    return render(request, "awards/public/award_notice.html", notice.notice_context(decision))


@require_GET
def award_notice_pdf(request, decision_pk: int):
    decision = notice.notice_decision(decision_pk)
    response = HttpResponse(notice.notice_pdf(decision), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{notice.notice_filename(decision)}"'
    return response
