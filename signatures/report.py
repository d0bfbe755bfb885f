"""What the verification of one signature says: a ``SignatureReport``, in French for the buyer.

One report per signature found (a PDF may carry several), or per file that carries none
(verdict « non signé »). Every fact is kept apart (integrity, chain, validity at signing
time, revocation) so that a page or the PV d'ouverture can show them line by line; the
``verdict`` sums them up and ``reasons`` says why, in sentences a buyer understands.
"""

import dataclasses
import enum
from dataclasses import dataclass, field
from datetime import datetime

from django.db import models
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

__all__ = [
    "Revocation",
    "SignatureFormat",
    "SignatureReport",
    "Verdict",
    "moment",
    "report_from_json",
    "report_to_json",
    "reports_verdict",
]


class SignatureFormat(models.TextChoices):
    PADES = "PAdES", "PAdES"
    CADES = "CAdES", "CAdES"
    XADES = "XAdES", "XAdES"


class Verdict(models.TextChoices):
    VALID = "valid", gettext_lazy("valide")
    INVALID = "invalid", gettext_lazy("invalide")
    # Nothing proves it bad, but something needed to call it valid could not be checked
    # (revocation offline, signing time only claimed by the signer…).
    UNKNOWN = "unknown", gettext_lazy("indéterminée")
    # The file carries no signature of its own (a file inside a ZIP, a plain PDF).
    UNSIGNED = "unsigned", gettext_lazy("non signé")


class Revocation(models.TextChoices):
    GOOD = "good", gettext_lazy("non révoqué")
    REVOKED = "revoked", gettext_lazy("révoqué")
    UNKNOWN = "unknown", gettext_lazy("non vérifiée")


def moment(value: datetime | None) -> str:
    """« 03/12/2026 à 22:15:03 » in the platform's time zone ("" for None)."""
    if value is None:
        return ""
    local = timezone.localtime(value)
    return _("%(date)s à %(time)s") % {"date": local.strftime("%d/%m/%Y"), "time": local.strftime("%H:%M:%S")}


