"""The opening of the deposits (« ouverture des plis »), after the deadline only.

An agent who holds the permission to open, in a session confirmed by a one-time code,
uploads the consultation's private key (the PKCS#12 handed out when the key pair was made,
or the organisation's backup key) and its password. Neither is stored nor logged: the key
lives in memory for the request. Then, for each file in the opening's scope:

- its data key is unwrapped with the private key (``deposits.crypto.unwrap_key``);
- the stored object is decrypted in a stream, every segment authenticated, nothing kept,
  and the SHA-256 of the plaintext compared with the one computed at the deposit;
- an intact file gets its data key re-sealed under the platform's opened-data key
  (``deposits/opened_keys.py``) so that the buying team reads it later without the PKCS#12;
  an altered one is marked so, reported, and never served.

The decryption runs before any write: a wrong password, a key that is not one of the
deposits' keys, or a refused choice changes nothing. The writes (the ``Opening`` row, the
files' results, the envelopes, the audit log and the minutes) then happen in one transaction.

Scopes follow the consultation's opening mode: by envelope, the candidatures of the on-time
deposits first, then the offers (and variants) of the candidates the agent admits; by whole
response, every envelope of the on-time deposits at once. Late deposits are opened apart,
only with a reason the agent types (e.g. the backup-copy case). Superseded deposits are kept
and never opened.
"""

import hashlib
import hmac
import logging
from collections.abc import Iterable
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.debug import sensitive_variables

from accounts.models import AgentPermission
from accounts.permissions import agent_require
from audit.services import event_record
from config import clock
from consultations.models import Consultation, EnvelopeKind, OpeningMode, State
from deposits import crypto, ingest
from deposits.models import (
    Deposit,
    DepositFile,
    DepositState,
    DepositStatus,
    Envelope,
    Opening,
    OpeningCheck,
    OpeningKey,
    WrappedKey,
)
from deposits.opened_keys import opened_key_open, opened_key_seal
from deposits.selectors import part_names

logger = logging.getLogger(__name__)

PKCS12_MAX_BYTES = 64 * 1024
REASON_MIN_LENGTH = 10
# States in which the deadline may have passed and the deposits be opened. A draft, a
# consultation awaiting validation or publication never received a deposit; one declared
# « sans suite » or archived has its deposits kept unopened.
OPENABLE_STATES = frozenset({State.ONLINE, State.CLOSED, State.OPENED, State.EVALUATION, State.DECIDED})
DISCLOSED_STATES = OPENABLE_STATES | {State.ARCHIVED, State.CANCELLED}
SCOPE_KINDS = {
    Opening.Scope.CANDIDATURES: (EnvelopeKind.CANDIDATURE,),
    Opening.Scope.OFFERS: (EnvelopeKind.OFFER, EnvelopeKind.VARIANT),
    Opening.Scope.RESPONSES: None,  # every envelope
    Opening.Scope.LATE: None,
}


class OpeningError(Exception):
    """The opening is refused and nothing changed; the message is French and shown as is.
    ``field`` names the form field it is about, if any."""

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


# --- What may be seen and done, when ------------------------------------------------------


def deadline_passed(consultation: Consultation) -> bool:
    return consultation.deadline is not None and clock.now() >= consultation.deadline


def deposits_disclosed(consultation: Consultation) -> bool:
    """Whether the buyer may learn anything about the deposits (who, how many, when).

    Before the deadline nothing: not even a count. Only the depositor sees its own deposit.
    """
    return (
        not consultation.is_practice
        and consultation.state in DISCLOSED_STATES
        and deadline_passed(consultation)
    )


def _session_verified(user) -> bool:
    # django_otp's middleware gives the request's user ``is_verified``: true once a
    # one-time code was typed in this session.
    is_verified = getattr(user, "is_verified", None)
    return bool(is_verified and is_verified())


