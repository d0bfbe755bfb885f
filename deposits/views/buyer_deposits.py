"""The buyer's side of the deposits: the register (« registre des dépôts »), the opening
(« ouverture des plis »), the opened files and the minutes (« PV d'ouverture »).

Any agent of the organisation sees the page (another organisation's consultation is « not
found », a company user is refused, a visitor goes to the login page). Before the deadline
the page says how the opening will go and nothing about the deposits, not even a count.
Opening takes the permission to open (403 otherwise) and a session confirmed by a one-time
code; the rules are in ``deposits/services/opening.py``.
"""

import logging
from collections.abc import Iterator

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.files.storage import default_storage
from django.http import FileResponse, Http404, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_POST

from accounts.models import AgentPermission
from accounts.permissions import agent_can, agent_require, agent_required
from audit.services import event_record
from config import clock
from consultations.exports import CONTENT_TYPES, EXPORTERS
from consultations.models import OpeningMode
from consultations.registers import register_build, safe_filename_part
from consultations.views.buyer_common import agent_consultation
from deposits import crypto, selectors
from deposits.forms_opening import OpeningForm
from deposits.models import DepositStatus, Opening, OpeningCheck
from deposits.opened_keys import OpenedKeyLost
from deposits.services.opening import (
    OpeningError,
    deposits_disclosed,
    deposits_open,
    opened_file_download_record,
    opened_file_plaintext,
)

logger = logging.getLogger(__name__)

# The URL's word for each scope.
SCOPES = {
    "candidatures": Opening.Scope.CANDIDATURES,
    "offres": Opening.Scope.OFFERS,
    "reponses": Opening.Scope.RESPONSES,
    "hors-delai": Opening.Scope.LATE,
}


# --- The page -------------------------------------------------------------------------------


def _choice(row) -> tuple[str, str]:
    return str(row["deposit"].pk), _("Pli n° %(number)s — %(depositor)s") % {
        "number": row["deposit"].pk,
        "depositor": row["depositor"],
    }


def _admissions(deposits) -> dict[int, bool]:
    """Whether each deposit's candidature was admitted in the analysis (absent: not yet judged)."""
    from awards.models import CandidatureReview

    reviews = CandidatureReview.objects.filter(deposit__in=list(deposits))
    return dict(reviews.values_list("deposit_id", "admitted"))


def _offer_choice(row, admitted: dict[int, bool]) -> tuple[str, str]:
    value, label = _choice(row)
    verdict = admitted.get(row["deposit"].pk)
    if verdict is True:
        label = _("%(label)s (candidature admise)") % {"label": label}
    elif verdict is False:
        label = _("%(label)s (candidature non admise : son offre ne s'ouvre pas)") % {"label": label}
    return value, label


def _opening_forms(consultation, rows, *, bound: dict | None = None) -> dict:
    """The forms for the openings still to do, by URL word; ``bound`` replaces one with the
    form the agent just sent."""
    openings = set(selectors.consultation_openings(consultation).values_list("scope", flat=True))
    on_time = [r for r in rows if r["deposit"].status == DepositStatus.ON_TIME]
    late = [
        r
        for r in rows
        if r["deposit"].status == DepositStatus.LATE and not any(e["opened"] for e in r["envelopes"])
    ]
    forms = {}
    if consultation.opening_mode == OpeningMode.BY_ENVELOPE:
        if Opening.Scope.CANDIDATURES not in openings:
            forms["candidatures"] = OpeningForm(prefix="candidatures")
        else:
            waiting = [
                r
                for r in on_time
                if not any(e["opened"] for e in r["envelopes"] if e["envelope"].kind != "candidature")
            ]
            if waiting:
                admitted = _admissions(r["deposit"] for r in waiting)
                forms["offres"] = OpeningForm(
                    prefix="offres",
                    deposit_choices=[_offer_choice(r, admitted) for r in waiting],
                    deposits_label=_("Candidats admis dont l'offre est à ouvrir"),
                    initial={"deposits": [str(pk) for pk, ok in admitted.items() if ok]},
                )
    elif Opening.Scope.RESPONSES not in openings:
        forms["reponses"] = OpeningForm(prefix="reponses")
    if late:
        forms["hors-delai"] = OpeningForm(
            prefix="hors-delai",
            deposit_choices=[_choice(r) for r in late],
            deposits_label=_("Plis hors délai à ouvrir"),
            with_reason=True,
        )
    if bound:
        forms.update(bound)
    return forms


