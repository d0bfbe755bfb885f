"""The register of deposits (« registre des dépôts ») and the buyer's deposits page: nothing
about the deposits before the deadline, not even a count; after it, every finalised deposit
with its company (or consortium), its time to the second (Paris), envelopes, files, sizes,
state and declared backup copy, exportable in CSV, XLSX and PDF."""

import csv
import html
import io
from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import NoReverseMatch, reverse

from audit.models import Event
from consultations.registers import REGISTER_LABELS, register_build
from deposits.models import (
    BackupCopy,
    ConsortiumKind,
    ConsortiumMember,
    ConsortiumRole,
    DepositFile,
    ResponseKind,
)
from deposits.services.deposits import deposit_start
from tests.deposits.test_opening import deposited
from tests.deposits.test_tus import pdf_bytes, upload
from tests.factories import PARIS, AgentFactory, CompanyUserFactory, OrganisationFactory
from tests.pdf import pdf_title

REGISTER_HEADER = [
    "Pli n°",
    "Entreprise ou groupement",
    "Reçu le (Paris)",
    "État",
    "Enveloppes",
    "Fichiers",
    "Taille totale (octets)",
    "Copie de sauvegarde déclarée",
    "Ouverture",
]


@pytest.fixture
def deposits(consultation, company_user, other_company_user, clock):
    """Bâtiment Ouest deposits twice (the first is superseded), Travaux Est once as a
    consortium, and a third company after the deadline; a draft stays unfinished."""
    clock.set(consultation.deadline - timedelta(hours=2, seconds=-7))
    first = deposited(consultation, company_user, {"offer": ("offre-v1.pdf", pdf_bytes(1000, seed=1))})
    clock.advance(minutes=30)
    second = deposited(
        consultation,
        company_user,
        {
            "candidature": ("dc1.pdf", pdf_bytes(2000, seed=2)),
            "offer": ("offre-v2.pdf", pdf_bytes(3000, seed=3)),
        },
    )
    clock.advance(minutes=10)
    est = deposited(consultation, other_company_user, {"offer": ("offre-est.pdf", pdf_bytes(500, seed=4))})
    est.response_kind = ResponseKind.CONSORTIUM
    est.consortium_kind = ConsortiumKind.JOINT_AND_SEVERAL
    est.save()
    ConsortiumMember.objects.create(
        deposit=est, siret=est.company.siret, name="Travaux Est", role=ConsortiumRole.REPRESENTATIVE
    )
    ConsortiumMember.objects.create(
        deposit=est, siret="73282932000074", name="Charpentes du Nord", role=ConsortiumRole.MEMBER, position=1
    )
    BackupCopy.objects.create(
        consultation=consultation,
        company=est.company,
        sent_on=consultation.deadline.date() - timedelta(days=2),
        medium="Clé USB",
        declared_by=other_company_user.user,
        declared_at=consultation.deadline - timedelta(days=2),
    )
    clock.set(consultation.deadline + timedelta(seconds=3))
    late_company = CompanyUserFactory(company__name="Retard & Fils")
    late = deposited(consultation, late_company, {"offer": ("tardive.pdf", pdf_bytes(700, seed=5))})
    drafting = CompanyUserFactory(company__name="Brouillon SARL")
    draft = deposit_start(consultation=consultation, user=drafting.user)
    upload(draft, drafting.user, "pas-fini.pdf", pdf_bytes(600, seed=6))
    return first, second, est, late


def text(response) -> str:
    return html.unescape(response.content.decode())


def page_url(consultation):
    return reverse("deposits:buyer_deposits", args=[consultation.pk])


def export_url(consultation, fmt):
    return reverse("deposits:buyer_deposits_register", args=[consultation.pk, fmt])


