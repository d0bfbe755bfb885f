"""A register in CSV, XLSX or PDF, in French, with the consultation and the export time.

Every format is built in memory: a register holds a few thousand rows at most.
Text typed by companies may begin with « = » or « + »: a spreadsheet must show it,
never run it as a formula.
"""

import csv
import io
from datetime import datetime

from django.template.loader import render_to_string
from django.utils.translation import gettext as _

from consultations.registers import PARIS, Register, moment_text

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")

CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pdf": "application/pdf",
}


def _text(value) -> str:
    if isinstance(value, datetime):
        return moment_text(value)
    return "" if value is None else str(value)


def _heading(register: Register) -> list[list[str]]:
    consultation = register.consultation
    return [
        [register.title],
        [_("Consultation"), f"{consultation.reference} — {consultation.title}"],
        [_("Organisme"), consultation.organisation.name],
        [_("Exporté le"), moment_text(register.exported_at)],
    ]


def register_csv(register: Register) -> bytes:
    """UTF-8 with a BOM and « ; » between fields: what a French spreadsheet opens as is."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerows(_heading(register))
    writer.writerow([])
    writer.writerow([column.label for column in register.columns])
    for row in register.rows():
        writer.writerow([_csv_safe(_text(value)) for value in row])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def _csv_safe(text: str) -> str:
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


def register_xlsx(register: Register) -> bytes:
    from openpyxl import Workbook
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = register.title[:31]
    bold = Font(bold=True)
    top = Alignment(wrap_text=True, vertical="top")
    heading = _heading(register)
    title = sheet.cell(row=1, column=1, value=f"{register.title} — {heading[1][1]}")
    title.font = Font(bold=True, size=14)
    row_number = 1
    for label, value in heading[2:]:
        row_number += 1
        sheet.cell(row=row_number, column=1, value=label).font = bold
        sheet.cell(row=row_number, column=2, value=ILLEGAL_CHARACTERS_RE.sub("", str(value)))
    header_row = row_number + 2  # one blank row between the heading and the table
    for index, column in enumerate(register.columns, start=1):
        cell = sheet.cell(row=header_row, column=index, value=column.label)
        cell.font = bold
        cell.alignment = top
        sheet.column_dimensions[get_column_letter(index)].width = column.width
    row_number = header_row
    for row in register.rows():
        row_number += 1
        for index, value in enumerate(row, start=1):
            cell = sheet.cell(row=row_number, column=index)
            if isinstance(value, datetime):
                cell.value = value.astimezone(PARIS).replace(tzinfo=None)  # Excel knows no time zones
                cell.number_format = "DD/MM/YYYY HH:MM:SS"
            else:
                # A company's text is text: « =… » must never become a formula.
                # Control characters a company typed are dropped: the format cannot hold them.
                cell.value = "" if value is None else ILLEGAL_CHARACTERS_RE.sub("", str(value))
                cell.data_type = "s"
                cell.alignment = top
    last_column = get_column_letter(len(register.columns))
    sheet.freeze_panes = sheet.cell(row=header_row + 1, column=1)
    sheet.auto_filter.ref = f"A{header_row}:{last_column}{row_number}"
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.paperSize = sheet.PAPERSIZE_A4
    sheet.print_title_rows = f"{header_row}:{header_row}"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def register_pdf_html(register: Register) -> str:
    return render_to_string(
        "consultations/followup/register_pdf.html",
        {
            "register": register,
            "consultation": register.consultation,
            "exported_at": moment_text(register.exported_at),
            "rows": ([_text(value) for value in row] for row in register.rows()),
        },
    )


def offline_url_fetcher():
    """Only « data: » URLs: WeasyPrint never reaches the network or the disk for a register."""
    from weasyprint.urls import URLFetcher

    return URLFetcher(allowed_protocols=("data",), allow_redirects=False, fail_on_errors=False)


def register_pdf(register: Register) -> bytes:
    """A4 landscape through WeasyPrint, from a template with its CSS inside, sealed by the
    platform (unsealed, and said in the log, if the seal fails)."""
    from weasyprint import HTML

    from signatures.platform import pdf_seal_or_unsealed

    pdf = HTML(
        string=register_pdf_html(register), base_url=None, url_fetcher=offline_url_fetcher()
    ).write_pdf()
    return pdf_seal_or_unsealed(pdf, reason=f"Registre : {register.title}")[0]


EXPORTERS = {"csv": register_csv, "xlsx": register_xlsx, "pdf": register_pdf}
