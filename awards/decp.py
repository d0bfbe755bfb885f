"""The « données essentielles » (DECP) of an awarded contract, in the official format v2.0.3.

One awarded ``Decision`` has one ``EssentialData``: the agent's complements (what the
consultation and the decision do not say), then the record as published. The record is
built from:

- the consultation: ``objet`` (its title, and the lot's), ``nature`` (contract type),
  ``procedure`` (procedure type), ``codeCPV`` (the lot's, else the consultation's),
  ``lieuExecution`` (a postal code or a « (35) » department read from the place of
  execution, else the organisation's department, unless the agent gave one);
- the decision: ``titulaires`` (the winning company's SIRET, or each member of the winning
  consortium, representative first), ``montant``, ``dureeMois``, ``dateNotification`` (the
  day, in Paris, the winner first read the notification message: before that, the contract
  is not notified and nothing is published), ``typeGroupementOperateurs`` (from the
  deposit's consortium form, unless the agent chose);
- the buyer: ``acheteur.id``, the organisation's SIRET;
- ``offresRecues``: the deposits received on time with an offer for the lot (a variant in
  the same deposit is not counted twice);
- the agent's complements, keyed by the DECP field names (``COMPLEMENT_FIELDS``).

``id`` (16 characters at most, unique per buyer): the year of the decision, the
consultation's reference in letters, digits, « - » and « _ », and « L » + the lot number;
when that is too long or already taken by another contract of the buyer, the year,
« C » + the consultation's number and the lot.

The record is frozen when published (``EssentialData.record``); each ``ContractModification``
is published beside it and joins the record's ``modifications`` in the exports.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import AgentPermission
from accounts.permissions import agent_require
from accounts.validators import siret_is_valid
from audit.services import event_record
from awards.models import ContractModification, Decision, EssentialData, Outcome
from awards.services.decisions import DURATION_MAX_MONTHS
from config import clock
from consultations.models import ContractType, EnvelopeKind, ProcedureType
from deposits.models import ConsortiumKind, Deposit, DepositState, DepositStatus, ResponseKind

SCHEMA_DIR = Path(__file__).resolve().parent / "schemas"
SCHEMA_PATH = SCHEMA_DIR / "schema_decp_v2.0.3.json"
XSD_PATH = SCHEMA_DIR / "schema_decp_v2.0.2.xsd"
PARIS = ZoneInfo("Europe/Paris")
ID_MAX_LENGTH = 16
OBJET_MAX_LENGTH = 1000


class DecpError(Exception):
    """The essential data cannot be saved or published; the message is French, shown as is,
    and ``problems`` lists what is missing or wrong, one sentence each."""

    def __init__(self, message: str, *, problems: list[str] | None = None, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.problems = problems or []
        self.field = field


# --- The schema ------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def decp_schema() -> dict:
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


def marche_property(name: str) -> dict:
    """The schema of one field of a « marché », its ``$ref`` followed."""
    schema = decp_schema()
    node = schema["definitions"]["marche"]["properties"][name]
    while "$ref" in node:
        node = _resolve(schema, node["$ref"])
    return node


def _resolve(schema: dict, ref: str) -> dict:
    node = schema
    for part in ref.lstrip("#/").split("/"):
        node = node[part]
    return node


def schema_enum(name: str) -> list[str]:
    """The values the schema allows for a field of a « marché » (lists: of its items)."""
    node = marche_property(name)
    if "enum" in node:
        return list(node["enum"])
    # An object wrapping one list (« techniques » → « technique »), or a list.
    for inner in node.get("properties", {}).values():
        inner = _resolve(decp_schema(), inner["$ref"]) if "$ref" in inner else inner
        if "items" in inner:
            return list(inner["items"]["enum"])
    return list(node["items"]["enum"])


@lru_cache(maxsize=1)
def _validator():
    from jsonschema import validators

    schema = decp_schema()
    # The Draft the schema declares in « $schema » (draft-07).
    cls = validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def decp_document(records: list[dict]) -> dict:
    """The top level of the format: ``{"marches": {"marche": [...]}}``."""
    return {"marches": {"marche": list(records)}}


def decp_errors(records: list[dict]) -> list[str]:
    """What the schema refuses in these records, one line each (empty: valid)."""
    errors = sorted(_validator().iter_errors(decp_document(records)), key=lambda e: list(e.absolute_path))
    lines = []
    for error in errors:
        path = "/".join(str(part) for part in error.absolute_path)
        lines.append(f"{path} : {error.message}")
    return lines


# --- What the agent adds ---------------------------------------------------------------------

# The complements, by DECP field name, with the words used when one is missing.
# Lists are stored as lists of the schema's values; booleans as true/false; rates as
# fractions (0.3 = 30 %); « lieuExecution » as {"code": …, "typeCode": …}.
COMPLEMENT_LABELS = {
    "ccag": gettext_lazy("le CCAG"),
    "formePrix": gettext_lazy("la forme du prix"),
    "typesPrix": gettext_lazy("le type de prix"),
    "techniques": gettext_lazy("les techniques d'achat"),
    "modalitesExecution": gettext_lazy("les modalités d'exécution"),
    "marcheInnovant": gettext_lazy("le caractère innovant du marché"),
    "attributionAvance": gettext_lazy("l'attribution d'une avance"),
    "sousTraitanceDeclaree": gettext_lazy("la sous-traitance déclarée"),
    "typeGroupementOperateurs": gettext_lazy("le type de groupement des titulaires"),
    "considerationsSociales": gettext_lazy("les considérations sociales"),
    "considerationsEnvironnementales": gettext_lazy("les considérations environnementales"),
    "lieuExecution": gettext_lazy("le lieu d'exécution"),
    "idAccordCadre": gettext_lazy("l'identifiant de l'accord-cadre"),
}
LIST_COMPLEMENTS = {
    # DECP field → its inner list's name.
    "typesPrix": "typePrix",
    "techniques": "technique",
    "modalitesExecution": "modaliteExecution",
    "considerationsSociales": "considerationSociale",
    "considerationsEnvironnementales": "considerationEnvironnementale",
}
CHOICE_COMPLEMENTS = ("ccag", "formePrix", "typeGroupementOperateurs")
BOOLEAN_COMPLEMENTS = ("marcheInnovant", "attributionAvance", "sousTraitanceDeclaree")
RATE_COMPLEMENTS = ("tauxAvance", "origineUE", "origineFrance")
COMPLEMENT_FIELDS = (
    *CHOICE_COMPLEMENTS,
    *LIST_COMPLEMENTS,
    *BOOLEAN_COMPLEMENTS,
    *RATE_COMPLEMENTS,
    "idAccordCadre",
    "lieuExecution",
)

NATURES = {
    ContractType.CONTRACT: "Marché",
    ContractType.FRAMEWORK: "Marché",
    ContractType.SUBSEQUENT: "Marché",
    ContractType.PARTNERSHIP: "Marché de partenariat",
    ContractType.DEFENCE: "Marché de défense ou de sécurité",
}
PROCEDURES = {
    ProcedureType.ADAPTED_UNDER_40K: "Procédure adaptée",
    ProcedureType.ADAPTED_40K_90K: "Procédure adaptée",
    ProcedureType.ADAPTED_OVER_90K: "Procédure adaptée",
    ProcedureType.OPEN_TENDER: "Appel d'offres ouvert",
    ProcedureType.RESTRICTED_TENDER: "Appel d'offres restreint",
    ProcedureType.NEGOTIATED: "Procédure avec négociation",
    ProcedureType.COMPETITIVE_DIALOGUE: "Dialogue compétitif",
    # The contract that follows a design contest is negotiated without publicity with
    # the winner (code de la commande publique, R2122-6); « Concours » is its technique.
    ProcedureType.DESIGN_CONTEST: "Marché passé sans publicité ni mise en concurrence préalable",
    ProcedureType.WITHOUT_PUBLICITY: "Marché passé sans publicité ni mise en concurrence préalable",
}
GROUPINGS = {ConsortiumKind.JOINT: "Conjoint", ConsortiumKind.JOINT_AND_SEVERAL: "Solidaire"}


def complement_defaults(decision: Decision) -> dict:
    """What the platform proposes for the complements it can infer; the agent may change it."""
    consultation = decision.consultation
    defaults: dict = {}
    techniques = []
    if consultation.contract_type == ContractType.FRAMEWORK:
        techniques.append("Accord-cadre")
    if consultation.procedure_type == ProcedureType.DESIGN_CONTEST:
        techniques.append("Concours")
    if techniques:
        defaults["techniques"] = techniques
    grouping = _grouping(decision.deposit) if decision.deposit_id else None
    if grouping:
        defaults["typeGroupementOperateurs"] = grouping
    place = place_of_execution(consultation)
    if place:
        defaults["lieuExecution"] = place
    return defaults


def _grouping(deposit: Deposit) -> str | None:
    if deposit.response_kind != ResponseKind.CONSORTIUM:
        return "Pas de groupement"
    return GROUPINGS.get(deposit.consortium_kind)


def place_of_execution(consultation) -> dict | None:
    """A code the schema accepts, read from the free text of the place of execution: a postal
    code, or a department in brackets (« Testville (35) »); else the organisation's department."""
    text = consultation.place_of_execution or ""
    postal = re.search(r"\b(\d{5})\b", text)
    if postal:
        return {"code": postal.group(1), "typeCode": "Code postal"}
    department = re.search(r"\((\d{2,3}|2[AB])\)", text)
    if department:
        return {"code": department.group(1), "typeCode": "Code département"}
    code = consultation.organisation.department_code
    return {"code": code, "typeCode": "Code département"} if code else None


