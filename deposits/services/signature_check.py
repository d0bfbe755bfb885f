"""The signatures found in the deposited files, verified at the opening (« ouverture des plis »).

At the opening, once every file is decrypted and found intact, each envelope's files are
read again (one document and one detached signature in memory at a time, nothing written
to disk) and every signature is checked with ``signatures.verify.signature_verify``:

- a detached CAdES jeton (``x.pdf.p7s``, or ``x.p7s`` beside ``x.pdf``) is checked with the
  file it signs; a detached XAdES jeton (``.xml`` holding an XML signature) with the file
  its reference names (``URI``), else the file its name continues (``x.pdf.xml``), else the
  file of the same stem (``x.xml`` beside ``x.pdf``);
- every other file alone: a PDF's own signatures (PAdES), an enveloping ``.p7m``, a ZIP;
- a file above ``MAX_BYTES`` (64 MiB by default, setting ``SIGNATURE_CHECK_MAX_BYTES``) is
  not read: its report says « fichier trop volumineux pour la vérification automatique »,
  verdict « indéterminée »; so does a ZIP that would unpack (with the ZIPs inside it) to
  more than twice ``MAX_BYTES`` (``signatures.verify.zip_unpacks_beyond``, against « zip bombs »).

The reports are stored on ``DepositFile.signature_reports`` (JSON dicts, datetimes as ISO
strings): on the signed file, and, for a detached signature, on the jeton too. A file
without any signature keeps an empty list (the pages say « non signé »). Nothing here
stops an opening: a file that cannot be read gets an « indéterminée » report.

``file_signatures`` turns the stored dicts back into what the buyer's page and the PV
d'ouverture show, with the warning when the consultation requires a signature and a file
that should carry one has no valid signature (a warning only: the buyer decides).
"""

import dataclasses
import logging
import posixpath
import unicodedata
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, field

from django.conf import settings
from django.utils.translation import gettext as _

from signatures.report import (
    SignatureReport,
    Verdict,
    moment,
    report_from_json,
    report_to_json,
    reports_verdict,
)
from signatures.verify import zip_unpacks_beyond
from signatures.verify_xades import is_enveloped_xml_signature

logger = logging.getLogger(__name__)

MAX_BYTES = 64 * 1024 * 1024
CADES_JETONS = (".p7s", ".p7")
XADES_JETONS = (".xml",)
# The requested document that carries the commitment: the one that must be signed.
COMMITMENT_LABEL = "acte d'engagement"


def _max_bytes() -> int:
    return int(getattr(settings, "SIGNATURE_CHECK_MAX_BYTES", MAX_BYTES))


def _trust() -> dict:
    """What the deposited signatures are checked against: the trust store's roots and
    intermediates (``signatures/trust.py``, the platform's own roots included) and the
    revocation settings (``SIGNATURE_REVOCATION_FETCH``)."""
    from signatures.trust import verification_options

    return verification_options()


# --- The files of an envelope, and what signs what ------------------------------------------------


@dataclass
class OpenedFile:
    """A file of an opened envelope: ``key`` identifies it (the DepositFile's pk), ``read``
    gives its whole plaintext."""

    key: Hashable
    name: str
    size: int
    read: Callable[[], bytes]


def _fold(name: str) -> str:
    return unicodedata.normalize("NFC", name).strip().lower()


def _stem(name: str) -> str:
    return posixpath.splitext(_fold(name))[0]


def _is_cades_jeton(name: str) -> bool:
    return _fold(name).endswith(CADES_JETONS)


def _is_xml(name: str) -> bool:
    return _fold(name).endswith(XADES_JETONS)


def _xml_references(data: bytes) -> list[str]:
    """The base names of the external references of an XML signature (``ds:Reference/@URI``)."""
    from urllib.parse import unquote

    from lxml import etree

    try:
        root = etree.fromstring(data, etree.XMLParser(resolve_entities=False, no_network=True))
    except (etree.XMLSyntaxError, ValueError):
        return []
    uris = root.xpath("//ds:Reference/@URI", namespaces={"ds": "http://www.w3.org/2000/09/xmldsig#"})
    return [_fold(posixpath.basename(unquote(uri))) for uri in uris if uri and not uri.startswith("#")]


