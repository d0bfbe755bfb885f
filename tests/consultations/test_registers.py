"""Registers of downloads (« retraits ») and questions, exported as CSV, XLSX and PDF."""

import csv
import io
import re
from datetime import datetime, timedelta

import pytest
from django.urls import reverse

from consultations.exports import offline_url_fetcher, register_pdf_html
from consultations.models import Download, Question
from consultations.registers import register_build
from tests.factories import PARIS, T0, AgentFactory, consultation_online
from tests.pdf import pdf_streams, pdf_title


@pytest.fixture
def consultation(buyer, clock):
    return consultation_online(
        organisation=buyer.organisation, created_by=buyer.user, reference="2026-VOIRIE-07"
    )


@pytest.fixture
def registers(consultation, buyer, company_user, other_company_user):
    """Two identified downloads (the whole DCE, then one file) and two questions, one answered."""
    version = consultation.dce_versions.get(number=1)
    Download.objects.create(
        consultation=consultation,
        dce_version=version,
        company=company_user.company,
        user=company_user.user,
        downloaded_at=datetime(2026, 3, 3, 14, 5, 9, tzinfo=PARIS),
    )
    Download.objects.create(
        consultation=consultation,
        dce_version=version,
        company=other_company_user.company,
        user=other_company_user.user,
        downloaded_at=datetime(2026, 3, 4, 8, 0, 1, tzinfo=PARIS),
        file_name="CCTP.pdf",
    )
    Question.objects.create(
        consultation=consultation,
        company=company_user.company,
        asked_by=company_user.user,
        asked_at=datetime(2026, 3, 5, 10, 0, 0, tzinfo=PARIS),
        text='=HYPERLINK("http://exemple.fr") Le lot 1 inclut-il la signalisation ?',
        answer="Oui.",
        answered_at=datetime(2026, 3, 6, 11, 30, 0, tzinfo=PARIS),
        answered_by=buyer.user,
    )
    Question.objects.create(
        consultation=consultation,
        company=other_company_user.company,
        asked_by=other_company_user.user,
        asked_at=datetime(2026, 3, 7, 9, 15, 0, tzinfo=PARIS),
        text="Une visite est-elle obligatoire ?",
    )


def export(client, consultation, kind, fmt):
    return client.get(reverse("consultations:register", args=[consultation.pk, kind, fmt]))


def read_csv(content: bytes) -> list[list[str]]:
    assert content.startswith(b"\xef\xbb\xbf"), "French Excel needs the BOM to read UTF-8"
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig")), delimiter=";"))


def test_the_downloads_register_in_csv(client, consultation, registers, buyer, company_user, clock):
    clock.set(T0 + timedelta(days=5, seconds=7))
    client.force_login(buyer.user)

    response = export(client, consultation, "retraits", "csv")

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="registre-retraits-2026-VOIRIE-07.csv"'
    rows = read_csv(response.content)
    assert rows[0] == ["Registre des retraits"]
    assert rows[1] == ["Consultation", f"2026-VOIRIE-07 — {consultation.title}"]
    assert rows[3] == ["Exporté le", "07/03/2026 09:00:07"]
    header = rows.index(
        ["Date et heure (Paris)", "Entreprise", "SIRET", "Utilisateur", "E-mail", "Version du DCE", "Fichier"]
    )
    user = company_user.user
    assert rows[header + 1] == [
        "03/03/2026 14:05:09",
        "Bâtiment Ouest",
        company_user.company.siret,
        f"{user.first_name} {user.last_name}",
        user.email,
        "1",
        "DCE complet",
    ]
    assert rows[header + 2][0] == "04/03/2026 08:00:01"
    assert rows[header + 2][1] == "Travaux Est"
    assert rows[header + 2][-1] == "CCTP.pdf"
    assert len(rows) == header + 3


def test_the_questions_register_in_csv_keeps_formulas_as_text(client, consultation, registers, buyer, clock):
    client.force_login(validator_of(consultation).user)

    rows = read_csv(export(client, consultation, "questions", "csv").content)

    header = rows.index(
        [
            "Posée le (Paris)",
            "Entreprise",
            "SIRET",
            "Posée par",
            "E-mail",
            "Question",
            "Répondue le (Paris)",
            "Réponse",
        ]
    )
    answered, waiting = rows[header + 1], rows[header + 2]
    assert answered[0] == "05/03/2026 10:00:00" and answered[1] == "Bâtiment Ouest"
    assert answered[5].startswith("'=HYPERLINK")  # shown, never run, by a spreadsheet
    assert answered[6:] == ["06/03/2026 11:30:00", "Oui."]
    assert waiting[1] == "Travaux Est"
    assert waiting[6:] == ["", "Sans réponse"]


def validator_of(consultation):
    """Any agent of the organisation may export, whatever its habilitations."""
    return AgentFactory(organisation=consultation.organisation, can_validate=True)


