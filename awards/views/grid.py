"""The analysis grid of a lot (or of the consultation without lots): its criteria, the
amounts and notes of each offer, and the ranking. Rules: ``awards/services/grids.py`` and
``awards/services/scoring.py``."""

from django.contrib import messages
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from accounts.permissions import agent_required
from awards.forms_evaluation import CriterionForm, OfferForm
from awards.models import Criterion, CriterionKind, EvaluationGrid
from awards.services.grids import (
    GridError,
    criterion_add,
    criterion_delete,
    criterion_update,
    grid_decided,
    grid_offer_rows,
    grid_problem,
    offer_record,
)
from awards.services.scoring import ScoringError, criteria_walk, grid_criteria, grid_results, offer_label
from awards.views.common import analysis_consultation, analysis_visible, can_write, error_into, not_yet
from deposits.models import Deposit

OFFER_WORDS = {"base": False, "variante": True}


def _grid(request, pk: int, grid_pk: int):
    consultation = analysis_consultation(request, pk)
    grid = get_object_or_404(
        EvaluationGrid.objects.select_related("lot", "consultation__organisation"),
        pk=grid_pk,
        consultation=consultation,
    )
    return consultation, grid


def _criteria(grid) -> list[Criterion]:
    """Top-level criteria each followed by its sub-criteria, in the grid's order."""
    rows = list(grid.criteria.order_by("position", "pk"))
    ordered = []
    for top in (row for row in rows if row.parent_id is None):
        ordered.append(top)
        top.leaf = True
        for child in (row for row in rows if row.parent_id == top.pk):
            top.leaf = False
            child.leaf = True
            ordered.append(child)
    return ordered


def _ranking(grid, criteria) -> tuple[list[dict], str]:
    specs = list(criteria_walk(grid_criteria(grid)))
    try:
        ranked = grid_results(grid=grid)
    except ScoringError as error:
        return [], error.message
    rows = [
        {
            "rank": item.rank,
            "label": item.result.label,
            "points": [item.result.points.get(spec.key) for spec in specs],
            "total": item.result.total,
            "decided_by": item.decided_by,
        }
        for item in ranked
    ]
    return rows, ""


def _page(request, consultation, grid, *, bound: dict | None = None, status: int = 200):
    bound = bound or {}
    writable = can_write(request, consultation) and not grid_decided(grid)
    criteria = _criteria(grid)
    problem = grid_problem(grid)
    leaves = [c for c in criteria if c.leaf and c.kind != CriterionKind.PRICE]
    has_price = any(c.kind == CriterionKind.PRICE for c in criteria)
    parents = [c for c in criteria if c.parent_id is None and c.kind != CriterionKind.PRICE]
    if writable:
        for criterion in criteria:
            criterion.form = bound.get(("criterion", criterion.pk)) or CriterionForm(
                prefix=f"c{criterion.pk}", initial=CriterionForm.initial_of(criterion), parents=None
            )
    offers = grid_offer_rows(grid)
    for row in offers:
        row["label"] = offer_label(row["deposit"], row["variant"])
        row["word"] = "variante" if row["variant"] else "base"
        row["key"] = f"o{row['deposit'].pk}-{row['word']}"
        row["readonly"] = [{"criterion": c, "score": row["scores"].get(c.pk)} for c in leaves]
        if writable and not problem and row["analysable"]:
            row["form"] = bound.get(("offer", row["key"])) or OfferForm(
                prefix=row["key"],
                leaves=leaves,
                has_price=has_price,
                initial=OfferForm.initial_of(row, leaves),
            )
    ranking, ranking_error = ([], "") if problem else _ranking(grid, criteria)
    context = {
        "consultation": consultation,
        "grid": grid,
        "criteria": criteria,
        "problem": problem,
        "can_write": writable,
        "decided": grid_decided(grid),
        "add_form": bound.get("add") or (CriterionForm(prefix="add", parents=parents) if writable else None),
        "offers": offers,
        "leaves": leaves,
        "has_price": has_price,
        "ranking": ranking,
        "ranking_error": ranking_error,
        "corrections_url": reverse("awards:corrections", args=[consultation.pk, grid.pk]),
    }
    return render(request, "awards/evaluation/grid.html", context, status=status)


def _back(consultation, grid, anchor: str = ""):
    url = reverse("awards:grid", args=[consultation.pk, grid.pk])
    return redirect(f"{url}#{anchor}" if anchor else url)


@never_cache
@agent_required
@require_GET
def grid_view(request, pk: int, grid_pk: int):
    consultation, grid = _grid(request, pk, grid_pk)
    if not analysis_visible(consultation):
        return not_yet(request, consultation)
    return _page(request, consultation, grid)