def _target_of(jeton: OpenedFile, others: list[OpenedFile], data: bytes | None = None) -> OpenedFile | None:
    """The file a detached signature signs, among the envelope's other files."""
    by_name = {}
    for other in others:
        by_name.setdefault(_fold(other.name), other)
    if data is not None:
        for reference in _xml_references(data):
            if reference in by_name:
                return by_name[reference]
    base = posixpath.splitext(_fold(jeton.name))[0]
    if base in by_name:
        return by_name[base]
    same_stem = sorted((o for o in others if _stem(o.name) == base), key=lambda o: _fold(o.name))
    return same_stem[0] if same_stem else None


def _too_big(name: str, signature_name: str = "") -> SignatureReport:
    return SignatureReport(
        file_name=name,
        verdict=Verdict.UNKNOWN,
        signature_name=signature_name,
        reasons=[_("Fichier trop volumineux pour la vérification automatique des signatures.")],
    )


def _unreadable(name: str) -> SignatureReport:
    return SignatureReport(
        file_name=name,
        verdict=Verdict.UNKNOWN,
        reasons=[_("Le fichier n'a pas pu être relu : ses signatures n'ont pas été vérifiées.")],
    )


def _read(opened: OpenedFile) -> bytes | SignatureReport:
    if opened.size > _max_bytes():
        return _too_big(opened.name)
    try:
        data = opened.read()
    except Exception:  # noqa: BLE001 - never an opening stopped by a signature check
        logger.exception("File %s could not be read again for its signatures", opened.key)
        return _unreadable(opened.name)
    # A small ZIP may unpack to gigabytes: its files are then not checked.
    if zip_unpacks_beyond(data, 2 * _max_bytes()):
        return _too_big(opened.name)
    return data


def envelope_reports(files: Iterable[OpenedFile], *, trust: dict | None = None) -> dict[Hashable, list[dict]]:
    """The stored form of the reports of each file of one envelope (``[]``: not signed)."""
    from signatures.verify import signature_verify

    files = list(files)
    trust = trust if trust is not None else _trust()
    reports: dict[Hashable, list[SignatureReport]] = {f.key: [] for f in files}
    # jeton's key -> (the file it signs, None): an XML jeton read to find its target is
    # not kept, so that memory holds one document and one jeton at a time, never every
    # jeton of the envelope (read again when its turn comes; jetons are small).
    jeton_of: dict[Hashable, tuple[OpenedFile, bytes | None]] = {}
    for opened in files:
        others = [o for o in files if o.key != opened.key]
        if _is_cades_jeton(opened.name):
            target = _target_of(opened, others)
            if target is not None:
                jeton_of[opened.key] = (target, None)
        elif _is_xml(opened.name):
            data = _read(opened)
            # An XML document signed in itself (enveloped) is no jeton: it is checked alone.
            if (
                isinstance(data, bytes)
                and b"http://www.w3.org/2000/09/xmldsig#" in data
                and not is_enveloped_xml_signature(data)
            ):
                target = _target_of(opened, others, data)
                if target is not None:
                    jeton_of[opened.key] = (target, None)
            data = None
    targets = {target.key for target, _data in jeton_of.values()}
    for opened in files:
        if opened.key in jeton_of and opened.key not in targets:
            continue
        pairs = [
            (jeton, jeton_of[jeton.key][1])
            for jeton in files
            if jeton.key in jeton_of and jeton_of[jeton.key][0].key == opened.key
        ]
        document = _read(opened)
        if isinstance(document, SignatureReport):
            reports[opened.key].append(document)
            for jeton, _data in pairs:
                reports[jeton.key].append(dataclasses.replace(document, signature_name=jeton.name))
            continue
        if not pairs:
            reports[opened.key] += signature_verify(document, opened.name, **trust)
            continue
        for index, (jeton, data) in enumerate(pairs):
            data = data if data is not None else _read(jeton)
            if isinstance(data, SignatureReport):
                data.file_name, data.signature_name = opened.name, jeton.name
                found = [data]
            else:
                found = signature_verify(
                    document, opened.name, detached=data, detached_name=jeton.name, **trust
                )
            own = [r for r in found if r.file_name == opened.name and r.signature_name == jeton.name]
            reports[jeton.key] += own or found
            # The PDF's own signatures and a ZIP's files come with every jeton: kept once.
            reports[opened.key] += found if index == 0 else own
            data = None
        document = None
    return {key: _stored(found) for key, found in reports.items()}


