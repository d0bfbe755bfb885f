"""Placeholder until the buyer views land."""

from django.http import Http404


def _todo(*args, **kwargs):
    raise Http404


inbox = compose = thread = message = proof = attachment = _todo
