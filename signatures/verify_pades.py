"""PAdES: the signatures inside a PDF (one report each, in the order of the file).

pyHanko checks each signature's cryptography, its timestamp, and what the later revisions
of the file changed: a signature stays intact when the file was only added to with what
PDF allows after a signature (other signatures, timestamps, form filling); any other
change means the document was modified after being signed.
"""

import io
import logging

from django.utils.translation import gettext as _

from .report import SignatureFormat, SignatureReport, Verdict, moment
from .verify_cades import any_key_usage, cryptographic_context, timing, validation_context
from .verify_chain import MAX_SIGNATURES, Evidence, Trust, assess, beyond_limit, from_asn1

logger = logging.getLogger(__name__)


def looks_like_pdf(document: bytes) -> bool:
    # PDF readers accept a header anywhere in the first kilobyte.
    return not document.startswith(b"PK") and b"%PDF-" in document[:1024]


def pdf_signatures(document: bytes):
    """The embedded signatures of a PDF, [] when it has none, None when it is not a PDF."""
    from pyhanko.pdf_utils.reader import PdfFileReader

    if not looks_like_pdf(document):
        return None
    try:
        return list(PdfFileReader(io.BytesIO(document), strict=False).embedded_signatures)
    except Exception:  # noqa: BLE001 - an unreadable PDF
        logger.info("Unreadable PDF", exc_info=True)
        return None


def _field_name(embedded) -> str:
    try:
        return str(embedded.field_name)
    except Exception:  # noqa: BLE001
        return ""


def _integrity(evidence: Evidence, status) -> None:
    from pyhanko.sign.diff_analysis import ModificationLevel
    from pyhanko.sign.validation.status import SignatureCoverageLevel

    digest_ok = bool(status.intact and status.valid)
    if not status.intact:
        evidence.integrity_reasons.append(
            _("Le document a été modifié après sa signature : son contenu ne correspond plus à la signature.")
        )
    elif not status.valid:
        evidence.integrity_reasons.append(
            _("La valeur de la signature est fausse : la signature a été altérée.")
        )
    coverage = status.coverage
    level = status.modification_level
    later_changes_ok = coverage == SignatureCoverageLevel.ENTIRE_FILE or (
        coverage == SignatureCoverageLevel.ENTIRE_REVISION
        and level is not None
        and level <= ModificationLevel.FORM_FILLING
        and status.docmdp_ok is not False
    )
    if digest_ok and not later_changes_ok:
        evidence.integrity_reasons.append(
            _(
                "Le document a été modifié après sa signature : des changements autres que des signatures "
                "ou des horodatages ont été ajoutés au fichier signé."
            )
        )
    elif digest_ok and coverage != SignatureCoverageLevel.ENTIRE_FILE:
        evidence.notes.append(
            _(
                "Des signatures, des horodatages ou des champs de formulaire ont été ajoutés après cette "
                "signature."
            )
        )
    evidence.intact = digest_ok and later_changes_ok


def _contents(embedded) -> bytes:
    try:
        return bytes(embedded.sig_object.get("/Contents", b""))
    except Exception:  # noqa: BLE001
        return b""


def is_document_timestamp(embedded) -> bool:
    try:
        return embedded.sig_object_type == "/DocTimeStamp"
    except Exception:  # noqa: BLE001
        return False


def _document_timestamp_note(embedded, timestamps) -> str:
    """What a document timestamp (PAdES B-LTA archive timestamp) says: it is no signature."""
    from pyhanko.sign.validation import validate_pdf_timestamp

    try:
        status = validate_pdf_timestamp(embedded, validation_context=timestamps)
    except Exception:  # noqa: BLE001 - unreadable: said, never a signature's failure
        logger.info("PDF document timestamp could not be validated", exc_info=True)
        return _("Le document porte un horodatage d'archivage illisible : il n'est pas pris en compte.")
    if status.intact and status.valid and status.trusted:
        return _("Le document porte un horodatage d'archivage valide du %(moment)s.") % {
            "moment": moment(status.timestamp)
        }
    return _(
        "Le document porte un horodatage d'archivage invalide ou émis par une autorité non reconnue : "
        "il n'est pas pris en compte."
    )


def verify_pades(document: bytes, name: str, signatures, trust: Trust) -> list:
    from pyhanko.sign.validation import validate_pdf_signature

    timestamps = validation_context(trust)
    unique, seen = [], set()
    for embedded in signatures:
        contents = _contents(embedded)
        if contents and contents in seen:
            continue  # one signature shown in several fields: verified once
        seen.add(contents)
        unique.append(embedded)
    archives = [e for e in unique if is_document_timestamp(e)][:MAX_SIGNATURES]
    archive_notes = [_document_timestamp_note(e, timestamps) for e in archives]
    signatures = [e for e in unique if not is_document_timestamp(e)]
    skipped = len(signatures) - MAX_SIGNATURES
    signatures = signatures[:MAX_SIGNATURES]
    reports = []
    if not signatures:
        return [
            SignatureReport(
                file_name=name,
                verdict=Verdict.UNSIGNED,
                reasons=[_("Ce fichier ne porte aucune signature électronique.")],
                notes=archive_notes,
            )
        ]
    for embedded in signatures:
        field = _field_name(embedded)
        evidence = Evidence(format=SignatureFormat.PADES, file_name=name, signature_name=field)
        try:
            status = validate_pdf_signature(
                embedded,
                signer_validation_context=cryptographic_context(embedded.signer_cert, trust),
                ts_validation_context=timestamps,
                key_usage_settings=any_key_usage(),
            )
        except Exception:  # noqa: BLE001 - a broken signature is an invalid one
            logger.info("PAdES signature could not be validated", exc_info=True)
            evidence.integrity_reasons.append(
                _("La signature « %(field)s » de ce PDF est illisible ou endommagée.") % {"field": field}
            )
            reports.append(assess(evidence, trust))
            continue
        evidence.signer = from_asn1(status.signing_cert)
        try:
            signed_data = embedded.signed_data
            evidence.certificates = [
                from_asn1(c.chosen) for c in signed_data["certificates"] or [] if c.name == "certificate"
            ]
        except Exception:  # noqa: BLE001 - the chain is then built from the caller's certificates
            logger.info("PDF signature certificates unreadable", exc_info=True)
        _integrity(evidence, status)
        timing(evidence, status)
        evidence.notes += archive_notes
        reports.append(assess(evidence, trust))
    reports += beyond_limit(name, SignatureFormat.PADES, skipped)
    return reports
