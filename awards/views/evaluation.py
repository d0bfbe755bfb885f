"""The hub of the analysis (« Analyse des offres et décision »): per lot, or for the
consultation without lots, its grid and its state, and the links to the candidatures,
the grid, the corrections, the report and the decisions."""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from accounts.permissions import agent_required
from awards.forms_evaluation import GridCreateForm
from awards.models import EvaluationGrid
from awards.services.grids import GridError, grid_create, grid_offer_rows, grid_problem, offers_opened
from awards.views.common import analysis_consultation, analysis_visible, can_write


def _units(consultation, errors: dict) -> list[dict]:
    """One entry per lot, or one for the consultation without lots."""
    grids = {grid.lot_id: grid for grid in EvaluationGrid.objects.filter(consultation=consultation)}
    lots = list(consultation.lots.order_by("number")) or [None]
    units = []
    for lot in lots:
        grid = grids.get(lot.pk if lot is not None else None)
        offers = grid_offer_rows(grid) if grid is not None else []
        units.append(
            {
                "lot": lot,
                "grid": grid,
                "problem": grid_problem(grid) if grid is not None else "",
                "offer_count": len(offers),
                "opened": offers_opened(consultation, lot),
                "error": errors.get(lot.pk if lot is not None else 0, ""),
                "corrections_url": reverse("awards:corrections", args=[consultation.pk, grid.pk])
                if grid
                else None,
            }
        )
    return units


def _page(request, consultation, *, errors: dict | None = None, status: int = 200):
    visible = analysis_visible(consultation)
    context = {
        "consultation": consultation,
        "visible": visible,
        "can_write": can_write(request, consultation),
        "general_error": (errors or {}).get("general", ""),
    }
    if visible:
        context.update(
            {
                "units": _units(consultation, errors or {}),
                "report_pdf_url": reverse("awards:report_pdf", args=[consultation.pk]),
                "report_xlsx_url": reverse("awards:report_xlsx", args=[consultation.pk]),
                "decisions_url": reverse("awards:decisions", args=[consultation.pk]),
            }
        )
    return render(request, "awards/evaluation/hub.html", context, status=status)


@never_cache
@agent_required
@require_GET
def evaluation(request, pk: int):
    return _page(request, analysis_consultation(request, pk))


@never_cache
@agent_required
@require_POST
def grid_create_view(request, pk: int):
    consultation = analysis_consultation(request, pk)
    form = GridCreateForm(request.POST)
    lot = None
    if form.is_valid() and form.cleaned_data["lot"] is not None:
        lot = consultation.lots.filter(pk=form.cleaned_data["lot"]).first()
        if lot is None:
            return _page(request, consultation, errors={"general": _("Ce lot n'existe pas.")}, status=400)
    try:
        grid = grid_create(user=request.user, consultation=consultation, lot=lot)
    except GridError as error:
        # Without a lot, on a consultation with lots, no unit shows it: at the top of the page.
        key = lot.pk if lot else ("general" if consultation.lots.exists() else 0)
        return _page(request, consultation, errors={key: error.message}, status=400)
    messages.success(request, _("La grille d'analyse est créée : ajoutez ses critères."))
    return redirect("awards:grid", pk=consultation.pk, grid_pk=grid.pk)