def complements_clean(values: dict) -> dict:
    """The complements with only known fields and values the schema allows; raises DecpError."""
    cleaned: dict = {}
    problems = []
    for name in CHOICE_COMPLEMENTS:
        value = values.get(name)
        if value in (None, ""):
            continue
        if value not in schema_enum(name):
            problems.append(_("Valeur inconnue pour %(field)s : « %(value)s ».") % _named(name, value))
        else:
            cleaned[name] = value
    for name in LIST_COMPLEMENTS:
        value = [v for v in values.get(name) or [] if v]
        if not value:
            continue
        unknown = [v for v in value if v not in schema_enum(name)]
        if unknown:
            problems.append(_("Valeur inconnue pour %(field)s : « %(value)s ».") % _named(name, unknown[0]))
        else:
            cleaned[name] = list(dict.fromkeys(value))
    for name in BOOLEAN_COMPLEMENTS:
        value = values.get(name)
        if isinstance(value, bool):
            cleaned[name] = value
    for name in RATE_COMPLEMENTS:
        value = values.get(name)
        if value in (None, ""):
            continue
        rate = Decimal(str(value))
        if not Decimal("0") <= rate <= Decimal("1"):
            problems.append(_("Un taux ou une part s'exprime entre 0 et 100 %."))
        else:
            cleaned[name] = _number(rate)
    if (
        "origineUE" in cleaned
        and "origineFrance" in cleaned
        and cleaned["origineFrance"] > cleaned["origineUE"]
    ):
        problems.append(
            _(
                "La part des produits français ne peut pas dépasser la part des produits de "
                "l'Union européenne, qui les comprend."
            )
        )
    if "tauxAvance" in cleaned and cleaned.get("attributionAvance") is False:
        problems.append(_("Un taux d'avance n'a de sens que si une avance est attribuée."))
    framework_id = (values.get("idAccordCadre") or "").strip()
    if framework_id:
        if len(framework_id) > ID_MAX_LENGTH:
            problems.append(
                _("L'identifiant de l'accord-cadre a %(max)d caractères au plus.") % {"max": ID_MAX_LENGTH}
            )
        else:
            cleaned["idAccordCadre"] = framework_id
    place = values.get("lieuExecution") or {}
    code, type_code = (place.get("code") or "").strip(), place.get("typeCode") or ""
    if code or type_code:
        allowed = marche_property("lieuExecution")["properties"]["typeCode"]["enum"]
        if not code or type_code not in allowed:
            problems.append(_("Le lieu d'exécution demande un code et son type."))
        else:
            cleaned["lieuExecution"] = {"code": code, "typeCode": type_code}
    if problems:
        raise DecpError(_("Les compléments n'ont pas été enregistrés."), problems=problems)
    return cleaned


