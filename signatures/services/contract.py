"""The contract signature (« signature du marché »): the winner signs the acte d'engagement
with its own tool, then the buyer counter-signs the same document.

Rules (docs/design.md « Signature du marché »):

- ``contract_document(decision)``: the acte d'engagement to sign, a PDF made by the platform
  (WeasyPrint), unsigned, the same bytes at every download (its date is the letters');
- the holder (a user of the winning deposit's company) uploads its signed file once the
  letters are sent and the standstill is over; the buyer's agent (permission to decide)
  uploads its counter-signed file only once the holder's signature is valid;
- a PAdES file must be the platform's acte d'engagement signed in an incremental update (the
  file starts with the bytes downloaded); a detached ``.p7s`` / ``.xml`` signs the file
  uploaded beside it, which must be the acte d'engagement itself (holder) or the holder's
  file (buyer);
- the buyer's PAdES file is the holder's signed file with one more signature (the holder's
  signature must still be there and valid);
- every upload is verified (``signatures.verify.signature_verify`` against the trust store)
  and kept with its reports; a new upload of a party supersedes its previous one; only a
  « valide » verdict counts; a new holder file supersedes the buyer's earlier attempts;
- the buyer's valid signature records the contract's signature date
  (``awards.services.decisions.contract_sign_record``, at the moment of the upload), and then
  the notification may go; once signed (or notified) nothing is replaced.
"""

from __future__ import annotations

import base64
import binascii
import collections
import hashlib
import io
import logging
from datetime import UTC, datetime
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.files.base import ContentFile
from django.db import transaction
from django.template.loader import render_to_string
from django.utils.translation import gettext as _

from accounts.models import AgentPermission
from accounts.permissions import agent_can, company_can_act_for
from audit.services import event_record
from awards.models import Decision, Outcome
from awards.services.decisions import DecisionError, contract_sign_record, datetime_fr, standstill_end
from config import clock
from signatures.models import ContractParty, ContractSignature
from signatures.report import SignatureFormat, Verdict, report_from_json, report_to_json, reports_verdict
from signatures.verify import signature_verify

logger = logging.getLogger(__name__)

__all__ = [
    "ContractError",
    "contract_document",
    "contract_document_name",
    "contract_signature_current",
    "contract_signature_upload",
    "contract_state",
    "contracts_to_sign",
]

CONTRACT_MAX_SIZE = 20 * 1024 * 1024
DETACHED_MAX_SIZE = 2 * 1024 * 1024


class ContractError(Exception):
    """A rule refused a contract signature; the message is French and shown as is, next to
    ``field`` (``file`` or ``detached``) when there is one."""

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


# --- The trust store ------------------------------------------------------------------------


def _trust() -> dict:
    """What ``signature_verify`` trusts: the trust store administered in the admin, with the
    platform's own roots (``signatures.trust.verification_options``)."""
    try:
        from signatures.trust import verification_options
    except ImportError:  # pragma: no cover - the store's module is always there in the end
        from signatures.platform import trust_roots

        return {"trust_roots": list(trust_roots())}
    return verification_options()


# --- The acte d'engagement ---------------------------------------------------------------


def _amount_fr(amount: Decimal) -> str:
    whole, cents = f"{amount:,.2f}".split(".")
    return whole.replace(",", "\u00a0") + "," + cents


def _holders(decision: Decision) -> list[dict]:
    deposit = decision.deposit
    members = list(deposit.consortium_members.all())
    if members:
        return [{"name": m.name, "siret": m.siret, "role": m.get_role_display()} for m in members]
    return [{"name": deposit.company.name, "siret": deposit.company.siret, "role": ""}]


def contract_document_name(decision: Decision) -> str:
    lot = f"-lot-{decision.lot.number}" if decision.lot_id else ""
    return f"acte-engagement-{decision.consultation.reference}{lot}.pdf".replace("/", "-").replace(" ", "-")