def _page(request, consultation, *, bound: dict | None = None, status: int = 200):
    disclosed = deposits_disclosed(consultation)
    can_open = agent_can(request.user, AgentPermission.OPEN, consultation)
    context = {
        "consultation": consultation,
        "disclosed": disclosed,
        "can_open": can_open,
        "keys": selectors.opening_keys_for(consultation),
    }
    if disclosed:
        rows = selectors.register_rows(consultation)
        context.update(
            {
                "rows": rows,
                "on_time_count": sum(1 for r in rows if r["deposit"].status == DepositStatus.ON_TIME),
                "late_count": sum(1 for r in rows if r["deposit"].status == DepositStatus.LATE),
                "superseded_count": sum(1 for r in rows if r["deposit"].status == DepositStatus.SUPERSEDED),
                "openings": selectors.consultation_openings(consultation),
                "forms": _opening_forms(consultation, rows, bound=bound) if can_open else {},
            }
        )
    return render(request, "deposits/buyer/deposits.html", context, status=status)


@never_cache
@agent_required
@require_GET
def deposits_page(request, pk: int):
    return _page(request, agent_consultation(request, pk))


# --- Opening ---------------------------------------------------------------------------------


@never_cache
@sensitive_post_parameters(
    "candidatures-password", "offres-password", "reponses-password", "hors-delai-password"
)
@agent_required
@require_POST
def deposits_open_view(request, pk: int, scope: str):
    consultation = agent_consultation(request, pk)
    agent_require(request.user, AgentPermission.OPEN, consultation)
    if scope not in SCOPES:
        raise Http404
    if not deposits_disclosed(consultation):
        messages.error(
            request,
            _("La date limite de remise des plis n'est pas passée : aucun pli ne peut être ouvert."),
        )
        return redirect("deposits:buyer_deposits", pk=consultation.pk)
    rows = selectors.register_rows(consultation)
    template = _opening_forms(consultation, rows).get(scope)
    if template is None:
        messages.error(request, _("Cette ouverture n'est pas possible, ou a déjà été faite."))
        return redirect("deposits:buyer_deposits", pk=consultation.pk)
    form = OpeningForm(
        request.POST,
        request.FILES,
        prefix=scope,
        deposit_choices=template.fields["deposits"].choices if "deposits" in template.fields else None,
        deposits_label=template.fields["deposits"].label if "deposits" in template.fields else None,
        with_reason="reason" in template.fields,
    )
    if form.is_valid():
        try:
            opening, results = deposits_open(
                consultation=consultation,
                user=request.user,
                scope=SCOPES[scope],
                pkcs12_content=form.pkcs12_content(),
                password=form.cleaned_data["password"],
                deposit_ids=form.cleaned_data.get("deposits", []),
                reason=form.cleaned_data.get("reason", ""),
            )
        except OpeningError as error:
            form.add_error(error.field if error.field in form.fields else None, error.message)
        else:
            _opening_messages(request, opening, results)
            return redirect("deposits:buyer_deposits", pk=consultation.pk)
    return _page(request, consultation, bound={scope: form}, status=400)


