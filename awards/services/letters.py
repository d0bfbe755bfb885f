"""The letters of a decision, through the secure messaging, each company separately.

- Awarded lot: a rejection letter (« lettre de rejet ») to every other company that bid on
  time on the lot, with its score and rank, the winner's name and score and the reasons
  (from the lot's grid; without a grid the letter says the offers were not scored); and the
  award letter (« lettre d'attribution ») to the winner, asking for its certificates of fiscal
  and social regularity within N « jours francs » (``answer_due_at`` at the end of that day,
  Paris time).
- Unsuccessful lot: a rejection letter to every bidder of the lot, with the reason;
  « sans suite »: a « déclaration sans suite » (Kind.CANCELLATION) to every bidder, with the reason.

« Jours francs »: neither the day of sending nor the day the period ends count, so N jours
francs from day D end at the end of day D + N + 1; a last day falling on a Saturday, a
Sunday or a public holiday (the organisation's calendar, consultations/calendar.py) moves to
the next working day.

Once the letters are sent the decision is final; the standstill runs from that moment.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils.translation import gettext as _

from accounts.models import AgentPermission
from accounts.permissions import agent_require
from audit.models import Event
from audit.services import event_record
from awards.models import CandidatureReview, Decision, LowOfferDecision, OfferAmount, Outcome
from awards.services.decisions import (
    STANDSTILL_DAYS_ELECTRONIC,
    STANDSTILL_DAYS_PAPER,
    DecisionError,
    date_fr,
    lot_bidders,
    lot_grid,
    standstill_end,
)
from awards.services.scoring import ScoringError, grid_criteria, grid_results, number_fr
from config import clock
from consultations.calendar import PARIS, is_business_day
from consultations.models import State

CERTIFICATES_DAYS_MAX = 60
LETTERS_ACTION = "awards.letters_sent"


def clear_days_end(start: date, days: int, department_code: str = "") -> date:
    """The last day of a period of ``days`` « jours francs » starting with ``start`` (the day of
    sending): start and end days excluded, then moved to the next working day."""
    day = start + timedelta(days=days + 1)
    while not is_business_day(day, department_code):
        day += timedelta(days=1)
    return day


def day_end(day: date) -> datetime:
    """The last instant of ``day`` in Paris."""
    return datetime.combine(day, time(23, 59, 59, 999999), tzinfo=PARIS)


def money_fr(value: Decimal) -> str:
    """« 1 234 567,80 » (narrow no-break spaces between thousands)."""
    whole, _sep, cents = f"{Decimal(value):.2f}".partition(".")
    groups = []
    while whole:
        groups.insert(0, whole[-3:])
        whole = whole[:-3]
    return "\u202f".join(groups) + "," + cents


def letters_of(decision: Decision):
    """The messages sent as the letters of ``decision``, by company."""
    from messaging.models import Message

    event = (
        Event.objects.filter(action=LETTERS_ACTION, target_type="awards.decision", target_id=str(decision.pk))
        .order_by("-sequence")
        .first()
    )
    if event is None:
        return Message.objects.none()
    return (
        Message.objects.filter(pk__in=event.data.get("messages", []))
        .select_related("thread__company")
        .order_by("thread__company__name", "pk")
    )


# --- Texts ---------------------------------------------------------------------------------


def _where(decision: Decision) -> str:
    consultation = decision.consultation
    if decision.lot_id:
        return _("le lot %(number)s « %(title)s » de la consultation %(reference)s « %(consultation)s »") % {
            "number": decision.lot.number,
            "title": decision.lot.title,
            "reference": consultation.reference,
            "consultation": consultation.title,
        }
    return _("la consultation %(reference)s « %(consultation)s »") % {
        "reference": consultation.reference,
        "consultation": consultation.title,
    }


def _subject(kind_label: str, decision: Decision) -> str:
    if decision.lot_id:
        return _("%(kind)s — %(reference)s — lot %(number)s") % {
            "kind": kind_label,
            "reference": decision.consultation.reference,
            "number": decision.lot.number,
        }
    return _("%(kind)s — %(reference)s") % {"kind": kind_label, "reference": decision.consultation.reference}


def _standstill_sentence(decision: Decision, sent_at: datetime) -> str:
    if not decision.standstill_required:
        return ""
    days = STANDSTILL_DAYS_ELECTRONIC if decision.letters_electronic else STANDSTILL_DAYS_PAPER
    return _(
        "Conformément au code de la commande publique, le marché ne sera pas signé avant le %(date)s "
        "(délai de suspension de %(days)s jours à compter de l'envoi de la présente lettre)."
    ) % {"date": date_fr(sent_at + timedelta(days=days)), "days": days}


class Ranking:
    """The lot's grid results, read once for every letter."""

    def __init__(self, decision: Decision):
        self.grid = lot_grid(decision.consultation, decision.lot)
        self.ranked = []
        self.criteria = ()
        if self.grid is not None:
            try:
                self.ranked = grid_results(grid=self.grid)
            except ScoringError as error:
                raise DecisionError(
                    _("Le classement des offres ne peut pas être établi : %(reason)s")
                    % {"reason": error.message}
                ) from None
            self.criteria = grid_criteria(self.grid)
        self.by_key = {entry.result.key: entry for entry in self.ranked}

    def entry(self, deposit_id: int, variant: bool = False):
        return self.by_key.get((deposit_id, variant))

    def describe(self, entry) -> str:
        return _("rang %(rank)s sur %(count)s, %(total)s points sur 100") % {
            "rank": entry.rank,
            "count": len(self.ranked),
            "total": number_fr(entry.result.total),
        }

    def detail(self, mine, winner) -> list[str]:
        lines = []
        for criterion in self.criteria:
            lines.append(
                _(
                    "- %(label)s (%(weight)s %%) : %(mine)s points pour votre offre, "
                    "%(winner)s pour l'offre retenue"
                )
                % {
                    "label": criterion.label,
                    "weight": number_fr(criterion.weight),
                    "mine": number_fr(mine.result.points[criterion.key]),
                    "winner": number_fr(winner.result.points[criterion.key]),
                }
            )
        return lines