def _named(name: str, value) -> dict:
    return {"field": str(COMPLEMENT_LABELS.get(name, name)), "value": value}


# --- The record --------------------------------------------------------------------------------


@dataclass
class DecpDraft:
    """The record as it stands, and what it still misses (French, « le CCAG »…)."""

    record: dict
    missing: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def publishable(self) -> bool:
        return not self.missing and not self.errors


def _number(value) -> int | float:
    """A JSON number: an integer when it is one, else a float (the amounts have two decimals)."""
    value = Decimal(str(value))
    return int(value) if value == value.to_integral_value() else float(value)


def _day(moment: datetime) -> str:
    return moment.astimezone(PARIS).date().isoformat()


def titulaires(deposit: Deposit) -> list[dict]:
    """The holders as the schema lists them: each consortium member's SIRET, or the company's."""
    if deposit.response_kind == ResponseKind.CONSORTIUM:
        sirets = [member.siret for member in deposit.consortium_members.order_by("position", "pk")]
    else:
        sirets = []
    sirets = sirets or [deposit.company.siret]
    return [{"titulaire": {"typeIdentifiant": "SIRET", "id": siret}} for siret in sirets]


def offers_received(decision: Decision) -> int:
    """The deposits received on time with an offer (base or variant) for the decision's lot."""
    deposits = Deposit.objects.filter(
        consultation_id=decision.consultation_id,
        state=DepositState.FINALISED,
        status=DepositStatus.ON_TIME,
        envelopes__lot=decision.lot,
        envelopes__kind__in=[EnvelopeKind.OFFER, EnvelopeKind.VARIANT],
    )
    return deposits.distinct().count()