def csv_rows(content: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig")), delimiter=";"))


# --- Before the deadline -------------------------------------------------------------------


def test_before_the_deadline_the_buyer_page_says_how_the_opening_goes_and_nothing_about_deposits(
    client, consultation, company_user, other_company_user, buyer, opener, clock
):
    deposited(consultation, company_user, {"offer": ("offre.pdf", pdf_bytes(1000))})
    deposited(consultation, other_company_user, {"offer": ("offre-est.pdf", pdf_bytes(1000, seed=2))})
    for agent in (buyer, opener):
        client.force_login(agent.user)
        if agent.can_open:
            from tests.conftest import login_verified

            login_verified(client, agent.user)
        response = client.get(page_url(consultation))
        assert response.status_code == 200
        page = text(response)
        assert "Comment se déroulera l'ouverture" in page
        assert "ni même savoir combien ont été déposés" in page
        for secret in ("Bâtiment Ouest", "Travaux Est", "offre.pdf", "Registre des dépôts", "Plis reçus"):
            assert secret not in page
        assert "Ouvrir les candidatures" not in page
    client.force_login(buyer.user)
    for fmt in ("csv", "xlsx", "pdf"):
        assert client.get(export_url(consultation, fmt)).status_code == 404
    with pytest.raises(PermissionDenied):
        register_build(consultation, "depots", exported_at=clock())
    # The registers of the follow-up do not offer the deposits' one.
    with pytest.raises(NoReverseMatch):
        reverse("consultations:register", args=[consultation.pk, "depots", "csv"])
    assert not Event.objects.filter(
        organisation_id=consultation.organisation_id, action__startswith="deposit"
    ).exists()


def test_before_the_opening_no_file_is_downloadable_by_the_buyer(
    client, consultation, company_user, buyer, clock
):
    deposited(consultation, company_user, {"offer": ("offre.pdf", pdf_bytes(1000))})
    deposit_file = DepositFile.objects.get()
    client.force_login(buyer.user)
    url = reverse("deposits:buyer_opened_file", args=[consultation.pk, deposit_file.pk])
    assert client.get(url).status_code == 404
    clock.set(consultation.deadline + timedelta(hours=1))
    assert client.get(url).status_code == 404  # after the deadline, still sealed until opened


def test_the_consultation_details_link_to_the_deposits_page(client, consultation, buyer):
    client.force_login(buyer.user)
    page = text(client.get(reverse("consultations:buyer_detail", args=[consultation.pk])))
    assert page_url(consultation) in page
    assert "Plis : registre des dépôts et ouverture" in page


# --- After the deadline: the register -----------------------------------------------------


def test_after_the_deadline_the_page_lists_every_finalised_deposit_with_its_state(
    client, consultation, deposits, buyer
):
    first, second, est, late = deposits
    client.force_login(buyer.user)
    page = text(client.get(page_url(consultation)))
    assert "Registre des dépôts" in page
    for expected in (
        "Reçu dans les délais",
        "Reçu hors délai",
        "Remplacé par un dépôt ultérieur",
        "Retard & Fils",
        "Charpentes du Nord (73282932000074) — Cotraitant",
        "Déclarée : envoyée le 30/03/2026 (Clé USB)",
        second.received_at.astimezone(PARIS).strftime("%d/%m/%Y %H:%M:%S"),
    ):
        assert expected in page, expected
    assert "Brouillon SARL" not in page
    # Before the opening, file names stay sealed: counts and sizes only.
    assert "offre-v2.pdf" not in page and "non ouverte" in page


def test_the_csv_register_lists_the_states_times_consortium_and_backup_copy(
    client, consultation, deposits, buyer
):
    first, second, est, late = deposits
    client.force_login(buyer.user)
    response = client.get(export_url(consultation, "csv"))
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert f"registre-depots-{consultation.reference}.csv" in response["Content-Disposition"]
    rows = csv_rows(response.content)
    assert rows[0] == ["Registre des dépôts"]
    header = rows.index(REGISTER_HEADER)
    body = {row[0]: row for row in rows[header + 1 :]}
    assert list(body) == [str(first.pk), str(second.pk), str(est.pk), str(late.pk)]
    assert body[str(first.pk)][3] == "Remplacé par un dépôt ultérieur"
    assert body[str(second.pk)][3] == "Reçu dans les délais"
    assert body[str(late.pk)][3] == "Reçu hors délai"
    assert body[str(second.pk)][2] == second.received_at.astimezone(PARIS).strftime("%d/%m/%Y %H:%M:%S")
    assert body[str(second.pk)][5:7] == ["2", "5000"]
    assert "Enveloppe de candidature : 1 fichier(s)" in body[str(second.pk)][4]
    assert body[str(est.pk)][1].startswith("Groupement solidaire — mandataire : Travaux Est")
    assert "cotraitants : Charpentes du Nord (73282932000074)" in body[str(est.pk)][1]
    assert body[str(est.pk)][7] == "Oui : envoyée le 30/03/2026 (Clé USB)"
    assert body[str(second.pk)][7] == "Non"
    assert body[str(second.pk)][8] == "Non ouvert"
    event = Event.objects.get(action="register.exported")
    assert event.data == {"register": "depots", "format": "csv", "rows": 4}


def test_the_xlsx_register_holds_the_same_rows(client, consultation, deposits, buyer):
    from openpyxl import load_workbook

    client.force_login(buyer.user)
    response = client.get(export_url(consultation, "xlsx"))
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content)).active
    values = [[cell for cell in row] for row in sheet.iter_rows(values_only=True)]
    header = next(i for i, row in enumerate(values) if list(row[: len(REGISTER_HEADER)]) == REGISTER_HEADER)
    states = [row[3] for row in values[header + 1 :]]
    assert states == [
        "Remplacé par un dépôt ultérieur",
        "Reçu dans les délais",
        "Reçu dans les délais",
        "Reçu hors délai",
    ]


def test_the_pdf_register_is_a_pdf_titled_as_the_register(client, consultation, deposits, buyer):
    client.force_login(buyer.user)
    response = client.get(export_url(consultation, "pdf"))
    assert response.status_code == 200
    assert response.content.startswith(b"%PDF")
    assert pdf_title(response.content) == f"Registre des dépôts — {consultation.reference}"
    assert str(REGISTER_LABELS["depots"]) == "Registre des dépôts"


def test_the_register_is_for_the_organisations_agents_only(client, consultation, deposits, company_user):
    url = export_url(consultation, "csv")
    assert client.get(url).status_code == 302
    client.force_login(company_user.user)
    assert client.get(url).status_code == 403
    client.force_login(AgentFactory(organisation=OrganisationFactory()).user)
    assert client.get(url).status_code == 404
