"""Typed readers of the environment.

Each helper returns the default when the variable is absent or empty, and
raises ``ImproperlyConfigured`` with the variable's name and the expected form
when a value is present but wrong: a typo in production must stop the start,
not silently fall back to a default.

Every name read goes into ``READ`` so that a test can check that what
``docker-compose.yml`` sets is what the settings read.
"""

import os
from urllib.parse import urlparse

from django.core.exceptions import ImproperlyConfigured

READ: set[str] = set()

_TRUE = {"1", "true", "yes", "on", "oui"}
_FALSE = {"0", "false", "no", "off", "non"}


def _raw(name: str) -> str | None:
    READ.add(name)
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return None
    return value.strip()


def _bad(name: str, value: str, expected: str) -> ImproperlyConfigured:
    return ImproperlyConfigured(f"Variable d'environnement {name}={value!r} invalide : {expected}.")


def env_str(name: str, default: str | None = None) -> str | None:
    value = _raw(name)
    return default if value is None else value


def env_bool(name: str, default: bool) -> bool:
    value = _raw(name)
    if value is None:
        return default
    lowered = value.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise _bad(name, value, "attendu true/false (ou 1/0, yes/no, on/off)")


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    value = _raw(name)
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError:
        raise _bad(name, value, "attendu un nombre entier") from None
    if minimum is not None and number < minimum:
        raise _bad(name, value, f"attendu un entier supérieur ou égal à {minimum}")
    return number


def env_list(name: str, default: list[str] | None = None) -> list[str]:
    value = _raw(name)
    if value is None:
        return list(default or [])
    return [item.strip() for item in value.split(",") if item.strip()]


def env_choice(name: str, choices: tuple[str, ...], default: str) -> str:
    value = _raw(name)
    if value is None:
        return default
    if value not in choices:
        raise _bad(name, value, "valeurs possibles : " + ", ".join(choices))
    return value


def env_url(name: str, schemes: tuple[str, ...], default: str | None = None) -> str | None:
    value = _raw(name)
    if value is None:
        return default
    parsed = urlparse(value)
    if parsed.scheme not in schemes or not (parsed.netloc or parsed.path):
        raise _bad(name, value, "attendu une URL commençant par " + " ou ".join(f"{s}://" for s in schemes))
    return value
