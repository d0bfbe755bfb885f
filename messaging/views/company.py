"""Placeholder until the company views land."""

from django.http import Http404


def _todo(*args, **kwargs):
    raise Http404


inbox = thread = message = reply = proof = attachment = _todo