def _not_ranked_reason(decision: Decision, deposit, variant: bool) -> str:
    review = CandidatureReview.objects.filter(deposit=deposit).first()
    if review is not None and not review.admitted:
        return _("votre candidature n'a pas été admise (%(reason)s).") % {"reason": review.reason}
    rejected = OfferAmount.objects.filter(
        grid__consultation=decision.consultation,
        grid__lot=decision.lot,
        deposit=deposit,
        variant=variant,
        low_offer_decision=LowOfferDecision.REJECTED,
    ).first()
    if rejected is not None:
        return _("votre offre a été rejetée comme anormalement basse (%(reason)s).") % {
            "reason": rejected.low_offer_reason
        }
    return _("elle n'a pas été notée.")


def _rejection_body(decision: Decision, deposit, ranking: Ranking, sent_at: datetime) -> str:
    winner = decision.deposit
    paragraphs = [
        _("Madame, Monsieur,"),
        _("Vous avez remis une offre pour %(where)s.") % {"where": _where(decision)},
        _(
            "Nous avons le regret de vous informer que votre offre n'a pas été retenue. "
            "Le marché est attribué à %(winner)s."
        )
        % {"winner": winner.company.name},
    ]
    if ranking.grid is None:
        paragraphs.append(
            _(
                "Aucune grille de notation n'a été établie pour ce lot : les offres n'ont pas fait "
                "l'objet d'un classement par points."
            )
        )
    else:
        winner_entry = ranking.entry(winner.pk, decision.variant)
        lines = []
        for variant in (False, True):
            mine = ranking.entry(deposit.pk, variant)
            label = _("Votre variante") if variant else _("Votre offre")
            if mine is None:
                if variant:
                    continue
                lines.append(
                    _("%(label)s n'a pas été classée : %(reason)s")
                    % {"label": label, "reason": _not_ranked_reason(decision, deposit, variant)}
                )
                continue
            lines.append(_("%(label)s : %(ranking)s.") % {"label": label, "ranking": ranking.describe(mine)})
            if winner_entry is not None:
                lines.append(_("Détail par critère :"))
                lines.extend(ranking.detail(mine, winner_entry))
        if winner_entry is not None:
            lines.append(
                _("L'offre retenue, de %(winner)s : %(ranking)s.")
                % {"winner": winner.company.name, "ranking": ranking.describe(winner_entry)}
            )
        paragraphs.append(
            _("Classement des offres selon les critères de jugement du règlement de la consultation :")
            + "\n"
            + "\n".join(lines)
        )
    if decision.reason:
        paragraphs.append(_("Motifs de la décision : %(reason)s") % {"reason": decision.reason})
    standstill = _standstill_sentence(decision, sent_at)
    if standstill:
        paragraphs.append(standstill)
    paragraphs.append(_("Nous vous remercions de l'intérêt que vous avez porté à cette consultation."))
    return "\n\n".join(paragraphs)