def opening_require(*, consultation: Consultation, user) -> None:
    """The agent may open this consultation's deposits now; PermissionDenied or OpeningError."""
    agent_require(user, AgentPermission.OPEN, consultation)
    if not _session_verified(user):
        raise OpeningError(
            _(
                "L'ouverture des plis demande une session confirmée par un code à usage unique : "
                "déconnectez-vous puis reconnectez-vous avec votre code."
            )
        )
    if consultation.deadline is None or consultation.state not in OPENABLE_STATES or consultation.is_practice:
        raise OpeningError(_("Les plis de cette consultation ne peuvent pas être ouverts."))
    if not deadline_passed(consultation):
        raise OpeningError(
            _(
                "La date limite de remise des plis n'est pas passée : aucun pli ne peut être ouvert "
                "avant le %(deadline)s."
            )
            % {"deadline": _moment(consultation.deadline)}
        )


def _moment(value) -> str:
    from consultations.registers import moment_sentence

    return moment_sentence(value)


# --- The scope of an opening --------------------------------------------------------------


def _finalised(consultation: Consultation, status: str):
    return Deposit.objects.filter(consultation=consultation, state=DepositState.FINALISED, status=status)


def _ids(values: Iterable) -> set[int]:
    try:
        return {int(value) for value in values}
    except (TypeError, ValueError):
        raise OpeningError(_("Un des plis choisis n'existe pas."), field="deposits") from None


def _chosen(
    consultation: Consultation, status: str, deposit_ids: Iterable, *, none_message: str
) -> list[int]:
    chosen = _ids(deposit_ids)
    if not chosen:
        raise OpeningError(none_message, field="deposits")
    allowed = set(_finalised(consultation, status).values_list("pk", flat=True))
    if not chosen <= allowed:
        raise OpeningError(_("Un des plis choisis ne peut pas être ouvert ici."), field="deposits")
    return sorted(chosen)


def _mode_require(consultation: Consultation, mode: str) -> None:
    if consultation.opening_mode == mode:
        return
    if mode == OpeningMode.BY_ENVELOPE:
        raise OpeningError(
            _("Les plis de cette consultation s'ouvrent par réponse entière, non par enveloppe.")
        )
    raise OpeningError(
        _(
            "Les plis de cette consultation s'ouvrent par enveloppe : les candidatures d'abord, "
            "puis les offres."
        )
    )


def opening_scope(
    consultation: Consultation, scope: str, *, deposit_ids: Iterable = (), reason: str = ""
) -> tuple[list[int], list[Envelope]]:
    """The deposits and the envelopes an opening of ``scope`` takes; OpeningError if it may not."""
    openings = Opening.objects.filter(consultation=consultation)
    if scope == Opening.Scope.CANDIDATURES:
        _mode_require(consultation, OpeningMode.BY_ENVELOPE)
        if openings.filter(scope=scope).exists():
            raise OpeningError(_("Les candidatures de cette consultation sont déjà ouvertes."))
        deposits = list(_finalised(consultation, DepositStatus.ON_TIME).values_list("pk", flat=True))
    elif scope == Opening.Scope.OFFERS:
        _mode_require(consultation, OpeningMode.BY_ENVELOPE)
        if not openings.filter(scope=Opening.Scope.CANDIDATURES).exists():
            raise OpeningError(
                _("Ouvrez d'abord les candidatures : les offres ne s'ouvrent que pour les candidats admis.")
            )
        deposits = _chosen(
            consultation,
            DepositStatus.ON_TIME,
            deposit_ids,
            none_message=_("Cochez au moins un candidat admis dont l'offre est à ouvrir."),
        )
        # A candidate refused in the analysis (awards.CandidatureReview) is eliminated: its
        # offer stays sealed.
        refused = sorted(
            Deposit.objects.filter(pk__in=deposits, candidature_review__admitted=False).values_list(
                "pk", flat=True
            )
        )
        if refused:
            raise OpeningError(
                ngettext(
                    "La candidature du pli n° %(numbers)s n'a pas été admise : son offre ne s'ouvre pas.",
                    "Les candidatures des plis n° %(numbers)s n'ont pas été admises : "
                    "leurs offres ne s'ouvrent pas.",
                    len(refused),
                )
                % {"numbers": ", ".join(str(pk) for pk in refused)},
                field="deposits",
            )
    elif scope == Opening.Scope.RESPONSES:
        _mode_require(consultation, OpeningMode.BY_RESPONSE)
        if openings.filter(scope=scope).exists():
            raise OpeningError(_("Les plis de cette consultation sont déjà ouverts."))
        deposits = list(_finalised(consultation, DepositStatus.ON_TIME).values_list("pk", flat=True))
    elif scope == Opening.Scope.LATE:
        if len(reason.strip()) < REASON_MIN_LENGTH:
            raise OpeningError(
                _(
                    "Indiquez le motif de l'ouverture des plis hors délai (au moins %(count)d caractères) : "
                    "il figurera au procès-verbal."
                )
                % {"count": REASON_MIN_LENGTH},
                field="reason",
            )
        deposits = _chosen(
            consultation,
            DepositStatus.LATE,
            deposit_ids,
            none_message=_("Cochez au moins un pli hors délai à ouvrir."),
        )
    else:
        raise OpeningError(_("Ce type d'ouverture n'existe pas."))
    envelopes = Envelope.objects.filter(deposit_id__in=deposits).select_related("lot")
    kinds = SCOPE_KINDS[scope]
    if kinds is not None:
        envelopes = envelopes.filter(kind__in=kinds)
    envelopes = list(envelopes)
    already = sorted({e.deposit_id for e in envelopes if e.opening_id is not None})
    if already:
        raise OpeningError(
            ngettext(
                "Le pli n° %(numbers)s est déjà ouvert.",
                "Les plis n° %(numbers)s sont déjà ouverts.",
                len(already),
            )
            % {"numbers": ", ".join(str(pk) for pk in already)},
            field="deposits",
        )
    return deposits, envelopes


