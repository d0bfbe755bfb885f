"""Verification of the electronic signatures a company deposits: ``signature_verify``.

One call per deposited file (with its detached « jeton » when there is one) gives one
``SignatureReport`` per signature found, or one « non signé » report per unsigned file:

- a detached ``.p7s`` / ``.p7m`` (CMS) beside ``document``: CAdES (``verify_cades``);
- a detached ``.xml`` (XML-DSig with XAdES properties) beside ``document``: XAdES
  (``verify_xades``);
- ``document`` alone: a PDF's own signatures (PAdES, ``verify_pades``), an enveloping
  ``.p7m`` (CAdES), an XML document signed in itself (enveloped XAdES), a ZIP (each file
  inside judged on its own: the PDFs' own signatures and
  the ``.p7s`` / ``.xml`` jetons found beside a file of the archive are verified, any other
  file is « non signé »), anything else « non signé »;
- a ZIP signed as a whole: the report of that signature says it covers the archive, and
  each file inside is reported « non signé » (a ZIP's signature does not sign its files).

Only the given ``trust_roots`` are trusted (never the operating system's), revocation comes
from the given CRLs (plus, with ``revocation_fetch``, the CRLs the certificates name and
their OCSP responders), and
``at`` (the platform's clock by default) is the time of the check. Nothing here raises on
what a company deposits: garbage gives a report with a French reason.
"""

import io
import logging
import posixpath
import zipfile
from collections.abc import Iterable
from datetime import datetime

from cryptography import x509
from django.utils.translation import gettext as _

from config import clock

from .platform import _outside_event_loop
from .report import Revocation, SignatureFormat, SignatureReport, Verdict
from .verify_cades import cms_load, verify_cades
from .verify_chain import Trust, load_crls
from .verify_pades import looks_like_pdf, pdf_signatures, verify_pades
from .verify_xades import is_xml_signature, verify_xades, verify_xades_enveloped

logger = logging.getLogger(__name__)

__all__ = ["Revocation", "SignatureFormat", "SignatureReport", "Verdict", "signature_verify"]

CADES_EXTENSIONS = (".p7s", ".p7m", ".p7", ".pkcs7")
XADES_EXTENSIONS = (".xml",)

# A deposit's ZIP is opened in memory: bounds against « zip bombs ».
ZIP_MAX_ENTRIES = 2000
ZIP_MAX_TOTAL_SIZE = 500 * 1024 * 1024
ZIP_MAX_DEPTH = 2


@_outside_event_loop
def signature_verify(
    document: bytes,
    name: str,
    *,
    detached: bytes | None = None,
    detached_name: str = "",
    trust_roots: list[x509.Certificate],
    intermediates: Iterable[x509.Certificate] = (),
    crls: Iterable = (),
    revocation_fetch: bool = False,
    at: datetime | None = None,
) -> list[SignatureReport]:
    """The reports of the signatures of ``document`` (named ``name``), or of its jeton
    ``detached`` (named ``detached_name``). ``crls``: ``cryptography`` CRLs, DER or PEM."""
    trust = Trust(
        roots=list(trust_roots),
        intermediates=list(intermediates),
        crls=load_crls(crls),
        revocation_fetch=revocation_fetch,
        at=at or clock.now(),
    )
    try:
        document = bytes(document or b"")
        if detached is not None:
            return _detached(document, name, bytes(detached), detached_name or _("signature"), trust, depth=0)
        return _alone(document, name, trust, depth=0)
    except Exception:  # noqa: BLE001 - never a 500 for what a company deposited
        # The file's name is the company's, never in the log; the traceback says where it broke.
        logger.exception("Signature verification failed")
        return [
            SignatureReport(
                file_name=name,
                verdict=Verdict.UNKNOWN,
                signature_name=detached_name,
                reasons=[
                    _(
                        "La vérification de la signature n'a pas pu aboutir : le fichier est peut-être "
                        "endommagé."
                    )
                ],
            )
        ]