def _stored(found: list[SignatureReport]) -> list[dict]:
    if all(not report.signed for report in found):
        return []
    return [report_to_json(report) for report in found]


# --- The opening ------------------------------------------------------------------------------------


def opening_signatures_check(results) -> None:
    """Verify the signatures of the files of an opening (``deposits.services.opening.FileResult``),
    before anything is written: each intact file's ``deposit_file.signature_reports`` is set
    in memory, for ``_opening_record`` to store with the file's check."""
    from deposits import ingest
    from deposits.models import OpeningCheck
    from deposits.opened_keys import opened_key_open
    from deposits.selectors import part_names

    def reader(deposit_file, opened_key):
        def read() -> bytes:
            data_key = opened_key_open(opened_key, upload_id=deposit_file.upload_id)
            return b"".join(
                ingest.stored_plaintext(deposit_file.encrypted_header(), part_names(deposit_file), data_key)
            )

        return read

    by_envelope: dict[int, list[OpenedFile]] = {}
    for result in results:
        deposit_file = result.deposit_file
        deposit_file.signature_reports = []
        if result.check != OpeningCheck.INTACT or not result.opened_key:
            continue
        by_envelope.setdefault(deposit_file.envelope_id, []).append(
            OpenedFile(
                key=deposit_file.pk,
                name=deposit_file.name,
                size=deposit_file.size,
                read=reader(deposit_file, result.opened_key),
            )
        )
    if not by_envelope:
        return
    try:
        trust = _trust()
    except Exception:  # noqa: BLE001 - an unreadable trust store: every verdict says so
        logger.exception("The trust store could not be read at the opening")
        trust = {"trust_roots": [], "intermediates": [], "crls": [], "revocation_fetch": False}
    stored: dict[int, list[dict]] = {}
    for opened in by_envelope.values():
        try:
            stored.update(envelope_reports(opened, trust=trust))
        except Exception:  # noqa: BLE001 - never an opening stopped by a signature check
            logger.exception("The signatures of an envelope could not be checked")
            stored.update({f.key: [report_to_json(_unreadable(f.name))] for f in opened})
    for result in results:
        if result.deposit_file.pk in stored:
            result.deposit_file.signature_reports = stored[result.deposit_file.pk]


# --- What the pages show --------------------------------------------------------------------------


@dataclass
class ReportView:
    report: SignatureReport
    # For a jeton, or a file inside a ZIP: the file this report is about.
    about: str = ""

    @property
    def verdict(self) -> str:
        return self.report.verdict

    @property
    def verdict_label(self) -> str:
        return self.report.verdict_label

    @property
    def badge_class(self) -> str:
        return BADGE_CLASSES.get(self.report.verdict, "state-draft")

    @property
    def signer(self) -> str:
        report = self.report
        if not report.signer_name:
            return ""
        if report.signer_organisation:
            return f"{report.signer_name} ({report.signer_organisation})"
        return report.signer_name

    @property
    def signed_at(self) -> str:
        return moment(self.report.signed_at)

    @property
    def reasons(self) -> list[str]:
        return self.report.reasons

    @property
    def lines(self) -> list[tuple[str, str]]:
        return self.report.lines()

    @property
    def sentence(self) -> str:
        """« Signature : valide — Jeanne Martin (Société X), signé le … » or « non signé »."""
        report = self.report
        prefix = _("Fichier « %(name)s » : ") % {"name": self.about} if self.about else ""
        if not report.signed:
            return prefix + _("non signé")
        text = _("Signature %(format)s : %(verdict)s") % {
            "format": report.format,
            "verdict": report.verdict_label,
        }
        if not report.format:
            text = _("Signature : %(verdict)s") % {"verdict": report.verdict_label}
        if self.signer:
            text += f" — {self.signer}"
        if report.signed_at:
            text += ", " + _("signé le %(moment)s") % {"moment": self.signed_at}
        if not report.valid and report.reasons:
            text += " — " + " ".join(report.reasons)
        return prefix + text