# --- The key --------------------------------------------------------------------------------


@sensitive_variables("content", "password", "private_key")
def private_key_load(content: bytes, password: str) -> rsa.RSAPrivateKey:
    """The RSA private key of a PKCS#12 file; OpeningError in French otherwise."""
    if not content:
        raise OpeningError(_("Choisissez le fichier de clé privée (.p12 ou .pfx)."), field="pkcs12")
    if len(content) > PKCS12_MAX_BYTES:
        raise OpeningError(
            _("Ce fichier est trop volumineux pour être un fichier de clé privée PKCS#12 (.p12)."),
            field="pkcs12",
        )
    try:
        private_key, _certificate, _others = pkcs12.load_key_and_certificates(
            content, password.encode("utf-8") if password else None
        )
    except (ValueError, TypeError):
        raise OpeningError(
            _(
                "Le fichier de clé privée n'a pas pu être ouvert : le mot de passe est incorrect, "
                "ou le fichier n'est pas un fichier PKCS#12 (.p12) valide. Aucun pli n'a été ouvert."
            ),
            field="password",
        ) from None
    if private_key is None:
        raise OpeningError(_("Ce fichier PKCS#12 ne contient pas de clé privée."), field="pkcs12")
    if not isinstance(private_key, rsa.RSAPrivateKey):
        raise OpeningError(
            _(
                "La clé privée de ce fichier n'est pas une clé RSA : ce n'est pas une clé de chiffrement "
                "des plis."
            ),
            field="pkcs12",
        )
    return private_key


def _opening_key_of(consultation: Consultation, fingerprint: str, files: list[DepositFile]) -> OpeningKey:
    """The key row this private key is: one of the consultation's, or the organisation's backup key."""
    candidates = OpeningKey.objects.filter(fingerprint=fingerprint).filter(
        Q(consultation=consultation) | Q(is_backup=True, organisation_id=consultation.organisation_id)
    )
    # The row the deposits were wrapped for, when there are files; otherwise the current one.
    used = (
        WrappedKey.objects.filter(deposit_file__in=files, opening_key__in=candidates)
        .values_list("opening_key_id", flat=True)
        .first()
        if files
        else None
    )
    key = (
        candidates.filter(pk=used).first()
        if used
        else candidates.order_by("revoked_at", "-created_at", "-pk").first()
    )
    if key is None:
        raise OpeningError(
            _(
                "Cette clé privée n'est ni une clé de chiffrement de cette consultation ni la clé "
                "de secours de votre organisme : aucun pli n'a été ouvert."
            ),
            field="pkcs12",
        )
    return key


