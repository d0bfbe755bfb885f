"""What every buyer view shares: finding the agent's consultation, turning a service's
refusal into form errors, the tabs."""

from django.core.exceptions import ValidationError
from django.forms import Form
from django.shortcuts import get_object_or_404, redirect
from django.utils.translation import gettext_lazy as _

from consultations.errors import ConsultationError
from consultations.models import Consultation

# (slug, label): the order of the tabs on screen, as in the buyers' guides.
TABS = (
    ("identification", _("Identification")),
    ("pieces", _("Pièces et modalités d'accès")),
    ("lots", _("Lots")),
    ("calendrier", _("Calendrier")),
    ("modalites", _("Modalités")),
)
TAB_LABELS = dict(TABS)
NEXT_DASHBOARD = "dashboard"


def agent_consultation(request, pk: int) -> Consultation:
    """The consultation, if it is of the agent's organisation; 404 otherwise (its existence is not told)."""
    return get_object_or_404(
        Consultation.objects.select_related("organisation"),
        pk=pk,
        organisation_id=request.user.agent.organisation_id,
    )


def errors_into(
    form: Form, error: ValidationError | ConsultationError, *, aliases: dict | None = None
) -> None:
    """Show a service's refusal on the form: on the field it names when the form has it."""
    aliases = aliases or {}
    if isinstance(error, ConsultationError):
        form.add_error(None, error.message)
        for problem in error.problems:
            form.add_error(None, problem)
        return
    if not hasattr(error, "error_dict"):
        form.add_error(None, error)
        return
    for name, errors in error.error_dict.items():
        name = aliases.get(name, name)
        form.add_error(name if name in form.fields else None, ValidationError(errors))


def after_save(request, consultation: Consultation, tab: str):
    """« Enregistrer et aller au tableau de bord », or stay on the tab just saved."""
    if request.POST.get("next") == NEXT_DASHBOARD:
        return redirect("consultations:buyer_dashboard")
    return redirect("consultations:buyer_tab", pk=consultation.pk, tab=tab)