def contract_document(decision: Decision) -> bytes:
    """The acte d'engagement to sign (PDF, unsigned). The same bytes at each call for a
    decision whose letters are sent: the file a signed copy must start with."""
    from weasyprint import HTML

    from consultations.exports import offline_url_fetcher

    if decision.outcome != Outcome.AWARDED or decision.deposit_id is None:
        raise ContractError(_("Seul un lot attribué donne lieu à la signature d'un marché."))
    consultation = decision.consultation
    issued = decision.letters_sent_at or decision.decided_at
    context = {
        "platform_name": settings.PLATFORM_NAME,
        "decision": decision,
        "consultation": consultation,
        "organisation": consultation.organisation,
        "lot": decision.lot,
        "holders": _holders(decision),
        "consortium": decision.deposit.consortium_members.exists(),
        "amount": _amount_fr(decision.amount),
        "duration": decision.duration_months,
        "issued_iso": issued.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "issued": datetime_fr(issued),
        "title": _("Acte d'engagement"),
    }
    html = render_to_string("signatures/contract/acte_engagement.html", context)
    return HTML(string=html, base_url=None, url_fetcher=offline_url_fetcher()).write_pdf()


# --- Reading -------------------------------------------------------------------------------


def contract_signature_current(decision: Decision, party: str) -> ContractSignature | None:
    return decision.signatures.filter(party=party, superseded=False).order_by("-uploaded_at", "-pk").first()


def _valid(signature: ContractSignature | None) -> bool:
    return signature is not None and signature.verdict == Verdict.VALID


def contract_holder_opens_at(decision: Decision) -> datetime | None:
    """From when the holder may upload its signature (None: not yet known, letters unsent)."""
    if decision.letters_sent_at is None:
        return None
    return standstill_end(decision) or decision.letters_sent_at


def contract_state(decision: Decision) -> dict:
    """What a page shows: each party's current signature (with its reports), and what is open."""
    holder = contract_signature_current(decision, ContractParty.HOLDER)
    buyer = contract_signature_current(decision, ContractParty.BUYER)
    opens_at = contract_holder_opens_at(decision)
    now = clock.now()
    closed = decision.notification_id is not None or _valid(buyer)
    return {
        "decision": decision,
        "holder": holder,
        "holder_reports": [report_from_json(r) for r in holder.reports] if holder else [],
        "buyer": buyer,
        "buyer_reports": [report_from_json(r) for r in buyer.reports] if buyer else [],
        "opens_at": opens_at,
        "holder_open": opens_at is not None and now >= opens_at and not closed,
        "buyer_open": _valid(holder) and not closed,
        "signed": _valid(buyer),
        "history": list(decision.signatures.filter(superseded=True).order_by("-uploaded_at", "-pk")),
    }


def contracts_to_sign(company) -> list[Decision]:
    """The awarded lots of ``company``'s deposits whose letters are sent, not notified yet."""
    return list(
        Decision.objects.filter(
            outcome=Outcome.AWARDED,
            deposit__company=company,
            letters_sent_at__isnull=False,
            notification__isnull=True,
        )
        .select_related("consultation__organisation", "lot")
        .order_by("letters_sent_at", "pk")
    )


# --- Uploading ------------------------------------------------------------------------------