@dataclass
class SignatureReport:
    """The report of one signature (or of one unsigned file).

    ``file_name`` is the signed file (for a file inside a ZIP: ``archive.zip/dossier/fichier``);
    ``signature_name`` the detached « jeton » (``.p7s``, ``.xml``) or the PDF field.
    ``None`` in a check means it could not be made (see ``reasons``).
    """

    file_name: str
    verdict: str
    reasons: list[str] = field(default_factory=list)
    format: str = ""
    signature_name: str = ""
    # The signer's certificate
    signer_name: str = ""
    signer_organisation: str = ""
    signer_email: str = ""
    issuer: str = ""
    serial_number: str = ""
    certificate_not_before: datetime | None = None
    certificate_not_after: datetime | None = None
    policies: list[str] = field(default_factory=list)
    qualification: str = ""
    # Times: the one the signer's software wrote (claimed) and the one a timestamping
    # authority proves (only when the timestamp is valid and trusted).
    signing_time: datetime | None = None
    timestamp_time: datetime | None = None
    # The checks
    intact: bool | None = None
    certificate_valid_at_signing: bool | None = None
    trusted_chain: bool | None = None
    chain: list[str] = field(default_factory=list)
    revocation: str = Revocation.UNKNOWN
    revocation_date: datetime | None = None
    # Facts worth showing that change nothing to the verdict
    notes: list[str] = field(default_factory=list)

    @property
    def signed(self) -> bool:
        return self.verdict != Verdict.UNSIGNED

    @property
    def valid(self) -> bool:
        return self.verdict == Verdict.VALID

    @property
    def verdict_label(self) -> str:
        return str(Verdict(self.verdict).label)

    @property
    def revocation_label(self) -> str:
        if self.revocation == Revocation.REVOKED and self.revocation_date:
            return _("révoqué le %(moment)s") % {"moment": moment(self.revocation_date)}
        return str(Revocation(self.revocation).label)

    @property
    def signed_at(self) -> datetime | None:
        """The best known signing time: the timestamp's, else the claimed one."""
        return self.timestamp_time or self.signing_time

    def summary(self) -> str:
        """One French sentence: verdict, signer and the first reason (for a list or the PV)."""
        if not self.signed:
            return _("%(file)s : non signé.") % {"file": self.file_name}
        who = self.signer_name or _("signataire inconnu")
        if self.signer_organisation:
            who = f"{who} ({self.signer_organisation})"
        text = _("%(file)s : signature %(format)s %(verdict)s de %(who)s") % {
            "file": self.file_name,
            "format": self.format,
            "verdict": self.verdict_label,
            "who": who,
        }
        if self.reasons:
            text = f"{text} — {self.reasons[0]}"
        return text if text.endswith(".") else f"{text}."

    def lines(self) -> list[tuple[str, str]]:
        """(label, value) pairs in French, in reading order, for a page or a PDF."""
        yes, no, unknown = _("oui"), _("non"), _("non vérifié")

        def flag(value: bool | None) -> str:
            return unknown if value is None else (yes if value else no)

        rows = [(_("Fichier"), self.file_name)]
        if self.signature_name:
            rows.append((_("Signature"), self.signature_name))
        rows.append((_("Verdict"), self.verdict_label))
        if not self.signed:
            return rows
        rows += [
            (_("Format"), self.format),
            (_("Signataire"), self.signer_name),
            (_("Organisation"), self.signer_organisation),
            (_("Émetteur du certificat"), self.issuer),
            (_("Numéro de série du certificat"), self.serial_number),
            (_("Qualification"), self.qualification or _("non indiquée")),
            (_("Politiques de certification"), ", ".join(self.policies) or _("aucune")),
            (_("Date de signature déclarée"), moment(self.signing_time) or _("aucune")),
            (_("Horodatage"), moment(self.timestamp_time) or _("aucun")),
            (_("Document intègre"), flag(self.intact)),
            (_("Certificat valide à la date de signature"), flag(self.certificate_valid_at_signing)),
            (_("Chaîne de confiance"), flag(self.trusted_chain)),
            (_("Révocation"), self.revocation_label),
        ]
        return rows


# --- Reports kept as JSON (DepositFile.signature_reports, ContractSignature.reports) -------------


def _jsonable(value):
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, str):
        return str(value)
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


def report_to_json(report: SignatureReport) -> dict:
    """A report as JSON: datetimes as ISO strings, choices as their values."""
    return _jsonable(dataclasses.asdict(report))


_FIELDS = {f.name: f for f in dataclasses.fields(SignatureReport)}
_DATETIMES = {name for name, f in _FIELDS.items() if "datetime" in str(f.type)}


def report_from_json(data: dict) -> SignatureReport:
    """A report read back; unknown keys (an older or newer report) are left out."""
    values = {}
    for name, value in (data or {}).items():
        if name not in _FIELDS:
            continue
        if name in _DATETIMES and isinstance(value, str):
            value = parse_datetime(value)
        values[name] = value
    values.setdefault("file_name", "")
    values.setdefault("verdict", Verdict.UNKNOWN)
    if values["verdict"] not in Verdict.values:
        values["verdict"] = Verdict.UNKNOWN
    return SignatureReport(**values)


def reports_verdict(reports: list[SignatureReport]) -> str:
    """One verdict for a file: « invalide » if any signature is, « valide » when all its
    signatures are (and it has one), « non signé » without any, else « indéterminée »."""
    signed = [r for r in reports if r.signed]
    if any(r.verdict == Verdict.INVALID for r in reports):
        return Verdict.INVALID
    if not signed:
        return Verdict.UNSIGNED
    if all(r.verdict == Verdict.VALID for r in reports):
        return Verdict.VALID
    return Verdict.UNKNOWN
