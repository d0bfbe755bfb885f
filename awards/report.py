"""The analysis report (« rapport d'analyse des offres »), as data, then PDF and XLSX.

For the consultation: its identification; for each grid (one per lot, or one for a
consultation without lots): the criteria with their weights and the price formula, the
abnormally-low rule, the candidatures of the deposits that answered it (admitted or not,
with the reason), and each offer with its submitted and corrected amount and the reason of
the correction, the abnormally-low flag and decision, the points per criterion, the total,
the rank and the agents' comments; then when and by whom the report was produced.

The PDF is tagged (PDF/UA-1) like the opening minutes and sealed by the platform when its
seal is available; the spreadsheet has one sheet for the consultation and one per grid,
with amounts and points as numbers.
"""

import io
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from django.template.loader import render_to_string
from django.utils.translation import gettext as _

from awards.models import CandidatureReview, EvaluationGrid, LowOfferDecision, Score
from awards.services.low_offers import grid_low_offers
from awards.services.scoring import (
    CriterionSpec,
    ScoringError,
    grid_criteria,
    grid_results,
    number_fr,
    offer_label,
)
from consultations.exports import offline_url_fetcher
from consultations.models import Consultation
from consultations.registers import moment_text, safe_filename_part
from deposits.models import Deposit, DepositState, DepositStatus
from deposits.selectors import depositor_text
from signatures.platform import pdf_seal_or_unsealed

CENT = Decimal("0.01")


def euros(value: Decimal | None) -> str:
    """« 130 000,00 € HT » (non-breaking spaces), « » for no amount."""
    if value is None:
        return ""
    grouped = f"{Decimal(value).quantize(CENT):,.2f}".replace(",", "\u00a0").replace(".", ",")
    return f"{grouped}\u00a0€ HT"


def percent(value: Decimal) -> str:
    return f"{number_fr(value)}\u00a0%"


def person(user) -> str:
    if user is None:
        return ""
    return user.get_full_name() or user.email


# --- The data ------------------------------------------------------------------------------


@dataclass
class ReportCriterion:
    spec: CriterionSpec
    depth: int
    kind: str
    formula: str


@dataclass
class ReportComment:
    criterion: str
    note: Decimal
    comment: str
    scored_by: str
    scored_at: datetime


@dataclass
class ReportOffer:
    key: tuple[int, bool]
    label: str
    depositor: str
    variant: bool
    amount: Decimal | None = None
    corrected_amount: Decimal | None = None
    judged_amount: Decimal | None = None
    correction_reason: str = ""
    correction_withdrawn: bool = False
    corrected_by: str = ""
    corrected_at: datetime | None = None
    flagged: bool = False
    low_offer_decision: str = ""
    low_offer_decision_label: str = ""
    low_offer_reason: str = ""
    justification_asked_at: datetime | None = None
    justification_replies: int = 0
    points: dict = field(default_factory=dict)
    total: Decimal | None = None
    rank: int | None = None
    decided_by: str = ""
    comments: list[ReportComment] = field(default_factory=list)

    @property
    def rejected(self) -> bool:
        return self.low_offer_decision == LowOfferDecision.REJECTED


@dataclass
class ReportCandidature:
    depositor: str
    received_at: datetime | None
    review: CandidatureReview | None

    @property
    def status(self) -> str:
        if self.review is None:
            return _("Non examinée")
        return _("Admise") if self.review.admitted else _("Non admise")


@dataclass
class ReportGrid:
    grid: EvaluationGrid
    title: str
    criteria: list[ReportCriterion]
    threshold: Decimal
    candidatures: list[ReportCandidature]
    offers: list[ReportOffer]
    ranking_error: str = ""

    @property
    def ranked(self) -> list[ReportOffer]:
        return sorted(
            (offer for offer in self.offers if offer.rank is not None),
            key=lambda offer: (offer.rank, offer.label),
        )


@dataclass
class Report:
    consultation: Consultation
    generated_at: datetime
    generated_by: str
    grids: list[ReportGrid]

    @property
    def title(self) -> str:
        return _("Rapport d'analyse des offres — %(reference)s") % {"reference": self.consultation.reference}

    @property
    def filename_stem(self) -> str:
        return f"rapport-analyse-{safe_filename_part(self.consultation.reference)}"


def _grid_title(grid: EvaluationGrid) -> str:
    if grid.lot_id is None:
        return _("Consultation (sans allotissement)")
    return _("Lot %(number)s : %(title)s") % {"number": grid.lot.number, "title": grid.lot.title}