def _unsigned(name: str, reason: str = "") -> SignatureReport:
    return SignatureReport(
        file_name=name,
        verdict=Verdict.UNSIGNED,
        reasons=[reason or _("Ce fichier ne porte aucune signature électronique.")],
    )


def _detached(
    document: bytes,
    name: str,
    signature: bytes,
    signature_name: str,
    trust: Trust,
    depth: int,
    *,
    with_own: bool = True,
):
    """The jeton's signatures of ``document``, and (``with_own``) the document's own: a PDF's
    signatures, a ZIP's files; a document with several jetons reports its own once."""
    lower = signature_name.lower()
    if lower.endswith(XADES_EXTENSIONS) or (
        not lower.endswith(CADES_EXTENSIONS) and is_xml_signature(signature)
    ):
        reports = verify_xades(document, name, signature, signature_name, trust)
    elif lower.endswith(CADES_EXTENSIONS) or cms_load(signature) is not None:
        reports = verify_cades(document, name, signature, signature_name, trust)
    else:
        return [
            SignatureReport(
                file_name=name,
                verdict=Verdict.INVALID,
                signature_name=signature_name,
                reasons=[
                    _(
                        "Le fichier « %(name)s » n'est pas une signature électronique reconnue (CAdES ou "
                        "XAdES)."
                    )
                    % {"name": signature_name}
                ],
            )
        ]
    if not with_own:
        return reports
    # A PDF may also carry its own signatures beside the jeton: both are reported.
    embedded = pdf_signatures(document)
    if embedded:
        reports += verify_pades(document, name, embedded, trust)
    archive = _zip(document)
    if archive is not None:
        for report in reports:
            report.notes.append(
                _(
                    "Cette signature porte sur l'archive ZIP entière : les fichiers qu'elle contient ne sont "
                    "pas signés pour autant."
                )
            )
        reason = _(
            "Ce fichier n'est pas signé : la signature « %(signature)s » porte sur l'archive « %(archive)s » "
            "entière, pas sur chacun des fichiers qu'elle contient."
        ) % {"signature": signature_name, "archive": name}
        reports += _zip_reports(archive, name, trust, depth, whole_signed_reason=reason)
    return reports


def _alone(document: bytes, name: str, trust: Trust, depth: int) -> list[SignatureReport]:
    archive = _zip(document)
    if archive is not None:
        return _zip_reports(archive, name, trust, depth)
    signatures = pdf_signatures(document)
    if signatures:
        return verify_pades(document, name, signatures, trust)
    if signatures is not None:
        return [_unsigned(name)]
    if looks_like_pdf(document):
        return [
            SignatureReport(
                file_name=name,
                verdict=Verdict.UNKNOWN,
                reasons=[_("Ce PDF est illisible : ses signatures éventuelles n'ont pas pu être vérifiées.")],
            )
        ]
    signed_data = (
        cms_load(document) if name.lower().endswith(CADES_EXTENSIONS) or document[:1] == b"\x30" else None
    )
    if signed_data is not None:
        if signed_data["encap_content_info"]["content"].native is not None:
            return verify_cades(None, name, document, name, trust)
        return [
            SignatureReport(
                file_name=name,
                verdict=Verdict.UNKNOWN,
                format=SignatureFormat.CADES,
                signature_name=name,
                reasons=[
                    _(
                        "Ce fichier est une signature détachée : elle ne peut être vérifiée qu'avec le "
                        "document qu'elle signe."
                    )
                ],
            )
        ]
    if is_xml_signature(document):
        # An XML document signed in itself (enveloped XAdES); a detached jeton alone is
        # « indéterminée » there, with its reason.
        return verify_xades_enveloped(document, name, trust)
    return [_unsigned(name)]


# --- ZIP archives -------------------------------------------------------------------------


# A ZIP nested deeper than this is not worth unpacking (the verification opens 3 levels).
ZIP_MAX_NESTING = 8
# More files than this (the verification judges at most 2,000): not even listed, as the
# list alone of a ZIP of a few Mio may take hundreds of Mio of memory.
ZIP_MAX_LISTED = 10_000


