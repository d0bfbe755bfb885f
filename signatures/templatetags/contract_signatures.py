"""What the contract signature blocks of other apps' pages show: the buyer's block on the
decisions page, the company's « Marchés à signer » in its space."""

from django import template

from accounts.models import AgentPermission
from accounts.permissions import agent_can, company_user_of
from signatures.forms_contract import ContractSignatureForm
from signatures.services.contract import contract_state, contracts_to_sign

register = template.Library()


@register.simple_tag
def contract_buyer_state(decision, user, form=None):
    state = contract_state(decision)
    state["can_sign"] = agent_can(user, AgentPermission.DECIDE, decision.consultation)
    state["form"] = form or ContractSignatureForm(prefix=f"contract-{decision.pk}")
    return state


@register.simple_tag
def company_contracts(user):
    company_user = company_user_of(user)
    if company_user is None:
        return []
    return [contract_state(decision) for decision in contracts_to_sign(company_user.company)]