def notification_date(decision: Decision) -> date | None:
    """The day (Paris) the winner first read the notification message; None before."""
    message = decision.notification
    if message is None or message.first_read_at is None:
        return None
    return message.first_read_at.astimezone(PARIS).date()


def _safe_reference(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "-", text).strip("-")


def decp_id(decision: Decision) -> str:
    """The contract's identifier, unique among the buyer's published records (module docstring)."""
    consultation = decision.consultation
    year = str(decision.decided_at.astimezone(PARIS).year)
    suffix = f"L{decision.lot.number}" if decision.lot_id else ""
    reference = _safe_reference(consultation.reference)
    if reference.startswith(year):
        reference = reference[len(year) :].lstrip("-_")
    candidate = f"{year}{reference}{suffix}"
    if reference and len(candidate) <= ID_MAX_LENGTH and not _id_taken(candidate, decision):
        return candidate
    return f"{year}C{consultation.pk}{suffix}"[:ID_MAX_LENGTH]


def _id_taken(candidate: str, decision: Decision) -> bool:
    return (
        EssentialData.objects.filter(
            decision__consultation__organisation_id=decision.consultation.organisation_id,
            published_at__isnull=False,
            record__id=candidate,
        )
        .exclude(decision=decision)
        .exists()
    )


def _objet(decision: Decision) -> str:
    consultation = decision.consultation
    text = consultation.title
    if decision.lot_id:
        text = f"{text} — lot {decision.lot.number} : {decision.lot.title}"
    return text[:OBJET_MAX_LENGTH]


def decp_build(essential_data: EssentialData, *, published_on: date | None = None) -> DecpDraft:
    """The record from the consultation, the decision, the buyer and the complements,
    with what is missing to publish it; ``modifications`` from the recorded ones."""
    decision = essential_data.decision
    consultation = decision.consultation
    organisation = consultation.organisation
    complements = {**complement_defaults(decision), **(essential_data.complements or {})}
    missing: list[str] = []
    errors: list[str] = []
    if decision.outcome != Outcome.AWARDED or decision.deposit_id is None:
        errors.append(_("Seul un marché attribué a des données essentielles."))
    nature = NATURES.get(consultation.contract_type)
    if nature is None:
        errors.append(
            _(
                "Un contrat de concession publie ses données essentielles au format « contrat-concession », "
                "que la plateforme ne produit pas."
            )
        )
    record: dict = {"id": decp_id(decision), "acheteur": {"id": organisation.siret}}
    if not siret_is_valid(organisation.siret or ""):
        missing.append(_("le SIRET de l'acheteur"))
    if nature:
        record["nature"] = nature
    record["objet"] = _objet(decision)
    cpv = (decision.lot.cpv_code if decision.lot_id else "") or consultation.cpv_code
    if cpv:
        record["codeCPV"] = cpv
    else:
        missing.append(_("le code CPV"))
    record["procedure"] = PROCEDURES[consultation.procedure_type]
    for name, inner in LIST_COMPLEMENTS.items():
        if complements.get(name):
            record[name] = {inner: list(complements[name])}
        else:
            missing.append(str(COMPLEMENT_LABELS[name]))
    for name in (*CHOICE_COMPLEMENTS, *BOOLEAN_COMPLEMENTS):
        if complements.get(name) is not None and complements.get(name) != "":
            record[name] = complements[name]
        else:
            missing.append(str(COMPLEMENT_LABELS[name]))
    for name in RATE_COMPLEMENTS:
        if complements.get(name) is not None:
            record[name] = complements[name]
    if complements.get("idAccordCadre"):
        record["idAccordCadre"] = complements["idAccordCadre"]
    elif consultation.contract_type == ContractType.SUBSEQUENT:
        missing.append(str(COMPLEMENT_LABELS["idAccordCadre"]))
    if complements.get("lieuExecution"):
        record["lieuExecution"] = dict(complements["lieuExecution"])
    else:
        missing.append(str(COMPLEMENT_LABELS["lieuExecution"]))
    if decision.deposit_id:
        record["titulaires"] = titulaires(decision.deposit)
        record["offresRecues"] = max(offers_received(decision), 1)
    if decision.amount is not None:
        record["montant"] = _number(decision.amount)
    if decision.duration_months:
        record["dureeMois"] = decision.duration_months
    notified_on = notification_date(decision)
    if notified_on is None:
        missing.append(
            _("la date de notification (le titulaire n'a pas encore lu la notification du marché)")
        )
    else:
        record["dateNotification"] = notified_on.isoformat()
    record["datePublicationDonnees"] = (published_on or clock.now().astimezone(PARIS).date()).isoformat()
    modifications = (
        [modification_entry(m) for m in essential_data.modifications.all()] if essential_data.pk else []
    )
    if modifications:
        record["modifications"] = modifications
    if not missing and not errors:
        errors = decp_errors([record])
    return DecpDraft(record=record, missing=missing, errors=errors)