def _opening_messages(request, opening, results) -> None:
    altered = [r for r in results if r.check == OpeningCheck.ALTERED]
    messages.success(
        request,
        ngettext(
            "Ouverture enregistrée (%(scope)s) : %(count)d fichier déchiffré et vérifié. "
            "Le procès-verbal est disponible ci-dessous.",
            "Ouverture enregistrée (%(scope)s) : %(count)d fichiers déchiffrés et vérifiés. "
            "Le procès-verbal est disponible ci-dessous.",
            len(results),
        )
        % {"scope": opening.get_scope_display(), "count": len(results)},
    )
    for result in altered:
        messages.error(
            request,
            _(
                "Fichier altéré : « %(name)s » (pli n° %(deposit)s). Son contenu stocké ne correspond pas "
                "à ce qui a été déposé ; il n'est pas mis à disposition. %(problem)s"
            )
            % {
                "name": result.deposit_file.name,
                "deposit": result.deposit_file.envelope.deposit_id,
                "problem": result.problem,
            },
        )


# --- After the opening: files, minutes, register --------------------------------------------


def _logged(chunks: Iterator[bytes], file_pk: int) -> Iterator[bytes]:
    try:
        yield from chunks
    except crypto.DecryptionError:
        # Changed in storage since the opening: the download stops short rather than go on.
        logger.error("Opened file %s no longer decrypts", file_pk)
        raise


@never_cache
@agent_required
@require_GET
def opened_file_download(request, pk: int, file_pk: int):
    consultation = agent_consultation(request, pk)
    deposit_file = selectors.opened_file_of(consultation, file_pk)
    if deposit_file is None or not deposits_disclosed(consultation):
        raise Http404
    try:
        chunks = opened_file_plaintext(deposit_file)
    except OpenedKeyLost:
        messages.error(
            request,
            _(
                "Ce fichier ne peut plus être déchiffré par la plateforme (sa clé a changé) : ouvrez-le "
                "avec le fichier de clé privée et l'outil de déchiffrement."
            ),
        )
        return redirect("deposits:buyer_deposits", pk=consultation.pk)
    opened_file_download_record(deposit_file=deposit_file, user=request.user, request=request)
    response = StreamingHttpResponse(
        _logged(chunks, deposit_file.pk), content_type="application/octet-stream"
    )
    response["Content-Disposition"] = content_disposition_header(
        as_attachment=True, filename=deposit_file.name
    )
    response["Content-Length"] = str(deposit_file.size)
    response["X-Content-Type-Options"] = "nosniff"
    return response


@never_cache
@agent_required
@require_GET
def minutes_download(request, pk: int, opening_pk: int):
    consultation = agent_consultation(request, pk)
    opening = selectors.opening_of(consultation, opening_pk)
    if opening is None or not opening.minutes_object:
        raise Http404
    event_record(
        action="deposits.minutes_downloaded",
        actor=request.user,
        target=opening,
        organisation=consultation.organisation_id,
        data={"sha256": opening.minutes_sha256},
        request=request,
    )
    filename = f"pv-ouverture-{safe_filename_part(consultation.reference)}-{opening.pk}.pdf"
    return FileResponse(
        default_storage.open(opening.minutes_object, "rb"),
        as_attachment=True,
        filename=filename,
        content_type="application/pdf",
    )


@never_cache
@agent_required
@require_GET
def register_export(request, pk: int, fmt: str):
    consultation = agent_consultation(request, pk)
    if fmt not in EXPORTERS or not deposits_disclosed(consultation):
        raise Http404
    try:
        built = register_build(consultation, "depots", exported_at=clock.now())
    except PermissionDenied:
        raise Http404 from None
    content = EXPORTERS[fmt](built)
    event_record(
        action="register.exported",
        actor=request.user,
        target=consultation,
        organisation=consultation.organisation_id,
        data={"register": "depots", "format": fmt, "rows": built.count},
        request=request,
    )
    response = HttpResponse(content, content_type=CONTENT_TYPES[fmt])
    response["Content-Disposition"] = content_disposition_header(
        as_attachment=True, filename=f"{built.filename_stem}.{fmt}"
    )
    return response