def _criterion_values(form) -> dict:
    data = form.cleaned_data
    return {
        "label": data["label"],
        "weight": data["weight"],
        "kind": data["kind"],
        "price_formula": data["price_formula"],
        "scale": data["scale"],
    }


@never_cache
@agent_required
@require_POST
def criterion_add_view(request, pk: int, grid_pk: int):
    consultation, grid = _grid(request, pk, grid_pk)
    if not analysis_visible(consultation):
        return not_yet(request, consultation)
    parents = [c for c in grid.criteria.filter(parent__isnull=True).exclude(kind=CriterionKind.PRICE)]
    form = CriterionForm(request.POST, prefix="add", parents=parents)
    if form.is_valid():
        parent_pk = form.cleaned_data.get("parent")
        parent = next((c for c in parents if c.pk == parent_pk), None)
        try:
            criterion = criterion_add(user=request.user, grid=grid, parent=parent, **_criterion_values(form))
        except GridError as error:
            error_into(form, error)
        else:
            messages.success(request, _("Le critère « %(label)s » est ajouté.") % {"label": criterion.label})
            return _back(consultation, grid, "criteria-title")
    return _page(request, consultation, grid, bound={"add": form}, status=400)


def _criterion(grid, criterion_pk: int) -> Criterion:
    criterion = grid.criteria.filter(pk=criterion_pk).first()
    if criterion is None:
        raise Http404
    return criterion


@never_cache
@agent_required
@require_POST
def criterion_update_view(request, pk: int, grid_pk: int, criterion_pk: int):
    consultation, grid = _grid(request, pk, grid_pk)
    if not analysis_visible(consultation):
        return not_yet(request, consultation)
    criterion = _criterion(grid, criterion_pk)
    form = CriterionForm(request.POST, prefix=f"c{criterion.pk}", parents=None)
    if form.is_valid():
        try:
            criterion_update(user=request.user, criterion=criterion, **_criterion_values(form))
        except GridError as error:
            error_into(form, error)
        else:
            messages.success(request, _("Le critère « %(label)s » est modifié.") % {"label": criterion.label})
            return _back(consultation, grid, f"criterion-{criterion.pk}")
    return _page(request, consultation, grid, bound={("criterion", criterion.pk): form}, status=400)


@never_cache
@agent_required
@require_POST
def criterion_delete_view(request, pk: int, grid_pk: int, criterion_pk: int):
    consultation, grid = _grid(request, pk, grid_pk)
    if not analysis_visible(consultation):
        return not_yet(request, consultation)
    criterion = _criterion(grid, criterion_pk)
    label = criterion.label
    try:
        criterion_delete(user=request.user, criterion=criterion)
    except GridError as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request, _("Le critère « %(label)s » est supprimé, avec ses notes.") % {"label": label}
        )
    return _back(consultation, grid, "criteria-title")


@never_cache
@agent_required
@require_POST
def offer_record_view(request, pk: int, grid_pk: int, deposit_pk: int, offer: str):
    consultation, grid = _grid(request, pk, grid_pk)
    if not analysis_visible(consultation):
        return not_yet(request, consultation)
    if offer not in OFFER_WORDS:
        raise Http404
    deposit = get_object_or_404(
        Deposit.objects.select_related("company"), pk=deposit_pk, consultation=consultation
    )
    # Only an offer the screen lists is written from it (the service says why any other is refused).
    listed = {(row["deposit"].pk, row["variant"]) for row in grid_offer_rows(grid)}
    if (deposit.pk, OFFER_WORDS[offer]) not in listed:
        raise Http404
    criteria = _criteria(grid)
    leaves = [c for c in criteria if c.leaf and c.kind != CriterionKind.PRICE]
    has_price = any(c.kind == CriterionKind.PRICE for c in criteria)
    key = f"o{deposit.pk}-{offer}"
    form = OfferForm(request.POST, prefix=key, leaves=leaves, has_price=has_price)
    if form.is_valid():
        try:
            offer_record(
                user=request.user,
                grid=grid,
                deposit=deposit,
                variant=OFFER_WORDS[offer],
                amount=form.cleaned_data.get("amount"),
                notes=form.notes(),
            )
        except GridError as error:
            error_into(form, error)
        else:
            messages.success(
                request,
                _("L'offre de %(offer)s est enregistrée.")
                % {"offer": offer_label(deposit, OFFER_WORDS[offer])},
            )
            return _back(consultation, grid, key)
    return _page(request, consultation, grid, bound={("offer", key): form}, status=400)