def decp_record(essential_data: EssentialData, *, published_on: date | None = None) -> dict:
    """The record, valid against the schema; raises DecpError listing what is missing."""
    draft = decp_build(essential_data, published_on=published_on)
    if draft.missing:
        raise DecpError(
            _("Les données essentielles ne peuvent pas être publiées : il manque %(missing)s.")
            % {"missing": ", ".join(draft.missing)},
            problems=[_("Il manque %(what)s.") % {"what": what} for what in draft.missing],
        )
    if draft.errors:
        raise DecpError(
            _("Les données essentielles ne respectent pas le format réglementaire (schéma DECP 2.0.3)."),
            problems=draft.errors,
        )
    return draft.record


def modification_entry(modification: ContractModification) -> dict:
    entry: dict = {
        "id": modification.number,
        "dateNotificationModification": modification.notified_on.isoformat(),
        "datePublicationDonneesModification": _day(modification.published_at),
    }
    if modification.duration_months:
        entry["dureeMois"] = modification.duration_months
    if modification.amount is not None:
        entry["montant"] = _number(modification.amount)
    if modification.holders:
        entry["titulaires"] = [
            {"titulaire": {"typeIdentifiant": "SIRET", "id": siret}} for siret in modification.holders
        ]
    return {"modification": entry}


def published_record(essential_data: EssentialData) -> dict:
    """The record as published, with the modifications published since."""
    record = dict(essential_data.record or {})
    modifications = [modification_entry(m) for m in essential_data.modifications.all()]
    if modifications:
        record["modifications"] = modifications
    else:
        record.pop("modifications", None)
    return record


def published_essential_data(organisation_id: int | None = None):
    queryset = (
        EssentialData.objects.filter(published_at__isnull=False)
        .select_related("decision__consultation__organisation", "decision__lot", "decision__deposit__company")
        .prefetch_related("modifications")
        .order_by("-published_at", "-pk")
    )
    if organisation_id is not None:
        queryset = queryset.filter(decision__consultation__organisation_id=organisation_id)
    return queryset


# --- Services ---------------------------------------------------------------------------------


def essential_data_for(decision: Decision) -> EssentialData:
    """The decision's essential data, unsaved when none were recorded yet."""
    try:
        return decision.essential_data
    except EssentialData.DoesNotExist:
        return EssentialData(decision=decision)


def _awarded_decision(decision: Decision) -> None:
    if decision.outcome != Outcome.AWARDED:
        raise DecpError(_("Seul un marché attribué a des données essentielles."))


@transaction.atomic
def complements_save(*, user, decision: Decision, values: dict) -> EssentialData:
    """Record the agent's complements (before publication only)."""
    consultation = decision.consultation
    agent_require(user, AgentPermission.DECIDE, consultation)
    _awarded_decision(decision)
    essential_data, _created = EssentialData.objects.select_for_update().get_or_create(decision=decision)
    if essential_data.published_at:
        raise DecpError(
            _(
                "Les données essentielles sont publiées depuis le %(date)s : elles ne changent plus. "
                "Publiez une modification du marché."
            )
            % {"date": essential_data.published_at.astimezone(PARIS).strftime("%d/%m/%Y")}
        )
    essential_data.complements = complements_clean(values)
    essential_data.save(update_fields=["complements"])
    event_record(
        action="awards.decp_complements_save",
        actor=user,
        target=consultation,
        organisation=consultation.organisation_id,
        data={"decision": decision.pk, "fields": sorted(essential_data.complements)},
    )
    return essential_data