def _criteria(grid: EvaluationGrid) -> list[ReportCriterion]:
    from awards.models import CriterionKind, PriceFormula

    def walk(specs, depth):
        for spec in specs:
            yield ReportCriterion(
                spec=spec,
                depth=depth,
                kind=str(CriterionKind(spec.kind).label) if spec.kind in CriterionKind.values else spec.kind,
                formula=str(PriceFormula(spec.price_formula).label)
                if spec.price_formula in PriceFormula.values
                else "",
            )
            yield from walk(spec.children, depth + 1)

    return list(walk(grid_criteria(grid), 0))


def _candidatures(grid: EvaluationGrid) -> list[ReportCandidature]:
    deposits = Deposit.objects.filter(
        consultation=grid.consultation, state=DepositState.FINALISED, status=DepositStatus.ON_TIME
    )
    if grid.lot_id is not None:
        deposits = deposits.filter(envelopes__lot_id=grid.lot_id).distinct()
    deposits = deposits.select_related("company").prefetch_related("consortium_members")
    reviews = {
        review.deposit_id: review
        for review in CandidatureReview.objects.filter(deposit__in=deposits).select_related("reviewed_by")
    }
    return [
        ReportCandidature(
            depositor=depositor_text(deposit), received_at=deposit.received_at, review=reviews.get(deposit.pk)
        )
        for deposit in deposits.order_by("received_at", "pk")
    ]


def _offers(grid: EvaluationGrid) -> tuple[list[ReportOffer], str]:
    offers: dict[tuple[int, bool], ReportOffer] = {}

    def offer_for(deposit, variant: bool) -> ReportOffer:
        key = (deposit.pk, variant)
        if key not in offers:
            offers[key] = ReportOffer(
                key=key,
                label=offer_label(deposit, variant),
                depositor=depositor_text(deposit),
                variant=variant,
            )
        return offers[key]

    checks = grid_low_offers(grid)
    rows = grid.amounts.select_related(
        "deposit__company", "corrected_by", "justification_request"
    ).prefetch_related("deposit__consortium_members")
    for row in rows:
        offer = offer_for(row.deposit, row.variant)
        offer.amount, offer.corrected_amount, offer.judged_amount = (
            row.amount,
            row.corrected_amount,
            row.judged_amount,
        )
        offer.correction_reason = row.correction_reason
        offer.correction_withdrawn = row.corrected_amount is None and bool(row.correction_reason)
        offer.corrected_by, offer.corrected_at = person(row.corrected_by), row.corrected_at
        offer.flagged = checks[row.pk].flagged
        offer.low_offer_decision = row.low_offer_decision
        offer.low_offer_decision_label = (
            row.get_low_offer_decision_display() if row.low_offer_decision else ""
        )
        offer.low_offer_reason = row.low_offer_reason
        if row.justification_request_id:
            offer.justification_asked_at = row.justification_request.sent_at
            offer.justification_replies = row.justification_request.replies.count()
    scores = (
        Score.objects.filter(criterion__grid=grid)
        .select_related("criterion", "deposit__company", "scored_by")
        .prefetch_related("deposit__consortium_members")
        .order_by("deposit_id", "variant", "criterion__position", "criterion_id")
    )
    for score in scores:
        offer_for(score.deposit, score.variant).comments.append(
            ReportComment(
                criterion=score.criterion.label,
                note=score.value,
                comment=score.comment,
                scored_by=person(score.scored_by),
                scored_at=score.scored_at,
            )
        )
    ranking_error = ""
    try:
        for ranked in grid_results(grid=grid):
            offer = offers[ranked.result.key]
            offer.points, offer.total = dict(ranked.result.points), ranked.result.total
            offer.rank, offer.decided_by = ranked.rank, ranked.decided_by
    except ScoringError as error:
        ranking_error = error.message
    return sorted(offers.values(), key=lambda offer: (offer.variant, offer.label, offer.key)), ranking_error


def report_build(consultation: Consultation, *, generated_at: datetime, user) -> Report:
    grids = []
    for grid in consultation.evaluation_grids.select_related("lot").order_by("lot__number", "pk"):
        offers, ranking_error = _offers(grid)
        grids.append(
            ReportGrid(
                grid=grid,
                title=_grid_title(grid),
                criteria=_criteria(grid),
                threshold=grid.low_offer_threshold,
                candidatures=_candidatures(grid),
                offers=offers,
                ranking_error=ranking_error,
            )
        )
    return Report(
        consultation=consultation, generated_at=generated_at, generated_by=person(user), grids=grids
    )