# --- Checking each file -------------------------------------------------------------------


@dataclass
class FileResult:
    deposit_file: DepositFile
    check: str
    problem: str = ""
    opened_key: bytes | None = None


@sensitive_variables("private_key", "data_key")
def _file_check(deposit_file: DepositFile, wrapped: bytes, private_key) -> FileResult:
    try:
        data_key = crypto.unwrap_key(wrapped, private_key)
    except crypto.WrongKeyError:
        # The fingerprint matched: the wrapped copy itself was changed.
        return FileResult(
            deposit_file,
            OpeningCheck.ALTERED,
            _("La clé de données chiffrée de ce fichier ne s'ouvre pas : elle a été modifiée."),
        )
    digest = hashlib.sha256()
    size = 0
    try:
        for piece in ingest.stored_plaintext(
            deposit_file.encrypted_header(), part_names(deposit_file), data_key
        ):
            digest.update(piece)
            size += len(piece)
    except crypto.DecryptionError as error:
        return FileResult(deposit_file, OpeningCheck.ALTERED, error.message)
    except FileNotFoundError:
        return FileResult(
            deposit_file, OpeningCheck.ALTERED, _("Une partie stockée du fichier chiffré est introuvable.")
        )
    except OSError:
        raise OpeningError(
            _(
                "Le stockage des plis ne répond pas : aucun pli n'a été ouvert. "
                "Réessayez dans quelques minutes."
            )
        ) from None
    if size != deposit_file.size:
        return FileResult(
            deposit_file,
            OpeningCheck.ALTERED,
            _("Le fichier déchiffré ne fait pas la taille déposée (%(found)d octets au lieu de %(size)d).")
            % {"found": size, "size": deposit_file.size},
        )
    recorded = DepositFile.objects.filter(pk=deposit_file.pk).values_list("sha256", flat=True).first() or ""
    if not hmac.compare_digest(digest.hexdigest(), recorded):
        return FileResult(
            deposit_file,
            OpeningCheck.ALTERED,
            _("L'empreinte SHA-256 du fichier déchiffré ne correspond pas à celle calculée au dépôt."),
        )
    return FileResult(
        deposit_file,
        OpeningCheck.INTACT,
        opened_key=opened_key_seal(data_key, upload_id=deposit_file.upload_id),
    )


# --- The opening ------------------------------------------------------------------------------


def _unread_files_read_back(deposits) -> None:
    """A deposit whose sealing never ran (no worker yet) has files not read back: read them
    now, so that their SHA-256 is known; one that cannot be is reported altered below."""
    from deposits.services.sealing import SealRefused, files_read_back

    for deposit in Deposit.objects.filter(pk__in=list(deposits)):
        try:
            files_read_back(deposit)
        except SealRefused:
            logger.error("Deposit %s: files could not be read back before the opening.", deposit.pk)


def _seals_match_require(consultation: Consultation, deposits, user) -> None:
    """The deposits' files are still those their seals state: a file removed, added or
    changed in the database since the receipt stops the opening, loudly."""
    from deposits.services.sealing import deposit_against_seal

    problems = []
    for deposit in Deposit.objects.filter(pk__in=list(deposits)).select_related("seal"):
        seal = getattr(deposit, "seal", None)
        if seal is not None:
            problems += deposit_against_seal(deposit, seal)
    if problems:
        logger.error("Opening of consultation %s stopped: deposits differ from their seals.", consultation.pk)
        event_record(
            action="deposits.seal_mismatch",
            actor=user,
            target=consultation,
            organisation=consultation.organisation,
            data={"problems": problems},
        )
        raise OpeningError(
            _(
                "Les plis ne correspondent plus à leurs accusés de réception scellés : %(problems)s "
                "Aucun pli n'a été ouvert : prévenez l'administrateur de la plateforme."
            )
            % {"problems": " ".join(problems)}
        )