def _award_body(decision: Decision, ranking: Ranking, sent_at: datetime, due: date) -> str:
    offer = _("votre variante") if decision.variant else _("votre offre")
    paragraphs = [
        _("Madame, Monsieur,"),
        _("Nous avons le plaisir de vous informer que %(offer)s pour %(where)s est retenue.")
        % {"offer": offer, "where": _where(decision)},
    ]
    entry = ranking.entry(decision.deposit_id, decision.variant) if ranking.grid else None
    if entry is not None:
        paragraphs.append(_("Elle est classée au %(ranking)s.") % {"ranking": ranking.describe(entry)})
    paragraphs.append(
        _("Montant du marché : %(amount)s € HT ; durée : %(months)s mois.")
        % {"amount": money_fr(decision.amount), "months": decision.duration_months}
    )
    if decision.reason:
        paragraphs.append(_("Motifs de la décision : %(reason)s") % {"reason": decision.reason})
    paragraphs.append(
        _(
            "Avant la signature du marché, vous voudrez bien nous transmettre vos attestations de "
            "régularité fiscale et sociale, en réponse à ce message, dans un délai de %(days)s jours "
            "francs, soit au plus tard le %(date)s à 23 h 59 (heure de Paris). À défaut, votre offre "
            "sera rejetée et le marché proposé au candidat classé immédiatement après vous."
        )
        % {"days": decision.certificates_days, "date": due.strftime("%d/%m/%Y")}
    )
    standstill = _standstill_sentence(decision, sent_at)
    if standstill:
        paragraphs.append(standstill)
    paragraphs.append(
        _(
            "L'acte d'engagement à signer électroniquement, puis à déposer signé, vous attend sur la "
            "plateforme : %(url)s"
        )
        % {"url": settings.PLATFORM_BASE_URL + reverse("contracts:contract_company", args=[decision.pk])}
    )
    paragraphs.append(
        _("Nous vous prions d'agréer, Madame, Monsieur, l'expression de nos salutations distinguées.")
    )
    return "\n\n".join(paragraphs)


def _other_body(decision: Decision) -> str:
    if decision.outcome == Outcome.UNSUCCESSFUL:
        announce = _(
            "Nous vous informons que %(where)s est déclaré infructueux : aucune offre n'est retenue, "
            "la vôtre non plus."
        )
    else:
        announce = _("Nous vous informons que %(where)s est déclaré sans suite : aucune offre n'est retenue.")
    return "\n\n".join(
        [
            _("Madame, Monsieur,"),
            announce % {"where": _where(decision)},
            _("Motif : %(reason)s") % {"reason": decision.reason},
            _("Nous vous remercions de l'intérêt que vous avez porté à cette consultation."),
        ]
    )


# --- Sending --------------------------------------------------------------------------------


