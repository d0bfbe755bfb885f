"""What the analysis screens share: the consultation, whether its deposits may be
analysed, the service refusals on forms, and links to screens of other parts."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.utils.translation import gettext as _

from accounts.models import AgentPermission
from accounts.permissions import agent_can
from consultations.models import State
from consultations.views.buyer_common import agent_consultation
from deposits.services.opening import deposits_disclosed

# The analysis is shown once the deposits are opened; after the decision it is read only.
VISIBLE_STATES = frozenset({State.OPENED, State.EVALUATION, State.DECIDED, State.ARCHIVED})
WRITABLE_STATES = frozenset({State.OPENED, State.EVALUATION})


def analysis_readable(user, consultation) -> bool:
    """The analysis (offers, notes, ranking, decisions before publication) is read by the
    agents who decide or who open the bids, not by every agent of the buyer."""
    return agent_can(user, AgentPermission.DECIDE, consultation) or agent_can(
        user, AgentPermission.OPEN, consultation
    )


def analysis_consultation(request, pk: int):
    """The agent's consultation (another organisation's is not found), if the agent may
    read its analysis (else 403)."""
    consultation = agent_consultation(request, pk)
    if not analysis_readable(request.user, consultation):
        raise PermissionDenied
    return consultation


def analysis_visible(consultation) -> bool:
    return deposits_disclosed(consultation) and consultation.state in VISIBLE_STATES


def can_write(request, consultation) -> bool:
    return consultation.state in WRITABLE_STATES and agent_can(
        request.user, AgentPermission.DECIDE, consultation
    )


def not_yet(request, consultation):
    """Before the opening nothing of the deposits is shown: back to the hub, which says why."""
    messages.info(request, _("L'analyse commence après l'ouverture des plis."))
    return redirect("awards:evaluation", pk=consultation.pk)


def error_into(form, error) -> None:
    """A service's refusal on the field it names when the form has it, else on the form."""
    field = getattr(error, "field", None)
    aliases = {"answer_due_at": "answer_due_date"}
    field = aliases.get(field, field)
    form.add_error(field if field in form.fields else None, error.message)
