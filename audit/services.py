"""Writing to the audit history: the one entry point for every app."""

from dataclasses import dataclass

from django.db import models, transaction
from django.http import HttpRequest
from django.utils import timezone

from accounts.client_ip import client_ip
from audit.models import GENESIS_HASH, ChainHead, Event


def _check_data(value, path: str = "data") -> None:
    """Only what JSON stores exactly: floats and non-string keys would come back
    changed from the database and break the hash of an untouched event."""
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(f"{path}: audit keys must be strings, not {key!r}")
            _check_data(item, f"{path}.{key}")
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            _check_data(item, f"{path}[{index}]")
    elif not (value is None or isinstance(value, bool | int | str)):
        raise TypeError(f"{path}: audit values are str, int, bool, None, lists or dicts, not {type(value)}")


def event_record(
    *,
    action: str,
    actor=None,
    target: models.Model | None = None,
    organisation=None,
    data: dict | None = None,
    request: HttpRequest | None = None,
) -> Event:
    """Append one event to the chain, in the caller's transaction.

    ``data`` must never hold a secret or the content of a bid: it is kept for
    ever and shown to administrators.
    """
    _check_data(data or {})
    if actor is not None and not getattr(actor, "is_authenticated", False):
        actor = None
    with transaction.atomic():
        # Locking the head serialises writers, so the chain never forks. The row is
        # created by a migration; get_or_create only serves databases flushed by tests.
        head, _ = ChainHead.objects.select_for_update().get_or_create(pk=1)
        event = Event(
            sequence=head.last_sequence + 1,
            created_at=timezone.now(),
            action=action,
            actor=actor,
            actor_label=(f"{actor} <{actor.email}>" if actor is not None else "")[:255],
            organisation_id=getattr(organisation, "pk", organisation),
            target_type=target._meta.label_lower if target is not None else "",
            target_id=str(target.pk) if target is not None else "",
            target_label=str(target)[:255] if target is not None else "",
            ip_address=client_ip(request),
            data=data or {},
            previous_hash=head.last_hash,
        )
        event.hash = event.compute_hash()
        event.save()
        ChainHead.objects.filter(pk=1).update(last_sequence=event.sequence, last_hash=event.hash)
    return event


@dataclass(frozen=True)
class ChainProblem:
    sequence: int
    message: str

    def __str__(self) -> str:
        return f"Événement n° {self.sequence} : {self.message}"


def chain_verify() -> list[ChainProblem]:
    """Walk the whole chain and list every break, in order; an empty list means intact."""
    problems: list[ChainProblem] = []
    expected_sequence = 1
    previous_hash = GENESIS_HASH
    for event in Event.objects.order_by("sequence").iterator(chunk_size=2000):
        if event.sequence != expected_sequence:
            missing = (
                f"n° {expected_sequence}"
                if event.sequence == expected_sequence + 1
                else f"n° {expected_sequence} à {event.sequence - 1}"
            )
            problems.append(ChainProblem(event.sequence, f"événement(s) supprimé(s) avant lui ({missing})."))
        if event.previous_hash != previous_hash:
            problems.append(
                ChainProblem(event.sequence, "son lien vers l'événement précédent ne correspond pas.")
            )
        if event.compute_hash() != event.hash:
            problems.append(
                ChainProblem(
                    event.sequence,
                    f"contenu modifié ({event.action}, {event.created_at:%d/%m/%Y %H:%M:%S}).",
                )
            )
        expected_sequence = event.sequence + 1
        previous_hash = event.hash
    head = ChainHead.objects.filter(pk=1).first()
    if head is None and expected_sequence > 1:
        problems.append(ChainProblem(expected_sequence - 1, "la tête de chaîne a été supprimée."))
    elif head is not None and (
        head.last_sequence != expected_sequence - 1 or head.last_hash != previous_hash
    ):
        problems.append(
            ChainProblem(
                head.last_sequence,
                f"dernier(s) événement(s) supprimé(s) : la chaîne s'arrête au n° {expected_sequence - 1}.",
            )
        )
    return problems
