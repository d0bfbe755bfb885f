"""The analysis report (« rapport d'analyse des offres »), PDF or XLSX.

Read by the organisation's agents who may decide or open the bids (another organisation's
consultation is not found; an agent with neither permission is refused), and only once the
offers can be known: after the deadline, from the opening on.
"""

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.utils.http import content_disposition_header
from django.views.decorators.cache import never_cache

from accounts.permissions import agent_required
from audit.services import event_record
from awards.report import report_build, report_pdf, report_seal, report_xlsx
from awards.views.common import analysis_readable
from config import clock
from consultations.exports import CONTENT_TYPES
from consultations.models import State
from consultations.views.buyer_common import agent_consultation
from deposits.services.opening import deposits_disclosed

REPORT_STATES = frozenset({State.OPENED, State.EVALUATION, State.DECIDED, State.ARCHIVED, State.CANCELLED})


@never_cache
@agent_required
def report(request, pk: int, fmt: str):
    consultation = agent_consultation(request, pk)
    if fmt not in ("pdf", "xlsx"):
        raise Http404
    if not analysis_readable(request.user, consultation):
        raise PermissionDenied
    if consultation.state not in REPORT_STATES or not deposits_disclosed(consultation):
        raise Http404
    built = report_build(consultation, generated_at=clock.now(), user=request.user)
    sealed = False
    if fmt == "pdf":
        content, sealed = report_seal(report_pdf(built))
    else:
        content = report_xlsx(built)
    # Who produced which report when; its content (amounts, notes) stays out of the log.
    event_record(
        action="awards.report_exported",
        actor=request.user,
        target=consultation,
        organisation=consultation.organisation_id,
        data={"format": fmt, "grids": [entry.grid.pk for entry in built.grids], "sealed": sealed},
        request=request,
    )
    response = HttpResponse(content, content_type=CONTENT_TYPES[fmt])
    response["Content-Disposition"] = content_disposition_header(
        as_attachment=True, filename=f"{built.filename_stem}.{fmt}"
    )
    return response