def _read(upload, *, limit: int, field: str, label: str) -> tuple[str, bytes]:
    name = (getattr(upload, "name", "") or "").rsplit("/", 1)[-1].rsplit("\\", 1)[-1][:255]
    size = getattr(upload, "size", None)
    if size is not None and size > limit:
        raise ContractError(
            _("%(label)s dépasse la taille maximale de %(size)s Mo.")
            % {"label": label, "size": limit // 2**20},
            field=field,
        )
    data = upload.read(limit + 1)
    if len(data) > limit:
        raise ContractError(
            _("%(label)s dépasse la taille maximale de %(size)s Mo.")
            % {"label": label, "size": limit // 2**20},
            field=field,
        )
    if not data:
        raise ContractError(_("%(label)s est vide.") % {"label": label}, field=field)
    return name or "document", data


def _embedded_count(document: bytes) -> int:
    """The signatures of a PDF, document timestamps (no one's signature) left out."""
    from signatures.verify_pades import is_document_timestamp, pdf_signatures

    return sum(1 for embedded in pdf_signatures(document) or [] if not is_document_timestamp(embedded))


def _first_signature_revision(document: bytes) -> int | None:
    from signatures.verify_pades import pdf_signatures

    signatures = pdf_signatures(document) or []
    if not signatures:
        return None
    return min(s.signed_revision for s in signatures)


def _pdf_revisions(document: bytes) -> int:
    from pyhanko.pdf_utils.reader import PdfFileReader

    return PdfFileReader(io.BytesIO(document), strict=False).xrefs.total_revisions


def _holder_document_check(decision: Decision, data: bytes, detached: bytes | None) -> None:
    original = contract_document(decision)
    if detached is not None:
        if data != original:
            raise ContractError(
                _(
                    "Le document joint à la signature détachée n'est pas l'acte d'engagement de ce marché : "
                    "joignez le fichier téléchargé sur la plateforme, sans le modifier."
                ),
                field="file",
            )
        return
    if _embedded_count(data) == 0:
        raise ContractError(
            _(
                "Ce fichier ne porte aucune signature électronique : signez l'acte d'engagement avec "
                "votre outil de signature (PAdES), ou joignez sa signature détachée (.p7s ou .xml)."
            ),
            field="file",
        )
    if not data.startswith(original):
        raise ContractError(
            _(
                "Ce fichier n'est pas l'acte d'engagement de ce marché signé : signez le fichier téléchargé "
                "sur la plateforme (la signature s'ajoute au fichier sans le modifier)."
            ),
            field="file",
        )
    # The first signature must sign the acte d'engagement as downloaded, not a changed copy.
    if _first_signature_revision(data) != _pdf_revisions(original):
        raise ContractError(
            _(
                "L'acte d'engagement a été modifié avant d'être signé : signez le fichier téléchargé sur "
                "la plateforme, sans le modifier."
            ),
            field="file",
        )


def _buyer_document_check(holder: ContractSignature, data: bytes, detached: bytes | None) -> None:
    holder_data = _blob(holder)
    if detached is not None:
        if data != holder_data:
            raise ContractError(
                _(
                    "Le document joint à la signature détachée n'est pas celui signé par le titulaire : "
                    "contresignez le fichier signé par le titulaire, téléchargé sur cette page."
                ),
                field="file",
            )
        _replay_check(holder, detached)
        return
    if not data.startswith(holder_data) or _embedded_count(data) <= _embedded_count(holder_data):
        raise ContractError(
            _(
                "Ce fichier ne contient pas la contresignature de l'acte d'engagement signé par le "
                "titulaire : signez le fichier signé par le titulaire (téléchargé sur cette page) sans le "
                "modifier, ou joignez une signature détachée de ce fichier."
            ),
            field="file",
        )


def _signature_key(report: dict) -> tuple:
    """What tells one signature from another across two uploads: its format, signer and
    time, and in a PDF its field (a jeton's own name may change from one upload to the next)."""
    return (
        report.get("format"),
        report.get("signature_name") if report.get("format") == SignatureFormat.PADES else "",
        report.get("serial_number"),
        report.get("issuer"),
        report.get("signing_time"),
    )


def _counter_signature_check(decision: Decision, holder: ContractSignature, reports) -> None:
    """The buyer's file must carry a signature of its own, beside the holder's; and the
    contract is concluded by it: one dated (by its timestamp, else by the time its software
    claims) before the standstill's end does not conclude it, even uploaded after."""
    # The holder's signatures may come again in the buyer's file (a PDF signed twice, a
    # .p7s with the buyer's counter-signature): each is skipped once (two alike: one of
    # them is new).
    known = collections.Counter(_signature_key(r) for r in holder.reports)
    new = []
    for report in reports:
        key = _signature_key(report_to_json(report))
        if not report.signed:
            continue
        if known[key] > 0:
            known[key] -= 1
            continue
        new.append(report)
    # The buyer signs with a certificate of its own: the holder's (from any of its uploads,
    # superseded ones too) is the company's, never the buyer's.
    holder_certificates = {
        (r.get("serial_number"), r.get("issuer"))
        for upload in decision.signatures.filter(party=ContractParty.HOLDER)
        for r in upload.reports
        if r.get("serial_number")
    }
    if any((r.serial_number, r.issuer) in holder_certificates for r in new):
        raise ContractError(
            _(
                "Cette contresignature est faite avec le certificat du titulaire : l'acheteur contresigne "
                "avec son propre certificat."
            ),
            field="file",
        )
    if not new:
        raise ContractError(
            _(
                "Ce fichier ne porte aucune autre signature que celle du titulaire : contresignez "
                "l'acte d'engagement avec votre propre certificat."
            ),
            field="file",
        )
    end = standstill_end(decision)
    for report in new if end is not None else ():
        signed_at = report.timestamp_time or report.signing_time
        if signed_at is not None and signed_at < end:
            raise ContractError(
                _(
                    "Cette contresignature est datée du %(signed)s, avant la fin du délai de suspension "
                    "(%(end)s) : le marché ne peut pas être signé avant. Signez de nouveau le fichier."
                )
                % {"signed": datetime_fr(signed_at), "end": datetime_fr(end)},
                field="file",
            )


def _signature_values(detached: bytes) -> set[bytes]:
    """The cryptographic values of the signatures of a detached jeton (CAdES signer infos, or
    XAdES ``ds:SignatureValue``), whatever its encoding (DER, PEM, base64)."""
    from lxml import etree

    from signatures.verify_cades import cms_load

    values: set[bytes] = set()
    try:
        signed_data = cms_load(detached)
        if signed_data is not None:
            for info in signed_data["signer_infos"]:
                values.add(bytes(info["signature"].native))
                # A counter-signature (RFC 5652 § 11.4) is its signer's own signature.
                for attribute in info["unsigned_attrs"] or []:
                    if attribute["type"].native == "counter_signature":
                        values.update(bytes(counter["signature"].native) for counter in attribute["values"])
    except Exception:  # noqa: BLE001, S110 - not CMS
        pass
    if not values and b"<" in detached[:512]:
        try:
            root = etree.fromstring(detached, etree.XMLParser(resolve_entities=False, no_network=True))
            for value in root.iter("{http://www.w3.org/2000/09/xmldsig#}SignatureValue"):
                # Compared decoded, as verifiers read it: base64 readers skip characters
                # outside their alphabet, so the text may differ for the same signature.
                text = "".join((value.text or "").split())
                try:
                    values.add(base64.b64decode(text, validate=False))
                except binascii.Error:
                    values.add(text.encode())
        except (etree.XMLSyntaxError, ValueError):
            pass
    return values


def _replay_check(holder: ContractSignature, detached: bytes) -> None:
    """The buyer's detached jeton must not be the holder's own signature uploaded again."""
    if not holder.detached_blob:
        return
    with holder.detached_blob.open("rb") as handle:
        holder_values = _signature_values(handle.read())
    buyer_values = _signature_values(detached)
    if buyer_values and buyer_values <= holder_values:
        raise ContractError(
            _(
                "Cette signature détachée est la signature du titulaire, pas la vôtre : joignez la "
                "signature que votre outil a produite en contresignant le fichier."
            ),
            field="detached",
        )


def _blob(signature: ContractSignature) -> bytes:
    with signature.blob.open("rb") as handle:
        return handle.read()


def contract_file(signature: ContractSignature) -> bytes:
    return _blob(signature)


def contract_detached_file(signature: ContractSignature) -> bytes | None:
    """The detached signature uploaded beside the file (None when the file carries its own)."""
    if not signature.detached_blob:
        return None
    with signature.detached_blob.open("rb") as handle:
        return handle.read()


def _authorise(user, decision: Decision, party: str) -> None:
    if party == ContractParty.HOLDER:
        if not company_can_act_for(user, decision.deposit.company):
            raise PermissionDenied
    elif party == ContractParty.BUYER:
        if not agent_can(user, AgentPermission.DECIDE, decision.consultation):
            raise PermissionDenied
    else:
        raise ContractError(_("Signataire inconnu."))


def _open_check(decision: Decision, party: str) -> None:
    if decision.outcome != Outcome.AWARDED:
        raise ContractError(_("Seul un lot attribué donne lieu à la signature d'un marché."))
    if decision.notification_id is not None:
        raise ContractError(_("Le marché est notifié : ses signatures ne peuvent plus changer."))
    if _valid(contract_signature_current(decision, ContractParty.BUYER)):
        raise ContractError(
            _("Le marché est déjà signé par les deux parties : ses signatures ne changent plus.")
        )
    if decision.letters_sent_at is None:
        raise ContractError(
            _(
                "Le marché se signe après l'envoi des lettres d'attribution et de rejet, qui ne sont pas "
                "parties."
            )
        )
    end = standstill_end(decision)
    if end is not None and clock.now() < end:
        raise ContractError(
            _("Le marché ne peut pas être signé avant la fin du délai de suspension, le %(end)s.")
            % {"end": datetime_fr(end)}
        )
    if party == ContractParty.BUYER and not _valid(
        contract_signature_current(decision, ContractParty.HOLDER)
    ):
        raise ContractError(
            _("L'acte d'engagement se contresigne une fois signé par le titulaire avec une signature valide.")
        )


def contract_signature_upload(
    *, user, decision: Decision, party: str, file, detached=None
) -> ContractSignature:
    """Verify and keep the signed acte d'engagement of ``party`` (``file``, an uploaded
    file, with its detached signature ``detached`` if any). The signature is kept whatever
    its verdict; a valid buyer's signature records the contract's signature date."""
    decision = Decision.objects.select_related(
        "consultation__organisation", "lot", "deposit__company", "notification"
    ).get(pk=decision.pk)
    _authorise(user, decision, party)
    _open_check(decision, party)
    if file is None:
        raise ContractError(_("Choisissez le fichier signé à déposer."), field="file")
    name, data = _read(file, limit=CONTRACT_MAX_SIZE, field="file", label=_("Le fichier signé"))
    detached_name, detached_data = "", None
    if detached:
        detached_name, detached_data = _read(
            detached, limit=DETACHED_MAX_SIZE, field="detached", label=_("La signature détachée")
        )
    holder = contract_signature_current(decision, ContractParty.HOLDER)
    if party == ContractParty.HOLDER:
        _holder_document_check(decision, data, detached_data)
    else:
        _buyer_document_check(holder, data, detached_data)

    reports = signature_verify(
        data, name, detached=detached_data, detached_name=detached_name, at=clock.now(), **_trust()
    )
    verdict = reports_verdict(reports)
    if party == ContractParty.BUYER:
        _counter_signature_check(decision, holder, reports)

    with transaction.atomic():
        locked = Decision.objects.select_for_update(of=("self",)).get(pk=decision.pk)
        decision.notification_id = locked.notification_id
        _open_check(decision, party)
        if (
            party == ContractParty.BUYER
            and contract_signature_current(decision, ContractParty.HOLDER) != holder
        ):
            raise ContractError(
                _(
                    "Le titulaire a déposé une nouvelle signature entre-temps : contresignez son nouveau "
                    "fichier."
                )
            )
        superseded_parties = [party]
        if party == ContractParty.HOLDER:
            # A new holder file: the buyer's earlier attempts were on another document.
            superseded_parties.append(ContractParty.BUYER)
        decision.signatures.filter(party__in=superseded_parties, superseded=False).update(superseded=True)
        now = clock.now()
        signature = ContractSignature(
            decision=decision,
            party=party,
            name=name,
            size=len(data),
            sha256=hashlib.sha256(data).hexdigest(),
            detached_name=detached_name,
            reports=[report_to_json(r) for r in reports],
            verdict=verdict,
            uploaded_at=now,
            uploaded_by=user,
        )
        signature.blob.save(name, ContentFile(data), save=False)
        if detached_data is not None:
            signature.detached_blob.save(detached_name, ContentFile(detached_data), save=False)
        signature.save()
        consultation = decision.consultation
        event_record(
            action="signatures.contract_signature_uploaded",
            actor=user,
            target=consultation,
            organisation=consultation.organisation_id,
            data={
                "decision": decision.pk,
                "signature": signature.pk,
                "party": party,
                "verdict": verdict,
                "sha256": signature.sha256,
                "detached": bool(detached_name),
            },
        )
        if party == ContractParty.BUYER and verdict == Verdict.VALID:
            try:
                contract_sign_record(user=user, decision=decision, signed_at=now)
            except DecisionError as error:
                raise ContractError(error.message) from None
    return signature