BADGE_CLASSES = {
    Verdict.VALID: "state-online",
    Verdict.INVALID: "state-cancelled",
    Verdict.UNKNOWN: "state-pending_validation",
    Verdict.UNSIGNED: "state-draft",
}


@dataclass
class FileSignatures:
    reports: list[ReportView] = field(default_factory=list)
    warning: str = ""

    @property
    def signed(self) -> bool:
        return any(view.report.signed for view in self.reports)

    @property
    def verdict(self) -> str:
        """The file's overall verdict: the worst of its signatures."""
        return reports_verdict([view.report for view in self.reports if view.report.signed])

    @property
    def badge_class(self) -> str:
        """The state-badge colours of consultations-buyer.css (the verdict is always written out)."""
        return BADGE_CLASSES[self.verdict]

    @property
    def verdict_label(self) -> str:
        if self.verdict == Verdict.UNSIGNED:
            return _("non signé")
        return str(Verdict(self.verdict).label)


def _folded_label(label: str) -> str:
    return _fold(label).replace("’", "'")


def _is_jeton(deposit_file) -> bool:
    """A detached signature: a ``.p7s``, or a file whose reports are about another file."""
    if _is_cades_jeton(deposit_file.name):
        return True
    return any(
        r.get("signature_name") == deposit_file.name and r.get("file_name") not in ("", deposit_file.name)
        for r in deposit_file.signature_reports or []
    )


def _signed_validly(deposit_file) -> bool:
    """A valid signature covers this file: its own, or a jeton's stored on it."""
    return any(
        r.get("verdict") == Verdict.VALID and r.get("file_name", deposit_file.name) == deposit_file.name
        for r in deposit_file.signature_reports or []
    )


def should_be_signed(deposit_file, envelope_files) -> bool:
    """Under a « signature requise » rule: the file answering the « Acte d'engagement »; in an
    envelope without one, every file but the detached signatures."""
    if _is_jeton(deposit_file):
        return False
    commitments = [f for f in envelope_files if COMMITMENT_LABEL in _folded_label(f.document_label or "")]
    if commitments:
        return any(f.pk == deposit_file.pk for f in commitments)
    return True


def file_signatures(deposit_file, envelope_files=(), consultation=None) -> FileSignatures:
    """What the buyer's page and the PV show for one opened file."""
    from consultations.models import SignatureRule
    from deposits.models import OpeningCheck

    views = []
    for data in deposit_file.signature_reports or []:
        report = report_from_json(data)
        about = report.file_name if report.file_name and report.file_name != deposit_file.name else ""
        views.append(ReportView(report, about=about))
    result = FileSignatures(reports=views)
    envelope_files = list(envelope_files) or [deposit_file]
    if (
        consultation is not None
        and consultation.signature_rule == SignatureRule.REQUIRED
        and deposit_file.opening_check == OpeningCheck.INTACT
        and should_be_signed(deposit_file, envelope_files)
        and not _signed_validly(deposit_file)
    ):
        result.warning = _(
            "La consultation exige une signature électronique et ce fichier ne porte aucune "
            "signature valide. La plateforme ne rejette pas le pli : il vous appartient d'en décider."
        )
    return result