def letters_send(*, user, decision: Decision, certificates_days: int = 7, electronic: bool = True) -> list:
    """Send the letters of ``decision``, one message per company; returns the messages."""
    from messaging.errors import MessagingError
    from messaging.models import Kind
    from messaging.services.sending import message_send

    agent_require(user, AgentPermission.DECIDE, decision.consultation)
    try:
        certificates_days = int(certificates_days)
    except (TypeError, ValueError):
        raise DecisionError(
            _("Le délai de production des attestations est un nombre entier de jours francs."),
            field="certificates_days",
        ) from None
    if not 1 <= certificates_days <= CERTIFICATES_DAYS_MAX:
        raise DecisionError(
            _("Le délai de production des attestations doit être compris entre 1 et %(max)s jours francs.")
            % {"max": CERTIFICATES_DAYS_MAX},
            field="certificates_days",
        )
    with transaction.atomic():
        decision = (
            Decision.objects.select_for_update(of=("self",))
            .select_related("consultation__organisation", "lot", "deposit__company")
            .get(pk=decision.pk)
        )
        consultation = decision.consultation
        if consultation.state not in (State.EVALUATION, State.DECIDED):
            # Declared « sans suite » (or archived) since the decision: no letter goes.
            raise DecisionError(
                _("Les lettres ne peuvent plus être envoyées : la consultation est « %(state)s ».")
                % {"state": consultation.get_state_display()}
            )
        if decision.letters_sent_at is not None:
            raise DecisionError(
                _("Les lettres de cette décision ont déjà été envoyées le %(date)s.")
                % {"date": date_fr(decision.letters_sent_at)}
            )
        now = clock.now()
        decision.letters_sent_at = now
        decision.letters_electronic = bool(electronic)
        decision.certificates_days = certificates_days
        bidders = list(lot_bidders(consultation, decision.lot))
        companies = {}
        for deposit in bidders:
            companies.setdefault(deposit.company_id, deposit)
        letters = []  # (company, kind, subject, body, answer_due_at)
        if decision.outcome == Outcome.AWARDED:
            ranking = Ranking(decision)
            winner = decision.deposit
            for company_id, deposit in companies.items():
                if company_id == winner.company_id:
                    continue
                letters.append(
                    (
                        deposit.company,
                        Kind.REJECTION,
                        _subject(_("Lettre de rejet"), decision),
                        _rejection_body(decision, deposit, ranking, now),
                        None,
                    )
                )
            due = clear_days_end(
                now.astimezone(PARIS).date(), certificates_days, consultation.organisation.department_code
            )
            letters.append(
                (
                    winner.company,
                    Kind.AWARD,
                    _subject(_("Lettre d'attribution"), decision),
                    _award_body(decision, ranking, now, due),
                    day_end(due),
                )
            )
        else:
            kind = Kind.REJECTION if decision.outcome == Outcome.UNSUCCESSFUL else Kind.CANCELLATION
            subject = _subject(
                _("Lettre de rejet") if kind == Kind.REJECTION else _("Déclaration sans suite"), decision
            )
            body = _other_body(decision)
            letters = [(deposit.company, kind, subject, body, None) for deposit in companies.values()]
        messages = []
        try:
            for company, kind, subject, body, answer_due_at in letters:
                messages.extend(
                    message_send(
                        user=user,
                        consultation=consultation,
                        companies=[company],
                        kind=kind,
                        subject=subject,
                        body=body,
                        answer_due_at=answer_due_at,
                    )
                )
        except MessagingError as error:
            raise DecisionError(error.message) from None
        decision.save(update_fields=["letters_sent_at", "letters_electronic", "certificates_days"])
        end = standstill_end(decision)
        event_record(
            action=LETTERS_ACTION,
            actor=user,
            target=decision,
            organisation=consultation.organisation_id,
            data={
                "outcome": decision.outcome,
                "lot": decision.lot.number if decision.lot_id else None,
                "messages": [message.pk for message in messages],
                "electronic": decision.letters_electronic,
                "certificates_days": certificates_days,
                "standstill_end": end.isoformat() if end else None,
            },
        )
    return messages