# --- PDF -----------------------------------------------------------------------------------


def _points_text(offer: ReportOffer, criterion: ReportCriterion) -> str:
    value = offer.points.get(criterion.spec.key)
    return number_fr(value) if value is not None else ""


def report_html(report: Report) -> str:
    grids = []
    for entry in report.grids:
        offers = [
            {
                "offer": offer,
                "amount": euros(offer.amount),
                "corrected": euros(offer.corrected_amount),
                "judged": euros(offer.judged_amount),
                "corrected_at": moment_text(offer.corrected_at),
                "justification_asked_at": moment_text(offer.justification_asked_at),
                "points": [_points_text(offer, criterion) for criterion in entry.criteria],
                "total": number_fr(offer.total) if offer.total is not None else "",
                "comments": [
                    {"comment": c, "note": number_fr(c.note), "at": moment_text(c.scored_at)}
                    for c in offer.comments
                ],
            }
            for offer in entry.offers
        ]
        grids.append(
            {
                "entry": entry,
                "criteria": [
                    {
                        "criterion": c,
                        "weight": percent(c.spec.weight),
                        "scale": number_fr(c.spec.scale) if c.spec.scale else "",
                    }
                    for c in entry.criteria
                ],
                "threshold": percent(entry.threshold),
                "candidatures": [
                    {"candidature": c, "received_at": moment_text(c.received_at)} for c in entry.candidatures
                ],
                "offers": offers,
                "ranked_sorted": sorted(
                    (o for o in offers if o["offer"].rank is not None),
                    key=lambda o: (o["offer"].rank, o["offer"].label),
                ),
            }
        )
    return render_to_string(
        "awards/report/report_pdf.html",
        {
            "report": report,
            "consultation": report.consultation,
            "generated_at": moment_text(report.generated_at),
            "grids": grids,
        },
    )


def report_pdf(report: Report) -> bytes:
    from weasyprint import HTML

    # PDF/UA-1: a tagged PDF (headings, tables, reading order) that screen readers can read.
    return HTML(string=report_html(report), base_url=None, url_fetcher=offline_url_fetcher()).write_pdf(
        pdf_variant="pdf/ua-1"
    )


def report_seal(pdf: bytes) -> tuple[bytes, bool]:
    """The report sealed with the platform's certificate; an unsealed report rather than
    none when the seal fails."""
    return pdf_seal_or_unsealed(pdf, reason="Rapport d'analyse des offres")


# --- XLSX ----------------------------------------------------------------------------------


def _sheet_title(text: str, used: set[str]) -> str:
    cleaned = "".join(c for c in text if c not in "[]:*?/\\")[:31] or "Grille"
    title, n = cleaned, 2
    while title in used:
        suffix = f" ({n})"
        title, n = cleaned[: 31 - len(suffix)] + suffix, n + 1
    used.add(title)
    return title


