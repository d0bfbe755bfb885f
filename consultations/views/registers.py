"""Registers of downloads and questions, exported for the buyer's agents."""

from django.http import Http404, HttpResponse
from django.utils.http import content_disposition_header
from django.views.decorators.cache import never_cache

from accounts.permissions import agent_required
from audit.services import event_record
from config import clock
from consultations.exports import CONTENT_TYPES, EXPORTERS
from consultations.registers import REGISTERS, register_build
from consultations.views.buyer_common import agent_consultation


@never_cache
@agent_required
def register(request, pk: int, kind: str, fmt: str):
    """Any agent of the organisation may export; another organisation's consultation is not found."""
    consultation = agent_consultation(request, pk)
    if kind not in REGISTERS or fmt not in EXPORTERS:
        raise Http404
    built = register_build(consultation, kind, exported_at=clock.now())
    content = EXPORTERS[fmt](built)
    event_record(
        action="register.exported",
        actor=request.user,
        target=consultation,
        organisation=consultation.organisation_id,
        data={"register": kind, "format": fmt, "rows": built.count},
        request=request,
    )
    response = HttpResponse(content, content_type=CONTENT_TYPES[fmt])
    response["Content-Disposition"] = content_disposition_header(
        as_attachment=True, filename=f"{built.filename_stem}.{fmt}"
    )
    return response