def test_the_registers_in_xlsx(client, consultation, registers, buyer, company_user, clock):
    from openpyxl import load_workbook

    client.force_login(buyer.user)

    response = export(client, consultation, "retraits", "xlsx")

    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="registre-retraits-2026-VOIRIE-07.xlsx"'
    sheet = load_workbook(io.BytesIO(response.content)).active
    values = [list(row) for row in sheet.iter_rows(values_only=True)]
    assert values[0][0] == f"Registre des retraits — 2026-VOIRIE-07 — {consultation.title}"
    assert values[2][:2] == ["Exporté le", "02/03/2026 09:00:00"]
    header = next(i for i, row in enumerate(values) if row[0] == "Date et heure (Paris)")
    assert all(cell.font.bold for cell in sheet[header + 1])
    assert values[header + 1][0] == datetime(2026, 3, 3, 14, 5, 9)  # Paris wall time
    assert values[header + 1][1:] == [
        "Bâtiment Ouest",
        company_user.company.siret,
        company_user.user.get_full_name(),
        company_user.user.email,
        "1",
        "DCE complet",
    ]
    assert values[header + 2][-1] == "CCTP.pdf"
    assert sheet.column_dimensions["B"].width >= 20

    questions = load_workbook(io.BytesIO(export(client, consultation, "questions", "xlsx").content)).active
    cells = [list(row) for row in questions.iter_rows()]
    header = next(i for i, row in enumerate(cells) if row[0].value == "Posée le (Paris)")
    formula_like = cells[header + 1][5]
    assert formula_like.data_type == "s" and formula_like.value.startswith("=HYPERLINK")
    assert cells[header + 2][7].value == "Sans réponse"


def test_the_registers_in_pdf(client, consultation, registers, buyer, company_user, clock):
    client.force_login(buyer.user)

    response = export(client, consultation, "retraits", "pdf")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == 'attachment; filename="registre-retraits-2026-VOIRIE-07.pdf"'
    content = response.content
    assert content.startswith(b"%PDF-") and content.rstrip().endswith(b"%%EOF")
    assert pdf_title(content) == "Registre des retraits — 2026-VOIRIE-07"
    # A4 landscape: 842 × 595 points
    width, height = map(
        float, re.search(rb"/MediaBox \[0 0 ([\d.]+) ([\d.]+)\]", pdf_streams(content)).groups()
    )
    assert round(width) == 842 and round(height) == 595
    assert pdf_title(export(client, consultation, "questions", "pdf").content) == (
        "Registre des questions — 2026-VOIRIE-07"
    )


def test_the_pdf_holds_every_row_the_export_time_and_repeats_its_header(
    consultation, registers, company_user
):
    register = register_build(consultation, "retraits", exported_at=T0 + timedelta(days=3))

    html = register_pdf_html(register)

    assert "Exporté le</strong> 05/03/2026 09:00:00" in html
    assert "<thead>" in html and "display: table-header-group" in html
    assert "03/03/2026 14:05:09" in html and "04/03/2026 08:00:01" in html
    assert company_user.company.siret in html and "DCE complet" in html
    assert "size: A4 landscape" in html
    assert "http" not in html.replace("http-equiv", "")  # nothing to fetch


def test_a_long_register_spreads_over_pages(consultation, company_user, clock):
    from consultations.exports import register_pdf

    version = consultation.dce_versions.get(number=1)
    Download.objects.bulk_create(
        Download(
            consultation=consultation,
            dce_version=version,
            company=company_user.company,
            user=company_user.user,
            downloaded_at=T0 + timedelta(minutes=n),
        )
        for n in range(120)
    )

    content = register_pdf(register_build(consultation, "retraits", exported_at=T0))

    pages = int(re.search(rb"/Count (\d+)", pdf_streams(content)).group(1))
    assert pages >= 3
    # AND the register carries the platform's seal, which anyone can check
    from signatures.platform import pdf_check

    check = pdf_check(content)
    assert check.valid, check.message
    assert check.reason == "Registre : Registre des retraits"


def test_weasyprint_may_fetch_nothing_from_the_network_or_the_disk():
    from weasyprint.urls import URLFetchingError, fetch

    fetcher = offline_url_fetcher()
    for url in ("http://exemple.fr/logo.png", "https://exemple.fr/style.css", "file:///etc/passwd"):
        with pytest.raises(URLFetchingError), fetch(fetcher, url):
            pass


def test_an_empty_register_still_says_what_it_is(client, consultation, buyer, clock):
    client.force_login(buyer.user)

    rows = read_csv(export(client, consultation, "questions", "csv").content)

    assert rows[0] == ["Registre des questions"]
    assert rows[-1][0] == "Posée le (Paris)"
    assert export(client, consultation, "questions", "pdf").content.startswith(b"%PDF-")


def test_the_details_page_links_each_register_with_its_count(client, consultation, registers, buyer, clock):
    client.force_login(buyer.user)

    page = client.get(reverse("consultations:buyer_detail", args=[consultation.pk])).content.decode()

    assert "Registre des retraits (2 retraits identifiés)" in page
    assert "Registre des questions (2 questions)" in page
    assert "Registre des échanges (0 message" in page
    for kind in ("retraits", "questions", "echanges"):
        for fmt in ("csv", "xlsx", "pdf"):
            assert reverse("consultations:register", args=[consultation.pk, kind, fmt]) in page


@pytest.mark.parametrize("kind", ["retraits", "questions"])
@pytest.mark.parametrize("fmt", ["csv", "xlsx", "pdf"])
def test_only_agents_of_the_organisation_export_the_registers(
    client, consultation, other_organisation, company_user, clock, kind, fmt
):
    url = reverse("consultations:register", args=[consultation.pk, kind, fmt])

    assert client.get(url).status_code == 302  # to the login page
    client.force_login(AgentFactory(organisation=other_organisation, can_create=True).user)
    assert client.get(url).status_code == 404
    client.force_login(company_user.user)
    assert client.get(url).status_code == 403


def test_an_unknown_register_or_format_is_not_found(client, consultation, buyer, clock):
    client.force_login(buyer.user)
    base = reverse("consultations:buyer_detail", args=[consultation.pk])

    assert client.get(f"{base}registres/depots.csv").status_code == 404
    assert client.get(f"{base}registres/retraits.ods").status_code == 404