@sensitive_variables("pkcs12_content", "password", "private_key")
def deposits_open(
    *,
    consultation: Consultation,
    user,
    scope: str,
    pkcs12_content: bytes,
    password: str,
    deposit_ids: Iterable = (),
    reason: str = "",
) -> tuple[Opening, list[FileResult]]:
    """Open the deposits of ``scope`` with the private key of the PKCS#12; returns the
    opening and each file's result. Nothing changes unless every file could be checked."""
    opening_require(consultation=consultation, user=user)
    reason = reason.strip() if scope == Opening.Scope.LATE else ""
    deposits, envelopes = opening_scope(consultation, scope, deposit_ids=deposit_ids, reason=reason)
    _unread_files_read_back(deposits)
    _seals_match_require(consultation, deposits, user)
    private_key = private_key_load(pkcs12_content, password)
    fingerprint = crypto.key_fingerprint(private_key)
    files = list(
        DepositFile.objects.filter(envelope__in=envelopes)
        .select_related("envelope")
        .order_by("envelope_id", "pk")
    )
    key = _opening_key_of(consultation, fingerprint, files)
    wrapped = dict(
        WrappedKey.objects.filter(deposit_file__in=files, opening_key__fingerprint=fingerprint).values_list(
            "deposit_file_id", "wrapped"
        )
    )
    missing = [f for f in files if f.pk not in wrapped]
    if missing:
        raise OpeningError(
            ngettext(
                "Cette clé ne permet pas d'ouvrir %(count)d fichier : il a été chiffré pour une autre clé "
                "(par exemple une ancienne clé de secours). Aucun pli n'a été ouvert.",
                "Cette clé ne permet pas d'ouvrir %(count)d fichiers : ils ont été chiffrés pour une "
                "autre clé "
                "(par exemple une ancienne clé de secours). Aucun pli n'a été ouvert.",
                len(missing),
            )
            % {"count": len(missing)},
            field="pkcs12",
        )
    # The long part, outside any transaction: every file decrypted and checked, nothing written.
    results = [_file_check(f, bytes(wrapped[f.pk]), private_key) for f in files]
    del private_key
    # Every signature found in the intact files, verified before anything is written (PV included).
    from deposits.services.signature_check import opening_signatures_check

    opening_signatures_check(results)
    opening = _opening_record(
        consultation=consultation,
        user=user,
        scope=scope,
        key=key,
        reason=reason,
        deposits=deposits,
        envelopes=envelopes,
        results=results,
    )
    return opening, results


