"""What makes a message provable: the SHA-256 of its canonical content.

The canonical content is a JSON document with sorted keys and no spaces, in UTF-8:
the consultation's reference, the company's SIRET, the direction, the kind, the
subject, the text, the sending time (UTC, ISO 8601), the sender's address, the
message answered, the answer date asked, and each attachment's name, size and
SHA-256. Anyone holding these can recompute the hash printed on the proof.
"""

import hashlib
import json
from datetime import UTC, datetime


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat() if value else None


def content_canonical(
    *,
    reference: str,
    siret: str,
    direction: str,
    kind: str,
    subject: str,
    body: str,
    sent_at: datetime,
    sender: str,
    in_reply_to: int | None,
    answer_due_at: datetime | None,
    attachments: list[tuple[str, int, str]],
) -> bytes:
    document = {
        "consultation": reference,
        "entreprise": siret,
        "sens": direction,
        "type": kind,
        "objet": subject,
        "texte": body,
        "envoye_le": _iso(sent_at),
        "expediteur": sender,
        "en_reponse_a": in_reply_to,
        "reponse_attendue_avant": _iso(answer_due_at),
        "pieces_jointes": [
            {"nom": name, "taille": size, "sha256": sha256} for name, size, sha256 in sorted(attachments)
        ],
    }
    return json.dumps(document, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def message_canonical(message) -> bytes:
    return content_canonical(
        reference=message.consultation_reference,
        siret=message.company_siret,
        direction=message.direction,
        kind=message.kind,
        subject=message.subject,
        body=message.body,
        sent_at=message.sent_at,
        sender=message.sender_email,
        in_reply_to=message.in_reply_to_id,
        answer_due_at=message.answer_due_at,
        attachments=[(a.name, a.size, a.sha256) for a in message.attachments.all()],
    )


def message_hash(message) -> str:
    return hashlib.sha256(message_canonical(message)).hexdigest()


def message_intact(message) -> bool:
    """Whether the stored message still has the content it was sent with."""
    return message_hash(message) == message.content_sha256