def report_xlsx(report: Report) -> bytes:
    from openpyxl import Workbook
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    bold = Font(bold=True)
    top = Alignment(wrap_text=True, vertical="top")

    def put(sheet, row: int, column: int, value, *, header: bool = False, money: bool = False):
        cell = sheet.cell(row=row, column=column)
        if isinstance(value, datetime):
            from consultations.registers import PARIS

            cell.value = value.astimezone(PARIS).replace(tzinfo=None)  # Excel knows no time zones
            cell.number_format = "DD/MM/YYYY HH:MM:SS"
        elif isinstance(value, Decimal):
            cell.value = value
            cell.number_format = "#,##0.00"
        elif isinstance(value, int) and not isinstance(value, bool):
            cell.value = value
        else:
            # Text typed by agents or companies is text: « =… » never becomes a formula.
            cell.value = "" if value is None else ILLEGAL_CHARACTERS_RE.sub("", str(value))
            cell.data_type = "s"
            cell.alignment = top
        if header:
            cell.font = bold
        return cell

    def table(sheet, row: int, headers: list[str], lines: list[list]) -> int:
        for column, label in enumerate(headers, start=1):
            put(sheet, row, column, label, header=True)
        for line in lines:
            row += 1
            for column, value in enumerate(line, start=1):
                put(sheet, row, column, value)
        return row + 2

    consultation = report.consultation
    workbook = Workbook()
    summary = workbook.active
    used = {"Consultation"}
    summary.title = "Consultation"
    summary.cell(row=1, column=1, value=report.title).font = Font(bold=True, size=14)
    facts = [
        (_("Organisme"), consultation.organisation.name),
        (_("Consultation"), f"{consultation.reference} — {consultation.title}"),
        (_("État"), consultation.get_state_display()),
        (_("Date limite de remise des plis"), consultation.deadline),
        (_("Rapport produit le"), report.generated_at),
        (_("Rapport produit par"), report.generated_by),
    ]
    for row, (label, value) in enumerate(facts, start=2):
        put(summary, row, 1, label, header=True)
        put(summary, row, 2, value)
    row = len(facts) + 3
    put(summary, row, 1, _("Grilles d'analyse"), header=True)
    for entry in report.grids:
        row += 1
        put(summary, row, 1, entry.title)
        first = entry.ranked[0] if entry.ranked else None
        put(
            summary,
            row,
            2,
            _("Classée première : %(offer)s") % {"offer": first.label} if first else entry.ranking_error,
        )
    summary.column_dimensions["A"].width = 34
    summary.column_dimensions["B"].width = 70

    for entry in report.grids:
        sheet = workbook.create_sheet(
            _sheet_title(
                f"Lot {entry.grid.lot.number}" if entry.grid.lot_id else "Consultation sans lots", used
            )
        )
        sheet.cell(row=1, column=1, value=f"{report.title} — {entry.title}").font = Font(bold=True, size=13)
        row = 3
        put(sheet, row, 1, _("Critères"), header=True)
        row = table(
            sheet,
            row + 1,
            [_("Critère"), _("Pondération (%)"), _("Nature"), _("Formule du prix"), _("Noté sur")],
            [
                ["    " * c.depth + c.spec.label, c.spec.weight, c.kind, c.formula, c.spec.scale]
                for c in entry.criteria
            ],
        )
        put(
            sheet,
            row,
            1,
            _(
                "Offre anormalement basse : montant jugé inférieur à %(threshold)s de la moyenne des autres "
                "offres de même nature (base ou variante), au moins 2 offres."
            )
            % {"threshold": percent(entry.threshold)},
        )
        row += 2
        put(sheet, row, 1, _("Candidatures"), header=True)
        row = table(
            sheet,
            row + 1,
            [_("Candidat"), _("Reçu le"), _("Candidature"), _("Motif")],
            [
                [c.depositor, c.received_at, c.status, c.review.reason if c.review else ""]
                for c in entry.candidatures
            ],
        )
        put(sheet, row, 1, _("Offres"), header=True)
        headers = [
            _("Offre"),
            _("Variante"),
            _("Montant remis (€ HT)"),
            _("Montant rectifié (€ HT)"),
            _("Montant jugé (€ HT)"),
            _("Motif de la rectification"),
            _("Anormalement basse (règle)"),
            _("Décision sur l'offre anormalement basse"),
            _("Motif de la décision"),
            *[c.spec.label for c in entry.criteria],
            _("Total"),
            _("Rang"),
        ]
        lines = []
        for offer in entry.offers:
            reason = offer.correction_reason
            if offer.correction_withdrawn:
                reason = _("Rectification retirée : %(reason)s") % {"reason": reason}
            lines.append(
                [
                    offer.label,
                    _("Oui") if offer.variant else _("Non"),
                    offer.amount,
                    offer.corrected_amount,
                    offer.judged_amount,
                    reason,
                    _("Oui") if offer.flagged else _("Non"),
                    offer.low_offer_decision_label,
                    offer.low_offer_reason,
                    *[offer.points.get(c.spec.key) for c in entry.criteria],
                    offer.total,
                    offer.rank if offer.rank is not None else (_("Rejetée") if offer.rejected else ""),
                ]
            )
        row = table(sheet, row + 1, headers, lines)
        if entry.ranking_error:
            put(sheet, row, 1, _("Classement non établi : %(reason)s") % {"reason": entry.ranking_error})
            row += 2
        put(sheet, row, 1, _("Commentaires des agents"), header=True)
        row = table(
            sheet,
            row + 1,
            [_("Offre"), _("Critère"), _("Note"), _("Commentaire"), _("Noté par"), _("Noté le")],
            [
                [offer.label, c.criterion, c.note, c.comment, c.scored_by, c.scored_at]
                for offer in entry.offers
                for c in offer.comments
            ],
        )
        for column, width in enumerate([34, 14, 16, 16, 16, 40, 14, 22, 40], start=1):
            sheet.column_dimensions[get_column_letter(column)].width = width
        sheet.page_setup.orientation = "landscape"
        sheet.page_setup.paperSize = sheet.PAPERSIZE_A4
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