def zip_unpacks_beyond(data: bytes, limit: int) -> bool:
    """Whether the ZIP ``data``, with the ZIPs inside it, would unpack to more than ``limit``
    bytes in all, or holds more than ``ZIP_MAX_LISTED`` files (a « zip bomb »): the sizes the
    archives declare are added up, and only the inner ZIPs are read (within ``limit``). False
    for anything that is not a ZIP."""
    budget = [limit]

    def walk(blob: bytes, depth: int) -> bool:
        if not blob.startswith(b"PK"):
            return False
        if depth > ZIP_MAX_NESTING or blob.count(b"PK\x01\x02") > ZIP_MAX_LISTED:
            return True
        try:
            archive = zipfile.ZipFile(io.BytesIO(blob))
            entries = [info for info in archive.infolist() if not info.is_dir()]
        except (zipfile.BadZipFile, OSError, ValueError, EOFError):
            return False
        budget[0] -= sum(info.file_size for info in entries)
        if budget[0] < 0:
            return True
        for info in entries:
            try:
                with archive.open(info) as handle:
                    if handle.read(2) != b"PK":
                        continue
                inner = archive.read(info)
            except Exception:  # noqa: BLE001, S112 - an encrypted or damaged entry is not read
                continue
            if walk(inner, depth + 1):
                return True
        return False

    return walk(data, 0)


def _zip(document: bytes) -> zipfile.ZipFile | None:
    if not document.startswith(b"PK"):
        return None
    try:
        return zipfile.ZipFile(io.BytesIO(document))
    except (zipfile.BadZipFile, OSError, ValueError):
        return None


def _zip_reports(
    archive: zipfile.ZipFile, name: str, trust: Trust, depth: int, *, whole_signed_reason: str = ""
) -> list[SignatureReport]:
    entries = [info for info in archive.infolist() if not info.is_dir()]
    if len(entries) > ZIP_MAX_ENTRIES or sum(info.file_size for info in entries) > ZIP_MAX_TOTAL_SIZE:
        return [
            SignatureReport(
                file_name=name,
                verdict=Verdict.UNKNOWN,
                reasons=[
                    _(
                        "L'archive est trop volumineuse pour que les signatures des fichiers qu'elle "
                        "contient soient vérifiées."
                    )
                ],
            )
        ]
    names = {info.filename for info in entries}
    jetons = {
        entry: base
        for entry in names
        for base in [posixpath.splitext(entry)[0]]
        if entry.lower().endswith(CADES_EXTENSIONS + XADES_EXTENSIONS) and base in names
    }
    reports = []
    for info in entries:
        entry = info.filename
        inner_name = f"{name}/{entry}"
        if entry in jetons:
            continue
        try:
            data = archive.read(info)
        except Exception:  # noqa: BLE001 - an encrypted or damaged entry
            reports.append(
                SignatureReport(
                    file_name=inner_name,
                    verdict=Verdict.UNKNOWN,
                    reasons=[_("Ce fichier de l'archive est illisible (archive endommagée ou chiffrée).")],
                )
            )
            continue
        own = [jeton for jeton, base in sorted(jetons.items()) if base == entry]
        if own:
            for index, jeton in enumerate(own):
                reports += _detached(
                    data,
                    inner_name,
                    archive.read(jeton),
                    f"{name}/{jeton}",
                    trust,
                    depth + 1,
                    with_own=index == 0,
                )
            continue
        if depth + 1 > ZIP_MAX_DEPTH and _zip(data) is not None:
            reports.append(_unsigned(inner_name, whole_signed_reason))
            continue
        inner = _alone(data, inner_name, trust, depth + 1)
        if whole_signed_reason:
            inner = [_unsigned(r.file_name, whole_signed_reason) if not r.signed else r for r in inner]
        reports += inner
    return reports
