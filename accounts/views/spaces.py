"""The company space and the buyer space: who belongs, and who may do what."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _

from accounts import selectors, services
from accounts.forms import AgentCreateForm, AgentUpdateForm, PersonForm
from accounts.models import Agent, AgentPermission
from accounts.permissions import (
    agent_can,
    agent_of,
    agent_required,
    company_can_manage,
    company_user_of,
    company_user_required,
)
from accounts.views.helpers import base_url, form_add_service_error


@login_required
def home(request):
    """After login, each user lands in its own space."""
    if agent_of(request.user):
        return redirect("accounts:buyer_space")
    if company_user_of(request.user):
        return redirect("accounts:company_space")
    if request.user.is_staff:
        return redirect("admin:index")
    return redirect("accounts:profile")


@company_user_required
def company_space(request):
    company_user = request.user.company_user
    company = company_user.company
    return render(
        request,
        "accounts/company_space.html",
        {
            "company": company,
            "colleagues": selectors.company_users(company=company),
            "can_manage": company_can_manage(request.user, company),
        },
    )


@company_user_required
def company_user_add(request):
    company = request.user.company_user.company
    if not company_can_manage(request.user, company):
        raise PermissionDenied
    form = PersonForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.company_user_invite(
                by=request.user,
                company=company,
                base_url=base_url(request),
                request=request,
                **form.cleaned_data,
            )
        except ValidationError as error:
            form_add_service_error(form, error)
        else:
            messages.success(
                request,
                _("Un courriel d'invitation a été envoyé à %(email)s.")
                % {"email": form.cleaned_data["email"]},
            )
            return redirect("accounts:company_space")
    return render(request, "accounts/company_user_add.html", {"form": form, "company": company})


@agent_required
def buyer_space(request):
    agent = request.user.agent
    organisation = agent.organisation
    can_administer = agent_can(request.user, AgentPermission.ADMINISTER, organisation)
    return render(
        request,
        "accounts/buyer_space.html",
        {
            "agent": agent,
            "organisation": organisation,
            "can_administer": can_administer,
            "agents": selectors.organisation_agents(organisation=organisation) if can_administer else None,
        },
    )


@agent_required
def agent_add(request):
    organisation = request.user.agent.organisation
    if not agent_can(request.user, AgentPermission.ADMINISTER, organisation):
        raise PermissionDenied
    form = AgentCreateForm(request.POST or None, organisation=organisation)
    if request.method == "POST" and form.is_valid():
        try:
            services.agent_create(
                by=request.user,
                organisation=organisation,
                base_url=base_url(request),
                request=request,
                **form.cleaned_data,
            )
        except ValidationError as error:
            form_add_service_error(form, error)
        else:
            messages.success(
                request,
                _("L'agent a été créé ; il reçoit un courriel pour choisir son mot de passe."),
            )
            return redirect("accounts:buyer_space")
    return render(request, "accounts/agent_form.html", {"form": form, "organisation": organisation})


@agent_required
def agent_edit(request, pk: int):
    agent = get_object_or_404(
        Agent.objects.select_related("user", "organisation"),
        pk=pk,
        organisation=request.user.agent.organisation,  # another organisation's agent does not exist here
    )
    if not agent_can(request.user, AgentPermission.ADMINISTER, agent):
        raise PermissionDenied
    initial = {
        "job_title": agent.job_title,
        "service": agent.service,
        "permissions": [p.value for p in agent.permissions],
        "is_active": agent.user.is_active,
    }
    form = AgentUpdateForm(request.POST or None, initial=initial, organisation=agent.organisation)
    if request.method == "POST" and form.is_valid():
        try:
            services.agent_update(by=request.user, agent=agent, request=request, **form.cleaned_data)
        except ValidationError as error:
            form_add_service_error(form, error)
        else:
            messages.success(
                request,
                _("Les habilitations de %(name)s sont enregistrées.") % {"name": agent.user},
            )
            return redirect("accounts:buyer_space")
    return render(
        request,
        "accounts/agent_form.html",
        {"form": form, "organisation": agent.organisation, "edited": agent},
    )
