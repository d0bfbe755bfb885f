"""The agent's screen of the essential data (DECP) of an awarded contract: the complements,
the record as it stands (or as published), « Publier », the modifications.

Any agent of the organisation reads it (another organisation's consultation is « not
found »); saving, publishing and modifying take the permission to decide (403), checked
by the services in ``awards/decp.py``.
"""

import json

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache

from accounts.models import AgentPermission
from accounts.permissions import agent_can, agent_required
from awards import decp
from awards.forms_essential_data import ComplementsForm, ModificationForm
from awards.models import Decision, Outcome
from consultations.views.buyer_common import agent_consultation

ACTIONS = ("complements", "publish", "modification")


def _error_into(form, error: decp.DecpError) -> None:
    form.add_error(None, error.message)
    for problem in error.problems:
        form.add_error(None, problem)


@never_cache
@agent_required
def essential_data(request, pk: int, decision_pk: int):
    consultation = agent_consultation(request, pk)
    decision = get_object_or_404(
        Decision.objects.select_related(
            "consultation__organisation", "lot", "deposit__company", "notification"
        ),
        pk=decision_pk,
        consultation=consultation,
        outcome=Outcome.AWARDED,
    )
    data = decp.essential_data_for(decision)
    can_decide = agent_can(request.user, AgentPermission.DECIDE, consultation)
    complements_form = ComplementsForm(
        initial=ComplementsForm.initial_from(
            {**decp.complement_defaults(decision), **(data.complements or {})}
        )
    )
    modification_form = ModificationForm()
    publish_error = refusal = None
    status = 200
    if request.method == "POST":
        action = request.POST.get("action")
        if action not in ACTIONS:
            return redirect(request.path)
        if action == "complements":
            complements_form = ComplementsForm(request.POST)
            if complements_form.is_valid():
                try:
                    decp.complements_save(
                        user=request.user, decision=decision, values=complements_form.values()
                    )
                except decp.DecpError as error:
                    _error_into(complements_form, error)
                    refusal = error
                else:
                    messages.success(request, _("Les compléments sont enregistrés."))
                    return redirect(request.path)
        elif action == "publish":
            try:
                decp.decp_publish(user=request.user, essential_data=data)
            except decp.DecpError as error:
                publish_error = refusal = error
            else:
                messages.success(request, _("Les données essentielles sont publiées."))
                return redirect(request.path)
        else:
            modification_form = ModificationForm(request.POST)
            if modification_form.is_valid():
                values = modification_form.cleaned_data
                try:
                    modification = decp.modification_record(
                        user=request.user,
                        essential_data=data,
                        notified_on=values["notified_on"],
                        object=values["object"],
                        amount=values["amount"],
                        duration_months=values["duration_months"],
                        holders=values["holders"],
                    )
                except decp.DecpError as error:
                    _error_into(modification_form, error)
                    refusal = error
                else:
                    messages.success(
                        request,
                        _("La modification n° %(number)d est publiée.") % {"number": modification.number},
                    )
                    return redirect(request.path)
        status = 400
        data = decp.essential_data_for(Decision.objects.get(pk=decision.pk))
        # The complements and « Publier » are shown before the publication, the modification
        # after it: a refusal on a form the page does not show (double click, stale page) is
        # said at the top.
        if refusal is not None and (action == "modification") != bool(data.published_at):
            messages.error(request, refusal.message)
    if data.published_at:
        record, missing, errors = decp.published_record(data), [], []
    else:
        draft = decp.decp_build(data)
        record, missing, errors = draft.record, draft.missing, draft.errors
    return render(
        request,
        "awards/essential_data/essential_data.html",
        {
            "consultation": consultation,
            "decision": decision,
            "essential_data": data,
            "published": bool(data.published_at),
            "can_decide": can_decide,
            "complements_form": complements_form,
            "modification_form": modification_form,
            "publish_error": publish_error,
            "record_json": json.dumps(decp.decp_document([record]), ensure_ascii=False, indent=2),
            "missing": missing,
            "errors": errors,
            "modifications": list(data.modifications.all()) if data.pk else [],
            "decisions_url": reverse("awards:decisions", args=[consultation.pk]),
        },
        status=status,
    )