@transaction.atomic
def _opening_record(
    *, consultation, user, scope, key, reason, deposits, envelopes, results: list[FileResult]
) -> Opening:
    from consultations.services.lifecycle import consultation_close, consultation_mark_opened

    # After the finalisations (they lock the same row): one judged on time just before the
    # deadline but committed while the files were checked is now visible.
    locked = Consultation.objects.select_for_update(no_key=True).get(pk=consultation.pk)
    if scope in (Opening.Scope.CANDIDATURES, Opening.Scope.RESPONSES):
        on_time = set(_finalised(locked, DepositStatus.ON_TIME).values_list("pk", flat=True))
        if on_time != set(deposits):
            raise OpeningError(
                _(
                    "Un pli validé dans les délais vient d'être enregistré pendant l'ouverture : rien "
                    "n'a été ouvert. Recommencez l'ouverture pour l'inclure."
                )
            )
    if locked.state == State.ONLINE:
        # The closing task has not run yet: the deadline passed, so it closes now.
        consultation_close(consultation=locked)
    envelope_ids = [e.pk for e in envelopes]
    # Another agent may have opened the same envelopes while the files were being checked.
    if Envelope.objects.filter(pk__in=envelope_ids, opening__isnull=False).exists() or (
        scope in (Opening.Scope.CANDIDATURES, Opening.Scope.RESPONSES)
        and Opening.objects.filter(consultation=consultation, scope=scope).exists()
    ):
        raise OpeningError(_("Ces plis viennent d'être ouverts par un autre agent : rien n'a été refait."))
    opening = Opening.objects.create(
        consultation=consultation,
        scope=scope,
        opened_by=user,
        opened_at=clock.now(),
        key=key,
        reason=reason,
    )
    for result in results:
        DepositFile.objects.filter(pk=result.deposit_file.pk).update(
            opening_check=result.check,
            opened_key=result.opened_key,
            signature_reports=result.deposit_file.signature_reports or [],
        )
        result.deposit_file.opening_check = result.check
        result.deposit_file.opened_key = result.opened_key
    Envelope.objects.filter(pk__in=envelope_ids).update(opening=opening)
    altered = [r for r in results if r.check == OpeningCheck.ALTERED]
    data = {
        "scope": scope,
        "key": key.pk,
        "key_fingerprint": key.fingerprint,
        "deposits": deposits,
        "envelopes": len(envelope_ids),
        "files": len(results),
        "intact": len(results) - len(altered),
        "altered": [r.deposit_file.pk for r in altered],
    }
    if scope == Opening.Scope.OFFERS:
        data["admitted"] = deposits
    if reason:
        data["reason"] = reason
    event_record(
        action="deposits.opened",
        actor=user,
        target=opening,
        organisation=consultation.organisation_id,
        data=data,
    )
    for result in altered:
        deposit_id = result.deposit_file.envelope.deposit_id
        logger.error(
            "Opening %s: file %s of deposit %s is altered in storage",
            opening.pk,
            result.deposit_file.pk,
            deposit_id,
        )
        event_record(
            action="deposit_file.altered",
            actor=user,
            target=opening,
            organisation=consultation.organisation_id,
            data={"deposit": deposit_id, "file": result.deposit_file.pk, "problem": result.problem},
        )
    consultation_mark_opened(consultation=locked, user=user)
    consultation.state = locked.state
    opening_minutes_store(opening=opening, problems={r.deposit_file.pk: r.problem for r in altered})
    return opening


def opening_minutes_store(*, opening: Opening, problems: dict[int, str] | None = None) -> Opening:
    """Render the minutes (« PV d'ouverture »), seal them when the platform can, and store them."""
    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage
    from django.utils.crypto import get_random_string

    from deposits.opening_pdf import minutes_pdf, minutes_seal

    pdf, sealed = minutes_seal(minutes_pdf(opening, problems=problems or {}))
    name = default_storage.save(
        f"deposits/openings/{opening.consultation_id}/pv-{opening.pk}-{get_random_string(12)}.pdf",
        ContentFile(pdf),
    )
    opening.minutes_object = name
    opening.minutes_sha256 = hashlib.sha256(pdf).hexdigest()
    opening.save(update_fields=["minutes_object", "minutes_sha256"])
    event_record(
        action="deposits.minutes_written",
        actor=opening.opened_by,
        target=opening,
        organisation=opening.consultation.organisation_id,
        data={"sha256": opening.minutes_sha256, "sealed": sealed},
    )
    return opening


# --- Reading an opened file ----------------------------------------------------------------


def opened_file_plaintext(deposit_file: DepositFile):
    """The plaintext of a file opened intact, segment by segment, each verified before it is given."""
    if deposit_file.opening_check != OpeningCheck.INTACT or not deposit_file.opened_key:
        raise PermissionDenied
    data_key = opened_key_open(deposit_file.opened_key, upload_id=deposit_file.upload_id)
    return ingest.stored_plaintext(deposit_file.encrypted_header(), part_names(deposit_file), data_key)


def opened_file_download_record(*, deposit_file: DepositFile, user, request=None) -> None:
    deposit = deposit_file.envelope.deposit
    event_record(
        action="deposit_file.downloaded",
        actor=user,
        target=deposit,
        organisation=deposit.consultation.organisation_id,
        data={"file": deposit_file.pk},
        request=request,
    )
