"""The signature reports of an opened file, for the buyer's page.

Usage: ``{% load deposit_signatures %}{% file_signatures file item.files consultation as sig %}``
(see ``deposits/services/signature_check.py``).
"""

from django import template

from deposits.services.signature_check import FileSignatures
from deposits.services.signature_check import file_signatures as _file_signatures

register = template.Library()


@register.simple_tag
def file_signatures(deposit_file, envelope_files=None, consultation=None) -> FileSignatures:
    return _file_signatures(deposit_file, envelope_files or (), consultation)