@transaction.atomic
def decp_publish(*, user, essential_data: EssentialData) -> EssentialData:
    """Validate the record against the schema, then store it with its publication time."""
    decision = essential_data.decision
    consultation = decision.consultation
    agent_require(user, AgentPermission.DECIDE, consultation)
    _awarded_decision(decision)
    if essential_data.pk is None:
        essential_data, _created = EssentialData.objects.get_or_create(decision=decision)
    essential_data = EssentialData.objects.select_for_update().get(pk=essential_data.pk)
    if essential_data.published_at:
        raise DecpError(_("Ces données essentielles sont déjà publiées."))
    now = clock.now()
    record = decp_record(essential_data, published_on=now.astimezone(PARIS).date())
    # The initial record: the modifications are added beside it in the exports.
    record.pop("modifications", None)
    essential_data.record = record
    essential_data.published_at = now
    essential_data.save(update_fields=["record", "published_at"])
    event_record(
        action="awards.decp_publish",
        actor=user,
        target=consultation,
        organisation=consultation.organisation_id,
        data={"decision": decision.pk, "decp_id": record["id"]},
    )
    return essential_data


def _siret_list(holders) -> list[str]:
    sirets = []
    for raw in holders or ():
        siret = re.sub(r"\s+", "", str(raw))
        if siret and siret not in sirets:
            sirets.append(siret)
    return sirets


@transaction.atomic
def modification_record(
    *,
    user,
    essential_data: EssentialData,
    notified_on: date,
    object: str = "",
    amount: Decimal | None = None,
    duration_months: int | None = None,
    holders=(),
) -> ContractModification:
    """Publish a modification of a published contract: a new amount, duration or holders.

    ``notified_on`` is the day the modification was notified to the holder."""
    decision = essential_data.decision
    consultation = decision.consultation
    agent_require(user, AgentPermission.DECIDE, consultation)
    # Unsaved (nothing recorded yet) is not published either.
    essential_data = EssentialData.objects.select_for_update().filter(pk=essential_data.pk).first()
    if essential_data is None or not essential_data.published_at:
        raise DecpError(_("Publiez d'abord les données essentielles du marché, puis ses modifications."))
    sirets = _siret_list(holders)
    problems = []
    if amount is None and not duration_months and not sirets:
        problems.append(_("Indiquez le nouveau montant, la nouvelle durée ou les nouveaux titulaires."))
    if amount is not None and amount < 1:
        problems.append(_("Le nouveau montant est d'au moins 1 € HT."))
    if duration_months is not None and duration_months < 1:
        problems.append(_("La nouvelle durée est d'au moins 1 mois."))
    if duration_months is not None and duration_months > DURATION_MAX_MONTHS:
        problems.append(_("La nouvelle durée est de %(max)d mois au plus.") % {"max": DURATION_MAX_MONTHS})
    invalid = [siret for siret in sirets if not siret_is_valid(siret)]
    if invalid:
        problems.append(_("SIRET invalide : %(sirets)s.") % {"sirets": ", ".join(invalid)})
    now = clock.now()
    today = now.astimezone(PARIS).date()
    if notified_on is None:
        problems.append(_("Indiquez la date de notification de la modification."))
    elif notified_on > today:
        problems.append(_("La date de notification de la modification ne peut pas être dans le futur."))
    elif essential_data.record.get("dateNotification", "") > notified_on.isoformat():
        problems.append(_("La modification ne peut pas être notifiée avant le marché lui-même."))
    if problems:
        raise DecpError(_("La modification n'a pas été publiée."), problems=problems)
    last = essential_data.modifications.order_by("-number").first()
    modification = ContractModification(
        essential_data=essential_data,
        number=(last.number + 1) if last else 1,
        object=(object or "").strip(),
        amount=amount,
        duration_months=duration_months or None,
        holders=sirets,
        notified_on=notified_on,
        published_at=now,
    )
    record = dict(essential_data.record)
    record["modifications"] = [modification_entry(m) for m in essential_data.modifications.all()] + [
        modification_entry(modification)
    ]
    errors = decp_errors([record])
    if errors:
        raise DecpError(
            _("La modification ne respecte pas le format réglementaire (schéma DECP 2.0.3)."), problems=errors
        )
    modification.save()
    event_record(
        action="awards.decp_modification_record",
        actor=user,
        target=consultation,
        organisation=consultation.organisation_id,
        data={"decision": decision.pk, "number": modification.number},
    )
    return modification
